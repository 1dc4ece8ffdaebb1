//! `inspect`: what each platform of an image (or a root directory) trusts, each local CA
//! named with the layer that added it, and trustbake's own top layer when it wrote one.

use trustbake_image::Platform;
use trustbake_image::registry::Access;
use trustbake_store::Env;

use crate::error::Error;
use crate::outcome::{self, InspectOutcome, SCHEMA_VERSION};
use crate::provenance::{added_by, trustbake_layer};
use crate::views::{Keep, Source};

/// What each platform of an image trusts: `source` is an image reference, or a directory
/// holding an unpacked root file system.
pub fn inspect(source: &str, platform: Option<&Platform>) -> Result<InspectOutcome, Error> {
    inspect_with(source, platform, &Access::default())
}

/// [`inspect`], reaching a registry with `access`.
pub fn inspect_with(
    source: &str,
    platform: Option<&Platform>,
    access: &Access,
) -> Result<InspectOutcome, Error> {
    let opened = Source::open(source, access)?;
    let mut platforms = Vec::new();
    opened.each(platform, &Env::new(), Keep::Engine, &mut |view| {
        let found = trustbake_store::inspect(view.root, &view.env)?;
        let mut inspected = outcome::inspect_platform(view.label(), &found);
        if let (Some(p), Some(layers)) = (view.platform, view.layers) {
            for ca in &mut inspected.local_cas {
                ca.added_by = added_by(layers, p, &ca.source)?;
            }
            inspected.trustbake = trustbake_layer(p);
        }
        platforms.push(inspected);
        Ok(())
    })?;
    let name = opened.reference().and_then(crate::names::name_of);
    Ok(InspectOutcome {
        schema_version: SCHEMA_VERSION,
        source: source.to_owned(),
        anchore: name.as_ref().map(crate::names::NamedImage::from),
        platforms,
    })
}
