//! The kinds of trust store, defined once: detection, the engine, inspection and every report
//! name a store by its [`StoreKind`], never by a display string.

use std::fmt;

use serde::Serialize;

/// A kind of trust store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StoreKind {
    /// RHEL `source/anchors/`: the CAs `update-ca-trust` reads.
    Anchors,
    /// RHEL `source/blocklist/` (`blacklist/` on EL7 and EL8): the CAs `update-ca-trust`
    /// distrusts.
    Blocklist,
    /// p11-kit's PEM bundle with comments (`tls-ca-bundle.pem` and its siblings).
    PemBundle,
    /// p11-kit's OpenSSL bundle of `TRUSTED CERTIFICATE`s (`ca-bundle.trust.crt`).
    OpensslBundle,
    /// A Java keystore (`cacerts`).
    JavaCacerts,
    /// EFI signature lists (`cacerts.bin`).
    Edk2,
    /// p11-kit's `openssl-directory`: a `TRUSTED CERTIFICATE` file per CA with its hash links
    /// (SUSE's `/var/lib/ca-certificates/openssl/`).
    OpensslDirectory,
    /// p11-kit's hashed directory (`pem/directory-hash/`).
    DirectoryHash,
    /// Debian's `/usr/local/share/ca-certificates`.
    DebianLocal,
    /// Debian's rebuilt `ca-certificates.crt`.
    DebianBundle,
    /// Debian's `/etc/ca-certificates.conf`: which packaged certificates are enabled.
    DebianConf,
    /// Debian's `HHHHHHHH.N` links in `/etc/ssl/certs`.
    DebianHashLinks,
    /// Alpine's `/usr/local/share/ca-certificates` (read flat, any file name).
    AlpineLocal,
    /// Alpine's `ca-certificates.crt`: rebuilt by the tool, or appended to where only the
    /// bundle is (and `/etc/ssl/cert.pem` when it is a file of its own).
    AlpineBundle,
    /// Alpine's `/etc/ca-certificates.conf`.
    AlpineConf,
    /// The `certhash` hook's `HHHHHHHH.N` links in `/etc/ssl/certs`.
    AlpineHashLinks,
    /// distroless' `ca-certificates.crt` (no tool rebuilds it: appended to).
    DistrolessBundle,
    /// A PEM bundle the user named (`--bundle`): appended to in its own format.
    #[serde(rename = "bundle")]
    NamedBundle,
    /// A conda prefix's `ssl/cacert.pem` (its own OpenSSL's default bundle).
    Conda,
    /// A Python certifi `cacert.pem`.
    Certifi,
    /// The PEM file `NODE_EXTRA_CA_CERTS` names: Node.js adds it to its built-in roots.
    #[serde(rename = "node-extra-ca-certs")]
    NodeExtra,
}

impl StoreKind {
    /// The RHEL family's extracted outputs, each written by one `trust extract` call.
    pub const RHEL_OUTPUTS: &'static [(&'static str, StoreKind)] = &[
        (
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            StoreKind::PemBundle,
        ),
        (
            "/etc/pki/ca-trust/extracted/pem/email-ca-bundle.pem",
            StoreKind::PemBundle,
        ),
        (
            "/etc/pki/ca-trust/extracted/pem/objsign-ca-bundle.pem",
            StoreKind::PemBundle,
        ),
        (
            "/etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
            StoreKind::OpensslBundle,
        ),
        (
            "/etc/pki/ca-trust/extracted/java/cacerts",
            StoreKind::JavaCacerts,
        ),
        (
            "/etc/pki/ca-trust/extracted/edk2/cacerts.bin",
            StoreKind::Edk2,
        ),
    ];

    /// The name used in reports and JSON (`pem-bundle`, `certifi`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Anchors => "anchors",
            StoreKind::Blocklist => "blocklist",
            StoreKind::PemBundle => "pem-bundle",
            StoreKind::OpensslBundle => "openssl-bundle",
            StoreKind::JavaCacerts => "java-cacerts",
            StoreKind::Edk2 => "edk2",
            StoreKind::OpensslDirectory => "openssl-directory",
            StoreKind::DirectoryHash => "directory-hash",
            StoreKind::DebianLocal => "debian-local",
            StoreKind::DebianBundle => "debian-bundle",
            StoreKind::DebianConf => "debian-conf",
            StoreKind::DebianHashLinks => "debian-hash-links",
            StoreKind::AlpineLocal => "alpine-local",
            StoreKind::AlpineBundle => "alpine-bundle",
            StoreKind::AlpineConf => "alpine-conf",
            StoreKind::AlpineHashLinks => "alpine-hash-links",
            StoreKind::DistrolessBundle => "distroless-bundle",
            StoreKind::NamedBundle => "bundle",
            StoreKind::Conda => "conda",
            StoreKind::Certifi => "certifi",
            StoreKind::NodeExtra => "node-extra-ca-certs",
        }
    }

    /// Whether p11-kit's `ca-anchors` filter applies: non-authorities stay out of it. The
    /// OpenSSL bundle (filter `certificates`) takes every certificate; the anchors directory
    /// and Debian's local store take what they are given.
    pub fn authorities_only(self) -> bool {
        matches!(
            self,
            StoreKind::PemBundle
                | StoreKind::JavaCacerts
                | StoreKind::Edk2
                | StoreKind::DirectoryHash
                | StoreKind::OpensslDirectory
        )
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
