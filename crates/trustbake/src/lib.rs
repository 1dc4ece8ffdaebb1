//! trustbake: bake custom CA certificates into Anchore container images, in both trust stores
//! — the OS store and Python certifi's `cacert.pem` — without a Docker daemon.
//!
//! This crate is the small, high-level API for build scripts and tools. It reads CA input from
//! files, directories and stdin ([`load_cas`]; this is where the I/O happens), and answers the
//! dry-run question "which paths, for which release, would be written" ([`plan`],
//! [`plan_all`]). The building blocks are re-exported: [`certs`] (certificate intake) and
//! [`targets`] (the Anchore version map).
//!
//! In a `build.rs`:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["cas/"], trustbake::strict_policy()).expect("CA input refused");
//! let plan = trustbake::plan("enterprise", "5.1", Some(&cas)).expect("no plan");
//! for ca in plan.cas.iter().flatten() {
//!     println!("cargo:warning={} -> {}", ca.label, ca.anchor_file);
//! }
//! ```

mod bake;
mod load;
mod plan;
mod render;
mod root;

pub use trustbake_certs as certs;
pub use trustbake_image as image;
pub use trustbake_store as store;
pub use trustbake_targets as targets;

pub use bake::{
    BakeOutcome, BakeRequest, EntrySummary, LayerSummary, PlatformOutcome, bake, inspect,
};
pub use load::{CaInput, load_cas, read_sources};
pub use plan::{CaPlan, TargetPlan, plan, plan_all, plan_resolved};
pub use render::render_table;
pub use root::{ApplyError, DirRoot, apply_to_dir};
pub use trustbake_certs::{Intake, IntakeError, Policy};

/// Everything that can go wrong in the high-level API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CA input was refused.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The version string is not a version.
    #[error(transparent)]
    Version(#[from] targets::VersionError),
    /// The product or version has no answer in the map.
    #[error(transparent)]
    Target(Box<targets::TargetError>),
    /// The trust-store engine could not plan.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A plan could not be written.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// An image could not be read or written.
    #[error(transparent)]
    Image(#[from] image::ImageError),
}

impl From<targets::TargetError> for Error {
    fn from(err: targets::TargetError) -> Self {
        Error::Target(Box::new(err))
    }
}

/// Plans `cas` into the unpacked root file system at `root`. With `product` and `version`,
/// the version map's expectations are compared with what the root holds (the root wins).
/// Entry mtimes come from `SOURCE_DATE_EPOCH` when set, else the current time (this writes a
/// directory in place, as running the image's own tools would).
pub fn plan_root(
    root: &std::path::Path,
    cas: &Intake,
    target: Option<(&str, &str)>,
    include_vendored: bool,
) -> Result<(store::Plan, store::Report), Error> {
    let map = targets::VersionMap::builtin();
    let resolved = match target {
        Some((product, version)) => Some(map.resolve(product.parse()?, &version.parse()?)?),
        None => None,
    };
    let mtime = source_date_epoch().unwrap_or_else(now);
    let options = store::Options {
        mtime,
        jks_timestamp_ms: source_date_epoch().map(|s| s * 1000),
        include_vendored,
    };
    let certs: Vec<certs::Certificate> =
        cas.cas().iter().map(|ca| ca.certificate.clone()).collect();
    Ok(store::plan(
        &DirRoot::new(root),
        &certs,
        resolved.as_ref(),
        &options,
    )?)
}

/// `SOURCE_DATE_EPOCH`, when set to a number.
pub fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// The strict intake policy with validity checked against the current clock.
pub fn strict_policy() -> Policy {
    Policy::at(now())
}

/// The current time, Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
