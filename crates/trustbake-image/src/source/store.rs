//! Files by name inside a directory or a tar archive: how the local transports reach
//! `index.json`, `manifest.json` and blobs. An archive is indexed once (names → offsets) and
//! read in place; nothing is extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::{ImageError, io_err};

/// An open member and its size.
pub(crate) type Member = (Box<dyn Read + Send>, u64);

/// A directory or an indexed tar archive.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    /// Files below a directory.
    Dir(PathBuf),
    /// Members of a tar archive: name → (offset of the data, size).
    Archive {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
}

impl Store {
    /// Indexes the regular members of the tar archive `file`, without reading their data.
    pub(crate) fn archive(file: &Path) -> Result<Store, ImageError> {
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
        Ok(Store::Archive {
            file: file.to_path_buf(),
            members,
        })
    }

    /// The path of the store, for messages.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Store::Dir(dir) => dir,
            Store::Archive { file, .. } => file,
        }
    }

    /// Whether `name` is there.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Store::Dir(dir) => dir.join(name).is_file(),
            Store::Archive { members, .. } => members.contains_key(name),
        }
    }

    /// A reader over `name` and its size; a missing one is `None`.
    pub(crate) fn open(&self, name: &str) -> Result<Option<Member>, ImageError> {
        match self {
            Store::Dir(dir) => {
                let path = dir.join(name);
                let file = match File::open(&path) {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_err(&path, "opening")(e)),
                };
                let size = file
                    .metadata()
                    .map_err(io_err(&path, "reading metadata"))?
                    .len();
                Ok(Some((Box::new(file), size)))
            }
            Store::Archive { file, members } => {
                let Some(&(offset, size)) = members.get(name) else {
                    return Ok(None);
                };
                let mut f = File::open(file).map_err(io_err(file, "opening"))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(io_err(file, "seeking"))?;
                Ok(Some((Box::new(f.take(size)), size)))
            }
        }
    }

    /// The host path of `name` when the store is a directory.
    pub(crate) fn file(&self, name: &str) -> Option<PathBuf> {
        match self {
            Store::Dir(dir) => Some(dir.join(name)),
            Store::Archive { .. } => None,
        }
    }
}
