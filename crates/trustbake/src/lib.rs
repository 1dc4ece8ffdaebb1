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

mod load;
mod plan;
mod render;

pub use trustbake_certs as certs;
pub use trustbake_targets as targets;

pub use load::{CaInput, load_cas, read_sources};
pub use plan::{CaPlan, TargetPlan, plan, plan_all, plan_resolved};
pub use render::render_table;
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
}

impl From<targets::TargetError> for Error {
    fn from(err: targets::TargetError) -> Self {
        Error::Target(Box::new(err))
    }
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
