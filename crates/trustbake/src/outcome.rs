//! What each command returns. These types *are* the `--json` contracts, documented field by
//! field in the README (with the labels a bake sets on an image): objects with named fields, a `schema_version` on every top-level
//! outcome, fields added (never renamed or removed) within a schema version. Engine and image
//! types are converted here, so they can change freely — but for three that are part of the
//! contract themselves, serialised as they are and `#[non_exhaustive]`, named in
//! [`crate::types`] and [`crate::chain`]: `StoreKind` (`store.kind`), `ConsumerKind`
//! (`consumers[].kind`) and `Failure` (`consumers[].reason`), each documented in the README.

use std::path::PathBuf;

use serde::Serialize;

use trustbake_certs::Intake;
use trustbake_store::{
    CaRef, CertifiStatus, Content, Inspection, Layout, PlanItem, Report, StoreKind, StoreReport,
};

/// The label naming the CAs trustbake added, comma-separated `sha256:…`.
pub const LABEL_CAS: &str = "dev.trustbake.ca-certificates.sha256";
/// The label naming the CAs trustbake distrusted.
pub const LABEL_REMOVED: &str = "dev.trustbake.removed.sha256";

pub use crate::names::NamedImage;

/// The version of every JSON contract; a change that renames or removes a field raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// What `apply` did (or, previewed, would do) to a root file system.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ApplyOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The root file system.
    pub root: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// What was detected in the root.
    pub detected: Detected,
    /// Per store, per CA.
    pub stores: Vec<StoreOutcome>,
    /// Facts worth telling: where the version map and the root disagree, duplicate CAs.
    pub notes: Vec<String>,
    /// Doubts: weak CAs, what could not be set as planned (ownership without privileges).
    pub warnings: Vec<String>,
    /// The entries written (or to write), in path order.
    pub entries: Vec<EntryOutcome>,
    /// Variables the container's environment must set for a store to be read
    /// (`NODE_EXTRA_CA_CERTS`): a directory has no config, so they are the operator's to set.
    pub env: std::collections::BTreeMap<String, String>,
}

/// What `bake` wrote (or, previewed, would write).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BakeOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The source image.
    pub from: String,
    /// The destination image.
    pub to: String,
    /// What the source's name says (product, component, version, Docker Hub or Iron Bank
    /// naming); `null` when it names none of Anchore's images. Without `--product`/`--version`,
    /// its product and version are the version map's target.
    pub anchore: Option<crate::names::NamedImage>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The digest of what the destination names: the index, or the one manifest.
    pub digest: String,
    /// Whether every store of every platform already trusted every CA (no layer added).
    pub nothing_to_add: bool,
    /// Per platform baked.
    pub platforms: Vec<BakePlatform>,
    /// Facts about the CA input (duplicates merged).
    pub notes: Vec<String>,
    /// Doubts about the CA input (weak keys or signatures, what an `--allow-…` let through).
    pub warnings: Vec<String>,
    /// Base layers read and scanned.
    pub scanned_layers: u64,
    /// Base layers whose scan came from the scan cache (not read at all).
    pub cached_layers: u64,
    /// What moved to and from each registry (empty without one).
    pub registries: Vec<RegistryTransfer>,
    /// What was signed and attested (`null` without a signing key, or on a dry run).
    pub signed: Option<SignedOutcome>,
}

/// What a bake signed and attested.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SignedOutcome {
    /// The signing key's fingerprint (`sha256:` of its SubjectPublicKeyInfo).
    pub key: String,
    /// One per digest signed: the tag's, then (with `--sign-platforms`) each platform's.
    pub signatures: Vec<SignatureOutcome>,
    /// The attestation (`null` without `--attest`).
    pub attestation: Option<AttestationOutcome>,
}

/// One signature.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SignatureOutcome {
    /// The manifest or index digest signed.
    pub digest: String,
    /// The tag it is attached at (`sha256-<hex>.sig`).
    pub tag: String,
    /// Whether it was added (`false`: this key had signed this digest there already).
    pub added: bool,
}

/// The attestation.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AttestationOutcome {
    /// Its subject's digest.
    pub digest: String,
    /// The tag it is attached at (`sha256-<hex>.att`).
    pub tag: String,
    /// Its predicate type.
    pub predicate_type: String,
    /// Whether it was added (`false`: this key had attested the same statement there already).
    pub added: bool,
}

/// What `verify-image` found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyImageOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image checked.
    pub image: String,
    /// The digest its reference names.
    pub digest: String,
    /// The public key's fingerprint.
    pub key: String,
    /// Whether everything below holds: a signature by the key, an attestation by the key, and
    /// the image is its attested base plus exactly the attested layer.
    pub verified: bool,
    /// Signatures at `sha256-<hex>.sig`: how many there are, how many verify with the key over
    /// a payload naming this digest.
    pub signatures: CountOutcome,
    /// Attestations at `sha256-<hex>.att` of trustbake's predicate type: how many there are,
    /// how many verify with the key and name this digest.
    pub attestations: CountOutcome,
    /// The attested base (`null` when no attestation verified).
    pub base: Option<crate::attest::BaseRef>,
    /// Per platform of the image, what was compared.
    pub platforms: Vec<VerifyImagePlatform>,
    /// Every reason it is not verified (empty when it is).
    pub problems: Vec<String>,
}

/// Found and verified.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct CountOutcome {
    /// How many there are.
    pub found: usize,
    /// How many verify.
    pub verified: usize,
}

/// One platform compared with its base.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyImagePlatform {
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// The platform's manifest digest.
    pub manifest: String,
    /// The base manifest it was compared with.
    pub base_manifest: Option<String>,
    /// The attested layer (`null`: the platform is the base's).
    pub layer: Option<String>,
    /// Whether it is the base plus exactly the attested layer.
    pub matches: bool,
}

/// What moved to and from one registry during a bake.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RegistryTransfer {
    /// The registry (`docker.io`, `harbor.corp:8443`).
    pub registry: String,
    /// Blob bytes downloaded (layers and configs).
    pub downloaded: u64,
    /// Manifest bytes downloaded.
    pub manifest_bytes: u64,
    /// Blob bytes uploaded.
    pub uploaded: u64,
    /// Blobs mounted from another repository of the registry (not uploaded).
    pub mounted: u64,
    /// Their bytes.
    pub mounted_bytes: u64,
    /// Blobs the destination had already (not uploaded).
    pub present: u64,
    /// Their bytes.
    pub present_bytes: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Requests sent again (429, 408, 5xx, dropped connections, resumed downloads), from the
    /// run's one retry budget.
    pub retries: u64,
}

impl RegistryTransfer {
    pub(crate) fn from(registry: &str, t: &trustbake_image::registry::Transfer) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        RegistryTransfer {
            registry: registry.to_owned(),
            downloaded: t.downloaded.load(Relaxed),
            manifest_bytes: t.manifest_bytes.load(Relaxed),
            uploaded: t.uploaded.load(Relaxed),
            mounted: t.mounted.load(Relaxed),
            mounted_bytes: t.mounted_bytes.load(Relaxed),
            present: t.present.load(Relaxed),
            present_bytes: t.present_bytes.load(Relaxed),
            requests: t.requests.load(Relaxed),
            retries: t.retries.load(Relaxed),
        }
    }
}

/// One platform of a bake.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BakePlatform {
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// The new manifest's digest.
    pub manifest: String,
    /// The new config's digest.
    pub config: String,
    /// The layer added, or `null` when the platform already trusted every CA.
    pub layer: Option<LayerOutcome>,
    /// What was detected in the image.
    pub detected: Detected,
    /// Per store, per CA.
    pub stores: Vec<StoreOutcome>,
    /// Where the version map and the image disagree, and other facts.
    pub notes: Vec<String>,
    /// The entries of the new layer, in path order.
    pub entries: Vec<EntryOutcome>,
    /// Variables set in the new config's `Env` (`NODE_EXTRA_CA_CERTS`).
    pub env: std::collections::BTreeMap<String, String>,
    /// The base's top layer, which trustbake wrote and this bake replaced (its CAs are gone
    /// from every store unless given again), or `null`.
    pub replaced: Option<ReplacedOutcome>,
}

/// A layer an earlier bake wrote (replaced by a new bake, or found by `inspect`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReplacedOutcome {
    /// Its digest.
    pub layer: String,
    /// Its history entry's `created_by`.
    pub created_by: String,
    /// The CAs it added (`sha256:…`), from the config's label.
    pub cas: Vec<String>,
    /// The CAs it distrusted.
    pub removed: Vec<String>,
}

/// The layer a bake added.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LayerOutcome {
    /// The compressed blob's digest.
    pub digest: String,
    /// The compressed blob's size.
    pub size: u64,
    /// The uncompressed tar's digest.
    pub diff_id: String,
}

/// What `inspect` found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InspectOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image reference or directory inspected.
    pub source: String,
    /// What the reference's name says (see `bake`'s `anchore`); `null` for a directory or a
    /// name that is none of Anchore's images.
    pub anchore: Option<crate::names::NamedImage>,
    /// Per platform (one, with `platform: null`, for a directory or a single-platform image
    /// without a platform).
    pub platforms: Vec<InspectPlatform>,
}

/// One platform of an inspection.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InspectPlatform {
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// What was detected.
    pub detected: Detected,
    /// Every store found, with what it holds.
    pub stores: Vec<StoreContents>,
    /// The locally added CAs and where each is.
    pub local_cas: Vec<LocalCa>,
    /// Stores other users cannot read (a container under an arbitrary UID).
    pub warnings: Vec<String>,
    /// The image's top layer when a trustbake bake wrote it: what it added and distrusted (a
    /// new bake replaces it); `null` otherwise, and for a directory.
    pub trustbake: Option<ReplacedOutcome>,
}

/// One store and what it holds.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StoreContents {
    /// Its path.
    pub path: String,
    /// Its kind.
    pub kind: StoreKind,
    /// For a certifi bundle, how trustbake treats it (see [`CertifiOutcome::status`]).
    pub certifi_status: Option<&'static str>,
    /// Certificates read.
    pub certificates: usize,
    /// Blocks or entries that could not be read.
    pub unreadable: usize,
}

/// A locally added CA and where it is.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LocalCa {
    /// p11-kit's label.
    pub label: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// The file it was added as.
    pub source: String,
    /// The stores that hold it.
    pub present_in: Vec<String>,
    /// The stores expected to hold it that do not.
    pub missing_from: Vec<String>,
    /// The image layer that added it (its file), when the source is an image.
    pub added_by: Option<AddedBy>,
}

/// The layer of an image that wrote a locally added CA's file.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AddedBy {
    /// Its position in the manifest, 0 for the bottom layer.
    pub index: usize,
    /// Its digest (a docker archive's member name when its digest is not known).
    pub digest: String,
    /// Its history entry's `created_by`, when the history matches the layers.
    pub created_by: Option<String>,
    /// Whether trustbake's bake wrote it.
    pub trustbake: bool,
}

/// What was detected in a root.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Detected {
    /// `/etc/os-release`: `ID`, `ID_LIKE`, `VERSION_ID` (empty when absent).
    pub os: OsOutcome,
    /// `rhel`, `suse`, `debian`, `alpine` or `distroless` (the OS store written), or `unknown`
    /// (only `--bundle` files are).
    pub family: String,
    /// The RHEL extracted outputs the image has.
    pub rhel_outputs: Vec<OutputOutcome>,
    /// Whether the RHEL hashed directory is there.
    pub rhel_directory_hash: bool,
    /// Whether a Debian store is there.
    pub debian: bool,
    /// Whether the Debian store has Java's keystore.
    pub debian_java: bool,
    /// The SUSE family's store, when there is one.
    pub suse: Option<SuseOutcome>,
    /// The Alpine family's store (Alpine, Wolfi), when there is one.
    pub alpine: Option<AlpineOutcome>,
    /// The distroless store, when the image is a distroless one.
    pub distroless: Option<DistrolessOutcome>,
    /// Every certifi bundle, primary first.
    pub certifi: Vec<CertifiOutcome>,
    /// The primary Python's `major.minor`, when known.
    pub python: Option<String>,
}

/// The SUSE family's store as detected.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SuseOutcome {
    /// The extracted files the image has (`ca-bundle.pem`, `java-cacerts`).
    pub outputs: Vec<OutputOutcome>,
    /// Whether `/var/lib/ca-certificates/pem/` is there.
    pub pem_directory: bool,
    /// Whether `/var/lib/ca-certificates/openssl/` is there.
    pub openssl_directory: bool,
}

/// The Alpine family's store as detected.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AlpineOutcome {
    /// `update-ca-certificates` with its sources (`/etc/ca-certificates.conf`) is there: the
    /// bundle is rebuilt as the tool does; else only the bundle is, and it is appended to.
    pub tool: bool,
    /// The `certhash` hook's `HHHHHHHH.N` links are kept in `/etc/ssl/certs`.
    pub hash_links: bool,
    /// `/etc/ssl/cert.pem` is a file of its own, kept in step with the bundle.
    pub cert_pem: bool,
    /// Java's keystore `/etc/ssl/certs/java/cacerts` is there (Wolfi's `java-cacerts`).
    pub java: bool,
}

/// The distroless store as detected.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DistrolessOutcome {
    /// Java's keystore `/etc/ssl/certs/java/cacerts` is there.
    pub java: bool,
}

/// `/etc/os-release`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OsOutcome {
    /// `ID`.
    pub id: String,
    /// `ID_LIKE`.
    pub id_like: String,
    /// `VERSION_ID`.
    pub version_id: String,
}

/// An extracted output.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OutputOutcome {
    /// Its path.
    pub path: String,
    /// Its kind.
    pub kind: StoreKind,
}

/// A certifi bundle.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CertifiOutcome {
    /// `…/certifi/cacert.pem` as found.
    pub path: String,
    /// The file after links are resolved (where a patch goes).
    pub real_path: String,
    /// `own` (patched), `linked-to-os` (a link into the OS store, which covers it),
    /// `distro-patched` (a distribution build reading the system bundle), `vendored` (pip's
    /// copy, left alone unless asked), `unusable` (left alone: see `reason`).
    pub status: &'static str,
    /// For `linked-to-os`, where it points.
    pub target: Option<String>,
    /// For `unusable`, why.
    pub reason: Option<String>,
    /// The wheel's `RECORD` kept true, when there is one.
    pub record: Option<String>,
}

/// What happened in one store.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StoreOutcome {
    /// The store's path, as the image's tools name it.
    pub path: String,
    /// Its kind.
    pub kind: StoreKind,
    /// The CAs added.
    pub added: Vec<CaOutcome>,
    /// The CAs it held already.
    pub present: Vec<CaOutcome>,
    /// The CAs it did not take, and why.
    pub skipped: Vec<SkippedOutcome>,
    /// The CAs taken out of it (`--remove`).
    pub removed: Vec<CaOutcome>,
    /// Existing certificates that could not be read (left as they are).
    pub unreadable_existing: usize,
}

/// A CA in a report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CaOutcome {
    /// p11-kit's label.
    pub label: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
}

/// A CA a store did not take.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SkippedOutcome {
    /// p11-kit's label.
    pub label: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// Why.
    pub reason: String,
}

/// One entry written (or to write).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EntryOutcome {
    /// Absolute path inside the root.
    pub path: String,
    /// `file`, `symlink` or `dir`.
    pub kind: &'static str,
    /// A file's size.
    pub size: Option<usize>,
    /// A link's target.
    pub target: Option<String>,
    /// Permission bits, octal (`0644`).
    pub mode: String,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
}

impl From<&Layout> for Detected {
    fn from(layout: &Layout) -> Self {
        Detected {
            os: OsOutcome {
                id: layout.os.id.clone(),
                id_like: layout.os.id_like.clone(),
                version_id: layout.os.version_id.clone(),
            },
            family: layout.family.to_string(),
            rhel_outputs: layout
                .rhel_outputs
                .iter()
                .map(|o| OutputOutcome {
                    path: o.path.clone(),
                    kind: o.kind,
                })
                .collect(),
            rhel_directory_hash: layout.rhel_directory_hash,
            debian: layout.debian,
            debian_java: layout.debian_java,
            suse: layout.suse.as_ref().map(|s| SuseOutcome {
                outputs: s
                    .outputs
                    .iter()
                    .map(|o| OutputOutcome {
                        path: o.path.clone(),
                        kind: o.kind,
                    })
                    .collect(),
                pem_directory: s.pem_directory,
                openssl_directory: s.openssl_directory,
            }),
            alpine: layout.alpine.as_ref().map(|a| AlpineOutcome {
                tool: a.tool,
                hash_links: a.hash_links,
                cert_pem: a.cert_pem,
                java: a.java,
            }),
            distroless: layout
                .distroless
                .as_ref()
                .map(|d| DistrolessOutcome { java: d.java }),
            certifi: layout
                .certifi
                .iter()
                .map(|b| CertifiOutcome {
                    path: b.path.clone(),
                    real_path: b.real_path.clone(),
                    status: certifi_status(&b.status),
                    target: match &b.status {
                        CertifiStatus::LinkedToOs { target } => Some(target.clone()),
                        _ => None,
                    },
                    reason: match &b.status {
                        CertifiStatus::Unusable { reason } => Some(reason.clone()),
                        _ => None,
                    },
                    record: b.record.clone(),
                })
                .collect(),
            python: layout.python.clone(),
        }
    }
}

fn certifi_status(status: &CertifiStatus) -> &'static str {
    match status {
        CertifiStatus::Own => "own",
        CertifiStatus::LinkedToOs { .. } => "linked-to-os",
        CertifiStatus::DistroPatched => "distro-patched",
        CertifiStatus::Vendored => "vendored",
        CertifiStatus::Unusable { .. } => "unusable",
    }
}

fn ca(c: &CaRef) -> CaOutcome {
    CaOutcome {
        label: c.label.clone(),
        sha256: c.sha256.clone(),
    }
}

impl From<&StoreReport> for StoreOutcome {
    fn from(s: &StoreReport) -> Self {
        StoreOutcome {
            path: s.store.clone(),
            kind: s.kind,
            added: s.added.iter().map(ca).collect(),
            present: s.present.iter().map(ca).collect(),
            skipped: s
                .skipped
                .iter()
                .map(|k| SkippedOutcome {
                    label: k.ca.label.clone(),
                    sha256: k.ca.sha256.clone(),
                    reason: k.reason.clone(),
                })
                .collect(),
            removed: s.removed.iter().map(ca).collect(),
            unreadable_existing: s.unreadable_existing,
        }
    }
}

impl From<&PlanItem> for EntryOutcome {
    fn from(item: &PlanItem) -> Self {
        let (kind, size, target) = match &item.content {
            Content::File(bytes) => ("file", Some(bytes.len()), None),
            Content::Symlink(t) => ("symlink", None, Some(t.clone())),
            Content::Dir => ("dir", None, None),
            Content::Remove => ("remove", None, None),
        };
        EntryOutcome {
            path: item.path.clone(),
            kind,
            size,
            target,
            mode: format!("{:04o}", item.meta.mode),
            uid: item.meta.uid,
            gid: item.meta.gid,
            mtime: item.meta.mtime,
        }
    }
}

/// The stores of a report, as outcomes.
pub(crate) fn stores(report: &Report) -> Vec<StoreOutcome> {
    report.stores.iter().map(StoreOutcome::from).collect()
}

/// The per-platform part of an inspection.
pub(crate) fn inspect_platform(platform: Option<String>, i: &Inspection) -> InspectPlatform {
    InspectPlatform {
        platform,
        detected: Detected::from(&i.detected),
        stores: i
            .stores
            .iter()
            .map(|s| StoreContents {
                path: s.path.clone(),
                kind: s.kind,
                certifi_status: s.certifi.as_ref().map(certifi_status),
                certificates: s.certificates,
                unreadable: s.unreadable,
            })
            .collect(),
        local_cas: i
            .local_cas
            .iter()
            .map(|c| LocalCa {
                label: c.label.clone(),
                sha256: c.sha256.clone(),
                source: c.source.clone(),
                present_in: c.present_in.clone(),
                missing_from: c.missing_from.clone(),
                added_by: None,
            })
            .collect(),
        warnings: i.warnings.clone(),
        trustbake: None,
    }
}

/// The intake's notes and warnings, owned.
pub(crate) fn intake_notes(cas: &Intake) -> (Vec<String>, Vec<String>) {
    (cas.notes().to_vec(), cas.warnings().to_vec())
}

/// An RFC 3339 time (UTC) for outcomes.
pub(crate) fn rfc3339(unix: i64) -> String {
    trustbake_certs::format_timestamp(unix)
}

/// What `verify` found: per platform, per consumer, whether it trusts the chain.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The image reference or root directory.
    pub source: String,
    /// Where the chain came from: the file, or the URL it was fetched from.
    pub chain_from: String,
    /// The name checked against the server certificate (none: no name check).
    pub hostname: Option<String>,
    /// The time of validation, RFC 3339.
    pub at: String,
    /// The chain, server certificate first.
    pub chain: Vec<ChainCert>,
    /// Whether every required consumer of every platform trusts it.
    pub trusted: bool,
    /// One entry per platform.
    pub platforms: Vec<VerifyPlatform>,
}

/// A certificate of the chain.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ChainCert {
    /// Subject, as certifi renders it.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// DNS names and IP addresses of its subject alternative names.
    pub names: Vec<String>,
}

impl From<&trustbake_certs::Certificate> for ChainCert {
    fn from(c: &trustbake_certs::Certificate) -> Self {
        ChainCert {
            subject: c.subject().to_owned(),
            issuer: c.issuer().to_owned(),
            sha256: c.sha256().hex(),
            not_before: rfc3339(c.not_before()),
            not_after: rfc3339(c.not_after()),
            names: trustbake_certs::subject_alt_names(c),
        }
    }
}

/// One platform's consumers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyPlatform {
    /// `os/arch[/variant]`, or none for a single-platform image or a root.
    pub platform: Option<String>,
    /// Whether every required consumer trusts the chain.
    pub trusted: bool,
    /// The consumers found.
    pub consumers: Vec<ConsumerVerdict>,
    /// Notes on the model (the runtime mount).
    pub notes: Vec<String>,
}

/// One consumer's verdict.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ConsumerVerdict {
    /// `requests`, `openssl`, `curl`, `go`, `java`, `node`.
    pub kind: trustbake_store::ConsumerKind,
    /// The line's name (a requests line names its certifi bundle).
    pub name: String,
    /// The programs found that it stands for.
    pub programs: Vec<String>,
    /// Whether it trusts the chain.
    pub trusted: bool,
    /// Whether the verdict counts (false for pip's vendored certifi, used only by pip).
    pub required: bool,
    /// The store certificate the path ends at.
    pub anchor: Option<CaOutcome>,
    /// Why not, as an object with a `code`.
    pub reason: Option<trustbake_certs::Failure>,
    /// Why not, in words.
    pub message: Option<String>,
    /// How many distinct certificates it trusts.
    pub certificates: usize,
    /// What it reads, in order.
    pub sources: Vec<SourceOutcome>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

/// One place a consumer reads.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SourceOutcome {
    /// The path, or `built-in`.
    pub path: String,
    /// `file`, `hashed-dir`, `dir`, `keystore`, `built-in`.
    pub how: String,
    /// Why it is read (the default, or the variable).
    pub from: String,
    /// Whether it exists.
    pub exists: bool,
    /// Certificates read there.
    pub certificates: usize,
}

impl From<&trustbake_store::TrustSource> for SourceOutcome {
    fn from(s: &trustbake_store::TrustSource) -> Self {
        SourceOutcome {
            path: s.path.clone(),
            how: s.how.to_owned(),
            from: s.from.clone(),
            exists: s.exists,
            certificates: s.certificates,
        }
    }
}

/// What `check-config` found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckConfigOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The config file.
    pub config: String,
    /// The time of the checks, RFC 3339.
    pub at: String,
    /// A certificate expiring within this many days is a warning.
    pub warn_days: i64,
    /// The image every service must be trusted by, if given.
    pub image: Option<String>,
    /// `internal_ssl_verify` as Anchore reads it (absent: true).
    pub internal_ssl_verify: bool,
    /// Whether no check failed (the exit code).
    pub ok: bool,
    /// Findings about the config as a whole.
    pub findings: Vec<ConfigFinding>,
    /// Every service of the `services` map, in order.
    pub services: Vec<ServiceOutcome>,
}

/// A finding about the whole config.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ConfigFinding {
    /// `warning` or `note`.
    pub severity: String,
    /// What and why.
    pub message: String,
}

/// One service and its checks.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ServiceOutcome {
    /// Its key in `services`.
    pub name: String,
    /// `enabled`.
    pub enabled: bool,
    /// `ssl_enable`.
    pub ssl_enable: bool,
    /// `endpoint_hostname`.
    pub endpoint_hostname: Option<String>,
    /// `port`.
    pub port: Option<String>,
    /// `ssl_cert`.
    pub ssl_cert: Option<PathOutcome>,
    /// `ssl_key`.
    pub ssl_key: Option<PathOutcome>,
    /// `ssl_chain`.
    pub ssl_chain: Option<PathOutcome>,
    /// The checks (none for a disabled or plain-HTTP service).
    pub checks: Vec<CheckOutcome>,
}

/// A path of the config: in the container, and on this host.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PathOutcome {
    /// As the config says.
    pub container: String,
    /// Where trustbake read it (null: not under a mounted directory).
    pub host: Option<String>,
}

/// One check of a service.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// `settings`, `certificate`, `key`, `chain`, `hostname`, `usage`, `image-trust`.
    pub check: String,
    /// `ok`, `warn`, `fail` or `skipped`.
    pub status: String,
    /// What was found.
    pub message: String,
}

/// Every release line of both products (`trustbake plan --all`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlanAllOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One plan per line, each for the line's first version.
    pub lines: Vec<PlanOutcome>,
}

/// What trustbake would write for one product version, and where.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlanOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `engine` or `enterprise`.
    pub product: String,
    /// With `plan --image`: the image and what its name says; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<PlannedImage>,
    /// The version as asked (for `plan_all`, the line's first version).
    pub version: String,
    /// The release line, e.g. `5.1.x+`.
    pub line: String,
    /// The line's first version.
    pub first_version: String,
    /// The base image: `centos7`, `ubuntu1804`, `ubi7`, `ubi8` or `ubi9`.
    pub base: String,
    /// `rhel` or `debian`.
    pub os_family: String,
    /// The directory the OS update tool reads local CAs from.
    pub anchors_dir: String,
    /// The command whose outputs trustbake writes.
    pub update_command: String,
    /// The OS files that command regenerates (`<…>` marks a name pattern).
    pub os_outputs: Vec<String>,
    /// The Python version, e.g. `3.11`.
    pub python: String,
    /// certifi `cacert.pem` paths, primary first.
    pub certifi_paths: Vec<String>,
    /// The user the containers run as.
    pub user: String,
    /// `confirmed` or `inferred`.
    pub confidence: String,
    /// Where the line's facts come from.
    pub source: String,
    /// What to keep in mind about this answer.
    pub notes: Vec<String>,
    /// The CAs and where each would go; present only when CAs were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cas: Option<Vec<CaPlan>>,
    /// Doubts about the CAs (weak keys or signatures, what an `--allow-…` let through);
    /// present only when CAs were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// The image a plan was asked for by name.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlannedImage {
    /// The reference as given.
    pub reference: String,
    /// What its name says.
    #[serde(flatten)]
    pub name: NamedImage,
}

/// One CA in a plan.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CaPlan {
    /// p11-kit's label (subject CN, else OU, else O).
    pub label: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// SHA-1 of the DER, lower-case hex.
    pub sha1: String,
    /// The absolute path the CA would get in the image's anchors directory.
    pub anchor_file: String,
    /// Whether p11-kit treats it as an authority (it reaches the TLS bundles).
    pub authority: bool,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Subject as certifi renders it.
    pub subject: String,
    /// Issuer as certifi renders it.
    pub issuer: String,
    /// Serial number, decimal.
    pub serial: String,
    /// Key algorithm and size, e.g. `RSA 2048` or `EC P-256`.
    pub key: String,
    /// Signature algorithm, e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// Where the CA was read from.
    pub sources: Vec<String>,
}

/// What was written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DockerfileOutcome {
    /// The Containerfile's path.
    pub containerfile: PathBuf,
    /// The files written, relative to the context directory.
    pub files: Vec<String>,
    /// How the layout was found.
    pub layout_from: String,
}
