//! What the engine writes: a [`Plan`] of entries in path order, each with its owner, mode and
//! content, and the variables the image must set — and a plan applied to a [`MemRoot`].

use serde::Serialize;

use crate::view::{MemRoot, Meta};

/// What to write: entries in path order, each with its owner, mode and content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The entries, sorted by path (parents before children).
    pub items: Vec<PlanItem>,
    /// Variables the image's environment must set (`NODE_EXTRA_CA_CERTS`), in name order: a
    /// bake sets them in the config's `Env`; for a directory they are the operator's to set.
    pub env: Vec<(String, String)>,
}

impl Plan {
    /// Nothing to write and nothing to set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.env.is_empty()
    }
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// Absolute path inside the root, free of symlinks.
    pub path: String,
    /// Owner, mode and mtime.
    pub meta: Meta,
    /// What to write.
    pub content: Content,
}

/// The content of a planned entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Content {
    /// A regular file with these bytes.
    File(#[serde(serialize_with = "ser_len")] Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
    /// A directory.
    Dir,
    /// Nothing: a file or link of the root removed (a whiteout in a layer).
    Remove,
}

fn ser_len<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(bytes.len() as u64)
}

impl MemRoot {
    /// Applies a plan in memory, as `apply` would on disk.
    pub fn apply(&mut self, plan: &Plan) {
        for item in &plan.items {
            match &item.content {
                Content::File(bytes) => {
                    self.file(&item.path, bytes.clone(), item.meta);
                }
                Content::Symlink(target) => {
                    self.symlink(&item.path, target);
                }
                Content::Dir => {
                    self.dir(&item.path, item.meta);
                }
                Content::Remove => {
                    self.remove(&item.path);
                }
            }
        }
    }
}
