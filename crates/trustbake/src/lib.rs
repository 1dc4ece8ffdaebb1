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
//! - [`dockerfile`], [`deploy::helm_values`], [`deploy::ca_secret`], [`proxy::proxy_env`]: what
//!   operators deploy with instead of (or beside) a baked image — a Containerfile, chart values,
//!   the runtime CA Secret, proxy settings;
//! - [`signing`]: a bake signed and attested as cosign does ([`BakeRequest::sign`]), and
//!   [`signing::verify_image`]: signed, attested, and exactly its base plus the attested layer;
//! - [`sync`]: every matching upstream tag of a repository kept baked, state in the registry.
//!
//! The outcomes are in [`outcome`]; registry access in [`registry`]; server chains in
//! [`chain`]; the clock, `SOURCE_DATE_EPOCH` and signal cleanup in [`process`]; the inner
//! crates' types that are part of the contract in [`types`].
//!
//! CA input is read by [`load_cas`] (files, directories, `-` for stdin) and validated strictly;
//! CAs to distrust by [`load_removals`] (fingerprints or files). A bake onto an image whose top
//! layer an earlier bake wrote replaces that layer (rotation). Nothing here reads the clock or the environment: times are passed in ([`process::now`] and
//! [`process::source_date_epoch`] are there for callers that want them).
//!
//! Planning, without an image:
//!
//! ```no_run
//! let cas = trustbake::load_cas(&["cas/"], trustbake::Policy::at(trustbake::process::now()))?;
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
//! let cas = trustbake::load_cas(&["corp-root.pem"], trustbake::Policy::at(trustbake::process::now()))?;
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
//! let cas = trustbake::load_cas(&["corp-root-2027.pem"], trustbake::Policy::at(trustbake::process::now()))?;
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
//! let cas = trustbake::load_cas(&["corp-root.pem"], trustbake::Policy::at(trustbake::process::now()))?;
//! let root = std::path::Path::new("rootfs");
//! let applied =
//!     trustbake::apply(&trustbake::ApplyRequest::new(root, &cas, trustbake::process::now()))?;
//! println!("{} entries written", applied.entries.len());
//! for platform in trustbake::inspect("rootfs", None)?.platforms {
//!     for ca in platform.local_cas {
//!         println!("{}: missing from {:?}", ca.label, ca.missing_from);
//!     }
//! }
//! # Ok::<(), trustbake::Error>(())
//! ```

mod anchore_config;
mod apply;
mod attest;
mod bake;
pub mod chain;
mod config;
mod consumers;
pub mod deploy;
mod dockerfile;
mod error;
mod inspect;
mod load;
mod mode;
mod names;
pub mod outcome;
mod plan;
pub mod process;
mod provenance;
pub mod proxy;
pub mod registry;
mod root;
pub mod signing;
pub mod sync;
mod target;
pub mod types;
mod verify;
mod verify_image;
mod views;

pub use anchore_config::read_env_file;
pub use apply::{ApplyRequest, apply, apply_preview};
pub use bake::{BakeRequest, bake, preview};
pub use config::{CheckConfigRequest, check_config};
pub use dockerfile::{DockerfileBase, dockerfile};
pub use error::Error;
pub use inspect::{inspect, inspect_with};
pub use load::{load_cas, load_removals};
pub use names::image_name;
pub use plan::{plan, plan_all, plan_image};
pub use root::ApplyError;
pub use target::Target;
pub use trustbake_certs::{Intake, IntakeError, Policy, Refusal};
pub use trustbake_image::{ImageRef, Platform};
pub use verify::{VerifyRequest, verify};
