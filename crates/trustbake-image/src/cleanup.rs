//! Temporaries that must not outlive a signal. Everything trustbake stages (a new layout, an
//! archive being written, a blob, `apply`'s files) is removed on an error by its owner's
//! `Drop`; a process stopped by SIGINT or SIGTERM runs no `Drop`, so each temporary is also
//! registered here while it exists, and a signal handler (the command line installs one) calls
//! [`remove_pending`] before exiting.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers `path` (a file, a link or a directory) as a temporary to remove on a signal.
pub fn register(path: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        pending.push(path.to_path_buf());
    }
}

/// Creates a temporary with `make` and registers its path (`path(&made)`) in one step, under
/// the registry's lock: a signal handler's [`remove_pending`] waits for both, so no temporary
/// ever exists unregistered (a file made and then registered could be left behind by a signal
/// that lands between the two). `make` must not register anything itself.
pub fn create_registered<T>(
    make: impl FnOnce() -> std::io::Result<T>,
    path: impl FnOnce(&T) -> PathBuf,
) -> std::io::Result<T> {
    let mut pending = match PENDING.lock() {
        Ok(pending) => pending,
        Err(poisoned) => poisoned.into_inner(),
    };
    let made = make()?;
    pending.push(path(&made));
    Ok(made)
}

/// Forgets `path`: it was renamed into place, or removed.
pub fn unregister(path: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        if let Some(i) = pending.iter().rposition(|p| p == path) {
            pending.remove(i);
        }
    }
}

/// Removes every registered temporary, newest first (a directory after what is in it). For a
/// signal handler: it never panics and never blocks on a poisoned lock.
pub fn remove_pending() {
    let pending = match PENDING.lock() {
        Ok(mut pending) => std::mem::take(&mut *pending),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for path in pending.iter().rev() {
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.is_dir() => {
                // The interrupted thread may still be making an entry in it while it is
                // removed (then the last rmdir finds it not empty): try again, a few times.
                for _ in 0..20 {
                    if std::fs::remove_dir_all(path).is_ok()
                        || std::fs::symlink_metadata(path).is_err()
                    {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            Ok(_) => {
                let _ = std::fs::remove_file(path);
            }
            Err(_) => {}
        }
    }
}

/// A registration that ends when it is dropped.
#[derive(Debug)]
pub(crate) struct Registered(PathBuf);

impl Registered {
    /// The registration [`create_registered`] made, ended when this is dropped.
    pub(crate) fn adopt(path: &Path) -> Self {
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        unregister(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pending_temporaries_are_removed_and_forgotten_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, sub) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("sub"),
        );
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("x"), "x").unwrap();
        register(&a);
        register(&b);
        register(&sub);
        unregister(&b);
        remove_pending();
        assert!(!a.exists() && b.exists() && !sub.exists());
    }
}
