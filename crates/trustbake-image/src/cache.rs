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
//!
//! Whoever can write the directory could forge a scan — and a scan's file bodies become part
//! of the baked layer. So a directory is used only when it, and every directory trustbake made
//! in it, is a real directory owned by the user running trustbake that no one else can write;
//! and entries are authenticated with a key kept beside them (`key`, 32 random bytes, readable
//! by that user only): HMAC-SHA-256 over the entry, so an entry copied in from elsewhere, or
//! edited and re-hashed, is not trusted. Otherwise the disk cache is not used (a warning says
//! why) and the run scans what it needs.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::{DiffId, Digest};
use crate::source::Layer;
use crate::tree::{Changes, Entry, Node, NodeKind, ScannedLayer};

/// The key entries shared through a registry are encoded with: not a secret — a shared entry's
/// integrity is its digest (see [`crate::cache_remote`]).
const SHARED_KEY: [u8; 32] = *b"trustbake shared scan cache v1\0\0";

/// The entry format; a change to it (or to what a scan keeps) changes every key.
const FORMAT: &[u8] = b"trustbake-scan-cache-v2";

/// The default bound on the directory's size.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Layer scans by digest, for one run and (with a directory) across runs.
pub struct ScanCache {
    dir: Option<PathBuf>,
    /// The key authenticating the directory's entries.
    key: [u8; 32],
    /// Why the directory given is not used.
    refused: Option<String>,
    salt: Vec<u8>,
    max_bytes: u64,
    memory: Mutex<HashMap<[u8; 32], Arc<Changes>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    remote: Option<Arc<crate::cache_remote::RemoteCache>>,
    remote_hits: AtomicU64,
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
            key: [0; 32],
            refused: None,
            salt: salt.to_vec(),
            max_bytes: DEFAULT_MAX_BYTES,
            memory: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            remote: None,
            remote_hits: AtomicU64::new(0),
        }
    }

    /// Also reads entries from, and writes them to, `remote` (a registry repository): a scan
    /// no local entry holds is looked for there before the layer is read.
    pub fn with_remote(mut self, remote: Arc<crate::cache_remote::RemoteCache>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Layers whose scan came from the shared repository so far (counted in
    /// [`ScanCache::hits`] too).
    pub fn remote_hits(&self) -> u64 {
        self.remote_hits.load(Ordering::Relaxed)
    }

    /// A cache kept in `dir` (created when missing, for its user only), at most `max_bytes`
    /// large — or, when `dir` is not safe to trust (see the module documentation), for this
    /// run only, with the reason in [`ScanCache::refused`].
    pub fn on_disk(dir: &Path, salt: &[u8], max_bytes: u64) -> Self {
        match open_dir(dir) {
            Ok(key) => ScanCache {
                dir: Some(dir.to_path_buf()),
                key,
                max_bytes,
                ..Self::in_memory(salt)
            },
            Err(why) => ScanCache {
                refused: Some(format!(
                    "the scan cache {} is not used: {why}",
                    dir.display()
                )),
                ..Self::in_memory(salt)
            },
        }
    }

    /// Why the directory given to [`ScanCache::on_disk`] is not used, if it is not.
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
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
        let Some(path) = self.path(&key) else {
            return self.get_remote(&key, layer);
        };
        // The entry's directory must still be ours alone (it may have been changed since).
        if secure_dir(path.parent()?).is_err() {
            return self.get_remote(&key, layer);
        }
        if !path.is_file() {
            return self.get_remote(&key, layer);
        }
        let bytes = read_regular(&path)?;
        let changes = match decode(&bytes, &self.key) {
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

    /// The scan of `layer` from the shared repository, when it holds a valid one (then kept
    /// locally too).
    fn get_remote(&self, key: &[u8; 32], layer: &Layer) -> Option<Arc<Changes>> {
        let bytes = self.remote.as_ref()?.get(key)?;
        let changes = decode(&bytes, &SHARED_KEY).filter(|c| matches(&c.scanned, layer))?;
        let changes = Arc::new(changes);
        if let Some(path) = self.path(key)
            && write_atomically(&path, &encode(&changes, &self.key)).is_ok()
        {
            self.prune();
        }
        if let Ok(mut m) = self.memory.lock() {
            m.insert(*key, Arc::clone(&changes));
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.remote_hits.fetch_add(1, Ordering::Relaxed);
        Some(changes)
    }

    /// Keeps a verified scan of `layer`. A failure to write is not an error: the cache is an
    /// optimisation.
    pub(crate) fn put(&self, layer: &Layer, changes: Arc<Changes>) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let key = self.key(layer);
        if let Some(remote) = &self.remote {
            remote.put(&key, &encode(&changes, &SHARED_KEY));
        }
        if let Some(path) = self.path(&key) {
            let bytes = encode(&changes, &self.key);
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

/// Checks that `dir` is a directory (not a link) owned by this user that no one else can
/// write.
fn secure_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let md = fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !md.file_type().is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let me = rustix::process::geteuid().as_raw();
    if md.uid() != me {
        return Err(format!(
            "{} belongs to uid {}, not to the user running trustbake (uid {me})",
            dir.display(),
            md.uid()
        ));
    }
    if md.mode() & 0o022 != 0 {
        return Err(format!(
            "{} can be written by others (mode {:o}): chmod go-w it",
            dir.display(),
            md.mode() & 0o7777
        ));
    }
    Ok(())
}

/// A regular file (not a link), read within a bound.
fn read_regular(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(crate::limits::MAX_DOCUMENT.saturating_mul(64))
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// Makes (for this user only) or checks the cache directory; returns its key.
fn open_dir(dir: &Path) -> Result<[u8; 32], String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    if fs::symlink_metadata(dir).is_err() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create it: {e}"))?;
    }
    secure_dir(dir)?;
    let path = dir.join("key");
    if fs::symlink_metadata(&path).is_err() {
        let mut key = [0u8; 32];
        use std::io::Read;
        fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .map_err(|e| format!("no randomness for its key: {e}"))?;
        let mut temp = tempfile::Builder::new()
            .prefix(".key-")
            .tempfile_in(dir)
            .map_err(|e| format!("cannot write its key: {e}"))?;
        temp.write_all(&key)
            .and_then(|()| temp.as_file().sync_data())
            .map_err(|e| format!("cannot write its key: {e}"))?;
        // Another run may have made one meanwhile: the first one stays.
        let _ = temp.persist_noclobber(&path);
    }
    let file = fs::File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&path)
        .map_err(|e| format!("its key {}: {e}", path.display()))?;
    let md = file
        .metadata()
        .map_err(|e| format!("its key {}: {e}", path.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if !md.is_file() || md.uid() != me || md.mode() & 0o077 != 0 || md.len() != 32 {
        return Err(format!(
            "its key {} is not a 32-byte file of this user's that only they can read",
            path.display()
        ));
    }
    let mut key = [0u8; 32];
    use std::io::Read;
    (&file)
        .read_exact(&mut key)
        .map_err(|e| format!("its key {}: {e}", path.display()))?;
    Ok(key)
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`.
fn hmac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut inner = Sha256::new();
    let mut outer = Sha256::new();
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    if fs::symlink_metadata(dir).is_err() {
        fs::DirBuilder::new().mode(0o700).create(dir)?;
    }
    secure_dir(dir).map_err(std::io::Error::other)?;
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

fn encode(c: &Changes, key: &[u8; 32]) -> Vec<u8> {
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
    let sum = hmac(key, &e.0);
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

fn decode(bytes: &[u8], key: &[u8; 32]) -> Option<Changes> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    // Compared in constant time: the entry's bytes are not secret, the key is.
    let mac = hmac(key, body);
    if mac.iter().zip(sum).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
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
        let key = [7u8; 32];
        let bytes = encode(&sample(), &key);
        let back = decode(&bytes, &key).unwrap();
        assert_eq!(encode(&back, &key), bytes);
        for cut in [0, 1, 31, 32, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], &key).is_none(), "cut at {cut}");
        }
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad, &key).is_none(), "flipped byte {i}");
        }
        // Under another key (another cache's entry), or re-hashed after an edit: not trusted.
        assert!(decode(&bytes, &[8u8; 32]).is_none());
        let body = &bytes[..bytes.len() - 32];
        let mut forged = body.to_vec();
        forged.extend(Sha256::digest(body));
        assert!(decode(&forged, &key).is_none());
    }

    #[test]
    fn hmac_matches_openssl() {
        // The value `openssl dgst -sha256 -mac HMAC -macopt hexkey:0b0b…` (32 bytes) gives.
        let key = [0x0bu8; 32];
        let mac = hmac(&key, b"Hi There");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
    }

    #[test]
    fn a_directory_others_can_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("cache");
        let cache = ScanCache::on_disk(&dir, b"salt", DEFAULT_MAX_BYTES);
        assert!(cache.refused().is_none(), "{:?}", cache.refused());
        let key = fs::metadata(dir.join("key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let cache = ScanCache::on_disk(&dir, b"salt", DEFAULT_MAX_BYTES);
        assert!(
            cache
                .refused()
                .is_some_and(|r| r.contains("can be written by others")),
            "{:?}",
            cache.refused()
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dir.join("key"), fs::Permissions::from_mode(0o644)).unwrap();
        let cache = ScanCache::on_disk(&dir, b"salt", DEFAULT_MAX_BYTES);
        assert!(cache.refused().is_some_and(|r| r.contains("key")));
    }
}
