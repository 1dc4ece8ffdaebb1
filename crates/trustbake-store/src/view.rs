//! A read-only view of a root file system, and path resolution inside it.
//!
//! The engine never touches the host: it asks a [`RootView`] — an unpacked directory, an image's
//! layers, or [`MemRoot`] in tests — and resolves symlinks itself, relative to the root (an
//! absolute target means the root's `/`, `..` stops at the root), so no path ever leaves it.

use std::collections::BTreeMap;

use crate::error::StoreError;

/// Owner, mode and time of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Meta {
    /// Permission bits (e.g. `0o444`), without the file type.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
}

impl Meta {
    /// Root-owned with `mode`, at `mtime`.
    pub const fn root(mode: u32, mtime: i64) -> Self {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime,
        }
    }
}

/// What is at a path (the last component not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file of `size` bytes.
    File {
        /// Its metadata.
        meta: Meta,
        /// Its size in bytes.
        size: u64,
    },
    /// A symbolic link.
    Symlink {
        /// Its metadata.
        meta: Meta,
        /// The link's target, as stored.
        target: String,
    },
    /// A directory.
    Dir {
        /// Its metadata.
        meta: Meta,
    },
}

impl Entry {
    /// The entry's metadata.
    pub fn meta(&self) -> Meta {
        match self {
            Entry::File { meta, .. } | Entry::Symlink { meta, .. } | Entry::Dir { meta } => *meta,
        }
    }
}

/// A read-only root file system. Paths are absolute (`/etc/ssl/certs`), already free of
/// symlinks except possibly in the last component: [`resolve`] takes care of that.
pub trait RootView {
    /// The entry at `path`, not following a final symlink; `None` if absent.
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError>;
    /// The bytes of the regular file at `path`.
    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError>;
    /// The names in the directory at `path`, sorted.
    fn list(&self, path: &str) -> Result<Vec<String>, StoreError>;
}

/// How many symlinks one resolution may follow before it is called a loop (as Linux does).
const MAX_LINKS: usize = 40;

/// `path` with every symlink resolved inside the root: the real path and its entry (`None` if
/// the final target is absent). A link loop is an error.
pub fn resolve(view: &dyn RootView, path: &str) -> Result<(String, Option<Entry>), StoreError> {
    let mut pending: Vec<String> = components(path).into_iter().rev().collect();
    let mut done: Vec<String> = Vec::new();
    let mut follows = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        done.push(part);
        let here = join(&done);
        match view.entry(&here)? {
            Some(Entry::Symlink { target, .. }) => {
                follows += 1;
                if follows > MAX_LINKS {
                    return Err(StoreError::SymlinkLoop {
                        path: path.to_owned(),
                    });
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                pending.extend(components(&target).into_iter().rev());
            }
            Some(_) => {}
            None => {
                // Absent: the rest of the path cannot exist either.
                let rest: Vec<String> = pending.drain(..).rev().collect();
                let mut full = done.clone();
                full.extend(rest);
                return Ok((join(&normalize(full)), None));
            }
        }
    }
    let real = join(&done);
    let entry = view.entry(&real)?;
    Ok((real, entry))
}

/// The content of the file at `path`, following symlinks inside the root; `None` when absent
/// or not a regular file.
pub fn read_resolved(
    view: &dyn RootView,
    path: &str,
) -> Result<Option<(String, Meta, Vec<u8>)>, StoreError> {
    match resolve(view, path)? {
        (real, Some(Entry::File { meta, .. })) => Ok(Some((real.clone(), meta, view.read(&real)?))),
        _ => Ok(None),
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect()
}

fn normalize(parts: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        if part == ".." {
            out.pop();
        } else {
            out.push(part);
        }
    }
    out
}

fn join(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

/// The parent directory of an absolute path (`/` for top-level entries).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// An in-memory root: for tests, and for building roots in code.
#[derive(Debug, Clone, Default)]
pub struct MemRoot {
    entries: BTreeMap<String, (Entry, Vec<u8>)>,
}

impl MemRoot {
    /// An empty root (only `/`).
    pub fn new() -> Self {
        let mut root = MemRoot::default();
        root.entries.insert(
            "/".to_owned(),
            (
                Entry::Dir {
                    meta: Meta::root(0o755, 0),
                },
                Vec::new(),
            ),
        );
        root
    }

    /// Adds a file (and any missing parent directories, 0755 root).
    pub fn file(&mut self, path: &str, content: impl Into<Vec<u8>>, meta: Meta) -> &mut Self {
        let content = content.into();
        self.parents(path);
        self.entries.insert(
            path.to_owned(),
            (
                Entry::File {
                    meta,
                    size: content.len() as u64,
                },
                content,
            ),
        );
        self
    }

    /// Adds a symlink.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.parents(path);
        self.entries.insert(
            path.to_owned(),
            (
                Entry::Symlink {
                    meta: Meta::root(0o777, 0),
                    target: target.to_owned(),
                },
                Vec::new(),
            ),
        );
        self
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str, meta: Meta) -> &mut Self {
        self.parents(path);
        self.entries
            .insert(path.to_owned(), (Entry::Dir { meta }, Vec::new()));
        self
    }

    fn parents(&mut self, path: &str) {
        let mut p = parent(path);
        let mut missing = Vec::new();
        while p != "/" && !self.entries.contains_key(p) {
            missing.push(p.to_owned());
            p = parent(p);
        }
        for dir in missing {
            self.entries.insert(
                dir,
                (
                    Entry::Dir {
                        meta: Meta::root(0o755, 0),
                    },
                    Vec::new(),
                ),
            );
        }
    }

    /// Removes the entry at `path` (a whiteout).
    pub fn remove(&mut self, path: &str) -> &mut Self {
        self.entries.remove(path);
        self
    }

    /// Every path, sorted (for tests).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

impl RootView for MemRoot {
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.entries.get(path).map(|(e, _)| e.clone()))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        match self.entries.get(path) {
            Some((Entry::File { .. }, bytes)) => Ok(bytes.clone()),
            _ => Err(StoreError::Read {
                path: path.to_owned(),
                reason: "not a regular file".to_owned(),
            }),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<String>, StoreError> {
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        Ok(self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| &k[prefix.len()..])
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }
}

/// The SHA-256 of every certificate in the files of the directory `path` whose names `keep`
/// accepts (links followed; an absent directory holds none).
pub(crate) fn shas_in_dir(
    view: &dyn RootView,
    path: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<std::collections::BTreeSet<trustbake_certs::Sha256Fingerprint>, StoreError> {
    let mut out = std::collections::BTreeSet::new();
    for name in list_dir(view, path)?.iter().filter(|n| keep(n)) {
        if let Some((_, _, bytes)) = read_resolved(view, &format!("{path}/{name}"))? {
            out.extend(trustbake_certs::read_bundle(&bytes).shas());
        }
    }
    Ok(out)
}

/// The names in a directory (following links to it); empty when absent or not a directory.
pub(crate) fn list_dir(view: &dyn RootView, path: &str) -> Result<Vec<String>, StoreError> {
    match resolve(view, path)? {
        (real, Some(Entry::Dir { .. })) => view.list(&real),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> MemRoot {
        let mut r = MemRoot::new();
        r.file(
            "/etc/pki/tls/certs/ca-bundle.crt",
            "bundle",
            Meta::root(0o444, 0),
        )
        .symlink("/etc/ssl/certs", "../pki/tls/certs")
        .symlink("/etc/ssl/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt")
        .symlink("/loop/a", "b")
        .symlink("/loop/b", "/loop/a")
        .symlink("/escape", "../../../../etc/pki");
        r
    }

    fn check(path: &str, expected: &str) {
        assert_eq!(resolve(&root(), path).unwrap().0, expected, "{path}");
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        check(
            "/etc/ssl/certs/ca-bundle.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        );
        check("/etc/ssl/cert.pem", "/etc/pki/tls/certs/ca-bundle.crt");
        check("/escape/tls", "/etc/pki/tls");
        check(
            "/etc/ssl/certs/missing/deeper",
            "/etc/pki/tls/certs/missing/deeper",
        );
        check("/etc/./ssl/../pki", "/etc/pki");
    }

    #[test]
    fn loops_are_errors() {
        assert!(matches!(
            resolve(&root(), "/loop/a/x"),
            Err(StoreError::SymlinkLoop { .. })
        ));
    }

    #[test]
    fn listing_is_one_level() {
        assert_eq!(root().list("/etc/pki/tls").unwrap(), ["certs"]);
        assert_eq!(root().list("/loop").unwrap(), ["a", "b"]);
    }
}
