//! The tree a layer scan yields: the merged root's nodes, a layer as scanned, and what one layer
//! changes — shared by the scan (`layers.rs`) and the scan cache (`cache.rs`), which stores
//! and restores them.

use std::sync::Arc;

use crate::digest::{DiffId, Digest};

/// One entry of the merged root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// Size in bytes (regular files).
    pub size: u64,
    /// The body, when wanted.
    pub body: Option<Arc<Vec<u8>>>,
}

impl Node {
    /// A directory no entry describes (the root, a parent implied by a path): root-owned 0755,
    /// as extracting a layer makes it.
    pub(crate) fn implied_dir() -> Node {
        Node {
            kind: NodeKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            size: 0,
            body: None,
        }
    }
}

/// The type of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file (hard links are resolved to one).
    File,
    /// A directory.
    Dir,
    /// A symbolic link with its target.
    Symlink(String),
    /// A device, FIFO or socket.
    Other,
}

/// A layer as scanned: its blob digest and size, and its uncompressed digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedLayer {
    /// The blob's digest.
    pub digest: Digest,
    /// The blob's size.
    pub size: u64,
    /// The uncompressed tar's digest.
    pub diff_id: DiffId,
}

/// What one layer changes.
#[derive(Debug, Clone)]
pub(crate) struct Changes {
    pub(crate) entries: Vec<(String, Entry)>,
    pub(crate) whiteouts: Vec<String>,
    pub(crate) opaque: Vec<String>,
    pub(crate) scanned: ScannedLayer,
}

#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Node(Node),
    Hardlink {
        target: String,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
    },
}
