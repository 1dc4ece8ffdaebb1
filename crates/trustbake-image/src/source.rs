//! Reading images: the layout or archive, its index, each platform's manifest and config, and
//! the layer descriptors. JSON documents are kept as parsed (in their key order) so that they
//! can be re-written with every field intact.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::digest::{DiffId, Digest};
use crate::reference::ImageRef;
use crate::{ImageError, io_err};

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(crate) const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub(crate) const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
];

/// An os/architecture[/variant] platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8`.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let (os, architecture) = (parts.next()?, parts.next()?);
        let variant = parts.next().map(str::to_owned);
        if os.is_empty() || architecture.is_empty() || parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant,
        })
    }

    fn from_json(v: &Value) -> Option<Platform> {
        Some(Platform {
            os: v.get("os")?.as_str()?.to_owned(),
            architecture: v.get("architecture")?.as_str()?.to_owned(),
            variant: v.get("variant").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// One layer as the manifest (and config) describe it.
#[derive(Debug, Clone)]
pub struct LayerDesc {
    /// The descriptor's media type.
    pub media_type: String,
    /// The blob digest (for a docker archive: learnt when the layer is scanned).
    pub digest: Option<Digest>,
    /// The blob size.
    pub size: u64,
    /// The config's diff ID for this layer.
    pub diff_id: DiffId,
    /// The descriptor JSON as found (carried byte-identical into the new manifest).
    pub descriptor: Value,
    /// The member name inside a docker archive.
    pub(crate) member: Option<String>,
}

/// One platform's image: manifest, config, layers.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform (from the index entry or the config).
    pub platform: Option<Platform>,
    /// The manifest's descriptor where it was found (index entry), if any.
    pub descriptor: Option<Value>,
    /// The manifest document.
    pub manifest: Value,
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The manifest's bytes as stored.
    pub manifest_bytes: Vec<u8>,
    /// The config document.
    pub config: Value,
    /// The config's raw bytes.
    pub config_bytes: Vec<u8>,
    /// The layers, bottom first.
    pub layers: Vec<LayerDesc>,
    /// Docker media types (else OCI).
    pub docker: bool,
}

/// An opened image.
#[derive(Debug)]
pub struct Image {
    /// Where it came from.
    pub reference: ImageRef,
    /// The multi-platform index, if the image is one: (its descriptor in index.json, document,
    /// bytes as stored).
    pub index: Option<(Value, Value, Vec<u8>)>,
    /// The platform images.
    pub platforms: Vec<PlatformImage>,
    pub(crate) blobs: Blobs,
}

/// Where blob bytes live.
#[derive(Debug, Clone)]
pub(crate) enum Blobs {
    /// An OCI layout directory.
    Dir(PathBuf),
    /// Members of a tar archive: name → (offset of the data, size).
    Archive {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
}

impl Blobs {
    /// A reader over the blob named `digest` (OCI layouts and archives).
    pub(crate) fn open_digest(
        &self,
        digest: &Digest,
        image: &str,
    ) -> Result<(Box<dyn Read + Send>, u64), ImageError> {
        let name = format!("blobs/sha256/{}", digest.hex());
        self.open_member(&name).map_err(|e| match e {
            ImageError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ImageError::MissingBlob {
                    digest: digest.to_string(),
                    image: image.to_owned(),
                }
            }
            other => other,
        })
    }

    /// A reader over a member (a path inside the layout or archive).
    pub(crate) fn open_member(
        &self,
        name: &str,
    ) -> Result<(Box<dyn Read + Send>, u64), ImageError> {
        match self {
            Blobs::Dir(dir) => {
                let path = dir.join(name);
                let file = File::open(&path).map_err(io_err(&path, "opening"))?;
                let size = file
                    .metadata()
                    .map_err(io_err(&path, "reading metadata"))?
                    .len();
                Ok((Box::new(file), size))
            }
            Blobs::Archive { file, members } => {
                let &(offset, size) = members.get(name).ok_or_else(|| ImageError::Io {
                    path: file.join(name),
                    what: "opening",
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in the archive"),
                })?;
                let mut f = File::open(file).map_err(io_err(file, "opening"))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(io_err(file, "seeking"))?;
                Ok((Box::new(f.take(size)), size))
            }
        }
    }

    /// The host path of a blob when it is a plain file (for hard links).
    pub(crate) fn file_path(&self, digest: &Digest) -> Option<PathBuf> {
        match self {
            Blobs::Dir(dir) => Some(dir.join("blobs/sha256").join(digest.hex())),
            Blobs::Archive { .. } => None,
        }
    }
}

/// Reads a whole small blob (JSON) and checks its digest and, when known, its size.
fn read_verified(
    blobs: &Blobs,
    digest: &Digest,
    size: Option<u64>,
    image: &str,
) -> Result<Vec<u8>, ImageError> {
    let (mut reader, _) = blobs.open_digest(digest, image)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| ImageError::Io {
            path: PathBuf::from(digest.to_string()),
            what: "reading",
            source,
        })?;
    let found = Digest::of(&bytes);
    if &found != digest {
        return Err(ImageError::BlobMismatch {
            digest: digest.to_string(),
            what: "digest",
            expected: digest.to_string(),
            found: found.to_string(),
        });
    }
    if let Some(size) = size {
        if size != bytes.len() as u64 {
            return Err(ImageError::BlobMismatch {
                digest: digest.to_string(),
                what: "size",
                expected: size.to_string(),
                found: bytes.len().to_string(),
            });
        }
    }
    Ok(bytes)
}

fn json(bytes: &[u8], what: &str) -> Result<Value, ImageError> {
    serde_json::from_slice(bytes).map_err(|e| ImageError::BadJson {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

fn field<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a Value, ImageError> {
    v.get(key).ok_or_else(|| ImageError::BadJson {
        what: what.to_owned(),
        detail: format!("no '{key}'"),
    })
}

fn str_field<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, ImageError> {
    field(v, key, what)?
        .as_str()
        .ok_or_else(|| ImageError::BadJson {
            what: what.to_owned(),
            detail: format!("'{key}' is not a string"),
        })
}

fn descriptor_digest(d: &Value, what: &str) -> Result<(Digest, u64, String), ImageError> {
    let digest = Digest::parse(str_field(d, "digest", what)?)?;
    let size = field(d, "size", what)?
        .as_u64()
        .ok_or_else(|| ImageError::BadJson {
            what: what.to_owned(),
            detail: "'size' is not a number".into(),
        })?;
    let media_type = d
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((digest, size, media_type))
}

/// Opens the image at `reference` (and, for a multi-platform image, every platform).
pub fn open(reference: &ImageRef) -> Result<Image, ImageError> {
    match reference {
        ImageRef::OciLayout { dir, tag } => {
            let marker = dir.join("oci-layout");
            if !marker.is_file() {
                return Err(ImageError::Io {
                    path: dir.clone(),
                    what: "reading an OCI layout",
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no oci-layout file: not an OCI image layout",
                    ),
                });
            }
            open_layout(reference, Blobs::Dir(dir.clone()), tag.as_deref())
        }
        ImageRef::OciArchive { file, tag } => {
            let blobs = index_archive(file)?;
            open_layout(reference, blobs, tag.as_deref())
        }
        ImageRef::DockerArchive {
            file,
            reference: tag,
        } => open_docker_archive(reference, file, tag.as_deref()),
    }
}

/// Indexes the members of a tar archive by name, without reading their data.
fn index_archive(file: &Path) -> Result<Blobs, ImageError> {
    let f = File::open(file).map_err(io_err(file, "opening"))?;
    let mut archive = tar::Archive::new(f);
    let mut members = HashMap::new();
    for entry in archive
        .entries()
        .map_err(io_err(file, "reading the archive"))?
    {
        let entry = entry.map_err(io_err(file, "reading the archive"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(io_err(file, "reading a member name"))?;
        let name = path.to_string_lossy().trim_start_matches("./").to_owned();
        members.insert(name, (entry.raw_file_position(), entry.size()));
    }
    Ok(Blobs::Archive {
        file: file.to_path_buf(),
        members,
    })
}

fn open_layout(reference: &ImageRef, blobs: Blobs, tag: Option<&str>) -> Result<Image, ImageError> {
    let name = reference.to_string();
    let (mut r, _) = blobs.open_member("index.json")?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .map_err(io_err(reference.path(), "reading index.json"))?;
    let index = json(&bytes, "index.json")?;
    let entries = field(&index, "manifests", "index.json")?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tag_of = |d: &Value| {
        d.pointer("/annotations/org.opencontainers.image.ref.name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let chosen = match tag {
        Some(tag) => entries.iter().find(|d| tag_of(d).as_deref() == Some(tag)),
        None if entries.len() == 1 => entries.first(),
        None => None,
    };
    let Some(chosen) = chosen.cloned() else {
        let tags: Vec<String> = entries.iter().filter_map(tag_of).collect();
        return Err(ImageError::NoSuchTag {
            image: name,
            tag: tag.unwrap_or("(none given)").to_owned(),
            available: if tags.is_empty() {
                "none".to_owned()
            } else {
                tags.join(", ")
            },
        });
    };
    let (digest, size, media_type) = descriptor_digest(&chosen, "index.json")?;
    match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            let index_bytes = read_verified(&blobs, &digest, Some(size), &name)?;
            let doc = json(&index_bytes, &format!("index {digest}"))?;
            let mut platforms = Vec::new();
            for entry in field(&doc, "manifests", "index")?
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let platform = entry.get("platform").and_then(Platform::from_json);
                if platform.as_ref().is_some_and(|p| p.os == "unknown") {
                    continue; // attestations and other non-runnable entries are carried as they are
                }
                platforms.push(read_platform(&blobs, &entry, platform, &name)?);
            }
            Ok(Image {
                reference: reference.clone(),
                index: Some((chosen, doc, index_bytes)),
                platforms,
                blobs,
            })
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let platform = read_platform(
                &blobs,
                &chosen,
                chosen.get("platform").and_then(Platform::from_json),
                &name,
            )?;
            Ok(Image {
                reference: reference.clone(),
                index: None,
                platforms: vec![platform],
                blobs,
            })
        }
        other => Err(ImageError::UnknownMediaType {
            media_type: other.to_owned(),
            what: format!("{name} index.json entry"),
        }),
    }
}

fn read_platform(
    blobs: &Blobs,
    descriptor: &Value,
    platform: Option<Platform>,
    image: &str,
) -> Result<PlatformImage, ImageError> {
    let (digest, size, media_type) = descriptor_digest(descriptor, "manifest descriptor")?;
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return Err(ImageError::UnknownMediaType {
            media_type,
            what: format!("manifest {digest}"),
        });
    }
    let what = format!("manifest {digest}");
    let manifest_bytes = read_verified(blobs, &digest, Some(size), image)?;
    let manifest = json(&manifest_bytes, &what)?;
    let docker = media_type == DOCKER_MANIFEST;
    let (config_digest, config_size, _) =
        descriptor_digest(field(&manifest, "config", &what)?, &what)?;
    let config_bytes = read_verified(blobs, &config_digest, Some(config_size), image)?;
    let config = json(&config_bytes, &format!("config {config_digest}"))?;
    let diff_ids = diff_ids(&config, &format!("config {config_digest}"))?;
    let layer_descs = field(&manifest, "layers", &what)?
        .as_array()
        .cloned()
        .unwrap_or_default();
    if layer_descs.len() != diff_ids.len() {
        return Err(ImageError::BadJson {
            what,
            detail: format!(
                "{} layers but {} diff IDs in the config",
                layer_descs.len(),
                diff_ids.len()
            ),
        });
    }
    let mut layers = Vec::new();
    for (d, diff_id) in layer_descs.into_iter().zip(diff_ids) {
        let (digest, size, media_type) = descriptor_digest(&d, &what)?;
        if !LAYER_TYPES.contains(&media_type.as_str()) {
            return Err(ImageError::UnknownMediaType {
                media_type,
                what: format!("layer {digest}"),
            });
        }
        layers.push(LayerDesc {
            media_type,
            digest: Some(digest),
            size,
            diff_id,
            descriptor: d,
            member: None,
        });
    }
    let platform = platform.or_else(|| Platform::from_json(&config));
    Ok(PlatformImage {
        platform,
        descriptor: Some(descriptor.clone()),
        manifest,
        manifest_digest: digest,
        manifest_bytes,
        config,
        config_bytes,
        layers,
        docker,
    })
}

fn diff_ids(config: &Value, what: &str) -> Result<Vec<DiffId>, ImageError> {
    let ids = config
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .ok_or_else(|| ImageError::BadJson {
            what: what.to_owned(),
            detail: "no rootfs.diff_ids".into(),
        })?;
    ids.iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| ImageError::BadDigest(v.to_string()))
                .and_then(Digest::parse)
                .map(DiffId)
        })
        .collect()
}

fn open_docker_archive(
    reference: &ImageRef,
    file: &Path,
    tag: Option<&str>,
) -> Result<Image, ImageError> {
    let name = reference.to_string();
    let blobs = index_archive(file)?;
    let read_member = |member: &str| -> Result<Vec<u8>, ImageError> {
        let (mut r, _) = blobs.open_member(member)?;
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)
            .map_err(io_err(file, "reading a member"))?;
        Ok(bytes)
    };
    let manifest = json(&read_member("manifest.json")?, "manifest.json")?;
    let entries = manifest.as_array().cloned().unwrap_or_default();
    let tags_of = |e: &Value| -> Vec<String> {
        e.get("RepoTags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let chosen = match tag {
        Some(tag) => entries.iter().find(|e| tags_of(e).iter().any(|t| t == tag)),
        None if entries.len() == 1 => entries.first(),
        None => None,
    };
    let Some(entry) = chosen.cloned() else {
        let all: Vec<String> = entries.iter().flat_map(tags_of).collect();
        return Err(ImageError::NoSuchTag {
            image: name,
            tag: tag.unwrap_or("(none given)").to_owned(),
            available: all.join(", "),
        });
    };
    let config_member = str_field(&entry, "Config", "manifest.json")?.to_owned();
    check_member(&config_member, &name)?;
    let config_bytes = read_member(&config_member)?;
    let config = json(&config_bytes, &config_member)?;
    let ids = diff_ids(&config, &config_member)?;
    let members: Vec<String> = field(&entry, "Layers", "manifest.json")?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if members.len() != ids.len() {
        return Err(ImageError::BadJson {
            what: "manifest.json".into(),
            detail: format!("{} layers but {} diff IDs", members.len(), ids.len()),
        });
    }
    let mut layers = Vec::new();
    for (member, diff_id) in members.into_iter().zip(ids) {
        check_member(&member, &name)?;
        let (mut r, size) = blobs.open_member(&member)?;
        let mut magic = [0u8; 4];
        let n = r
            .read(&mut magic)
            .map_err(io_err(file, "reading a layer"))?;
        let media_type = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
            DOCKER_LAYER_GZIP
        } else {
            "application/vnd.docker.image.rootfs.diff.tar"
        };
        layers.push(LayerDesc {
            media_type: media_type.to_owned(),
            digest: None,
            size,
            diff_id,
            descriptor: Value::Null,
            member: Some(member),
        });
    }
    let platform = Platform::from_json(&config);
    let config_digest = Digest::of(&config_bytes);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": { "mediaType": DOCKER_CONFIG, "size": config_bytes.len(), "digest": config_digest.to_string() },
        "layers": [],
    });
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap_or_default();
    let manifest_digest = Digest::of(&manifest_bytes);
    Ok(Image {
        reference: reference.clone(),
        index: None,
        platforms: vec![PlatformImage {
            platform,
            descriptor: None,
            manifest,
            manifest_digest,
            manifest_bytes,
            config,
            config_bytes,
            layers,
            docker: true,
        }],
        blobs,
    })
}

/// A member name from a docker archive's manifest must stay inside the archive.
fn check_member(member: &str, image: &str) -> Result<(), ImageError> {
    if member.starts_with('/') || member.split('/').any(|p| p == "..") || member.is_empty() {
        return Err(ImageError::BadJson {
            what: format!("{image} manifest.json"),
            detail: format!("member '{member}' escapes the archive"),
        });
    }
    Ok(())
}

impl Image {
    /// The platforms, or only the one asked for.
    pub fn select(&self, platform: Option<&str>) -> Result<Vec<&PlatformImage>, ImageError> {
        let Some(wanted) = platform else {
            return Ok(self.platforms.iter().collect());
        };
        let want = Platform::parse(wanted).ok_or_else(|| ImageError::NoSuchPlatform {
            image: self.reference.to_string(),
            platform: wanted.to_owned(),
            available: "(write it as os/arch[/variant])".to_owned(),
        })?;
        let found: Vec<&PlatformImage> = self
            .platforms
            .iter()
            .filter(|p| {
                p.platform.as_ref().is_some_and(|q| {
                    q.os == want.os
                        && q.architecture == want.architecture
                        && (want.variant.is_none() || q.variant == want.variant)
                })
            })
            .collect();
        if found.is_empty() {
            let available: Vec<String> = self
                .platforms
                .iter()
                .filter_map(|p| p.platform.as_ref().map(ToString::to_string))
                .collect();
            return Err(ImageError::NoSuchPlatform {
                image: self.reference.to_string(),
                platform: wanted.to_owned(),
                available: available.join(", "),
            });
        }
        Ok(found)
    }

    /// A reader over a layer's blob as stored.
    pub(crate) fn open_layer(
        &self,
        layer: &LayerDesc,
    ) -> Result<(Box<dyn Read + Send>, u64), ImageError> {
        match (&layer.member, &layer.digest) {
            (Some(member), _) => self.blobs.open_member(member),
            (None, Some(digest)) => self.blobs.open_digest(digest, &self.reference.to_string()),
            (None, None) => Err(ImageError::BadLayer {
                layer: "?".into(),
                detail: "no digest and no member".into(),
            }),
        }
    }
}
