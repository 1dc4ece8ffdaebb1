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
mod env;
mod error;
mod family;
pub mod formats;
mod inspect;
mod kind;
mod layout;
pub mod paths;
mod plan;
mod view;
mod writer;

pub use consumers::{
    Consumer, ConsumerKind, ENTRYPOINT, GO_DIRS, GO_FILES, Overlay, RUNTIME_CERTS, TRUST_ENV,
    TrustSource, consumer_reads, consumers, runtime_overlay,
};
pub use detect::detect;
pub use engine::{
    Found, JavaRuntime, NodeExtra, Report, conda_prefixes, env_reads, find_removals, java_runtimes,
    node_extra, plan,
};
pub use env::Env;
pub use error::StoreError;
pub use family::blocklist_dir;
pub use inspect::{Inspection, LocalCa, inspect};
pub use kind::StoreKind;
pub use layout::{
    AlpineStore, CertifiBundle, CertifiStatus, DistrolessStore, Layout, OsRelease, RhelOutput,
    StoreContents, SuseStore,
};
pub use plan::{Content, Plan, PlanItem};
pub use view::{Entry, MemRoot, Meta, RootView, file_name, parent, read_resolved, resolve};
pub use writer::{CaRef, Options, Removal, Skipped, StoreReport};
