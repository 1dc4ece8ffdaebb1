//! Everything that can stop the engine.

/// Everything that can stop the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A symlink chain on a path does not end.
    #[error("{path}: symlink loop (more than 40 links followed inside the root)")]
    SymlinkLoop {
        /// The path being resolved.
        path: String,
    },
    /// A path could not be read from the view.
    #[error("{path}: cannot be read: {reason}")]
    Read {
        /// The path inside the root.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file larger than any trust store or Python metadata file the engine reads.
    #[error("{path}: {size} bytes, more than the {limit} bytes trustbake reads from one file")]
    TooLarge {
        /// The path inside the root.
        path: String,
        /// Its size.
        size: u64,
        /// [`crate::paths::MAX_READ`].
        limit: u64,
    },
    /// The root has neither trust-store layout.
    #[error(
        "no trust store found in the root: looked for /etc/pki/ca-trust/extracted (update-ca-trust), /var/lib/ca-certificates with /etc/pki/trust (SUSE's update-ca-certificates), /etc/ssl/certs with /etc/ca-certificates.conf or /usr/share/ca-certificates (Debian's update-ca-certificates), and, in an apk-based root (/lib/apk/db/installed, or os-release ID alpine or wolfi), /etc/ca-certificates.conf or /etc/ssl/certs/ca-certificates.crt (Alpine's update-ca-certificates, or its bundle alone), and /etc/ssl/certs/ca-certificates.crt in a distroless root (os-release PRETTY_NAME Distroless, or /var/lib/dpkg/status.d); see docs/families.md for the families trustbake knows. For a PEM bundle the image reads elsewhere, name it: --bundle PATH"
    )]
    NoTrustStore,
    /// A bundle the user named (`--bundle`) that cannot be appended to.
    #[error("--bundle {path}: {reason}")]
    BadBundle {
        /// The path inside the root, as named.
        path: String,
        /// Why.
        reason: String,
    },
    /// A path that must be a directory is something else.
    #[error("{path}: expected a directory, found {found}")]
    NotADirectory {
        /// The path inside the root.
        path: String,
        /// What is there.
        found: &'static str,
    },
}
