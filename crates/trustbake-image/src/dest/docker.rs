//! The `docker save` archive as an [`ImageDestination`]: one platform, layers as
//! `<hex>.tar`, the config as `<hex>.json`, `manifest.json` last; written to a temporary file
//! beside the destination and renamed into place when complete.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::{ImageDestination, check_file_destination, is_config, parent_dir, temp_file};
use crate::cleanup::Registered;
use crate::digest::Digest;
use crate::error::{ImageError, io_err};
use crate::model::{Descriptor, Manifest};
use crate::source::docker::ArchiveEntry;

/// A docker archive being written.
pub(crate) struct DockerArchiveDestination {
    file: PathBuf,
    reference: Option<String>,
    temp: NamedTempFile,
    _registered: Registered,
    builder: tar::Builder<BufWriter<File>>,
    written: HashSet<Digest>,
    /// The one manifest's config and layers, once it is put.
    entry: Option<(String, Vec<String>)>,
}

impl DockerArchiveDestination {
    pub(crate) fn create(file: &Path, reference: Option<String>) -> Result<Self, ImageError> {
        check_file_destination(file)?;
        let (temp, registered) = temp_file(&parent_dir(file), &super::temp_prefix(file))?;
        let out = temp.reopen().map_err(io_err(temp.path(), "opening"))?;
        let mut builder = tar::Builder::new(BufWriter::new(out));
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(DockerArchiveDestination {
            file: file.to_path_buf(),
            reference,
            temp,
            _registered: registered,
            builder,
            written: HashSet::new(),
            entry: None,
        })
    }

    fn append(&mut self, name: &str, size: u64, content: &mut dyn Read) -> Result<(), ImageError> {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(size);
        header.set_entry_type(tar::EntryType::Regular);
        self.builder
            .append_data(&mut header, name, content)
            .map_err(|e| ImageError::BadBlob {
                image: format!("docker-archive:{}", self.file.display()),
                detail: format!("writing {name}: {e}"),
            })
    }
}

fn member(d: &Descriptor) -> String {
    if is_config(d) {
        format!("{}.json", d.digest.hex())
    } else {
        format!("{}.tar", d.digest.hex())
    }
}

impl ImageDestination for DockerArchiveDestination {
    fn name(&self) -> String {
        format!("docker-archive:{}", self.file.display())
    }

    fn holds_index(&self) -> bool {
        false
    }

    fn has_blob(&mut self, blob: &Descriptor) -> Result<bool, ImageError> {
        Ok(self.written.contains(&blob.digest))
    }

    fn put_blob(&mut self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        self.append(&member(blob), blob.size, content)?;
        self.written.insert(blob.digest);
        Ok(())
    }

    fn put_manifest(&mut self, manifest: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        if self.entry.is_some() {
            return Err(ImageError::SinglePlatform {
                destination: self.name(),
                platforms: 2,
            });
        }
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| ImageError::BadJson {
            what: format!("manifest {}", manifest.digest),
            detail: e.to_string(),
        })?;
        self.entry = Some((member(&m.config), m.layers.iter().map(member).collect()));
        Ok(())
    }

    fn commit(self: Box<Self>, _top: &Descriptor) -> Result<(), ImageError> {
        let mut this = *self;
        let (config, layers) = this
            .entry
            .take()
            .ok_or_else(|| ImageError::SinglePlatform {
                destination: this.name(),
                platforms: 0,
            })?;
        let manifest = vec![ArchiveEntry {
            config,
            repo_tags: this.reference.clone().into_iter().collect(),
            layers,
            rest: serde_json::Map::new(),
        }];
        let bytes = serde_json::to_vec(&manifest).map_err(|e| ImageError::BadJson {
            what: "manifest.json".into(),
            detail: e.to_string(),
        })?;
        this.append("manifest.json", bytes.len() as u64, &mut &bytes[..])?;
        let DockerArchiveDestination {
            file,
            temp,
            builder,
            ..
        } = this;
        builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(io_err(temp.path(), "writing"))?;
        temp.persist(&file)
            .map_err(|e| io_err(&file, "placing the archive")(e.error))?;
        Ok(())
    }
}
