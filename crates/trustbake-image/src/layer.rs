//! The new layer: a deterministic tar (entries sorted by path, GNU headers with no user or
//! group names, a proper end of archive) compressed with gzip at a pinned level, with no file
//! name and a zero time stamp, so the same entries give the same bytes on every machine.

use std::io::{Read, Write};

use crate::digest::{DiffId, Digest, HashingWriter};
use crate::error::ImageError;

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

impl LayerEntry {
    /// A regular file owned by root.
    pub fn file(path: impl Into<String>, body: impl Into<Vec<u8>>, mode: u32, mtime: i64) -> Self {
        LayerEntry {
            path: path.into(),
            kind: LayerEntryKind::File(body.into()),
            mode,
            uid: 0,
            gid: 0,
            mtime,
        }
    }
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
    /// A whiteout: the path is removed from the layers below (`.wh.<name>` beside it).
    Whiteout,
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
        // Tar has no time before the epoch; such a time is written as the epoch.
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
            LayerEntryKind::Whiteout => {
                let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                let wh = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(0);
                builder
                    .append_data(&mut header, wh, std::io::empty())
                    .map_err(err)?;
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

/// One entry of a layer, as an attestation records it and a verifier compares it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerFile {
    /// Absolute path inside the root (for a whiteout: the path it removes).
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink` or `whiteout`.
    pub kind: String,
    /// A file's SHA-256 (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A link's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Permission bits, octal (`0644`).
    pub mode: String,
}

/// The largest tar a listed layer may inflate to: trustbake's layers are kilobytes.
const MAX_LISTED_TAR: u64 = 256 * 1024 * 1024;

/// Every entry of a gzip (or uncompressed) tar layer, in archive order.
pub fn layer_files(blob: &[u8]) -> Result<Vec<LayerFile>, ImageError> {
    let bad = |detail: String| ImageError::BadLayer {
        layer: Digest::of(blob).to_string(),
        detail,
    };
    let inflated: Box<dyn Read> = if blob.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(blob))
    } else {
        Box::new(blob)
    };
    let mut archive = tar::Archive::new(inflated.take(MAX_LISTED_TAR));
    let mut out = Vec::new();
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let mode = format!("{:04o}", entry.header().mode().unwrap_or(0) & 0o7777);
        let target = entry
            .link_name()
            .ok()
            .flatten()
            .map(|t| t.to_string_lossy().into_owned());
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let (kind, path, sha256, target) = match entry.header().entry_type() {
            _ if name.starts_with(".wh.") => {
                let removed = name.trim_start_matches(".wh.");
                let full = if dir.is_empty() {
                    removed.to_owned()
                } else {
                    format!("{dir}/{removed}")
                };
                ("whiteout", full, None, None)
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(e.to_string()))?;
                ("file", path, Some(Digest::of(&bytes).to_string()), None)
            }
            tar::EntryType::Directory => ("dir", path, None, None),
            tar::EntryType::Symlink => ("symlink", path, None, target),
            tar::EntryType::Link => ("hardlink", path, None, target),
            other => return Err(bad(format!("entry {path}: type {other:?}"))),
        };
        out.push(LayerFile {
            path: format!("/{path}"),
            kind: kind.to_owned(),
            sha256,
            target,
            mode,
        });
    }
    Ok(out)
}
