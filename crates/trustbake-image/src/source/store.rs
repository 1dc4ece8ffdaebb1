//! Files by name inside a directory or a tar archive: how the local transports reach
//! `index.json`, `manifest.json` and blobs. An archive is indexed once (names → offsets) and
//! read in place; nothing is extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{ImageError, io_err};

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
        // A link to an archive is fine; a FIFO, a device or a directory is not (a FIFO would
        // block the open itself).
        let md = std::fs::metadata(file).map_err(io_err(file, "opening"))?;
        if !md.file_type().is_file() {
            return Err(ImageError::NotRegular {
                path: file.to_path_buf(),
                found: file_type(&md),
            });
        }
        let f = File::open(file).map_err(io_err(file, "opening"))?;
        let mut archive = tar::Archive::new(f);
        let mut members = HashMap::new();
        // Links between members (`docker save` links a repeated layer's tar to the first):
        // name → the member it names, resolved after every member is known.
        let mut links = HashMap::new();
        for entry in archive
            .entries()
            .map_err(io_err(file, "reading the archive"))?
        {
            let entry = entry.map_err(io_err(file, "reading the archive"))?;
            let path = entry
                .path()
                .map_err(io_err(file, "reading a member name"))?;
            let name = path.to_string_lossy().trim_start_matches("./").to_owned();
            let kind = entry.header().entry_type();
            if kind.is_file() {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            } else if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                // A symlink is relative to its directory; a hard link names a member.
                let base = if kind.is_symlink() {
                    name.rsplit_once('/').map_or("", |(dir, _)| dir)
                } else {
                    ""
                };
                if let Some(target) = member_path(base, &target) {
                    links.insert(name, target);
                }
            }
        }
        for (name, target) in &links {
            let mut at = target;
            for _ in 0..40 {
                if let Some(&found) = members.get(at) {
                    members.insert(name.clone(), found);
                    break;
                }
                match links.get(at) {
                    Some(next) => at = next,
                    None => break,
                }
            }
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

    /// A reader over `name` and its size; a missing one is `None`.
    pub(crate) fn open(&self, name: &str) -> Result<Option<Member>, ImageError> {
        match self {
            Store::Dir(dir) => {
                let path = dir.join(name);
                // Blobs are regular files: a link (which could lead out of the layout, to a
                // device or a FIFO that never ends or blocks) or anything else is refused
                // before it is opened, and the opened file is checked again.
                match std::fs::symlink_metadata(&path) {
                    Ok(md) if md.file_type().is_file() => {}
                    Ok(md) => {
                        return Err(ImageError::NotRegular {
                            path,
                            found: file_type(&md),
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_err(&path, "opening")(e)),
                }
                let file = File::open(&path).map_err(io_err(&path, "opening"))?;
                let md = file.metadata().map_err(io_err(&path, "reading metadata"))?;
                if !md.file_type().is_file() {
                    return Err(ImageError::NotRegular {
                        path,
                        found: file_type(&md),
                    });
                }
                Ok(Some((Box::new(file), md.len())))
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

/// `target` seen from the directory `base` inside an archive, as a member name; `None` when
/// it leads out of the archive (an absolute path, or `..` above its top).
fn member_path(base: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// What a file that should be regular is, in words.
pub(crate) fn file_type(md: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = md.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::member_path;

    #[test]
    fn member_links_stay_inside_the_archive() {
        assert_eq!(
            member_path("b", "../a/layer.tar").as_deref(),
            Some("a/layer.tar")
        );
        assert_eq!(
            member_path("", "a/layer.tar").as_deref(),
            Some("a/layer.tar")
        );
        assert_eq!(member_path("b", "../../etc/passwd"), None);
        assert_eq!(member_path("b", "/etc/passwd"), None);
    }
}
