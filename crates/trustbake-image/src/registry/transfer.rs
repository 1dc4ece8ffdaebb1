//! What one registry's transfers are: bytes moved each way, and the progress events a caller
//! sees.

use std::sync::atomic::AtomicU64;

use crate::digest::Digest;

/// Bytes moved to and from one registry.
#[derive(Debug, Default)]
pub struct Transfer {
    /// Blob bytes downloaded (layers and configs).
    pub downloaded: AtomicU64,
    /// Blob bytes uploaded.
    pub uploaded: AtomicU64,
    /// Blobs mounted from another repository, and their bytes.
    pub mounted: AtomicU64,
    /// Bytes of mounted blobs.
    pub mounted_bytes: AtomicU64,
    /// Blobs already there (not sent), and their bytes.
    pub present: AtomicU64,
    /// Bytes of blobs already there.
    pub present_bytes: AtomicU64,
    /// Manifest bytes downloaded.
    pub manifest_bytes: AtomicU64,
    /// Requests sent.
    pub requests: AtomicU64,
    /// Requests sent again (429, 408, 5xx, dropped connections, resumed downloads).
    pub retries: AtomicU64,
}

/// What is happening to one blob, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Being downloaded.
    Download,
    /// Being uploaded.
    Upload,
    /// Mounted from another repository (no bytes sent).
    Mount,
    /// Already at the destination (no bytes sent).
    Present,
}

/// One step of one blob's transfer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// The registry.
    pub registry: &'a str,
    /// What is happening.
    pub action: Action,
    /// The blob.
    pub digest: Digest,
    /// Bytes done so far.
    pub done: u64,
    /// The blob's size, when known.
    pub total: Option<u64>,
}

/// Told of every step of every blob's transfer (often: from several threads).
pub type ProgressFn = dyn Fn(&Progress<'_>) + Send + Sync;
