//! The scan cache: what the scan of a layer found depends only on the layer's bytes, so it is
//! kept by digest — in memory for the run (a layer shared by several platforms is read once)
//! and, when given a directory, on disk across runs (a re-bake reads no base layer).
//!
//! An entry is keyed by the layer's blob digest (or, for a docker archive's member, its diff
//! ID and size), its media type, the format version and the caller's salt (what the scan keeps: the wanted paths and the
//! body bound). It is written atomically (a temporary file renamed into place), ends with the
//! SHA-256 of what precedes it, and is used only when that checks and it names the digest and
//! diff ID the image expects: a corrupt or truncated entry is a miss, removed, and the layer is
//! scanned again. Only verified scans are stored. The directory is bounded: past its size, the
//! least recently used entries go.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::{DiffId, Digest};
use crate::layers::{Changes, Entry, Node, NodeKind, ScannedLayer};
use crate::source::Layer;

/// The entry format; a change to it (or to what a scan keeps) changes every key.
const FORMAT: &[u8] = b"trustbake-scan-cache-v1";

/// The default bound on the directory's size.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Layer scans by digest, for one run and (with a directory) across runs.
pub struct ScanCache {
    dir: Option<PathBuf>,
    salt: Vec<u8>,
    max_bytes: u64,
    memory: Mutex<HashMap<[u8; 32], Arc<Changes>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for ScanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanCache")
            .field("dir", &self.dir)
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish_non_exhaustive()
    }
}

impl ScanCache {
    /// A cache for this run only.
    pub fn in_memory(salt: &[u8]) -> Self {
        ScanCache {
            dir: None,
            salt: salt.to_vec(),
            max_bytes: DEFAULT_MAX_BYTES,
            memory: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache kept in `dir` (created when missing), at most `max_bytes` large.
    pub fn on_disk(dir: &Path, salt: &[u8], max_bytes: u64) -> Self {
        ScanCache {
            dir: Some(dir.to_path_buf()),
            max_bytes,
            ..Self::in_memory(salt)
        }
    }

    /// Layers whose scan came from the cache (memory or disk) so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Layers scanned (read) so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn key(&self, layer: &Layer) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(FORMAT);
        h.update((self.salt.len() as u64).to_le_bytes());
        h.update(&self.salt);
        // The scan checks the bytes against the media type: the same bytes under another type
        // are another question.
        h.update((layer.media_type.len() as u64).to_le_bytes());
        h.update(layer.media_type.as_bytes());
        match layer.digest {
            Some(d) => {
                h.update(b"digest");
                h.update(d.0);
            }
            None => {
                h.update(b"diff-id");
                h.update(layer.diff_id.0.0);
                h.update(layer.size.to_le_bytes());
            }
        }
        h.finalize().into()
    }

    fn path(&self, key: &[u8; 32]) -> Option<PathBuf> {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.as_ref().map(|d| d.join(&hex[..2]).join(hex))
    }

    /// The scan of `layer`, when the cache holds a valid one.
    pub(crate) fn get(&self, layer: &Layer) -> Option<Arc<Changes>> {
        let key = self.key(layer);
        if let Some(found) = self.memory.lock().ok().and_then(|m| m.get(&key).cloned()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(found);
        }
        let path = self.path(&key)?;
        let bytes = fs::read(&path).ok()?;
        let changes = match decode(&bytes) {
            Some(c) if matches(&c.scanned, layer) => c,
            _ => {
                // Corrupt, truncated or not this layer's: scanned again, and replaced.
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        // Used now: the least recently used entries are pruned first.
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        let changes = Arc::new(changes);
        if let Ok(mut m) = self.memory.lock() {
            m.insert(key, Arc::clone(&changes));
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(changes)
    }

    /// Keeps a verified scan of `layer`. A failure to write is not an error: the cache is an
    /// optimisation.
    pub(crate) fn put(&self, layer: &Layer, changes: Arc<Changes>) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let key = self.key(layer);
        if let Some(path) = self.path(&key) {
            let bytes = encode(&changes);
            // A failure to write only loses the saving: the bake goes on.
            if write_atomically(&path, &bytes).is_ok() {
                self.prune();
            }
        }
        if let Ok(mut m) = self.memory.lock() {
            m.insert(key, changes);
        }
    }

    /// Removes the least recently used entries while the directory is over its bound.
    fn prune(&self) {
        let Some(dir) = &self.dir else { return };
        let mut entries = Vec::new();
        let mut total = 0u64;
        for sub in fs::read_dir(dir).into_iter().flatten().flatten() {
            for e in fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                if let Ok(md) = e.metadata()
                    && md.is_file()
                {
                    total += md.len();
                    let used = md.modified().unwrap_or(std::time::UNIX_EPOCH);
                    entries.push((used, md.len(), e.path()));
                }
            }
        }
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

fn matches(scanned: &ScannedLayer, layer: &Layer) -> bool {
    scanned.diff_id == layer.diff_id
        && match layer.digest {
            Some(d) => scanned.digest == d && scanned.size == layer.size,
            None => scanned.size == layer.size,
        }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".entry-")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_data()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend(v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend(v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend(v);
    }
}

fn encode(c: &Changes) -> Vec<u8> {
    let mut e = Encoder(Vec::new());
    e.0.extend(FORMAT);
    e.0.extend(c.scanned.digest.0);
    e.u64(c.scanned.size);
    e.0.extend(c.scanned.diff_id.0.0);
    e.u64(c.entries.len() as u64);
    for (path, entry) in &c.entries {
        e.bytes(path.as_bytes());
        match entry {
            Entry::Node(n) => {
                e.u8(0);
                let (kind, target) = match &n.kind {
                    NodeKind::File => (0, None),
                    NodeKind::Dir => (1, None),
                    NodeKind::Symlink(t) => (2, Some(t)),
                    NodeKind::Other => (3, None),
                };
                e.u8(kind);
                if let Some(t) = target {
                    e.bytes(t.as_bytes());
                }
                e.u32(n.mode);
                e.u32(n.uid);
                e.u32(n.gid);
                e.i64(n.mtime);
                e.u64(n.size);
                match &n.body {
                    Some(b) => {
                        e.u8(1);
                        e.bytes(b);
                    }
                    None => e.u8(0),
                }
            }
            Entry::Hardlink {
                target,
                mode,
                uid,
                gid,
                mtime,
            } => {
                e.u8(1);
                e.bytes(target.as_bytes());
                e.u32(*mode);
                e.u32(*uid);
                e.u32(*gid);
                e.i64(*mtime);
            }
        }
    }
    for list in [&c.whiteouts, &c.opaque] {
        e.u64(list.len() as u64);
        for p in list {
            e.bytes(p.as_bytes());
        }
    }
    let sum: [u8; 32] = Sha256::digest(&e.0).into();
    e.0.extend(sum);
    e.0
}

struct Decoder<'a>(&'a [u8]);

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
    }
    fn hash(&mut self) -> Option<[u8; 32]> {
        self.take(32).and_then(|b| b.try_into().ok())
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
    /// A count of items that each take at least `min` bytes: never more than what is left.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.0.len() / min.max(1)).then_some(n)
    }
}

fn decode(bytes: &[u8]) -> Option<Changes> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    if Sha256::digest(body).as_slice() != sum {
        return None;
    }
    let mut d = Decoder(body);
    if d.take(FORMAT.len())? != FORMAT {
        return None;
    }
    let scanned = ScannedLayer {
        digest: Digest(d.hash()?),
        size: d.u64()?,
        diff_id: DiffId(Digest(d.hash()?)),
    };
    let n = d.count(10)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let path = d.string()?;
        let entry = match d.u8()? {
            0 => {
                let kind = match d.u8()? {
                    0 => NodeKind::File,
                    1 => NodeKind::Dir,
                    2 => NodeKind::Symlink(d.string()?),
                    3 => NodeKind::Other,
                    _ => return None,
                };
                let (mode, uid, gid, mtime, size) =
                    (d.u32()?, d.u32()?, d.u32()?, d.i64()?, d.u64()?);
                let body = match d.u8()? {
                    0 => None,
                    1 => Some(Arc::new(d.bytes()?)),
                    _ => return None,
                };
                Entry::Node(Node {
                    kind,
                    mode,
                    uid,
                    gid,
                    mtime,
                    size,
                    body,
                })
            }
            1 => Entry::Hardlink {
                target: d.string()?,
                mode: d.u32()?,
                uid: d.u32()?,
                gid: d.u32()?,
                mtime: d.i64()?,
            },
            _ => return None,
        };
        entries.push((path, entry));
    }
    let mut lists = [Vec::new(), Vec::new()];
    for list in &mut lists {
        let n = d.count(8)?;
        for _ in 0..n {
            list.push(d.string()?);
        }
    }
    if !d.0.is_empty() {
        return None;
    }
    let [whiteouts, opaque] = lists;
    Some(Changes {
        entries,
        whiteouts,
        opaque,
        scanned,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sample() -> Changes {
        Changes {
            entries: vec![
                (
                    "/etc/a".into(),
                    Entry::Node(Node {
                        kind: NodeKind::File,
                        mode: 0o644,
                        uid: 1,
                        gid: 2,
                        mtime: -3,
                        size: 5,
                        body: Some(Arc::new(b"hello".to_vec())),
                    }),
                ),
                (
                    "/etc/l".into(),
                    Entry::Node(Node {
                        kind: NodeKind::Symlink("a".into()),
                        mode: 0o777,
                        uid: 0,
                        gid: 0,
                        mtime: 0,
                        size: 0,
                        body: None,
                    }),
                ),
                (
                    "/etc/h".into(),
                    Entry::Hardlink {
                        target: "/etc/a".into(),
                        mode: 0o600,
                        uid: 0,
                        gid: 0,
                        mtime: 9,
                    },
                ),
            ],
            whiteouts: vec!["/gone".into()],
            opaque: vec!["/opaque".into()],
            scanned: ScannedLayer {
                digest: Digest::of(b"blob"),
                size: 4,
                diff_id: DiffId(Digest::of(b"tar")),
            },
        }
    }

    #[test]
    fn entries_round_trip_and_any_damage_is_a_miss() {
        let bytes = encode(&sample());
        let back = decode(&bytes).unwrap();
        assert_eq!(encode(&back), bytes);
        for cut in [0, 1, 31, 32, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_none(), "flipped byte {i}");
        }
    }
}
