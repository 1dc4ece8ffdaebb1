//! The edge between the engine and a directory on the host: [`DirRoot`] reads an unpacked
//! root file system for the engine, [`apply_to_dir`] writes a plan into it.
//!
//! Paths from the engine are already resolved inside the root; this edge still refuses to
//! write through any symlink on the way, so nothing can land outside the root.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use trustbake_store::{Content, Entry, Meta, Plan, RootView, StoreError};

/// An unpacked root file system in a host directory, seen read-only.
#[derive(Debug, Clone)]
pub(crate) struct DirRoot {
    root: PathBuf,
}

impl DirRoot {
    /// A view of the root file system at `root`.
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        DirRoot { root: root.into() }
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

fn read_error(path: &str, err: &std::io::Error) -> StoreError {
    StoreError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    }
}

impl RootView for DirRoot {
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        let host = self.host(path);
        let md = match fs::symlink_metadata(&host) {
            Ok(md) => md,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) if err.raw_os_error() == Some(20) => return Ok(None), // ENOTDIR
            Err(err) => return Err(read_error(path, &err)),
        };
        let meta = Meta {
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
        };
        let ft = md.file_type();
        Ok(Some(if ft.is_symlink() {
            let target = fs::read_link(&host).map_err(|e| read_error(path, &e))?;
            Entry::Symlink {
                meta,
                target: target.to_string_lossy().into_owned(),
            }
        } else if ft.is_dir() {
            Entry::Dir { meta }
        } else if ft.is_file() {
            Entry::File {
                meta,
                size: md.len(),
            }
        } else {
            return Ok(None); // devices, sockets, fifos hold no certificates
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        fs::read(self.host(path)).map_err(|e| read_error(path, &e))
    }

    fn list(&self, path: &str) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = fs::read_dir(self.host(path))
            .map_err(|e| read_error(path, &e))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Why a plan could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct ApplyError {
    /// The host path.
    pub path: PathBuf,
    /// What was being done.
    pub what: &'static str,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes `plan` into the root file system at `root`: each file atomically (a temporary file
/// beside it, then a rename), directories and links created, owner, mode and mtime set. A
/// symlink anywhere on the way to an entry is refused. Returns warnings (owners that could
/// not be set when not running as root).
pub(crate) fn apply_to_dir(root: &Path, plan: &Plan) -> Result<Vec<String>, ApplyError> {
    let mut warnings = Vec::new();
    for item in &plan.items {
        let rel = item.path.trim_start_matches('/');
        let host = root.join(rel);
        let err = |what: &'static str| {
            move |source| ApplyError {
                path: root.join(rel),
                what,
                source,
            }
        };
        no_symlink_on_the_way(root, rel).map_err(err("refusing to write through a symlink"))?;
        let parent = host.parent().unwrap_or(root);
        let name = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = parent.join(format!(".{name}.trustbake-tmp"));
        match &item.content {
            Content::Dir => {
                match fs::symlink_metadata(&host) {
                    Ok(md) if md.is_dir() => {}
                    Ok(_) => {
                        return Err(err("expected a directory")(std::io::Error::other(
                            "something else is there",
                        )));
                    }
                    Err(_) => fs::create_dir(&host).map_err(err("creating the directory"))?,
                }
                fs::set_permissions(&host, fs::Permissions::from_mode(item.meta.mode))
                    .map_err(err("setting the mode"))?;
                owner(&host, item.meta, false, &mut warnings).map_err(err("setting the owner"))?;
                mtime(&host, item.meta).map_err(err("setting the mtime"))?;
            }
            Content::File(bytes) => {
                let _ = fs::remove_file(&temp);
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&temp)
                    .map_err(err("creating a temporary file"))?;
                file.write_all(bytes).map_err(err("writing"))?;
                file.sync_all().map_err(err("syncing"))?;
                drop(file);
                fs::set_permissions(&temp, fs::Permissions::from_mode(item.meta.mode))
                    .map_err(err("setting the mode"))?;
                owner(&temp, item.meta, false, &mut warnings).map_err(err("setting the owner"))?;
                mtime(&temp, item.meta).map_err(err("setting the mtime"))?;
                fs::rename(&temp, &host).map_err(err("renaming into place"))?;
            }
            Content::Symlink(target) => {
                let _ = fs::remove_file(&temp);
                std::os::unix::fs::symlink(target, &temp).map_err(err("creating the link"))?;
                owner(&temp, item.meta, true, &mut warnings).map_err(err("setting the owner"))?;
                fs::rename(&temp, &host).map_err(err("renaming into place"))?;
            }
        }
    }
    Ok(warnings)
}

fn no_symlink_on_the_way(root: &Path, rel: &str) -> std::io::Result<()> {
    let mut here = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if *part == ".." {
            return Err(std::io::Error::other("'..' in a planned path"));
        }
        here.push(part);
        if fs::symlink_metadata(&here)?.file_type().is_symlink() {
            return Err(std::io::Error::other(format!(
                "{} is a symlink",
                here.display()
            )));
        }
    }
    Ok(())
}

fn owner(path: &Path, meta: Meta, link: bool, warnings: &mut Vec<String>) -> std::io::Result<()> {
    let result = if link {
        std::os::unix::fs::lchown(path, Some(meta.uid), Some(meta.gid))
    } else {
        std::os::unix::fs::chown(path, Some(meta.uid), Some(meta.gid))
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            warnings.push(format!(
                "{}: owner {}:{} not set (needs root)",
                path.display(),
                meta.uid,
                meta.gid
            ));
            Ok(())
        }
        other => other,
    }
}

fn mtime(path: &Path, meta: Meta) -> std::io::Result<()> {
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(meta.mtime).unwrap_or(0));
    fs::File::open(path)?.set_modified(when)
}
