//! The invariant checker every image test ends with: config digest and size, every blob's
//! digest and size, each layer's diff ID, one non-empty history entry per layer, and one
//! media-type family per manifest.

use crate::error::ImageError;
use crate::layers::{LayeredRoot, ScanOptions};
use crate::reference::ImageRef;
use crate::source::open;

/// What a valid image holds.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Platforms checked.
    pub platforms: usize,
    /// Layers checked, over all platforms.
    pub layers: usize,
}

/// Opens `reference` and checks every invariant; the first broken one is the error.
pub fn validate(reference: &ImageRef) -> Result<Validation, ImageError> {
    let image = open(reference)?; // manifests and configs: digests and sizes checked on read
    let mut layers = 0;
    for platform in &image.platforms {
        let none = |_: &str| false;
        let root = LayeredRoot::scan(&image, platform, &ScanOptions::keeping(&none, 0))?; // digests, sizes, diff IDs
        layers += root.layers.len();
        if let Some(history) = &platform.config.value().history {
            let non_empty = history.iter().filter(|h| h.has_layer()).count();
            if non_empty != platform.layers.len() {
                return Err(ImageError::BadJson {
                    what: format!("{} config", image.reference),
                    detail: format!(
                        "{non_empty} non-empty history entries for {} layers",
                        platform.layers.len()
                    ),
                });
            }
        }
        let docker_types = platform
            .layers
            .iter()
            .filter(|l| l.media_type.contains("docker"))
            .count();
        if docker_types != 0 && (docker_types != platform.layers.len() || !platform.docker) {
            return Err(ImageError::BadJson {
                what: format!("{} manifest", image.reference),
                detail: "Docker and OCI media types are mixed".into(),
            });
        }
    }
    Ok(Validation {
        platforms: image.platforms.len(),
        layers,
    })
}
