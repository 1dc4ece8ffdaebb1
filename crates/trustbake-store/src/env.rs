//! The environment of an image's processes (its config's `Env`) and what the engine and the
//! client models read from it: a variable, `PATH`'s directories, a program found through them.

use std::collections::BTreeMap;

use crate::error::StoreError;
use crate::view::{Entry, RootView, resolve};

/// `PATH` when the image sets none (Docker's default).
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment of the image's processes (its config's `Env`).
pub type Env = BTreeMap<String, String>;

/// A non-empty variable of `env`.
pub(crate) fn var<'e>(env: &'e Env, key: &str) -> Option<&'e str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// The absolute directories of `PATH` (a shell's default when it is not set).
pub(crate) fn path_dirs(env: &Env) -> Vec<String> {
    env.get("PATH")
        .map_or(DEFAULT_PATH, String::as_str)
        .split(':')
        .filter(|d| d.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

/// The first `name` in `PATH` that is a file.
pub(crate) fn program(
    view: &dyn RootView,
    path_dirs: &[String],
    name: &str,
) -> Result<Option<String>, StoreError> {
    for dir in path_dirs {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        if matches!(resolve(view, &path)?.1, Some(Entry::File { .. })) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}
