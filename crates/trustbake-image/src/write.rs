//! Writing: the new layer (a deterministic tar, gzip at a pinned level), the edited config and
//! manifest (ordered JSON: every field kept), and the new image in an OCI layout, an OCI
//! archive or a docker archive. Base blobs are carried byte for byte (hard-linked when the
//! source is a layout on the same file system); the destination appears only when complete.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::digest::{DiffId, Digest, HashingWriter};
use crate::layers::ScannedLayer;
use crate::reference::ImageRef;
use crate::source::{
    DOCKER_LAYER_GZIP, Image, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, PlatformImage,
};
use crate::{ImageError, io_err};

/// One entry of a new layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    /// Absolute path inside the root.
    pub path: String,
    /// What it is.
    pub kind: LayerEntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
}

/// The content of a layer entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerEntryKind {
    /// A regular file.
    File(Vec<u8>),
    /// A symbolic link.
    Symlink(String),
    /// A directory.
    Dir,
}

/// A built layer: the gzip blob and its digests.
#[derive(Debug, Clone)]
pub struct NewLayer {
    /// The gzip-compressed tar.
    pub blob: Vec<u8>,
    /// The blob's digest.
    pub digest: Digest,
    /// The uncompressed tar's digest.
    pub diff_id: DiffId,
    /// The uncompressed size.
    pub tar_size: u64,
}

/// The pinned gzip level: the same bytes on every machine and every run.
const GZIP_LEVEL: u32 = 6;

/// Builds a deterministic layer: entries sorted by path, GNU headers with no user or group
/// names, a proper end of archive, gzip with no file name and a zero time stamp.
pub fn build_layer(entries: &[LayerEntry]) -> Result<NewLayer, ImageError> {
    let err = |e: std::io::Error| ImageError::BadLayer {
        layer: "new layer".into(),
        detail: e.to_string(),
    };
    let mut sorted: Vec<&LayerEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut builder = tar::Builder::new(HashingWriter::new(Vec::new()));
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in sorted {
        let rel = entry.path.trim_start_matches('/');
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(u64::from(entry.uid));
        header.set_gid(u64::from(entry.gid));
        header.set_mtime(u64::try_from(entry.mtime).unwrap_or(0));
        match &entry.kind {
            LayerEntryKind::File(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                builder
                    .append_data(&mut header, rel, bytes.as_slice())
                    .map_err(err)?;
            }
            LayerEntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{rel}/"), std::io::empty())
                    .map_err(err)?;
            }
            LayerEntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, rel, target).map_err(err)?;
            }
        }
    }
    let hashing = builder.into_inner().map_err(err)?;
    let (tar, diff_id, tar_size) = hashing.finish();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    gz.write_all(&tar).map_err(err)?;
    let blob = gz.finish().map_err(err)?;
    Ok(NewLayer {
        digest: Digest::of(&blob),
        blob,
        diff_id: DiffId(diff_id),
        tar_size,
    })
}

/// How the new image is described.
#[derive(Debug, Clone)]
pub struct BakeOptions {
    /// `created` of the config and the history entry (RFC 3339).
    pub created: String,
    /// The history entry's `created_by`.
    pub created_by: String,
    /// The history entry's `comment`.
    pub comment: String,
    /// Labels to set on the config.
    pub labels: Vec<(String, String)>,
}

/// One platform to write: the base, its scanned layers, and the new layer (if any).
#[derive(Debug)]
pub struct PlatformBake<'a> {
    /// The base platform image.
    pub base: &'a PlatformImage,
    /// The base layers as scanned (their digests, for docker archives).
    pub scanned: Vec<ScannedLayer>,
    /// The layer to append, or `None` when there is nothing to add.
    pub layer: Option<NewLayer>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Baked {
    /// The digest of what the destination names: the index, or the single manifest.
    pub digest: Digest,
    /// Per platform: (platform, manifest digest, config digest).
    pub platforms: Vec<(Option<String>, Digest, Digest)>,
}

/// A blob to put in the destination: bytes in memory, or a base blob to carry.
enum BlobSource<'a> {
    Bytes(Vec<u8>),
    Base(&'a crate::source::LayerDesc, Digest),
}

/// The new image as documents and blobs, before it is written anywhere.
struct Prepared<'a> {
    blobs: Vec<(Digest, BlobSource<'a>)>,
    /// (manifest digest, manifest bytes, media type, platform JSON) per platform.
    manifests: Vec<(Digest, Vec<u8>, String, Option<Value>)>,
    /// The index, when the base had one: (digest, bytes, its descriptor in index.json).
    index: Option<(Digest, Vec<u8>, Value)>,
    /// For docker archives: config member and layer members.
    docker: Vec<(Digest, Vec<(Digest, bool)>)>,
    /// The base manifests that were baked (every other index entry is carried as it is).
    baked: Vec<String>,
}

/// The digests `bake` would produce, writing nothing (for dry runs).
pub fn preview(
    image: &Image,
    platforms: &[PlatformBake<'_>],
    to: &ImageRef,
    options: &BakeOptions,
) -> Result<Baked, ImageError> {
    let prepared = prepare(
        image,
        platforms,
        options,
        !matches!(to, ImageRef::DockerArchive { .. }),
    )?;
    Ok(summarize(&prepared, platforms))
}

/// Writes the baked image to `to`. Nothing appears at `to` unless everything was written.
pub fn bake(
    image: &Image,
    platforms: &[PlatformBake<'_>],
    to: &ImageRef,
    options: &BakeOptions,
) -> Result<Baked, ImageError> {
    let prepared = prepare(
        image,
        platforms,
        options,
        !matches!(to, ImageRef::DockerArchive { .. }),
    )?;
    match to {
        ImageRef::OciLayout { dir, tag } => write_layout(image, &prepared, dir, tag.as_deref())?,
        ImageRef::OciArchive { file, tag } => {
            let staging = sibling(file, "layout");
            let _ = fs::remove_dir_all(&staging);
            let result = write_layout(image, &prepared, &staging, tag.as_deref())
                .and_then(|()| tar_dir(&staging, file));
            let _ = fs::remove_dir_all(&staging);
            result?;
        }
        ImageRef::DockerArchive { file, reference } => {
            write_docker_archive(image, &prepared, file, reference.as_deref())?
        }
    }
    Ok(summarize(&prepared, platforms))
}

/// The digest the destination names (the index, or the single manifest) and, per platform,
/// the manifest and config digests.
fn summarize(prepared: &Prepared<'_>, platforms: &[PlatformBake<'_>]) -> Baked {
    let digest = match &prepared.index {
        Some((digest, ..)) => *digest,
        None => prepared
            .manifests
            .first()
            .map(|m| m.0)
            .unwrap_or(Digest::of(b"")),
    };
    let platforms = platforms
        .iter()
        .zip(&prepared.manifests)
        .map(|(p, m)| {
            (
                p.base.platform.as_ref().map(ToString::to_string),
                m.0,
                config_digest_of(&m.1),
            )
        })
        .collect();
    Baked { digest, platforms }
}

fn config_digest_of(manifest: &[u8]) -> Digest {
    serde_json::from_slice::<Value>(manifest)
        .ok()
        .and_then(|m| {
            m.pointer("/config/digest")
                .and_then(Value::as_str)
                .and_then(|d| Digest::parse(d).ok())
        })
        .unwrap_or(Digest::of(b""))
}

/// Builds the new documents. `to_oci`: the destination is an OCI layout or archive, where a
/// manifest synthesized for a docker archive takes OCI media types (as skopeo writes it).
fn prepare<'a>(
    image: &'a Image,
    platforms: &[PlatformBake<'a>],
    options: &BakeOptions,
    to_oci: bool,
) -> Result<Prepared<'a>, ImageError> {
    let baked = platforms
        .iter()
        .map(|p| p.base.manifest_digest.to_string())
        .collect();
    let mut prepared = Prepared {
        blobs: Vec::new(),
        manifests: Vec::new(),
        index: None,
        docker: Vec::new(),
        baked,
    };
    for p in platforms {
        let base = p.base;
        let mut config = base.config.clone();
        let mut manifest = base.manifest.clone();
        let docker_source = base.layers.iter().any(|l| l.member.is_some());
        let oci_types = if docker_source { to_oci } else { !base.docker };
        if docker_source && to_oci {
            if let Some(m) = manifest.as_object_mut() {
                m.insert("mediaType".into(), Value::String(OCI_MANIFEST.to_owned()));
                if let Some(c) = m.get_mut("config").and_then(Value::as_object_mut) {
                    c.insert(
                        "mediaType".into(),
                        Value::String("application/vnd.oci.image.config.v1+json".to_owned()),
                    );
                }
            }
        }
        // Base layers: carried as they are.
        let mut layer_members = Vec::new();
        let mut layer_descs = Vec::new();
        for (layer, scanned) in base.layers.iter().zip(&p.scanned) {
            prepared
                .blobs
                .push((scanned.digest, BlobSource::Base(layer, scanned.digest)));
            layer_members.push((scanned.digest, false));
            let descriptor = if docker_source {
                let media_type = match (to_oci, layer.media_type.as_str()) {
                    (true, DOCKER_LAYER_GZIP) => OCI_LAYER_GZIP,
                    (true, _) => "application/vnd.oci.image.layer.v1.tar",
                    (false, other) => other,
                };
                json!({ "mediaType": media_type, "size": scanned.size, "digest": scanned.digest.to_string() })
            } else {
                layer.descriptor.clone()
            };
            layer_descs.push(descriptor);
        }
        if let Some(layer) = &p.layer {
            let history_entry = json!({ "created": options.created, "created_by": options.created_by, "comment": options.comment });
            if let Some(ids) = config
                .pointer_mut("/rootfs/diff_ids")
                .and_then(Value::as_array_mut)
            {
                ids.push(Value::String(layer.diff_id.to_string()));
            }
            let obj = config.as_object_mut().ok_or_else(|| ImageError::BadJson {
                what: "config".into(),
                detail: "not an object".into(),
            })?;
            obj.insert("created".into(), Value::String(options.created.clone()));
            match obj.get_mut("history").and_then(Value::as_array_mut) {
                Some(history) => history.push(history_entry),
                None => {
                    obj.insert("history".into(), Value::Array(vec![history_entry]));
                }
            }
            let cfg = obj
                .entry("config")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(cfg) = cfg.as_object_mut() {
                let labels = cfg
                    .entry("Labels")
                    .or_insert_with(|| Value::Object(Map::new()));
                if labels.is_null() {
                    *labels = Value::Object(Map::new());
                }
                if let Some(labels) = labels.as_object_mut() {
                    for (k, v) in &options.labels {
                        labels.insert(k.clone(), Value::String(v.clone()));
                    }
                }
            }
            let media_type = if oci_types {
                OCI_LAYER_GZIP
            } else {
                DOCKER_LAYER_GZIP
            };
            layer_descs.push(json!({ "mediaType": media_type, "size": layer.blob.len(), "digest": layer.digest.to_string() }));
            prepared
                .blobs
                .push((layer.digest, BlobSource::Bytes(layer.blob.clone())));
            layer_members.push((layer.digest, true));
        }
        let config_bytes = if p.layer.is_some() || docker_source {
            serde_json::to_vec(&config).unwrap_or_default()
        } else {
            base.config_bytes.clone()
        };
        let config_digest = Digest::of(&config_bytes);
        if let Some(m) = manifest.as_object_mut() {
            if let Some(c) = m.get_mut("config").and_then(Value::as_object_mut) {
                c.insert("digest".into(), Value::String(config_digest.to_string()));
                c.insert("size".into(), json!(config_bytes.len()));
            }
            m.insert("layers".into(), Value::Array(layer_descs));
            if oci_types && p.layer.is_some() {
                let ann = m
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(ann) = ann.as_object_mut() {
                    ann.insert(
                        "org.opencontainers.image.base.name".into(),
                        Value::String(image.reference.to_string()),
                    );
                    ann.insert(
                        "org.opencontainers.image.base.digest".into(),
                        Value::String(base.manifest_digest.to_string()),
                    );
                }
            }
        }
        prepared
            .blobs
            .push((config_digest, BlobSource::Bytes(config_bytes)));
        // Nothing added: the manifest keeps its bytes, so its digest does not move.
        let manifest_bytes = if p.layer.is_none() && !docker_source {
            base.manifest_bytes.clone()
        } else {
            serde_json::to_vec(&manifest).unwrap_or_default()
        };
        let manifest_digest = Digest::of(&manifest_bytes);
        let media_type = manifest
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or(OCI_MANIFEST)
            .to_owned();
        prepared
            .blobs
            .push((manifest_digest, BlobSource::Bytes(manifest_bytes.clone())));
        let platform_json = base
            .descriptor
            .as_ref()
            .and_then(|d| d.get("platform").cloned());
        prepared
            .manifests
            .push((manifest_digest, manifest_bytes, media_type, platform_json));
        prepared.docker.push((config_digest, layer_members));
    }
    if let Some((index_descriptor, index_doc, index_bytes)) = &image.index {
        let mut doc = index_doc.clone();
        if let Some(entries) = doc.get_mut("manifests").and_then(Value::as_array_mut) {
            for (p, (digest, bytes, _, _)) in platforms.iter().zip(&prepared.manifests) {
                let old = p.base.manifest_digest.to_string();
                if let Some(entry) = entries
                    .iter_mut()
                    .find(|e| e.get("digest").and_then(Value::as_str) == Some(old.as_str()))
                {
                    if let Some(e) = entry.as_object_mut() {
                        e.insert("digest".into(), Value::String(digest.to_string()));
                        e.insert("size".into(), json!(bytes.len()));
                    }
                }
            }
        }
        let unchanged = platforms
            .iter()
            .zip(&prepared.manifests)
            .all(|(p, m)| p.base.manifest_digest == m.0);
        let bytes = if unchanged {
            index_bytes.clone()
        } else {
            serde_json::to_vec(&doc).unwrap_or_default()
        };
        let digest = Digest::of(&bytes);
        let mut descriptor = index_descriptor.clone();
        if let Some(d) = descriptor.as_object_mut() {
            d.insert("digest".into(), Value::String(digest.to_string()));
            d.insert("size".into(), json!(bytes.len()));
        }
        prepared
            .blobs
            .push((digest, BlobSource::Bytes(bytes.clone())));
        prepared.index = Some((digest, bytes, descriptor));
        // Entries of the index that were not baked (other platforms, attestations) are
        // carried: their blobs must be in the destination too.
    }
    Ok(prepared)
}

/// A path beside `target` for staging (same directory, so a rename is atomic).
fn sibling(target: &Path, what: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.trustbake-{what}-{}", std::process::id()))
}

/// Copies a blob from the source into `dest` (hard link when possible).
fn put_blob(image: &Image, source: &BlobSource<'_>, dest: &Path) -> Result<(), ImageError> {
    if dest.exists() {
        return Ok(());
    }
    let temp = sibling(dest, "blob");
    match source {
        BlobSource::Bytes(bytes) => {
            fs::write(&temp, bytes).map_err(io_err(&temp, "writing a blob"))?
        }
        BlobSource::Base(layer, digest) => {
            let linked = image
                .blobs
                .file_path(digest)
                .is_some_and(|from| layer.member.is_none() && fs::hard_link(&from, &temp).is_ok());
            if !linked {
                let (mut reader, _) = image.open_layer(layer)?;
                let mut out = fs::File::create(&temp).map_err(io_err(&temp, "creating a blob"))?;
                std::io::copy(&mut reader, &mut out).map_err(io_err(&temp, "copying a blob"))?;
            }
        }
    }
    fs::rename(&temp, dest).map_err(io_err(dest, "placing a blob"))
}

/// Every blob the destination layout needs: the prepared ones, and those of index entries that
/// were not baked (other platforms, attestations), carried from the source.
fn carried_index_blobs(
    image: &Image,
    prepared: &Prepared<'_>,
    blobs_dir: &Path,
) -> Result<(), ImageError> {
    let Some((_, doc, _)) = &image.index else {
        return Ok(());
    };
    let baked = &prepared.baked;
    for entry in doc
        .get("manifests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let Some(digest) = entry.get("digest").and_then(Value::as_str) else {
            continue;
        };
        if baked.iter().any(|b| b == digest) {
            continue;
        }
        let digest = Digest::parse(digest)?;
        copy_tree_of(image, &digest, blobs_dir)?;
    }
    Ok(())
}

/// Copies a manifest and everything it references (config, layers) from the source.
fn copy_tree_of(image: &Image, digest: &Digest, blobs_dir: &Path) -> Result<(), ImageError> {
    let name = image.reference.to_string();
    let copy = |d: &Digest| -> Result<(), ImageError> {
        let dest = blobs_dir.join(d.hex());
        if dest.exists() {
            return Ok(());
        }
        let temp = sibling(&dest, "blob");
        let linked = image
            .blobs
            .file_path(d)
            .is_some_and(|from| fs::hard_link(&from, &temp).is_ok());
        if !linked {
            let (mut reader, _) = image.blobs.open_digest(d, &name)?;
            let mut out = fs::File::create(&temp).map_err(io_err(&temp, "creating a blob"))?;
            std::io::copy(&mut reader, &mut out).map_err(io_err(&temp, "copying a blob"))?;
        }
        fs::rename(&temp, &dest).map_err(io_err(&dest, "placing a blob"))
    };
    copy(digest)?;
    let (mut reader, _) = image.blobs.open_digest(digest, &name)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(io_err(blobs_dir, "reading a manifest"))?;
    if let Ok(doc) = serde_json::from_slice::<Value>(&bytes) {
        for d in doc.pointer("/config/digest").into_iter().chain(
            doc.get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.get("digest")),
        ) {
            if let Some(d) = d.as_str() {
                copy(&Digest::parse(d)?)?;
            }
        }
    }
    Ok(())
}

fn write_layout(
    image: &Image,
    prepared: &Prepared<'_>,
    dir: &Path,
    tag: Option<&str>,
) -> Result<(), ImageError> {
    let existing = dir.exists();
    if existing && !dir.join("oci-layout").is_file() {
        return Err(ImageError::BadDestination {
            path: dir.to_path_buf(),
            expected: "an OCI image layout",
        });
    }
    // A new layout is staged beside its destination and renamed into place when complete; an
    // existing one gets its blobs first (content-addressed, harmless) and its index last.
    let root = if existing {
        dir.to_path_buf()
    } else {
        sibling(dir, "new")
    };
    let result = (|| {
        let blobs_dir = root.join("blobs/sha256");
        fs::create_dir_all(&blobs_dir).map_err(io_err(&blobs_dir, "creating"))?;
        if !existing {
            fs::write(
                root.join("oci-layout"),
                b"{\"imageLayoutVersion\":\"1.0.0\"}",
            )
            .map_err(io_err(&root, "writing oci-layout"))?;
        }
        for (digest, source) in &prepared.blobs {
            put_blob(image, source, &blobs_dir.join(digest.hex()))?;
        }
        carried_index_blobs(image, prepared, &blobs_dir)?;
        let mut index: Value = if existing {
            let bytes = fs::read(root.join("index.json"))
                .map_err(io_err(root.join("index.json"), "reading"))?;
            serde_json::from_slice(&bytes).map_err(|e| ImageError::BadJson {
                what: "index.json".into(),
                detail: e.to_string(),
            })?
        } else {
            json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [] })
        };
        let mut descriptor = match &prepared.index {
            Some((_, _, d)) => d.clone(),
            None => {
                let (digest, bytes, media_type, platform) = &prepared.manifests[0];
                let mut d = json!({ "mediaType": media_type, "digest": digest.to_string(), "size": bytes.len() });
                if let (Some(p), Some(obj)) = (platform, d.as_object_mut()) {
                    obj.insert("platform".into(), p.clone());
                }
                d
            }
        };
        if let Some(obj) = descriptor.as_object_mut() {
            match tag {
                Some(tag) => {
                    let ann = obj
                        .entry("annotations")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(ann) = ann.as_object_mut() {
                        ann.insert(
                            "org.opencontainers.image.ref.name".into(),
                            Value::String(tag.to_owned()),
                        );
                    }
                }
                None => {
                    if let Some(ann) = obj.get_mut("annotations").and_then(Value::as_object_mut) {
                        ann.remove("org.opencontainers.image.ref.name");
                    }
                }
            }
        }
        let entries = index
            .get_mut("manifests")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| ImageError::BadJson {
                what: "index.json".into(),
                detail: "no manifests".into(),
            })?;
        entries.retain(|e| match tag {
            Some(tag) => {
                e.pointer("/annotations/org.opencontainers.image.ref.name")
                    .and_then(Value::as_str)
                    != Some(tag)
            }
            None => false,
        });
        entries.push(descriptor);
        let path = root.join("index.json");
        let temp = sibling(&path, "index");
        fs::write(&temp, serde_json::to_vec(&index).unwrap_or_default())
            .map_err(io_err(&temp, "writing"))?;
        fs::rename(&temp, &path).map_err(io_err(&path, "placing index.json"))?;
        Ok(())
    })();
    match (result, existing) {
        (Ok(()), false) => fs::rename(&root, dir).map_err(io_err(dir, "placing the layout")),
        (Ok(()), true) => Ok(()),
        (Err(e), false) => {
            let _ = fs::remove_dir_all(&root);
            Err(e)
        }
        (Err(e), true) => Err(e),
    }
}

/// Tars a directory deterministically (sorted, fixed metadata) into `file`, atomically.
fn tar_dir(dir: &Path, file: &Path) -> Result<(), ImageError> {
    let temp = sibling(file, "archive");
    let result = (|| {
        let out = fs::File::create(&temp).map_err(io_err(&temp, "creating"))?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(out));
        builder.mode(tar::HeaderMode::Deterministic);
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files).map_err(io_err(dir, "listing"))?;
        files.sort();
        for rel in files {
            builder
                .append_path_with_name(dir.join(&rel), &rel)
                .map_err(io_err(dir.join(&rel), "archiving"))?;
        }
        builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(io_err(&temp, "writing"))?;
        fs::rename(&temp, file).map_err(io_err(file, "placing the archive"))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

fn write_docker_archive(
    image: &Image,
    prepared: &Prepared<'_>,
    file: &Path,
    reference: Option<&str>,
) -> Result<(), ImageError> {
    if prepared.manifests.len() != 1 {
        return Err(ImageError::BadDestination {
            path: file.to_path_buf(),
            expected: "a single-platform image (a docker archive holds one platform: choose one with --platform)",
        });
    }
    let temp = sibling(file, "archive");
    let result = (|| {
        let out = fs::File::create(&temp).map_err(io_err(&temp, "creating"))?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(out));
        builder.mode(tar::HeaderMode::Deterministic);
        let (config_digest, layers) = &prepared.docker[0];
        let mut append = |name: &str, reader: &mut dyn Read, size: u64| -> Result<(), ImageError> {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(size);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, name, reader)
                .map_err(io_err(&temp, "archiving"))
        };
        let find = |d: &Digest| prepared.blobs.iter().find(|(x, _)| x == d).map(|(_, s)| s);
        let mut layer_names = Vec::new();
        for (digest, _) in layers {
            let name = format!("{}.tar", digest.hex());
            match find(digest) {
                Some(BlobSource::Bytes(bytes)) => {
                    append(&name, &mut bytes.as_slice(), bytes.len() as u64)?
                }
                Some(BlobSource::Base(layer, _)) => {
                    let (mut reader, size) = image.open_layer(layer)?;
                    append(&name, &mut reader, size)?;
                }
                None => {
                    return Err(ImageError::MissingBlob {
                        digest: digest.to_string(),
                        image: "the new image".into(),
                    });
                }
            }
            layer_names.push(Value::String(name));
        }
        let config_name = format!("{}.json", config_digest.hex());
        if let Some(BlobSource::Bytes(bytes)) = find(config_digest) {
            append(&config_name, &mut bytes.as_slice(), bytes.len() as u64)?;
        }
        let tags: Vec<Value> = reference
            .map(|r| Value::String(r.to_owned()))
            .into_iter()
            .collect();
        let manifest = serde_json::to_vec(
            &json!([{ "Config": config_name, "RepoTags": tags, "Layers": layer_names }]),
        )
        .unwrap_or_default();
        append(
            "manifest.json",
            &mut manifest.as_slice(),
            manifest.len() as u64,
        )?;
        builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(io_err(&temp, "writing"))?;
        fs::rename(&temp, file).map_err(io_err(file, "placing the archive"))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
