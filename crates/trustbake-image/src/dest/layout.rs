//! The OCI image layout as an [`ImageDestination`] — a new one staged in a temporary directory
//! beside its destination and renamed into place when complete, or an existing one that gets
//! its blobs first and its `index.json` last (other tags kept) — and the OCI archive: a layout
//! staged the same way and written as one deterministic tar.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tempfile::TempDir;

use super::{ImageDestination, check_file_destination, parent_dir, temp_file, temp_prefix};
use crate::cleanup::Registered;
use crate::digest::{Digest, HashingReader};
use crate::error::{ImageError, io_err};
use crate::model::{Descriptor, media_type};
use crate::reference::ImageRef;
use crate::source::layout::REF_NAME;

/// The layout marker every layout holds.
const OCI_LAYOUT: &[u8] = b"{\"imageLayoutVersion\":\"1.0.0\"}";

/// An OCI layout being written.
#[derive(Debug)]
pub(crate) struct LayoutDestination {
    /// Where the layout is written: the destination itself, or a staging directory.
    root: PathBuf,
    /// A new layout's staging directory (removed if the write is abandoned, or on a signal).
    staging: Option<(TempDir, Registered)>,
    /// Where a staged layout goes when committed (`None` for an archive's layout).
    target: Option<PathBuf>,
    tag: Option<String>,
    /// Blobs written by this run: trusted without reading them back.
    written: HashSet<Digest>,
    /// The entries a staged index starts with (an existing archive's other images).
    seed: Vec<Value>,
}

impl LayoutDestination {
    /// A new layout at `dir`, or the existing one there.
    pub(crate) fn open(dir: &Path, tag: Option<String>) -> Result<Self, ImageError> {
        match fs::symlink_metadata(dir) {
            Ok(md) if md.is_dir() => {
                if !dir.join("oci-layout").is_file() {
                    return Err(ImageError::BadDestination {
                        path: dir.to_path_buf(),
                        expected: "an OCI image layout",
                    });
                }
                // Blobs go into the layout itself: a `blobs` or `blobs/sha256` that is a link
                // (or not a directory) would send them elsewhere.
                for sub in ["blobs", "blobs/sha256"] {
                    let path = dir.join(sub);
                    match fs::symlink_metadata(&path) {
                        Ok(md) if md.is_dir() => {}
                        Ok(_) => {
                            return Err(ImageError::BadDestination {
                                path,
                                expected: "a directory of the layout (not a link)",
                            });
                        }
                        Err(_) => fs::create_dir(&path).map_err(io_err(&path, "creating"))?,
                    }
                }
                Ok(LayoutDestination {
                    root: dir.to_path_buf(),
                    staging: None,
                    target: None,
                    tag,
                    written: HashSet::new(),
                    seed: Vec::new(),
                })
            }
            Ok(_) => Err(ImageError::BadDestination {
                path: dir.to_path_buf(),
                expected: "an OCI image layout (a directory)",
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut layout = Self::staged(dir, tag)?;
                layout.target = Some(dir.to_path_buf());
                Ok(layout)
            }
            Err(e) => Err(io_err(dir, "checking the destination")(e)),
        }
    }

    /// A new layout in a fresh temporary directory beside `beside`.
    fn staged(beside: &Path, tag: Option<String>) -> Result<Self, ImageError> {
        let parent = parent_dir(beside);
        fs::create_dir_all(&parent).map_err(io_err(&parent, "creating"))?;
        let staging = crate::cleanup::create_registered(
            || {
                tempfile::Builder::new()
                    .prefix(&temp_prefix(beside))
                    .tempdir_in(&parent)
            },
            |d| d.path().to_path_buf(),
        )
        .map_err(io_err(&parent, "creating a staging directory"))?;
        let root = staging.path().to_path_buf();
        let registered = Registered::adopt(&root);
        // A layout is a directory like any other (0755), not a private temporary one.
        fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(io_err(&root, "setting permissions"))?;
        // Never create_dir_all: a signal handler may have removed the staging directory, which
        // must then not be made again.
        for sub in ["blobs", "blobs/sha256"] {
            let path = root.join(sub);
            fs::create_dir(&path).map_err(io_err(&path, "creating"))?;
        }
        fs::write(root.join("oci-layout"), OCI_LAYOUT)
            .map_err(io_err(root.join("oci-layout"), "writing"))?;
        Ok(LayoutDestination {
            root,
            staging: Some((staging, registered)),
            target: None,
            tag,
            written: HashSet::new(),
            seed: Vec::new(),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    fn store(&mut self, digest: &Digest, content: &mut dyn Read) -> Result<(), ImageError> {
        let dir = self.root.join("blobs/sha256");
        let (mut temp, _registered) = temp_file(&dir, ".blob-")?;
        std::io::copy(content, temp.as_file_mut()).map_err(|e| ImageError::BadBlob {
            image: self.root.display().to_string(),
            detail: format!("writing blob {digest}: {e}"),
        })?;
        let path = self.blob_path(digest);
        temp.persist(&path)
            .map_err(|e| io_err(&path, "placing a blob")(e.error))?;
        self.written.insert(*digest);
        Ok(())
    }

    /// Writes `index.json` naming `top` (under the tag, if any); an existing layout keeps its
    /// other entries.
    fn write_index(&self, top: &Descriptor) -> Result<(), ImageError> {
        let path = self.root.join("index.json");
        let mut index: Value = if self.staging.is_none() {
            // The layout's own index: a regular file, read within the document bound.
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                return Err(ImageError::BadDestination {
                    path,
                    expected: "a regular file (the layout's index.json)",
                });
            }
            let file = fs::File::open(&path).map_err(io_err(&path, "reading"))?;
            let bytes = crate::limits::read_small(file, &path)?;
            serde_json::from_slice(&bytes).map_err(|e| ImageError::BadJson {
                what: path.display().to_string(),
                detail: e.to_string(),
            })?
        } else {
            json!({ "schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": self.seed })
        };
        let entry = index_entry(top, self.tag.as_deref())?;
        let entries = index
            .get_mut("manifests")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| ImageError::BadJson {
                what: path.display().to_string(),
                detail: "no manifests".into(),
            })?;
        let digest = top.digest.to_string();
        entries.retain(|e| {
            let name = e.pointer("/annotations/org.opencontainers.image.ref.name");
            match &self.tag {
                // The tag moves to the new image; every other entry stays.
                Some(tag) => name.and_then(Value::as_str) != Some(tag),
                // An untagged image replaces only an untagged entry of the same digest.
                None => name.is_some() || e.get("digest").and_then(Value::as_str) != Some(&digest),
            }
        });
        entries.push(entry);
        let bytes = serde_json::to_vec(&index).map_err(|e| ImageError::BadJson {
            what: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let (mut temp, _registered) = temp_file(&self.root, ".index.json-")?;
        temp.write_all(&bytes)
            .map_err(io_err(&path, "writing index.json"))?;
        temp.persist(&path)
            .map_err(|e| io_err(&path, "placing index.json")(e.error))?;
        Ok(())
    }
}

/// `top` as an `index.json` entry: `mediaType`, `digest`, `size` first (the order of the
/// layout specification's examples), then its other fields; the tag set or removed.
fn index_entry(top: &Descriptor, tag: Option<&str>) -> Result<Value, ImageError> {
    let mut d = top.clone();
    match tag {
        Some(tag) => {
            d.annotations
                .get_or_insert_with(Default::default)
                .insert(REF_NAME.to_owned(), tag.to_owned());
        }
        None => {
            if let Some(a) = d.annotations.as_mut() {
                a.shift_remove(REF_NAME);
            }
        }
    }
    let Value::Object(mut fields) = serde_json::to_value(&d).map_err(|e| ImageError::BadJson {
        what: "index.json entry".into(),
        detail: e.to_string(),
    })?
    else {
        return Err(ImageError::BadJson {
            what: "index.json entry".into(),
            detail: "not an object".into(),
        });
    };
    let mut entry = Map::new();
    for key in ["mediaType", "digest", "size"] {
        if let Some(v) = fields.shift_remove(key) {
            entry.insert(key.to_owned(), v);
        }
    }
    entry.extend(fields);
    Ok(Value::Object(entry))
}

impl ImageDestination for LayoutDestination {
    fn name(&self) -> String {
        format!(
            "oci:{}",
            self.target.as_deref().unwrap_or(&self.root).display()
        )
    }

    fn has_blob(&mut self, blob: &Descriptor) -> Result<bool, ImageError> {
        if self.written.contains(&blob.digest) {
            return Ok(true);
        }
        let path = self.blob_path(&blob.digest);
        let Ok(md) = fs::symlink_metadata(&path) else {
            return Ok(false);
        };
        // A blob already in an existing layout is trusted only when it is a regular file of the
        // right size and digest; anything else there is replaced.
        if md.file_type().is_file() && md.len() == blob.size {
            let file = fs::File::open(&path).map_err(io_err(&path, "opening"))?;
            let (found, _) = HashingReader::new(file)
                .finish()
                .map_err(io_err(&path, "reading"))?;
            if found == blob.digest {
                self.written.insert(blob.digest);
                return Ok(true);
            }
        }
        fs::remove_file(&path).map_err(io_err(&path, "removing a damaged blob"))?;
        Ok(false)
    }

    fn put_blob(&mut self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        self.store(&blob.digest, content)
    }

    fn link_blob(&mut self, blob: &Descriptor, from: &Path) -> Result<bool, ImageError> {
        // link(2) creates the name or fails: it never follows or replaces what is there.
        match fs::hard_link(from, self.blob_path(&blob.digest)) {
            Ok(()) => {
                self.written.insert(blob.digest);
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    fn sink(&self) -> Option<std::sync::Arc<dyn crate::tee::BlobSink>> {
        Some(std::sync::Arc::new(LayoutSink {
            dir: self.root.join("blobs/sha256"),
        }))
    }

    fn mark_present(&mut self, digest: Digest) {
        self.written.insert(digest);
    }

    fn put_manifest(&mut self, manifest: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        if self.has_blob(manifest)? {
            return Ok(());
        }
        self.store(&manifest.digest, &mut &bytes[..])
    }

    fn commit(self: Box<Self>, top: &Descriptor) -> Result<(), ImageError> {
        self.write_index(top)?;
        let mut this = *self;
        if let (Some((staging, _registered)), Some(target)) =
            (this.staging.take(), this.target.take())
        {
            let staged = staging.keep();
            if let Err(e) = fs::rename(&staged, &target) {
                let _ = fs::remove_dir_all(&staged);
                return Err(io_err(&target, "placing the layout")(e));
            }
        }
        Ok(())
    }
}

/// A layout's blob directory, stored into from other threads: each blob through a temporary
/// file, renamed into place once whole and verified.
struct LayoutSink {
    dir: PathBuf,
}

impl crate::tee::BlobSink for LayoutSink {
    fn put(&self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        let (mut temp, _registered) = temp_file(&self.dir, ".blob-")?;
        std::io::copy(content, temp.as_file_mut()).map_err(|e| ImageError::BadBlob {
            image: self.dir.display().to_string(),
            detail: format!("writing blob {}: {e}", blob.digest),
        })?;
        let path = self.dir.join(blob.digest.hex());
        temp.persist(&path)
            .map_err(|e| io_err(&path, "placing a blob")(e.error))?;
        Ok(())
    }
}

/// An OCI archive: a layout staged beside the file, then tarred into place.
#[derive(Debug)]
pub(crate) struct OciArchiveDestination {
    layout: LayoutDestination,
    file: PathBuf,
    /// An archive already there: its other images are carried into the new one (as an
    /// existing layout keeps its other tags).
    previous: Option<(crate::source::layout::LayoutSource, Vec<Descriptor>)>,
}

impl OciArchiveDestination {
    pub(crate) fn create(file: &Path, tag: Option<String>) -> Result<Self, ImageError> {
        check_file_destination(file)?;
        let mut layout = LayoutDestination::staged(file, tag.clone())?;
        let previous = if fs::symlink_metadata(file).is_ok_and(|m| m.is_file()) {
            // Not an OCI archive (any other file): replaced, as before.
            match crate::source::layout::LayoutSource::open(&ImageRef::OciArchive {
                file: file.to_path_buf(),
                tag: None,
            }) {
                Ok(source) => {
                    let entries = source.index_entries()?;
                    let mut kept = Vec::new();
                    for (descriptor, value) in entries {
                        let name = value
                            .pointer("/annotations/org.opencontainers.image.ref.name")
                            .and_then(Value::as_str);
                        // The tag moves to the new image; every other entry stays.
                        if tag.is_some() && name == tag.as_deref() {
                            continue;
                        }
                        layout.seed.push(value);
                        kept.push(descriptor);
                    }
                    Some((source, kept))
                }
                Err(_) => None,
            }
        } else {
            None
        };
        Ok(OciArchiveDestination {
            layout,
            file: file.to_path_buf(),
            previous,
        })
    }
}

impl ImageDestination for OciArchiveDestination {
    fn name(&self) -> String {
        format!("oci-archive:{}", self.file.display())
    }

    fn has_blob(&mut self, blob: &Descriptor) -> Result<bool, ImageError> {
        self.layout.has_blob(blob)
    }

    fn put_blob(&mut self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        self.layout.put_blob(blob, content)
    }

    fn link_blob(&mut self, blob: &Descriptor, from: &Path) -> Result<bool, ImageError> {
        self.layout.link_blob(blob, from)
    }

    fn sink(&self) -> Option<std::sync::Arc<dyn crate::tee::BlobSink>> {
        self.layout.sink()
    }

    fn mark_present(&mut self, digest: Digest) {
        self.layout.mark_present(digest);
    }

    fn put_manifest(&mut self, manifest: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        self.layout.put_manifest(manifest, bytes)
    }

    fn commit(mut self: Box<Self>, top: &Descriptor) -> Result<(), ImageError> {
        if let Some((source, kept)) = self.previous.take() {
            for entry in &kept {
                super::copy_tree(&source, entry, &mut self.layout, 0)?;
            }
        }
        self.layout.write_index(top)?;
        tar_dir(&self.layout.root, &self.file)
        // The staging directory goes with `self.layout`.
    }
}

/// Tars a directory deterministically (sorted, fixed metadata) into `file`, atomically.
fn tar_dir(dir: &Path, file: &Path) -> Result<(), ImageError> {
    let parent = parent_dir(file);
    let (temp, _registered) = temp_file(&parent, &temp_prefix(file))?;
    let out = temp.reopen().map_err(io_err(temp.path(), "opening"))?;
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
        .map_err(io_err(temp.path(), "writing"))?;
    temp.persist(file)
        .map_err(|e| io_err(file, "placing the archive")(e.error))?;
    Ok(())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dest::write;
    use crate::model::Family;
    use crate::reference::ImageRef;
    use crate::source::open;
    use crate::testing;
    use crate::validate::validate;

    /// Opens `from`, appends nothing, and writes it to `to`.
    fn copy(from: &str, to: &str) -> Result<Descriptor, ImageError> {
        let image = open(&ImageRef::parse(from)?)?;
        let appends = image
            .platforms
            .iter()
            .map(|p| crate::mutate::Append {
                base: p,
                scanned: crate::layers::LayeredRoot::scan(
                    &image,
                    p,
                    &crate::layers::ScanOptions::keeping(&|_| false, 0),
                )
                .unwrap()
                .layers,
                layer: None,
                env: Vec::new(),
                replace_top: false,
                replaced_settings: Default::default(),
                created: String::new(),
            })
            .collect();
        let new = image.append(appends, &Default::default(), Family::Oci)?;
        write(&new, &ImageRef::parse(to)?)
    }

    fn tags(dir: &Path) -> Vec<Option<String>> {
        let index: Value =
            serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["annotations"][REF_NAME].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_damaged_blob_in_an_existing_layout_is_replaced() {
        let work = tempfile::tempdir().unwrap();
        let (base, out) = (work.path().join("base"), work.path().join("out"));
        testing::layout(&base, "t");
        let top = copy(
            &format!("oci:{}:t", base.display()),
            &format!("oci:{}:a", out.display()),
        )
        .unwrap();
        // Replace every blob the destination holds with half of it (new files: the blobs are
        // hard links to the base's): a later write must not trust them.
        for e in fs::read_dir(out.join("blobs/sha256")).unwrap() {
            let path = e.unwrap().path();
            let bytes = fs::read(&path).unwrap();
            fs::remove_file(&path).unwrap();
            fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        }
        let again = copy(
            &format!("oci:{}:t", base.display()),
            &format!("oci:{}:b", out.display()),
        )
        .unwrap();
        assert_eq!(again.digest, top.digest);
        validate(&ImageRef::parse(&format!("oci:{}:b", out.display())).unwrap()).unwrap();
    }

    #[test]
    fn an_untagged_image_keeps_the_other_tags() {
        let work = tempfile::tempdir().unwrap();
        let (base, out) = (work.path().join("base"), work.path().join("out"));
        testing::layout(&base, "t");
        let from = format!("oci:{}:t", base.display());
        copy(&from, &format!("oci:{}:a", out.display())).unwrap();
        copy(&from, &format!("oci:{}", out.display())).unwrap();
        assert_eq!(tags(&out), vec![Some("a".to_owned()), None]);
        // The same tag again moves it, and leaves one entry for it.
        copy(&from, &format!("oci:{}:a", out.display())).unwrap();
        assert_eq!(tags(&out), vec![None, Some("a".to_owned())]);
    }

    #[test]
    fn a_failed_write_leaves_nothing_beside_the_destination() {
        let work = tempfile::tempdir().unwrap();
        let base = work.path().join("base");
        let manifest = testing::layout(&base, "t");
        let image = open(&ImageRef::parse(&format!("oci:{}:t", base.display())).unwrap()).unwrap();
        // The layer disappears between reading the image and writing it.
        let layer = image.platforms[0].layers[0].digest.unwrap();
        fs::remove_file(base.join("blobs/sha256").join(layer.hex())).unwrap();
        let appends = vec![crate::mutate::Append {
            base: &image.platforms[0],
            scanned: vec![crate::tree::ScannedLayer {
                digest: layer,
                size: image.platforms[0].layers[0].size,
                diff_id: image.platforms[0].layers[0].diff_id,
            }],
            layer: None,
            env: Vec::new(),
            replace_top: false,
            replaced_settings: Default::default(),
            created: String::new(),
        }];
        let new = image
            .append(appends, &Default::default(), Family::Oci)
            .unwrap();
        for to in ["oci:out", "oci-archive:out.tar", "docker-archive:out.tar"] {
            let to = format!(
                "{}:{}",
                to.split_once(':').unwrap().0,
                work.path().join(to.split_once(':').unwrap().1).display()
            );
            let err = write(&new, &ImageRef::parse(&to).unwrap()).unwrap_err();
            assert!(err.to_string().contains("missing"), "{to}: {err}");
        }
        let left: Vec<String> = fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["base".to_owned()], "{manifest}");
    }

    #[test]
    fn the_source_is_never_the_destination() {
        let work = tempfile::tempdir().unwrap();
        let base = work.path().join("base");
        testing::layout(&base, "t");
        let from = format!("oci:{}:t", base.display());
        // The same layout and tag, spelt another way.
        let same = format!("oci:{}/../base:t", base.display());
        let err = copy(&from, &same).unwrap_err();
        assert!(matches!(err, ImageError::SameAsSource { .. }), "{err}");
        // Another tag of the same layout is a new image beside it.
        copy(&from, &format!("oci:{}:other", base.display())).unwrap();
        assert_eq!(
            tags(&base),
            vec![Some("t".to_owned()), Some("other".to_owned())]
        );
    }
}
