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

use trustbake_image::cleanup::create_registered;
use trustbake_store::{Content, Entry, Meta, Plan, PlanItem, RootView, StoreError};

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
        use std::io::Read as _;
        let host = self.host(path);
        // A regular file of a bounded size: never a FIFO that blocks, a device that never ends,
        // or a sparse giant read into memory.
        let md = fs::symlink_metadata(&host).map_err(|e| read_error(path, &e))?;
        if !md.file_type().is_file() {
            return Err(StoreError::Read {
                path: path.to_owned(),
                reason: "not a regular file".to_owned(),
            });
        }
        let limit = trustbake_store::paths::MAX_READ;
        if md.len() > limit {
            return Err(StoreError::TooLarge {
                path: path.to_owned(),
                size: md.len(),
                limit,
            });
        }
        let mut bytes = Vec::new();
        fs::File::open(&host)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(|e| read_error(path, &e))?;
        if bytes.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                path: path.to_owned(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
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

/// Writes `plan` into the root file system at `root`, all or nothing: every target is checked
/// first (no symlink on the way, nothing of another kind where an entry goes), then every file
/// and link is staged under a random name beside its target and new directories are created,
/// and only then is everything renamed into place. On a failure before that, what was staged
/// or created is removed and the root is as it was. Owner, mode and mtime are set on the staged
/// entries. Returns warnings (owners that could not be set when not running as root).
pub(crate) fn apply_to_dir(root: &Path, plan: &Plan) -> Result<Vec<String>, ApplyError> {
    for item in &plan.items {
        check(root, plan, item)?;
    }
    let mut staged = Staged::default();
    let mut warnings = Vec::new();
    for item in &plan.items {
        staged.stage(root, item, &mut warnings)?;
    }
    staged.commit(&mut warnings)?;
    Ok(warnings)
}

fn apply_error(path: PathBuf, what: &'static str) -> impl FnOnce(std::io::Error) -> ApplyError {
    move |source| ApplyError { path, what, source }
}

/// Whether `item` can be written: no symlink on the way, its parent a directory (or one the
/// plan creates), and nothing of another kind at its path.
fn check(root: &Path, plan: &Plan, item: &PlanItem) -> Result<(), ApplyError> {
    let rel = item.path.trim_start_matches('/');
    let host = root.join(rel);
    no_symlink_on_the_way(root, rel).map_err(apply_error(
        host.clone(),
        "refusing to write through a symlink",
    ))?;
    let parent = trustbake_store::parent(&item.path);
    let parent_planned = plan
        .items
        .iter()
        .any(|i| i.path == parent && i.content == Content::Dir);
    let parent_host = root.join(parent.trim_start_matches('/'));
    if !parent_planned && !parent_host.is_dir() {
        return Err(apply_error(parent_host, "expected a directory")(
            std::io::Error::other("it is missing or not a directory"),
        ));
    }
    let found = match fs::symlink_metadata(&host) {
        Ok(md) => md.file_type(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(apply_error(host, "checking the target")(e)),
    };
    let fits = match item.content {
        Content::Dir => found.is_dir(),
        Content::File(_) | Content::Symlink(_) | Content::Remove => {
            found.is_file() || found.is_symlink()
        }
    };
    if fits {
        return Ok(());
    }
    let what = if found.is_dir() {
        "a directory is there"
    } else {
        "a device, FIFO or socket is there"
    };
    Err(apply_error(host, "refusing to replace what is there")(
        std::io::Error::other(what),
    ))
}

/// What has been staged: temporaries to rename into place, and directories created. Dropped
/// without [`Staged::commit`], it removes them all.
#[derive(Default)]
struct Staged {
    /// (temporary, target), in plan order.
    renames: Vec<(PathBuf, PathBuf)>,
    /// New directories, parents first.
    created: Vec<PathBuf>,
    /// Existing directories whose mode, owner and mtime are set on commit.
    existing: Vec<(PathBuf, Meta)>,
    /// Files and links removed on commit.
    removals: Vec<PathBuf>,
    committed: bool,
}

impl Staged {
    fn stage(
        &mut self,
        root: &Path,
        item: &PlanItem,
        warnings: &mut Vec<String>,
    ) -> Result<(), ApplyError> {
        let host = root.join(item.path.trim_start_matches('/'));
        let err = |what: &'static str| apply_error(host.clone(), what);
        let parent = host.parent().unwrap_or(root).to_path_buf();
        let prefix = format!(
            ".{}.trustbake-",
            host.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        match &item.content {
            Content::Remove => self.removals.push(host),
            Content::Dir => {
                if host.is_dir() {
                    self.existing.push((host, item.meta));
                    return Ok(());
                }
                // Made and registered in one step: a signal finds no temporary it does not know.
                create_registered(|| fs::create_dir(&host), |()| host.clone())
                    .map_err(err("creating the directory"))?;
                self.created.push(host.clone());
                fs::set_permissions(&host, fs::Permissions::from_mode(item.meta.mode))
                    .map_err(err("setting the mode"))?;
                owner(&host, item.meta, false, warnings).map_err(err("setting the owner"))?;
                mtime(&host, item.meta).map_err(err("setting the mtime"))?;
            }
            Content::File(bytes) => {
                let (mut file, path) = create_registered(
                    || {
                        tempfile::Builder::new()
                            .prefix(&prefix)
                            .tempfile_in(&parent)?
                            .keep()
                            .map_err(|e| e.error)
                    },
                    |(_, path)| path.clone(),
                )
                .map_err(err("creating a temporary file"))?;
                self.renames.push((path.clone(), host.clone()));
                file.write_all(bytes).map_err(err("writing"))?;
                file.sync_all().map_err(err("syncing"))?;
                drop(file);
                fs::set_permissions(&path, fs::Permissions::from_mode(item.meta.mode))
                    .map_err(err("setting the mode"))?;
                owner(&path, item.meta, false, warnings).map_err(err("setting the owner"))?;
                mtime(&path, item.meta).map_err(err("setting the mtime"))?;
            }
            Content::Symlink(target) => {
                // A random name, created exclusively (the link is made by symlink(2), which
                // fails rather than replace anything).
                let path = create_registered(
                    || {
                        tempfile::Builder::new()
                            .prefix(&prefix)
                            .make_in(&parent, |path| std::os::unix::fs::symlink(target, path))?
                            .into_temp_path()
                            .keep()
                            .map_err(|e| e.error)
                    },
                    PathBuf::clone,
                )
                .map_err(err("creating the link"))?;
                self.renames.push((path.clone(), host.clone()));
                owner(&path, item.meta, true, warnings).map_err(err("setting the owner"))?;
            }
        }
        Ok(())
    }

    fn commit(mut self, warnings: &mut Vec<String>) -> Result<(), ApplyError> {
        for (temp, host) in &self.renames {
            fs::rename(temp, host).map_err(apply_error(host.clone(), "renaming into place"))?;
            trustbake_image::cleanup::unregister(temp);
        }
        self.renames.clear();
        for path in self.removals.drain(..) {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(apply_error(path, "removing")(e));
                }
                _ => {}
            }
        }
        for dir in self.created.drain(..) {
            trustbake_image::cleanup::unregister(&dir);
        }
        self.committed = true;
        for (dir, meta) in &self.existing {
            fs::set_permissions(dir, fs::Permissions::from_mode(meta.mode))
                .map_err(apply_error(dir.clone(), "setting the mode"))?;
            owner(dir, *meta, false, warnings)
                .map_err(apply_error(dir.clone(), "setting the owner"))?;
            mtime(dir, *meta).map_err(apply_error(dir.clone(), "setting the mtime"))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for (temp, _) in &self.renames {
            let _ = fs::remove_file(temp);
            trustbake_image::cleanup::unregister(temp);
        }
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
            trustbake_image::cleanup::unregister(dir);
        }
    }
}

fn no_symlink_on_the_way(root: &Path, rel: &str) -> std::io::Result<()> {
    let mut here = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if *part == ".." {
            return Err(std::io::Error::other("'..' in a planned path"));
        }
        here.push(part);
        let md = match fs::symlink_metadata(&here) {
            Ok(md) => md,
            // Not there yet: the plan creates it (checked with the parent).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if md.file_type().is_symlink() {
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
