//! The trustbake trust-store engine.
//!
//! Given a read-only view of a root file system ([`RootView`]) and validated CAs, [`plan`]
//! computes what running the image's own tools would have produced — `update-ca-trust` on the
//! RHEL family, `update-ca-certificates` on Debian, and the append to every certifi
//! `cacert.pem` — without running anything from the image. The result is a [`Plan`] (files,
//! links and directories with owner, mode and content) and a [`Report`] (what was detected,
//! and per store and per CA: added, already present, or skipped and why).
//!
//! The engine does no I/O of its own: the view reads, and an edge (`trustbake::apply_to_dir`,
//! or an image layer writer) applies the plan. Detection inside the root wins over the version
//! map: where they disagree the image's paths are used and the report says so.
//!
//! Laws (property-tested): planning the same CAs on the result of a plan gives an empty plan;
//! the order of the CAs does not change the plan.

mod consumers;
mod detect;
mod engine;
pub mod formats;
mod inspect;
mod kind;
pub mod paths;
mod view;

pub use consumers::{
    Consumer, ConsumerKind, ENTRYPOINT, Env, GO_DIRS, GO_FILES, Overlay, RUNTIME_CERTS, TRUST_ENV,
    TrustSource, consumer_reads, consumers, runtime_overlay,
};
pub use detect::{CertifiBundle, CertifiStatus, Layout, OsRelease, RhelOutput, detect};
pub use engine::{
    CaRef, Content, Found, NodeExtra, Options, Plan, PlanItem, Removal, Report, Skipped,
    StoreReport, blocklist_dir, env_reads, find_removals, node_extra, plan,
};
pub use inspect::{Inspection, LocalCa, StoreContents, inspect};
pub use kind::StoreKind;
pub use view::{Entry, MemRoot, Meta, RootView, file_name, parent, read_resolved, resolve};

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
        /// [`paths::MAX_READ`].
        limit: u64,
    },
    /// The root has neither trust-store layout.
    #[error(
        "no trust store found in the root: looked for /etc/pki/ca-trust/extracted (update-ca-trust) and /etc/ssl/certs with /etc/ca-certificates.conf or /usr/share/ca-certificates (update-ca-certificates)"
    )]
    NoTrustStore,
    /// A path that must be a directory is something else.
    #[error("{path}: expected a directory, found {found}")]
    NotADirectory {
        /// The path inside the root.
        path: String,
        /// What is there.
        found: &'static str,
    },
}
