//! The Anchore targets trustbake knows.
//!
//! [`VersionMap::builtin`] is the table of every Anchore Engine and Anchore Enterprise release
//! line (`data/versions.toml`, compiled in): its base image, OS family, the anchors directory and
//! update command of the OS trust store, the outputs that command regenerates, the Python
//! version, where certifi's `cacert.pem` lives, the runtime user, and how sure each fact is.
//! [`VersionMap::resolve`] maps a product and a version (`5.1`, `v5.1.0`, `5.1.0-rc1`) to its
//! line, with notes where the map cannot be sure; versions older than the first known line are
//! refused rather than guessed. The truth inside an image is found by the
//! trust-store engine (`trustbake-store`), which wins where it disagrees with this map.
//!
//! [`ImageName::recognize`] reads the product, component and version an image's name gives, in
//! Docker Hub's naming and in Iron Bank's (Registry1) — a hint, never the judge of a layout.
//!
//! This crate knows nothing about certificates and does no I/O.
//!
//! ```
//! use trustbake_targets::{Product, Version, VersionMap};
//!
//! let map = VersionMap::builtin();
//! let target = map.resolve(Product::Enterprise, &"v5.1.0".parse::<Version>().unwrap()).unwrap();
//! assert_eq!(target.line.line, "5.1.x+");
//! assert_eq!(target.line.python, "3.11");
//! ```

mod map;
mod names;
mod version;

pub use map::{
    Base, BaseInfo, CertifiPath, Confidence, OsFamily, Product, ReleaseLine, Resolved, TargetError,
    VersionMap,
};
pub use names::{Component, ImageName, Naming};
pub use version::{Version, VersionError};
