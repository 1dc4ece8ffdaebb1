//! The edge between the engine and a directory on the host: [`DirRoot`] reads an unpacked
//! root file system for the engine, [`apply_to_dir`] writes a plan into it.
//!
//! Every path is resolved beneath a handle on the root opened once, never as a host path, so
//! nothing outside the root is read or written even while the root changes underneath
//! (another process swapping a directory for a symlink between a check and a write):
//!
//! - reads resolve with `openat2(RESOLVE_IN_ROOT)`, as container runtimes do: a symlink on the
//!   way (absolute, or with `..`) is followed as if the root were `/`, never out of it; the last
//!   component is never followed (the engine resolves links itself);
//! - writes resolve the parent directory with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (a symlink
//!   anywhere on the way is refused), then create, rename, remove, chown, chmod and set times
//!   relative to that directory's handle (`openat(O_EXCL|O_NOFOLLOW)`, `renameat`, `unlinkat`,
//!   `fchown`/`fchmod`/`futimens`, `fchownat(AT_SYMLINK_NOFOLLOW)`); a temporary is removed by
//!   its directory handle, never by a path.
//!
//! Where `openat2` is missing (Linux before 5.6), every path is walked one component at a time
//! with `O_NOFOLLOW | O_DIRECTORY`, refusing any symlink on the way.

use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps};
use rustix::io::Errno;
use trustbake_image::cleanup::create_registered;
use trustbake_store::{Content, Entry, Meta, Plan, PlanItem, RootView, StoreError};

/// An unpacked root file system in a host directory, seen read-only.
#[derive(Debug, Clone)]
pub(crate) struct DirRoot {
    root: PathBuf,
    handle: Option<Arc<OwnedFd>>,
}

impl DirRoot {
    /// A view of the root file system at `root` (opened once; a root that cannot be opened
    /// reads as empty, and its errors name it).
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let handle = open_root(&root).ok().map(Arc::new);
        DirRoot { root, handle }
    }

    fn handle(&self, path: &str) -> Result<&OwnedFd, StoreError> {
        self.handle.as_deref().ok_or_else(|| StoreError::Read {
            path: path.to_owned(),
            reason: format!("{}: cannot open the root", self.root.display()),
        })
    }
}

fn read_error(path: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    }
}

fn open_root(root: &Path) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// `path` (absolute, in the root) as its parent (relative, `.` for the root) and its name.
fn split(path: &str) -> (String, String) {
    let rel = path.trim_start_matches('/').trim_end_matches('/');
    match rel.rsplit_once('/') {
        Some((parent, name)) => (parent.to_owned(), name.to_owned()),
        None => (".".to_owned(), rel.to_owned()),
    }
}

/// How a path beneath the root is resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolve {
    /// Symlinks followed as if the root were `/` (reads).
    InRoot,
    /// No symlink at all (writes).
    NoSymlinks,
}

/// Opens `rel` (relative to `root`, `.` for the root itself) with `flags`, resolved as `how`
/// says, never leaving the root.
fn open_beneath(root: &OwnedFd, rel: &str, flags: OFlags, how: Resolve) -> Result<OwnedFd, Errno> {
    let rel = if rel.is_empty() { "." } else { rel };
    let resolve = ResolveFlags::NO_MAGICLINKS
        | match how {
            Resolve::InRoot => ResolveFlags::IN_ROOT,
            Resolve::NoSymlinks => ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS,
        };
    match rustix::fs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve) {
        Err(Errno::NOSYS) => walk(root, rel, flags),
        other => other,
    }
}

/// Without `openat2`: one component at a time, no symlink followed, no `..`.
fn walk(root: &OwnedFd, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(Errno::XDEV);
    }
    let mut here = rustix::fs::openat(
        root,
        ".",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let Some((last, dirs)) = parts.split_last() else {
        return rustix::fs::openat(root, ".", flags | OFlags::CLOEXEC, Mode::empty());
    };
    for dir in dirs {
        here = rustix::fs::openat(
            &here,
            *dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
    }
    rustix::fs::openat(
        &here,
        *last,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn not_there(e: Errno) -> bool {
    e == Errno::NOENT || e == Errno::NOTDIR
}

impl RootView for DirRoot {
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        let root = self.handle(path)?;
        let (parent, name) = split(path);
        if name.is_empty() {
            let st = rustix::fs::fstat(root).map_err(|e| read_error(path, e))?;
            return Ok(Some(Entry::Dir { meta: meta_of(&st) }));
        }
        let dir = match open_beneath(
            root,
            &parent,
            OFlags::PATH | OFlags::DIRECTORY,
            Resolve::InRoot,
        ) {
            Ok(dir) => dir,
            Err(e) if not_there(e) || e == Errno::LOOP => return Ok(None),
            Err(e) => return Err(read_error(path, e)),
        };
        let st = match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) if not_there(e) => return Ok(None),
            Err(e) => return Err(read_error(path, e)),
        };
        let meta = meta_of(&st);
        Ok(Some(match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(&dir, name.as_str(), Vec::new())
                    .map_err(|e| read_error(path, e))?;
                Entry::Symlink {
                    meta,
                    target: target.to_string_lossy().into_owned(),
                }
            }
            FileType::Directory => Entry::Dir { meta },
            FileType::RegularFile => Entry::File {
                meta,
                size: st.st_size as u64,
            },
            _ => return Ok(None), // devices, sockets, fifos hold no certificates
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        let root = self.handle(path)?;
        let (parent, name) = split(path);
        let dir = open_beneath(
            root,
            &parent,
            OFlags::PATH | OFlags::DIRECTORY,
            Resolve::InRoot,
        )
        .map_err(|e| read_error(path, e))?;
        // Opened without following a link and without blocking (a FIFO), then checked: a
        // regular file of a bounded size, never a device that never ends or a sparse giant.
        let fd = rustix::fs::openat(
            &dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| read_error(path, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| read_error(path, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(read_error(path, "not a regular file"));
        }
        let limit = trustbake_store::paths::MAX_READ;
        if st.st_size as u64 > limit {
            return Err(StoreError::TooLarge {
                path: path.to_owned(),
                size: st.st_size as u64,
                limit,
            });
        }
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(path, e))?;
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
        let root = self.handle(path)?;
        let rel = path.trim_start_matches('/');
        let fd = open_beneath(
            root,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Resolve::InRoot,
        )
        .map_err(|e| read_error(path, e))?;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::new(fd).map_err(|e| read_error(path, e))? {
            let entry = entry.map_err(|e| read_error(path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

fn meta_of(st: &rustix::fs::Stat) -> Meta {
    Meta {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: st.st_mtime,
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
/// entries, through their handles. Returns warnings (owners that could not be set when not
/// running as root).
pub(crate) fn apply_to_dir(root: &Path, plan: &Plan) -> Result<Vec<String>, ApplyError> {
    let handle = open_root(root).map_err(apply_error(root.to_path_buf(), "opening the root"))?;
    let target = Target { root, handle };
    for item in &plan.items {
        target.check(plan, item)?;
    }
    let mut staged = Staged::default();
    let mut warnings = Vec::new();
    for item in &plan.items {
        staged.stage(&target, item, &mut warnings)?;
    }
    staged.commit(&mut warnings)?;
    Ok(warnings)
}

fn apply_error(path: PathBuf, what: &'static str) -> impl FnOnce(std::io::Error) -> ApplyError {
    move |source| ApplyError { path, what, source }
}

/// The root being written: its host path (for messages only) and its handle.
struct Target<'a> {
    root: &'a Path,
    handle: OwnedFd,
}

impl Target<'_> {
    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The directory `rel` beneath the root, no symlink on the way.
    fn dir(&self, rel: &str, host: &Path) -> Result<OwnedFd, ApplyError> {
        open_beneath(
            &self.handle,
            rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Resolve::NoSymlinks,
        )
        .map_err(|e| {
            let what = if e == Errno::LOOP || e == Errno::XDEV {
                "refusing to write through a symlink"
            } else {
                "expected a directory"
            };
            apply_error(host.to_path_buf(), what)(e.into())
        })
    }

    /// Whether `item` can be written: no symlink on the way, its parent a directory (or one
    /// the plan creates), and nothing of another kind at its path.
    fn check(&self, plan: &Plan, item: &PlanItem) -> Result<(), ApplyError> {
        let host = self.host(&item.path);
        let (parent, name) = split(&item.path);
        let parent_path = trustbake_store::parent(&item.path);
        let parent_planned = plan
            .items
            .iter()
            .any(|i| i.path == parent_path && i.content == Content::Dir);
        let dir = match self.dir(&parent, &self.host(parent_path)) {
            Ok(dir) => dir,
            // Made by the plan: nothing is there to conflict (checked when it is staged).
            Err(e) if parent_planned && e.what == "expected a directory" => return Ok(()),
            Err(e) => return Err(e),
        };
        let found = match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => FileType::from_raw_mode(st.st_mode),
            Err(e) if e == Errno::NOENT => return Ok(()),
            Err(e) => return Err(apply_error(host, "checking the target")(e.into())),
        };
        let fits = match item.content {
            Content::Dir => found == FileType::Directory,
            Content::File(_) | Content::Symlink(_) | Content::Remove => {
                found == FileType::RegularFile || found == FileType::Symlink
            }
        };
        if fits {
            return Ok(());
        }
        let what = if found == FileType::Directory {
            "a directory is there"
        } else {
            "a device, FIFO or socket is there"
        };
        Err(apply_error(host, "refusing to replace what is there")(
            std::io::Error::other(what),
        ))
    }
}

/// A name in a directory handle.
struct At {
    dir: Arc<OwnedFd>,
    name: String,
    /// The host path, for messages and the signal handler.
    host: PathBuf,
}

/// What has been staged: temporaries to rename into place, and directories created. Dropped
/// without [`Staged::commit`], it removes them all, through their directory handles.
#[derive(Default)]
struct Staged {
    /// (temporary, target), in plan order.
    renames: Vec<(At, At)>,
    /// New directories, parents first.
    created: Vec<At>,
    /// Existing directories whose mode, owner and mtime are set on commit (their handles).
    existing: Vec<(OwnedFd, Meta, PathBuf)>,
    /// Files and links removed on commit.
    removals: Vec<At>,
    committed: bool,
}

/// A temporary name beside `name`: `.NAME.trustbake-` and 16 random hex digits.
fn temporary_name(name: &str) -> std::io::Result<String> {
    let mut random = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(".{name}.trustbake-{hex}"))
}

impl Staged {
    fn stage(
        &mut self,
        target: &Target<'_>,
        item: &PlanItem,
        warnings: &mut Vec<String>,
    ) -> Result<(), ApplyError> {
        let host = target.host(&item.path);
        let err = |what: &'static str| apply_error(host.clone(), what);
        let (parent, name) = split(&item.path);
        let dir = Arc::new(target.dir(&parent, host.parent().unwrap_or(target.root))?);
        let at = |name: &str| At {
            dir: Arc::clone(&dir),
            name: name.to_owned(),
            host: host.with_file_name(name),
        };
        match &item.content {
            Content::Remove => self.removals.push(at(&name)),
            Content::Dir => self.stage_dir(&dir, &name, item, &host, warnings)?,
            Content::File(bytes) => {
                let (fd, temp) = create_registered(
                    || {
                        let temp = temporary_name(&name)?;
                        let fd = rustix::fs::openat(
                            &*dir,
                            temp.as_str(),
                            OFlags::WRONLY
                                | OFlags::CREATE
                                | OFlags::EXCL
                                | OFlags::NOFOLLOW
                                | OFlags::CLOEXEC,
                            Mode::from_raw_mode(0o600),
                        )?;
                        Ok((fd, temp))
                    },
                    |(_, temp)| host.with_file_name(temp),
                )
                .map_err(err("creating a temporary file"))?;
                self.renames.push((at(&temp), at(&name)));
                let mut file = std::fs::File::from(fd);
                file.write_all(bytes).map_err(err("writing"))?;
                file.sync_all().map_err(err("syncing"))?;
                set_meta(file.as_fd(), item.meta, &host, warnings)
                    .map_err(err("setting its metadata"))?;
            }
            Content::Symlink(link) => {
                // A random name, made by symlinkat(2), which fails rather than replace anything.
                let temp = create_registered(
                    || {
                        let temp = temporary_name(&name)?;
                        rustix::fs::symlinkat(link.as_str(), &*dir, temp.as_str())?;
                        Ok(temp)
                    },
                    |temp| host.with_file_name(temp),
                )
                .map_err(err("creating the link"))?;
                self.renames.push((at(&temp), at(&name)));
                let owned = rustix::fs::chownat(
                    &*dir,
                    temp.as_str(),
                    Some(rustix::fs::Uid::from_raw(item.meta.uid)),
                    Some(rustix::fs::Gid::from_raw(item.meta.gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                );
                owner_result(owned, item.meta, &host, warnings)
                    .map_err(err("setting the owner"))?;
            }
        }
        Ok(())
    }

    /// A directory of the plan: an existing one kept (its metadata set at commit), else made
    /// (registered in the same step) and its metadata set.
    fn stage_dir(
        &mut self,
        dir: &Arc<OwnedFd>,
        name: &str,
        item: &PlanItem,
        host: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<(), ApplyError> {
        let err = |what: &'static str| apply_error(host.to_path_buf(), what);
        match rustix::fs::openat(
            &**dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => {
                self.existing.push((fd, item.meta, host.to_path_buf()));
                return Ok(());
            }
            Err(e) if e != Errno::NOENT => {
                return Err(err("expected a directory")(e.into()));
            }
            Err(_) => {}
        }
        // Made and registered in one step: a signal finds no temporary it does not know.
        create_registered(
            || {
                Ok(rustix::fs::mkdirat(
                    &**dir,
                    name,
                    Mode::from_raw_mode(0o700),
                )?)
            },
            |()| host.to_path_buf(),
        )
        .map_err(err("creating the directory"))?;
        self.created.push(At {
            dir: Arc::clone(dir),
            name: name.to_owned(),
            host: host.to_path_buf(),
        });
        let fd = rustix::fs::openat(
            &**dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err("opening the new directory")(e.into()))?;
        set_meta(&fd, item.meta, host, warnings).map_err(err("setting its metadata"))?;
        Ok(())
    }

    fn commit(mut self, warnings: &mut Vec<String>) -> Result<(), ApplyError> {
        for (temp, target) in &self.renames {
            rustix::fs::renameat(
                &*temp.dir,
                temp.name.as_str(),
                &*target.dir,
                target.name.as_str(),
            )
            .map_err(|e| apply_error(target.host.clone(), "renaming into place")(e.into()))?;
            trustbake_image::cleanup::unregister(&temp.host);
        }
        self.renames.clear();
        for gone in self.removals.drain(..) {
            match rustix::fs::unlinkat(&*gone.dir, gone.name.as_str(), AtFlags::empty()) {
                Err(e) if e != Errno::NOENT => {
                    return Err(apply_error(gone.host, "removing")(e.into()));
                }
                _ => {}
            }
        }
        for dir in self.created.drain(..) {
            trustbake_image::cleanup::unregister(&dir.host);
        }
        self.committed = true;
        for (fd, meta, host) in &self.existing {
            set_meta(fd, *meta, host, warnings)
                .map_err(apply_error(host.clone(), "setting its metadata"))?;
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
            let _ = rustix::fs::unlinkat(&*temp.dir, temp.name.as_str(), AtFlags::empty());
            trustbake_image::cleanup::unregister(&temp.host);
        }
        for dir in self.created.iter().rev() {
            let _ = rustix::fs::unlinkat(&*dir.dir, dir.name.as_str(), AtFlags::REMOVEDIR);
            trustbake_image::cleanup::unregister(&dir.host);
        }
    }
}

/// Mode, owner and mtime, through the entry's own handle.
fn set_meta(
    fd: impl AsFd,
    meta: Meta,
    host: &Path,
    warnings: &mut Vec<String>,
) -> std::io::Result<()> {
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(meta.mode))?;
    let owned = rustix::fs::fchown(
        &fd,
        Some(rustix::fs::Uid::from_raw(meta.uid)),
        Some(rustix::fs::Gid::from_raw(meta.gid)),
    );
    owner_result(owned, meta, host, warnings)?;
    // The owner change may clear set-id bits: the mode once more.
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(meta.mode))?;
    let omit = Timespec {
        tv_sec: 0,
        tv_nsec: rustix::fs::UTIME_OMIT,
    };
    let when = Timespec {
        tv_sec: meta.mtime.max(0),
        tv_nsec: 0,
    };
    rustix::fs::futimens(
        &fd,
        &Timestamps {
            last_access: omit,
            last_modification: when,
        },
    )?;
    Ok(())
}

/// An owner change's result: not being root is a warning, not an error.
fn owner_result(
    result: Result<(), Errno>,
    meta: Meta,
    host: &Path,
    warnings: &mut Vec<String>,
) -> std::io::Result<()> {
    match result {
        Err(Errno::PERM) => {
            warnings.push(format!(
                "{}: owner {}:{} not set (needs root)",
                host.display(),
                meta.uid,
                meta.gid
            ));
            Ok(())
        }
        other => Ok(other?),
    }
}
