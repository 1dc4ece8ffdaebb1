//! trustbake: bake custom CA certificates into Anchore container images, in both trust stores
//! — the OS store and Python certifi's `cacert.pem` — without a Docker daemon.
//!
//! This crate is the small API for build scripts and tools. Each command is one function
//! returning a typed outcome, which is also the command's `--json` contract:
//!
//! - [`plan`] / [`plan_all`]: which paths, for which release, would be written (no image);
//! - [`apply`] / [`apply_preview`]: write the CAs into an unpacked root file system;
//! - [`bake`] / [`preview`]: a new image with one more layer, from an OCI layout, an OCI
//!   archive or a docker archive;
//! - [`inspect`]: what an image (or a root) trusts, store by store;
//! - [`verify`]: whether each TLS client of an image would trust a server's chain;
//! - [`check_config`]: the TLS settings of an Anchore `config.yaml`, service by service;
//! - [`dockerfile`], [`helm_values`], [`ca_secret`], [`proxy_env`]: what operators deploy with
//!   instead of (or beside) a baked image — a Containerfile, chart values, the runtime CA
//!   Secret, proxy settings.
//!
//! CA input is read by [`load_cas`] (files, directories, `-` for stdin) and validated strictly;
//! CAs to distrust by [`load_removals`] (fingerprints or files). A bake onto an image whose top
//! layer an earlier bake wrote replaces that layer (rotation). Nothing here reads the clock or the environment: times are passed in ([`now`] and
//! [`source_date_epoch`] are there for callers that want them).
//!
//! Planning, without an image:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["cas/"], trustbake::Policy::at(trustbake::now()))?;
//! let plan = trustbake::plan(&trustbake::Target::parse("enterprise", "5.1")?, Some(&cas))?;
//! for ca in plan.cas.iter().flatten() {
//!     println!("cargo:warning={} -> {}", ca.label, ca.anchor_file);
//! }
//! # Ok::<(), trustbake::Error>(())
//! ```
//!
//! Baking, as an xtask would:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["corp-root.pem"], trustbake::Policy::at(trustbake::now()))?;
//! let request = trustbake::BakeRequest::new("oci:base:v5.1.0", "oci:out:v5.1.0-corp", &cas)?
//!     .target(trustbake::Target::parse("enterprise", "5.1")?)
//!     .source_date_epoch(Some(1_700_000_000));
//! let outcome = trustbake::bake(&request)?;
//! println!("{} {}", outcome.to, outcome.digest);
//! # Ok::<(), trustbake::Error>(())
//! ```
//!
//! Rotating: a new CA replaces the old layer, and an old root is distrusted everywhere:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["corp-root-2027.pem"], trustbake::Policy::at(trustbake::now()))?;
//! let request = trustbake::BakeRequest::new("oci:out:corp", "oci:out:corp-2027", &cas)?
//!     .remove(trustbake::load_removals(&["corp-root-2024.pem"])?);
//! let outcome = trustbake::bake(&request)?;
//! if let Some(replaced) = &outcome.platforms[0].replaced {
//!     println!("replaced {} (it added {:?})", replaced.layer, replaced.cas);
//! }
//! # Ok::<(), trustbake::Error>(())
//! ```
//!
//! Applying to an unpacked root, then inspecting it:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["corp-root.pem"], trustbake::Policy::at(trustbake::now()))?;
//! let root = std::path::Path::new("rootfs");
//! let applied = trustbake::apply(&trustbake::ApplyRequest::new(root, &cas, trustbake::now()))?;
//! println!("{} entries written", applied.entries.len());
//! for platform in trustbake::inspect("rootfs", None)?.platforms {
//!     for ca in platform.local_cas {
//!         println!("{}: missing from {:?}", ca.label, ca.missing_from);
//!     }
//! }
//! # Ok::<(), trustbake::Error>(())
//! ```

mod apply;
mod bake;
mod config;
mod deploy;
mod dockerfile;
mod load;
mod names;
mod outcome;
mod plan;
mod proxy;
mod root;
mod verify;

pub use apply::{ApplyRequest, apply, apply_preview};
pub use bake::{BakeRequest, LABEL_CAS, LABEL_REMOVED, bake, inspect, inspect_with, preview};
pub use config::{CheckConfigRequest, check_config, read_env_file};
pub use deploy::{BigBang, Chart, HelmValuesRequest, ca_secret, helm_values};
pub use dockerfile::{DockerfileBase, DockerfileOutcome, dockerfile};
pub use load::{load_cas, load_removals};
pub use names::{NamedImage, image_name};
pub use outcome::*;
pub use plan::{
    CaPlan, PlanAllOutcome, PlanOutcome, PlannedImage, Target, plan, plan_all, plan_image,
};
pub use proxy::{
    ProxyEnv, ProxyEnvRequest, ProxyFormat, decode_userinfo, encode_userinfo, proxy_env,
};
pub use root::ApplyError;
pub use trustbake_certs::{Chain, Failure as VerifyFailure};
pub use trustbake_certs::{Intake, IntakeError, Policy, Refusal};
pub use trustbake_image::registry::{
    Access, Action as TransferAction, CredentialSource, Credentials, Limits,
    Progress as TransferProgress, ProgressFn as TransferProgressFn, RegistryError,
    Role as RegistryRole,
};
pub use trustbake_image::{ImageError, ImageRef, Platform};
pub use trustbake_store::{ConsumerKind, Env, Removal, StoreKind};
pub use trustbake_targets::{Component, ImageName, Naming, Product, Version};
pub use verify::{VerifyRequest, fetch_chain, load_chain, load_runtime_certs, parse_url, verify};

/// Everything that can go wrong; [`Error::exit_code`] is the command line's status for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No CA input was given.
    #[error("no CA given")]
    NoCa,
    /// The CA input was refused.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The version string is not a version.
    #[error(transparent)]
    Version(#[from] trustbake_targets::VersionError),
    /// The product is unknown, or the version has no answer in the map.
    #[error(transparent)]
    Target(Box<trustbake_targets::TargetError>),
    /// The trust-store engine could not plan.
    #[error(transparent)]
    Store(#[from] trustbake_store::StoreError),
    /// A plan could not be written.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// An image could not be read or written.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A server chain (or runtime certificates) that could not be read.
    #[error("{from}: {reason}")]
    ChainInput {
        /// The file, directory or URL.
        from: String,
        /// Why.
        reason: String,
    },
    /// An argument that does not parse (a time, a variable).
    #[error("{what}: {reason}")]
    BadArgument {
        /// The argument.
        what: String,
        /// Why.
        reason: String,
    },
    /// An Anchore config that cannot be read, is not YAML, or that Anchore would refuse.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file trustbake writes could not be written.
    #[error("{path}: {reason}")]
    Output {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A server's chain could not be fetched.
    #[error("{url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A root file system that is not a directory.
    #[error("{}: not a directory (an unpacked root file system is expected)", path.display())]
    NotARoot {
        /// The path given.
        path: std::path::PathBuf,
    },
}

impl From<trustbake_targets::TargetError> for Error {
    fn from(err: trustbake_targets::TargetError) -> Self {
        Error::Target(Box::new(err))
    }
}

impl Error {
    /// The exit status: 1 failed, 2 usage (an argument that does not parse, no CA given),
    /// 3 CA input refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Intake(_) | Error::ChainInput { .. } | Error::Config { .. } => 3,
            Error::NoCa | Error::Version(_) | Error::BadArgument { .. } => 2,
            Error::Target(e)
                if matches!(
                    **e,
                    trustbake_targets::TargetError::UnknownProduct { .. }
                        | trustbake_targets::TargetError::UnknownComponent { .. }
                ) =>
            {
                2
            }
            Error::Image(
                ImageError::BadReference { .. }
                | ImageError::BadPlatform { .. }
                | ImageError::DidYouMean { .. }
                | ImageError::NoSuchPath { .. }
                | ImageError::NameOne { .. },
            ) => 2,
            _ => 1,
        }
    }
}

/// Removes every temporary a bake or an apply in this process is staging: for a signal handler,
/// which runs no destructors (the command line installs one for SIGINT, SIGTERM and SIGHUP).
pub fn remove_temporaries() {
    trustbake_image::cleanup::remove_pending();
}

/// `SOURCE_DATE_EPOCH` from the environment, when set to a number (for callers that honour it:
/// the library never reads the environment itself).
pub fn source_date_epoch() -> Option<i64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
}

/// A time as `verify --at` takes it: RFC 3339 (`2027-01-01T00:00:00Z`), a date
/// (`2027-01-01`, midnight UTC) or Unix seconds.
pub fn parse_time(text: &str) -> Result<i64, Error> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::BadArgument {
            what: "--at".into(),
            reason: format!(
                "'{text}' is not a time (RFC 3339 like 2027-01-01T00:00:00Z, a date 2027-01-01, or Unix seconds)"
            ),
        })?;
    Ok(date.midnight().assume_utc().unix_timestamp())
}

/// Every certificate of a PEM bundle or DER file (at most 4 MiB), read leniently: for CAs a
/// check is given, not CAs to bake (those pass [`load_cas`]).
pub fn read_certificates(
    path: &std::path::Path,
) -> Result<Vec<trustbake_certs::Certificate>, Error> {
    let (bytes, _) =
        load::read_limited(path, load::MAX_FILE).map_err(|reason| Error::ChainInput {
            from: path.display().to_string(),
            reason,
        })?;
    Ok(trustbake_certs::read_bundle(&bytes).certificates)
}

/// The current time, Unix seconds (for callers: the library never reads the clock itself).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
