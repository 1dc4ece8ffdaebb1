//! Images as values: [`Image::append`] records a new layer (or none) per platform and computes
//! the new configs, manifests and index once, into a [`NewImage`] that every destination
//! writes as it is. Base layers are carried by digest, never decompressed or recompressed;
//! documents that do not change keep their bytes.

use crate::digest::Digest;
use crate::error::ImageError;
use crate::layer::NewLayer;
use crate::model::{
    Config, ContainerConfig, Descriptor, Document, Family, History, Manifest, Platform, media_type,
};
use crate::source::{Image, IndexImage, Layer, PlatformImage};
use crate::tree::ScannedLayer;

/// The annotation naming the base image of a new manifest.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
/// The annotation naming the base manifest's digest.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// What to append to one platform of an image.
#[derive(Debug)]
pub struct Append<'a> {
    /// The platform image.
    pub base: &'a PlatformImage,
    /// Its layers as scanned, bottom first (their digests, for a docker archive's members).
    pub scanned: Vec<ScannedLayer>,
    /// The layer to add, or `None` to carry the platform unchanged.
    pub layer: Option<NewLayer>,
    /// Variables to set in the config's `Env` (an existing one is replaced in place, a new one
    /// appended); with no layer, a history entry marked `empty_layer` records the change.
    pub env: Vec<(String, String)>,
    /// Drop the base's top layer (one trustbake wrote) with its diff ID and history entry,
    /// so that the new layer replaces it; `scanned` then holds the layers below it (and may
    /// hold the top one too: a made-up manifest's layer is known by its scan).
    pub replace_top: bool,
    /// With `replace_top`: the labels and `Env` variables the replaced layer's bake set, taken
    /// out before this one sets its own (so that the result is what a bake of the base gives).
    pub replaced_settings: ReplacedSettings,
    /// `created` of the new config and history entry (RFC 3339).
    pub created: String,
}

/// What a replaced layer's bake set in the config.
#[derive(Debug, Clone, Default)]
pub struct ReplacedSettings {
    /// Label keys.
    pub labels: Vec<String>,
    /// `Env` variable names.
    pub env: Vec<String>,
}

/// How a new layer is described in every platform's config.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// The history entry's `created_by`.
    pub created_by: String,
    /// The history entry's `comment`.
    pub comment: String,
    /// Labels set on the config, in this order.
    pub labels: Vec<(String, String)>,
    /// Annotations set on each new OCI manifest (after the base annotations), in this order.
    pub annotations: Vec<(String, String)>,
}

/// A new image: the base with its new documents, ready to be written.
#[derive(Debug)]
pub struct NewImage<'a> {
    pub(crate) base: &'a Image,
    /// The platforms that were appended to (unchanged ones included), in the base's order.
    pub platforms: Vec<NewPlatform<'a>>,
    /// The new index, when the base was one.
    pub index: Option<IndexImage>,
}

/// One platform of a new image.
#[derive(Debug)]
pub struct NewPlatform<'a> {
    /// The platform.
    pub platform: Option<Platform>,
    /// The base manifest's digest.
    pub base_digest: Digest,
    /// The new manifest's descriptor (with the base entry's platform).
    pub descriptor: Descriptor,
    /// The new manifest.
    pub manifest: Document<Manifest>,
    /// The new config.
    pub config: Document<Config>,
    /// The added layer, if any.
    pub layer: Option<NewLayer>,
    /// Whether the platform differs from the base.
    pub changed: bool,
    /// Where each layer of the manifest comes from, bottom first.
    pub(crate) blobs: Vec<LayerBlob<'a>>,
}

/// Where a layer of a new manifest comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LayerBlob<'a> {
    /// A base layer, read from the source.
    Base(&'a Layer),
    /// The added layer.
    New,
}

impl Image {
    /// Appends to the platforms in `appends` and computes the new image. `family` is the
    /// destination's own family: a manifest the source made up (a docker archive's) takes it;
    /// every other keeps the base's media types.
    pub fn append<'a>(
        &'a self,
        appends: Vec<Append<'a>>,
        options: &AppendOptions,
        family: Family,
    ) -> Result<NewImage<'a>, ImageError> {
        let mut platforms = Vec::new();
        for append in appends {
            platforms.push(self.append_one(append, options, family)?);
        }
        let index = match &self.index {
            Some(base) => Some(new_index(base, &platforms)?),
            None => None,
        };
        Ok(NewImage {
            base: self,
            platforms,
            index,
        })
    }

    fn append_one<'a>(
        &'a self,
        append: Append<'a>,
        options: &AppendOptions,
        family: Family,
    ) -> Result<NewPlatform<'a>, ImageError> {
        let base = append.base;
        let to_oci = family == Family::Oci;
        let oci = if base.synthesized {
            to_oci
        } else {
            !base.docker
        };
        let (mut descriptors, mut blobs, top_scanned) = kept_layers(&append, to_oci)?;
        let adds = append.layer.is_some() || !append.env.is_empty();
        let config = if !adds && !append.replace_top {
            base.config.clone()
        } else {
            base.config
                .edit(|config| edit_config(config, &append, options, adds))?
        };
        // A replacement identical to the replaced layer, byte for byte: the platform is the
        // base's, its top layer carried like the others.
        let top = base.layers.last().and_then(|t| {
            carried(t, top_scanned.as_ref(), base.synthesized, to_oci).map(|d| (t, d))
        });
        let identical = append.replace_top && config.digest() == base.config.digest();
        let (config, new_layer, adds) = match top {
            Some((top, descriptor)) if identical => {
                descriptors.push(descriptor);
                blobs.push(LayerBlob::Base(top));
                (base.config.clone(), None, false)
            }
            _ => (config, append.layer, adds),
        };
        if let Some(layer) = &new_layer {
            let media_type = if oci {
                media_type::OCI_LAYER_GZIP
            } else {
                media_type::DOCKER_LAYER_GZIP
            };
            descriptors.push(Descriptor::new(
                media_type,
                layer.blob.len() as u64,
                layer.digest,
            ));
            blobs.push(LayerBlob::New);
        }
        let base_name = self.reference.base_name();
        let manifest = base.manifest.edit(|m| {
            edit_manifest(
                m,
                &ManifestEdit {
                    config: &config,
                    descriptors,
                    base_name,
                    base_digest: base.descriptor.digest,
                    to_oci: base.synthesized && to_oci,
                    oci,
                    adds,
                    replace_top: append.replace_top,
                    identical,
                    annotations: &options.annotations,
                },
            );
        })?;
        let manifest_type = manifest
            .value()
            .media_type
            .clone()
            .unwrap_or_else(|| media_type::OCI_MANIFEST.to_owned());
        let mut descriptor = manifest.descriptor(&manifest_type);
        descriptor.platform = base.descriptor.platform.clone();
        let changed = adds || (append.replace_top && new_layer.is_none() && !identical);
        Ok(NewPlatform {
            platform: base.platform.clone(),
            base_digest: base.descriptor.digest,
            descriptor,
            manifest,
            config,
            layer: new_layer,
            changed,
            blobs,
        })
    }
}

/// The kept layers' descriptors and blobs, and the replaced top's scan (see [`kept_layers`]).
type Kept<'a> = (Vec<Descriptor>, Vec<LayerBlob<'a>>, Option<ScannedLayer>);

/// The base layers the new manifest keeps (all but a replaced top), with their descriptors,
/// and the replaced top's scan when the base's layers are known by their scan alone.
fn kept_layers<'a>(append: &Append<'a>, to_oci: bool) -> Result<Kept<'a>, ImageError> {
    let base = append.base;
    let kept = &base.layers[..base.layers.len() - usize::from(append.replace_top)];
    let top_scanned = if append.replace_top && append.scanned.len() == base.layers.len() {
        append.scanned.last().copied()
    } else {
        None
    };
    if append.scanned.len() - usize::from(top_scanned.is_some()) != kept.len() {
        return Err(ImageError::BadLayer {
            layer: base.descriptor.digest.to_string(),
            detail: format!(
                "{} layers scanned for a manifest of {}",
                append.scanned.len(),
                kept.len()
            ),
        });
    }
    let mut descriptors = Vec::new();
    let mut blobs = Vec::new();
    for (layer, scanned) in kept.iter().zip(&append.scanned) {
        // Scanned: a descriptor is always there.
        let descriptor =
            carried(layer, Some(scanned), base.synthesized, to_oci).ok_or_else(|| {
                ImageError::BadLayer {
                    layer: base.descriptor.digest.to_string(),
                    detail: "a layer with neither a descriptor nor a scan".to_owned(),
                }
            })?;
        descriptors.push(descriptor);
        blobs.push(LayerBlob::Base(layer));
    }
    Ok((descriptors, blobs, top_scanned))
}

/// A base layer's descriptor in the new manifest: its own, or — for a made-up manifest (a
/// docker archive's) — one from its scan, in the destination's media-type family (`None` when
/// such a layer was not scanned).
fn carried(
    layer: &Layer,
    scanned: Option<&ScannedLayer>,
    synthesized: bool,
    to_oci: bool,
) -> Option<Descriptor> {
    match (&layer.descriptor, synthesized) {
        (Some(d), false) => Some(d.clone()),
        _ => {
            let scanned = scanned?;
            let media_type = match (to_oci, layer.media_type.as_str()) {
                (true, media_type::DOCKER_LAYER_GZIP) => media_type::OCI_LAYER_GZIP,
                (true, _) => media_type::OCI_LAYER,
                (false, other) => other,
            };
            Some(Descriptor::new(media_type, scanned.size, scanned.digest))
        }
    }
}

/// The new config: without the replaced top layer and what its bake set, then (when the append
/// adds a layer or variables) with the new diff ID, history entry, variables and labels.
fn edit_config(config: &mut Config, append: &Append<'_>, options: &AppendOptions, adds: bool) {
    if append.replace_top {
        config.rootfs.diff_ids.pop();
        if let Some(history) = config.history.as_mut() {
            history.pop();
        }
        // Its settings go with it.
        if let Some(runtime) = config.config.as_mut() {
            if let Some(labels) = runtime.labels.as_mut() {
                for k in &append.replaced_settings.labels {
                    labels.shift_remove(k);
                }
                if labels.is_empty() {
                    runtime.labels = None;
                }
            }
            if let Some(env) = runtime.env.as_mut() {
                env.retain(|e| {
                    let name = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
                    !append.replaced_settings.env.iter().any(|v| v == name)
                });
                if env.is_empty() {
                    runtime.env = None;
                }
            }
        }
        if !adds {
            return;
        }
    }
    if let Some(layer) = &append.layer {
        config.rootfs.diff_ids.push(layer.diff_id);
    }
    config.created = Some(append.created.clone());
    config.history.get_or_insert_with(Vec::new).push(History {
        created: Some(append.created.clone()),
        created_by: Some(options.created_by.clone()),
        comment: Some(options.comment.clone()),
        empty_layer: append.layer.is_none().then_some(true),
        rest: serde_json::Map::new(),
    });
    let runtime = config.config.get_or_insert_with(|| ContainerConfig {
        user: None,
        env: None,
        labels: None,
        rest: serde_json::Map::new(),
    });
    if !append.env.is_empty() {
        let env = runtime.env.get_or_insert_with(Vec::new);
        for (name, value) in &append.env {
            let entry = format!("{name}={value}");
            let same = |e: &String| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == name;
            match env.iter_mut().find(|e| same(e)) {
                Some(existing) => *existing = entry,
                None => env.push(entry),
            }
        }
    }
    let labels = runtime.labels.get_or_insert_with(Default::default);
    for (k, v) in &options.labels {
        labels.insert(k.clone(), v.clone());
    }
}

/// What the new manifest is made of.
struct ManifestEdit<'c> {
    config: &'c Document<Config>,
    descriptors: Vec<Descriptor>,
    base_name: Option<String>,
    base_digest: Digest,
    /// A made-up manifest written with OCI media types.
    to_oci: bool,
    /// The manifest is OCI (annotations are its own).
    oci: bool,
    adds: bool,
    replace_top: bool,
    identical: bool,
    annotations: &'c [(String, String)],
}

/// The new manifest: the new config and layers, the base annotations of a bake (or none, when
/// a replaced layer is replaced by nothing).
fn edit_manifest(m: &mut Manifest, edit: &ManifestEdit<'_>) {
    if edit.to_oci {
        m.media_type = Some(media_type::OCI_MANIFEST.to_owned());
        m.config.media_type = media_type::OCI_CONFIG.to_owned();
    }
    m.config.digest = edit.config.digest();
    m.config.size = edit.config.bytes().len() as u64;
    m.layers = edit.descriptors.clone();
    // A replaced layer's manifest already names the image it was baked on.
    let named = edit.replace_top
        && m.annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(BASE_DIGEST));
    if edit.oci && edit.adds && !named {
        let annotations = m.annotations.get_or_insert_with(Default::default);
        match &edit.base_name {
            Some(name) => {
                annotations.insert(BASE_NAME.to_owned(), name.clone());
            }
            // A local base: no name, and none left from an earlier registry bake.
            None => {
                annotations.shift_remove(BASE_NAME);
            }
        }
        annotations.insert(BASE_DIGEST.to_owned(), edit.base_digest.to_string());
    }
    if edit.oci && edit.adds {
        let annotations = m.annotations.get_or_insert_with(Default::default);
        for (k, v) in edit.annotations {
            annotations.insert(k.clone(), v.clone());
        }
    }
    // Replaced by nothing: the manifest is its base's again, naming no base.
    if edit.replace_top && !edit.adds && !edit.identical {
        if let Some(annotations) = m.annotations.as_mut() {
            annotations.shift_remove(BASE_NAME);
            annotations.shift_remove(BASE_DIGEST);
            if annotations.is_empty() {
                m.annotations = None;
            }
        }
    }
}

/// The base index with each appended platform's entry pointing at its new manifest, and each
/// nested index's entry at its own new version (made first, the same way).
fn new_index(base: &IndexImage, platforms: &[NewPlatform<'_>]) -> Result<IndexImage, ImageError> {
    let children = base
        .children
        .iter()
        .map(|child| new_index(child, platforms))
        .collect::<Result<Vec<_>, _>>()?;
    let document = base.document.edit(|index| {
        let moved = platforms
            .iter()
            .map(|p| (p.base_digest, &p.descriptor))
            .chain(
                base.children
                    .iter()
                    .zip(&children)
                    .map(|(old, new)| (old.descriptor.digest, &new.descriptor)),
            );
        for (from, to) in moved {
            // Every entry naming the base document (an index may repeat one) names the new one.
            for entry in index.manifests.iter_mut().filter(|e| e.digest == from) {
                entry.digest = to.digest;
                entry.size = to.size;
            }
        }
    })?;
    let mut descriptor = base.descriptor.clone();
    descriptor.digest = document.digest();
    descriptor.size = document.bytes().len() as u64;
    Ok(IndexImage {
        descriptor,
        document,
        children,
    })
}

impl NewImage<'_> {
    /// What the destination names: the index, or the one manifest.
    pub fn top(&self) -> Option<&Descriptor> {
        match &self.index {
            Some(index) => Some(&index.descriptor),
            None => self.platforms.first().map(|p| &p.descriptor),
        }
    }

    /// Whether any platform changes: a layer or setting added, or a layer replaced by a
    /// different one (the config, which names every layer, is then not the base's).
    pub fn changed(&self) -> bool {
        self.platforms.iter().any(|p| p.changed)
    }

    /// The base image.
    pub fn base(&self) -> &Image {
        self.base
    }

    /// Entries of the base index that were not appended to (other platforms, attestations):
    /// carried into the destination as they are.
    pub fn carried(&self) -> Vec<&Descriptor> {
        let mut out = Vec::new();
        if let Some(index) = &self.base.index {
            self.carried_from(index, &mut out);
        }
        out
    }

    fn carried_from<'s>(&self, index: &'s IndexImage, out: &mut Vec<&'s Descriptor>) {
        out.extend(index.document.value().manifests.iter().filter(|e| {
            !self.platforms.iter().any(|p| p.base_digest == e.digest)
                && !index
                    .children
                    .iter()
                    .any(|c| c.descriptor.digest == e.digest)
        }));
        for child in &index.children {
            self.carried_from(child, out);
        }
    }

    /// The nested indexes of the new index, innermost first (each written before the index
    /// that names it).
    pub(crate) fn nested_indexes(&self) -> Vec<&IndexImage> {
        fn walk<'s>(index: &'s IndexImage, out: &mut Vec<&'s IndexImage>) {
            for child in &index.children {
                walk(child, out);
                out.push(child);
            }
        }
        let mut out = Vec::new();
        if let Some(index) = &self.index {
            walk(index, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::layer::{LayerEntry, build_layer};
    use crate::layers::{LayeredRoot, ScanOptions};
    use crate::reference::ImageRef;
    use crate::source::open;
    use crate::testing;

    fn image(dir: &std::path::Path) -> Image {
        testing::layout(dir, "t");
        open(&ImageRef::parse(&format!("oci:{}:t", dir.display())).unwrap()).unwrap()
    }

    fn scanned(image: &Image) -> Vec<ScannedLayer> {
        let none = |_: &str| false;
        let options = ScanOptions::keeping(&none, 0);
        LayeredRoot::scan(image, &image.platforms[0], &options)
            .unwrap()
            .layers
    }

    #[test]
    fn appending_nothing_keeps_every_byte() {
        let work = tempfile::tempdir().unwrap();
        let image = image(work.path());
        let base = &image.platforms[0];
        let append = Append {
            base,
            scanned: scanned(&image),
            layer: None,
            env: Vec::new(),
            replace_top: false,
            replaced_settings: ReplacedSettings::default(),
            created: "2030-01-01T00:00:00Z".into(),
        };
        let new = image
            .append(vec![append], &AppendOptions::default(), Family::Docker)
            .unwrap();
        let p = &new.platforms[0];
        assert_eq!(p.manifest.bytes(), base.manifest.bytes());
        assert_eq!(p.config.bytes(), base.config.bytes());
        assert_eq!(new.top().unwrap().digest, base.descriptor.digest);
        assert!(!new.changed());
    }

    #[test]
    fn an_appended_layer_is_described_once_everywhere() {
        let work = tempfile::tempdir().unwrap();
        let image = image(work.path());
        let base = &image.platforms[0];
        let layer = build_layer(&[LayerEntry::file("/etc/added", b"x", 0o644, 0)]).unwrap();
        let append = Append {
            base,
            scanned: scanned(&image),
            layer: Some(layer.clone()),
            env: vec![("NODE_EXTRA_CA_CERTS".into(), "/etc/x.pem".into())],
            replace_top: false,
            replaced_settings: ReplacedSettings::default(),
            created: "2030-01-01T00:00:00Z".into(),
        };
        let options = AppendOptions {
            created_by: "test".into(),
            comment: "a comment".into(),
            labels: vec![("k".into(), "v".into())],
            annotations: Vec::new(),
        };
        let new = image
            .append(vec![append], &options, Family::Docker)
            .unwrap();
        let p = &new.platforms[0];
        let (m, c) = (p.manifest.value(), p.config.value());
        assert_eq!(m.layers.len(), 2);
        assert_eq!(m.layers[1].digest, layer.digest);
        // The base is OCI: the new layer is too, whatever the destination's own family.
        assert_eq!(m.layers[1].media_type, media_type::OCI_LAYER_GZIP);
        assert_eq!(m.config.digest, p.config.digest());
        assert_eq!(c.rootfs.diff_ids.last(), Some(&layer.diff_id));
        let history = c.history.as_ref().unwrap();
        assert_eq!(history.last().unwrap().created_by.as_deref(), Some("test"));
        assert_eq!(c.created.as_deref(), Some("2030-01-01T00:00:00Z"));
        let labels = c.config.as_ref().unwrap().labels.as_ref().unwrap();
        assert_eq!(labels.get("k").map(String::as_str), Some("v"));
        assert_eq!(
            c.config.as_ref().unwrap().env_var("NODE_EXTRA_CA_CERTS"),
            Some("/etc/x.pem")
        );
        let annotations = m.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.get(BASE_DIGEST).map(String::as_str),
            Some(base.descriptor.digest.to_string().as_str())
        );
        assert_eq!(new.top().unwrap().digest, p.descriptor.digest);
    }
}
