//! A product and version as the version map knows them, and the target an image's name gives.

use trustbake_targets::{ImageName, Product, Resolved, Version, VersionMap};

use crate::error::Error;

/// A product and version, as the version map knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The product.
    pub product: Product,
    /// The version.
    pub version: Version,
}

impl Target {
    /// A target from its parts.
    pub fn new(product: Product, version: Version) -> Self {
        Target { product, version }
    }

    /// A target as users type it: `enterprise`, `v5.1.0`.
    pub fn parse(product: &str, version: &str) -> Result<Self, Error> {
        Ok(Target {
            product: product.parse()?,
            version: version.parse()?,
        })
    }

    /// The release line the version map gives this target.
    pub(crate) fn resolve<'m>(&self, map: &'m VersionMap) -> Result<Resolved<'m>, Error> {
        Ok(map.resolve(self.product, &self.version)?)
    }
}

/// The version-map target `name` gives (product and version both known), with a note when the
/// map has no line for it — a name never fails a bake.
pub(crate) fn target_of(name: &ImageName) -> (Option<Target>, Option<String>) {
    let (Some(product), Some(version)) = (name.product(), name.version.clone()) else {
        return (None, None);
    };
    let target = Target::new(product, version);
    match target.resolve(VersionMap::builtin()) {
        Ok(_) => (Some(target), None),
        Err(e) => (
            None,
            Some(format!(
                "the image's name says {product} {}, which the version map cannot place ({e}): the layout is detected from the image alone",
                target.version
            )),
        ),
    }
}
