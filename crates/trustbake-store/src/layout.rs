//! What detection finds in a root: the OS, the trust layout with the outputs the base has,
//! every certifi bundle and the Python version — and one store's contents as inspection reads
//! them. Types only: detection (`detect.rs`), each OS family and inspection fill them.

use std::collections::BTreeSet;

use serde::Serialize;
use trustbake_certs::Sha256Fingerprint;
use trustbake_targets::OsFamily;

use crate::kind::StoreKind;

/// An extracted output of a p11-kit family (RHEL, SUSE) that the base has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RhelOutput {
    /// Its logical path.
    pub path: String,
    /// Its format.
    pub kind: StoreKind,
}

/// What `/etc/os-release` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// `ID`.
    pub id: String,
    /// `ID_LIKE`.
    pub id_like: String,
    /// `VERSION_ID`.
    pub version_id: String,
}

/// One certifi bundle found in the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertifiBundle {
    /// `…/certifi/cacert.pem` as found.
    pub path: String,
    /// The real path after resolving links (where a patch is written).
    pub real_path: String,
    /// What trustbake does with it.
    pub status: CertifiStatus,
    /// The wheel's `RECORD` that lists `certifi/cacert.pem`, if any.
    pub record: Option<String>,
}

/// How a certifi bundle is treated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CertifiStatus {
    /// A pip-installed certifi with its own `cacert.pem`: patched.
    Own,
    /// `cacert.pem` is a link into the OS store: the OS store covers it, left alone.
    LinkedToOs {
        /// Where it points.
        target: String,
    },
    /// A distribution build patched to use the system bundle: left alone.
    DistroPatched,
    /// pip's vendored copy: listed, left alone unless asked.
    Vendored,
    /// Not a bundle that can be patched (a link that leads nowhere, a link to something that is
    /// not a CA bundle, a file too large to be one): left alone, and said why.
    Unusable {
        /// Why.
        reason: String,
    },
}

/// The Alpine family's store as detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlpineStore {
    /// `update-ca-certificates` with its sources (`/etc/ca-certificates.conf`): the bundle is
    /// rebuilt as the tool does. Without them (the `ca-certificates-bundle` package alone) the
    /// bundle is appended to in its own format.
    pub tool: bool,
    /// The `certhash` hook's `HHHHHHHH.N` links in `/etc/ssl/certs`.
    pub hash_links: bool,
    /// `/etc/ssl/cert.pem` is a file of its own, not a link to the bundle: kept in step.
    pub cert_pem: bool,
    /// Java's keystore `/etc/ssl/certs/java/cacerts` (Wolfi's `java-cacerts` hook: p11-kit's
    /// `java-cacerts`, server-auth anchors).
    pub java: bool,
}

/// The SUSE family's store as detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuseStore {
    /// The extracted files the base has (`ca-bundle.pem`, `java-cacerts`).
    pub outputs: Vec<RhelOutput>,
    /// Whether `/var/lib/ca-certificates/pem/` (`pem-directory-hash`) is there.
    pub pem_directory: bool,
    /// Whether `/var/lib/ca-certificates/openssl/` (`openssl-directory`) is there.
    pub openssl_directory: bool,
}

/// The distroless store as detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrolessStore {
    /// The Java keystore `/etc/ssl/certs/java/cacerts` is there (the java images).
    pub java: bool,
}

/// Everything detected in a root.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// `/etc/os-release`.
    pub os: OsRelease,
    /// The family of the OS store that will be written (RHEL when `/etc/pki/ca-trust` is there).
    pub family: OsFamily,
    /// The RHEL extracted outputs the base has.
    pub rhel_outputs: Vec<RhelOutput>,
    /// Whether the base has `pem/directory-hash/`.
    pub rhel_directory_hash: bool,
    /// Whether a Debian store (`/etc/ssl/certs` as a real directory with its sources) is there.
    pub debian: bool,
    /// Whether the Debian store has Java's keystore.
    pub debian_java: bool,
    /// The SUSE family's store, when the root has one.
    pub suse: Option<SuseStore>,
    /// The Alpine family's store (Alpine, Wolfi), when the root has one.
    pub alpine: Option<AlpineStore>,
    /// The distroless store, when the root is a distroless image.
    pub distroless: Option<DistrolessStore>,
    /// Every certifi bundle, primary (the Anchore venv, then system site-packages) first.
    pub certifi: Vec<CertifiBundle>,
    /// The Python version of the primary interpreter (`3.11`), if known.
    pub python: Option<String>,
}

/// One store and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct StoreContents {
    /// Its path.
    pub path: String,
    /// Its kind.
    pub kind: StoreKind,
    /// For a certifi bundle, how trustbake treats it.
    pub certifi: Option<CertifiStatus>,
    /// Certificates read.
    pub certificates: usize,
    /// Blocks or entries that could not be read.
    pub unreadable: usize,
    #[serde(skip)]
    pub(crate) shas: BTreeSet<Sha256Fingerprint>,
}
