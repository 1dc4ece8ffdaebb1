//! What an image's layers say about who wrote them: trustbake's own top layer (found from the
//! config's history and labels) and the layer that wrote a given file.

use trustbake_image::{LayeredRoot, PlatformImage};

use crate::error::Error;
use crate::outcome::{self, LABEL_CAS, LABEL_REMOVED, ReplacedOutcome};
use crate::views::ImageRoot;

/// The top layer of a platform, when trustbake wrote it: the config's last history entry is a
/// trustbake bake that made a layer, trustbake's label is set, and the history's layers match
/// the manifest's. Returns that entry's `created_by`.
pub(crate) fn trustbake_top(p: &PlatformImage) -> Option<String> {
    let config = p.config.value();
    let history = config.history.as_ref()?;
    let last = history.last()?;
    let by = last.created_by.as_deref()?;
    let layers = history
        .iter()
        .filter(|h| h.empty_layer != Some(true))
        .count();
    let labelled = config
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .is_some_and(|l| l.contains_key(LABEL_CAS));
    (last.empty_layer != Some(true)
        && by.starts_with("trustbake ")
        && by.contains(" bake: ")
        && labelled
        && layers == p.layers.len()
        && p.layers.len() >= 2)
        .then(|| by.to_owned())
}

/// The top layer of `p` when trustbake wrote it, with what its bake added and distrusted
/// (from the config's labels).
pub(crate) fn trustbake_layer(p: &PlatformImage) -> Option<ReplacedOutcome> {
    let created_by = trustbake_top(p)?;
    let labels = p
        .config
        .value()
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref());
    let label = |key: &str| -> Vec<String> {
        labels
            .and_then(|l| l.get(key))
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(ReplacedOutcome {
        layer: p
            .layers
            .last()
            .map(trustbake_image::Layer::name)
            .unwrap_or_default(),
        created_by,
        cas: label(LABEL_CAS),
        removed: label(LABEL_REMOVED),
    })
}

/// The layer of `p` that wrote the file at `path`: its position, digest and history entry.
pub(crate) fn added_by(
    root: &LayeredRoot,
    p: &PlatformImage,
    path: &str,
) -> Result<Option<outcome::AddedBy>, Error> {
    let (real, _) = trustbake_store::resolve(&ImageRoot(root), path)?;
    let Some(index) = root.layer_of(&real) else {
        return Ok(None);
    };
    let history: Vec<&trustbake_image::model::History> = p
        .config
        .value()
        .history
        .iter()
        .flatten()
        .filter(|h| h.empty_layer != Some(true))
        .collect();
    let created_by = (history.len() == p.layers.len())
        .then(|| history.get(index).and_then(|h| h.created_by.clone()))
        .flatten();
    let digest = root
        .layers
        .get(index)
        .map(|l| l.digest.to_string())
        .unwrap_or_default();
    Ok(Some(outcome::AddedBy {
        index,
        digest,
        trustbake: created_by
            .as_deref()
            .is_some_and(|c| c.starts_with("trustbake ") && c.contains(" bake: ")),
        created_by,
    }))
}
