//! Reading images. Every transport implements [`ImageSource`]: resolve the reference to the
//! document it names, and open blobs. [`open`] does the rest once for all of them: the index,
//! each platform's manifest and config (read with a size bound, verified against their
//! descriptors, parsed into [`crate::model`] types with their bytes kept) and the layers.

pub(crate) mod docker;
pub(crate) mod layout;
pub(crate) mod registry;
mod store;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use crate::digest::{DiffId, Digest, VerifyingReader};
use crate::error::ImageError;
use crate::limits::{MAX_DOCUMENT, MAX_LAYERS, MAX_PLATFORMS};
use crate::model::{Config, Descriptor, Document, Index, Manifest, Platform, media_type};
use crate::reference::ImageRef;

/// Where a source finds a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobRef {
    /// By digest (content-addressed stores).
    Digest(Digest),
    /// By member name (a docker archive's layers, whose digests are learnt when read).
    Member(String),
}

impl fmt::Display for BlobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobRef::Digest(d) => d.fmt(f),
            BlobRef::Member(m) => m.fmt(f),
        }
    }
}

/// The document a reference names.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Its descriptor where the reference was resolved (an OCI layout's `index.json` entry).
    pub descriptor: Descriptor,
    /// Its bytes, verified against the descriptor.
    pub bytes: Vec<u8>,
    /// Layers the manifest cannot name by digest: a docker archive's members, bottom first.
    pub member_layers: Option<Vec<MemberLayer>>,
}

/// A layer known by member name only.
#[derive(Debug, Clone)]
pub struct MemberLayer {
    /// The member.
    pub member: String,
    /// Its size.
    pub size: u64,
    /// Its media type, from its first bytes.
    pub media_type: String,
}

/// A place images are read from: one implementation per transport.
pub trait ImageSource: Send + Sync + fmt::Debug {
    /// The reference, for messages.
    fn name(&self) -> String;

    /// The document the reference names (an index or a manifest).
    fn resolve(&self) -> Result<Resolved, ImageError>;

    /// A reader over a blob as stored (not verified: see [`open_verified`]).
    fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, ImageError>;

    /// A reader over a manifest or index named by digest (a registry serves them apart from
    /// blobs); by default, the blob.
    fn open_manifest(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>, ImageError> {
        self.open_blob(&BlobRef::Digest(descriptor.digest))
    }

    /// A regular file on this host holding the blob, when there is one (to hard-link instead
    /// of copying).
    fn blob_file(&self, _blob: &BlobRef) -> Option<PathBuf> {
        None
    }

    /// The registry image read, for a destination on the same registry to mount blobs from.
    fn registry(&self) -> Option<&crate::reference::RegistryRef> {
        None
    }
}

/// A reader over the blob `digest` of `size` bytes that fails at its end unless the bytes
/// match.
pub fn open_verified(
    source: &dyn ImageSource,
    digest: &Digest,
    size: u64,
) -> Result<Box<dyn Read + Send>, ImageError> {
    let reader = source.open_blob(&BlobRef::Digest(*digest))?;
    Ok(Box::new(VerifyingReader::new(reader, *digest, size)))
}

/// Reads the blob `descriptor` names whole: at most its size (and at most [`MAX_DOCUMENT`]),
/// verified.
pub(crate) fn read_blob(
    source: &dyn ImageSource,
    descriptor: &Descriptor,
    what: &str,
) -> Result<Vec<u8>, ImageError> {
    if descriptor.size > MAX_DOCUMENT {
        return Err(ImageError::TooLarge {
            what: format!("{what} {}", descriptor.digest),
            size: descriptor.size,
            limit: MAX_DOCUMENT,
        });
    }
    let mut bytes = Vec::new();
    let reader = if media_type::is_manifest(&descriptor.media_type)
        || media_type::is_index(&descriptor.media_type)
    {
        source.open_manifest(descriptor)?
    } else {
        source.open_blob(&BlobRef::Digest(descriptor.digest))?
    };
    VerifyingReader::new(reader, descriptor.digest, descriptor.size)
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::BadBlob {
            image: source.name(),
            detail: e.to_string(),
        })?;
    Ok(bytes)
}

/// Reads and parses the JSON document `descriptor` names (see [`read_blob`]).
pub(crate) fn read_document<T>(
    source: &dyn ImageSource,
    descriptor: &Descriptor,
    what: &str,
) -> Result<Document<T>, ImageError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Clone,
{
    let bytes = read_blob(source, descriptor, what)?;
    Document::parse(bytes, &format!("{what} {}", descriptor.digest))
}

/// An opened image: its index (if any) and every runnable platform.
#[derive(Debug)]
pub struct Image {
    /// Where it came from.
    pub reference: ImageRef,
    /// The multi-platform index, if the reference names one.
    pub index: Option<IndexImage>,
    /// The platform images (for an index: every entry but `unknown/unknown` ones).
    pub platforms: Vec<PlatformImage>,
    pub(crate) source: Box<dyn ImageSource>,
}

/// The index a reference names.
#[derive(Debug, Clone)]
pub struct IndexImage {
    /// Its descriptor where the reference was resolved.
    pub descriptor: Descriptor,
    /// The index.
    pub document: Document<Index>,
    /// The indexes among its entries (an index of indexes), each read as this one is, in
    /// entry order; at most three indexes deep in all.
    pub children: Vec<IndexImage>,
}

/// How many indexes deep an image is read (an index of indexes of manifests: 2).
pub(crate) const MAX_INDEX_DEPTH: usize = 3;

/// One platform's image: manifest, config, layers.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform (from the index entry, else the config).
    pub platform: Option<Platform>,
    /// The manifest's descriptor (the index entry, or where the reference was resolved).
    pub descriptor: Descriptor,
    /// The manifest.
    pub manifest: Document<Manifest>,
    /// The config.
    pub config: Document<Config>,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// Docker media types (else OCI).
    pub docker: bool,
    /// The manifest was made up by the source (a docker archive has none).
    pub synthesized: bool,
}

/// One layer as the manifest and config describe it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The media type.
    pub media_type: String,
    /// The blob size.
    pub size: u64,
    /// The blob digest (`None` for a docker archive's member, learnt when it is scanned).
    pub digest: Option<Digest>,
    /// The config's diff ID for this layer.
    pub diff_id: DiffId,
    /// The manifest's descriptor, carried unchanged into a new manifest.
    pub descriptor: Option<Descriptor>,
    /// Where the source finds it.
    pub blob: BlobRef,
}

impl Layer {
    /// The digest, or the member name, for messages.
    pub fn name(&self) -> String {
        match self.digest {
            Some(d) => d.to_string(),
            None => self.blob.to_string(),
        }
    }
}

/// Opens the image at `reference`: every platform's manifest and config, verified. A registry
/// is reached with the default access (credentials looked up, TLS verified).
pub fn open(reference: &ImageRef) -> Result<Image, ImageError> {
    open_in(reference, &crate::registry::Session::default())
}

/// [`open`], reaching registries through `session`.
pub fn open_in(
    reference: &ImageRef,
    session: &crate::registry::Session,
) -> Result<Image, ImageError> {
    let source: Box<dyn ImageSource> = match reference {
        ImageRef::Registry(r) => Box::new(registry::RegistrySource::new(
            r.clone(),
            session.client(r, crate::registry::Role::Source)?,
        )),
        ImageRef::OciLayout { .. } | ImageRef::OciArchive { .. } => {
            Box::new(layout::LayoutSource::open(reference)?)
        }
        ImageRef::DockerArchive { .. } => Box::new(docker::DockerArchiveSource::open(reference)?),
    };
    Image::from_source(reference.clone(), source)
}

impl Image {
    /// Reads what `source` resolves to.
    pub fn from_source(
        reference: ImageRef,
        source: Box<dyn ImageSource>,
    ) -> Result<Image, ImageError> {
        let resolved = source.resolve()?;
        let top = resolved.descriptor.clone();
        let name = source.name();
        let mut index = None;
        let mut platforms = Vec::new();
        if media_type::is_index(&top.media_type) {
            let document: Document<Index> =
                Document::parse(resolved.bytes, &format!("index {}", top.digest))?;
            let mut seen = std::collections::HashSet::new();
            let reader = IndexReader {
                source: source.as_ref(),
                name: &name,
                top: top.digest,
            };
            index = Some(reader.read(top, document, 1, &mut seen, &mut platforms)?);
        } else if media_type::is_manifest(&top.media_type) {
            let manifest = Document::parse(resolved.bytes, &format!("manifest {}", top.digest))?;
            platforms.push(platform_image(
                source.as_ref(),
                &top,
                manifest,
                resolved.member_layers,
                &name,
            )?);
        } else {
            return Err(ImageError::UnknownMediaType {
                media_type: top.media_type.clone(),
                what: format!("{name}: what the reference names"),
            });
        }
        Ok(Image {
            reference,
            index,
            platforms,
            source,
        })
    }

    /// The source the image is read from.
    pub fn source(&self) -> &dyn ImageSource {
        self.source.as_ref()
    }

    /// The platforms, or only those matching `wanted`.
    /// An image with no runnable platform (an index of attestations only, or an empty one) is
    /// an error: there is nothing to look into.
    pub fn select(&self, wanted: Option<&Platform>) -> Result<Vec<&PlatformImage>, ImageError> {
        if self.platforms.is_empty() {
            return Err(ImageError::NoRunnablePlatform {
                image: self.reference.to_string(),
            });
        }
        let Some(want) = wanted else {
            return Ok(self.platforms.iter().collect());
        };
        let found: Vec<&PlatformImage> = self
            .platforms
            .iter()
            .filter(|p| p.platform.as_ref().is_some_and(|q| q.matches(want)))
            .collect();
        if found.is_empty() {
            let available: Vec<String> = self
                .platforms
                .iter()
                .filter_map(|p| p.platform.as_ref().map(ToString::to_string))
                .collect();
            return Err(ImageError::NoSuchPlatform {
                image: self.reference.to_string(),
                platform: want.to_string(),
                available: if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                },
            });
        }
        Ok(found)
    }

    /// A reader over a layer's blob as stored.
    pub(crate) fn open_layer(&self, layer: &Layer) -> Result<Box<dyn Read + Send>, ImageError> {
        self.source.open_blob(&layer.blob)
    }
}

/// Reads an index and, below it, its manifests and nested indexes.
struct IndexReader<'a> {
    source: &'a dyn ImageSource,
    name: &'a str,
    /// The index the reference names (for messages).
    top: Digest,
}

impl IndexReader<'_> {
    /// `document` (at `depth`, the top being 1): its runnable manifests into `platforms`
    /// (each manifest once, whichever index names it), its nested indexes read the same way.
    fn read(
        &self,
        descriptor: Descriptor,
        document: Document<Index>,
        depth: usize,
        seen: &mut std::collections::HashSet<Digest>,
        platforms: &mut Vec<PlatformImage>,
    ) -> Result<IndexImage, ImageError> {
        let mut children = Vec::new();
        for entry in &document.value().manifests {
            if entry.platform.as_ref().is_some_and(Platform::is_unknown) {
                continue; // attestations and other non-runnable entries are carried as they are
            }
            // An entry repeating a manifest is the same image: read (and baked) once.
            if !seen.insert(entry.digest) {
                continue;
            }
            if seen.len() > MAX_PLATFORMS {
                return Err(ImageError::TooMany {
                    what: format!("index {}", self.top),
                    items: "platforms",
                    limit: MAX_PLATFORMS,
                });
            }
            let bytes = read_blob(self.source, entry, "manifest")?;
            if media_type::is_index(&entry.media_type) || is_index_document(&bytes) {
                if depth + 1 > MAX_INDEX_DEPTH {
                    return Err(ImageError::NestedIndex {
                        index: self.top.to_string(),
                        entry: entry.digest.to_string(),
                        depth: depth + nesting(self.source, &bytes, MAX_NESTING),
                        limit: MAX_INDEX_DEPTH,
                    });
                }
                let child: Document<Index> =
                    Document::parse(bytes, &format!("index {}", entry.digest))?;
                let mut child_descriptor = entry.clone();
                if !media_type::is_index(&child_descriptor.media_type) {
                    // Named as a manifest, it is an index: what it is decides.
                    child_descriptor.media_type = child
                        .value()
                        .media_type
                        .clone()
                        .filter(|m| media_type::is_index(m))
                        .unwrap_or_else(|| media_type::OCI_INDEX.to_owned());
                }
                children.push(self.read(child_descriptor, child, depth + 1, seen, platforms)?);
                continue;
            }
            let manifest = Document::parse(bytes, &format!("manifest {}", entry.digest))?;
            platforms.push(platform_image(
                self.source,
                entry,
                manifest,
                None,
                self.name,
            )?);
        }
        Ok(IndexImage {
            descriptor,
            document,
            children,
        })
    }
}

/// How deep a chain of indexes is looked into for the message (never read further).
const MAX_NESTING: usize = 8;

/// Whether a document holds `manifests` and no `config`: an index, whatever its descriptor says.
fn is_index_document(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        manifests: Option<serde::de::IgnoredAny>,
        config: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes)
        .is_ok_and(|p| p.manifests.is_some() && p.config.is_none())
}

/// How many indexes deep the index `bytes` goes (1 when its first entry is a manifest),
/// following first entries, at most `left` more levels.
fn nesting(source: &dyn ImageSource, bytes: &[u8], left: usize) -> usize {
    if left == 0 {
        return 1;
    }
    let first = serde_json::from_slice::<Index>(bytes)
        .ok()
        .and_then(|i| i.manifests.into_iter().next());
    match first.map(|d| (read_blob(source, &d, "manifest"), d)) {
        Some((Ok(child), d))
            if media_type::is_index(&d.media_type) || is_index_document(&child) =>
        {
            1 + nesting(source, &child, left - 1)
        }
        _ => 1,
    }
}

fn platform_image(
    source: &dyn ImageSource,
    descriptor: &Descriptor,
    manifest: Document<Manifest>,
    member_layers: Option<Vec<MemberLayer>>,
    image: &str,
) -> Result<PlatformImage, ImageError> {
    let what = format!("manifest {}", descriptor.digest);
    if !media_type::is_manifest(&descriptor.media_type) {
        return Err(ImageError::UnknownMediaType {
            media_type: descriptor.media_type.clone(),
            what,
        });
    }
    let m = manifest.value();
    let layer_count = member_layers.as_ref().map_or(m.layers.len(), Vec::len);
    if layer_count > MAX_LAYERS {
        return Err(ImageError::TooMany {
            what,
            items: "layers",
            limit: MAX_LAYERS,
        });
    }
    let config: Document<Config> = read_document(source, &m.config, "config")?;
    let diff_ids = &config.value().rootfs.diff_ids;
    let synthesized = member_layers.is_some();
    let layers: Vec<Layer> = match member_layers {
        Some(members) => {
            if members.len() != diff_ids.len() {
                return Err(ImageError::BadJson {
                    what: format!("{image} manifest.json"),
                    detail: format!(
                        "{} layers but {} diff IDs in the config",
                        members.len(),
                        diff_ids.len()
                    ),
                });
            }
            members
                .into_iter()
                .zip(diff_ids)
                .map(|(m, diff_id)| Layer {
                    media_type: m.media_type,
                    size: m.size,
                    digest: None,
                    diff_id: *diff_id,
                    descriptor: None,
                    blob: BlobRef::Member(m.member),
                })
                .collect()
        }
        None => {
            if m.layers.len() != diff_ids.len() {
                return Err(ImageError::BadJson {
                    what,
                    detail: format!(
                        "{} layers but {} diff IDs in the config",
                        m.layers.len(),
                        diff_ids.len()
                    ),
                });
            }
            let mut layers = Vec::new();
            for (d, diff_id) in m.layers.iter().zip(diff_ids) {
                if !media_type::LAYERS.contains(&d.media_type.as_str()) {
                    return Err(ImageError::UnknownMediaType {
                        media_type: d.media_type.clone(),
                        what: format!("layer {}", d.digest),
                    });
                }
                layers.push(Layer {
                    media_type: d.media_type.clone(),
                    size: d.size,
                    digest: Some(d.digest),
                    diff_id: *diff_id,
                    descriptor: Some(d.clone()),
                    blob: BlobRef::Digest(d.digest),
                });
            }
            layers
        }
    };
    let platform = descriptor
        .platform
        .clone()
        .or_else(|| config.value().platform());
    Ok(PlatformImage {
        platform,
        descriptor: descriptor.clone(),
        docker: descriptor.media_type == media_type::DOCKER_MANIFEST,
        manifest,
        config,
        layers,
        synthesized,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing;

    fn opened(dir: &std::path::Path) -> Image {
        testing::layout(dir, "t");
        open(&ImageRef::parse(&format!("oci:{}:t", dir.display())).unwrap()).unwrap()
    }

    #[test]
    fn platforms_are_selected_by_os_and_architecture() {
        let work = tempfile::tempdir().unwrap();
        let image = opened(work.path());
        assert_eq!(image.select(None).unwrap().len(), 1);
        let amd64: Platform = "linux/amd64".parse().unwrap();
        assert_eq!(image.select(Some(&amd64)).unwrap().len(), 1);
        let arm64: Platform = "linux/arm64".parse().unwrap();
        let err = image.select(Some(&arm64)).unwrap_err().to_string();
        assert!(
            err.contains("no platform linux/arm64 (it has: linux/amd64)"),
            "{err}"
        );
    }

    #[test]
    fn documents_are_read_within_their_descriptor_and_verified() {
        let work = tempfile::tempdir().unwrap();
        let image = opened(work.path());
        let config = image.platforms[0].manifest.value().config.clone();
        // A descriptor announcing more than any document may be is refused before reading.
        let huge = Descriptor {
            size: MAX_DOCUMENT + 1,
            ..config.clone()
        };
        let err = read_blob(image.source(), &huge, "config").unwrap_err();
        assert!(matches!(err, ImageError::TooLarge { .. }), "{err}");
        // A descriptor whose size is wrong fails, naming the blob.
        let short = Descriptor {
            size: config.size - 1,
            ..config.clone()
        };
        let err = read_blob(image.source(), &short, "config")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&config.digest.to_string()), "{err}");
        // Bytes that are not the blob's fail on the digest.
        let path = work.path().join("blobs/sha256").join(config.digest.hex());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_blob(image.source(), &config, "config")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has digest"), "{err}");
    }
}
