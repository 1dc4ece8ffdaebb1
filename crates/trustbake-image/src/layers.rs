//! An image's root file system seen through its layers, without extracting anything: each
//! layer is streamed once (layers in parallel), its blob digest and diff ID checked, its tar
//! headers read, whiteouts and opaque directories applied in layer order, and file bodies kept
//! only for the paths the caller wants (size-capped), so memory stays bounded whatever the
//! image's size.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::{DiffId, Digest, HashingReader};
use crate::error::ImageError;
use crate::source::{Image, Layer, PlatformImage};
use crate::tree::{Changes, Entry, Node, NodeKind, ScannedLayer};

/// What a scan keeps.
pub struct ScanOptions<'a> {
    /// Whether the body of the regular file at this (absolute) path is kept.
    pub wanted: &'a (dyn Fn(&str) -> bool + Sync),
    /// Bodies larger than this are not kept.
    pub max_body: u64,
    /// A layer that inflates to more than this many bytes of tar is refused (`u64::MAX`: no
    /// bound; a layer's every byte must be read for its diff ID, so this bounds the time a
    /// decompression bomb costs).
    pub max_inflated: u64,
    /// Blobs to store at a destination while they are scanned (one download for both).
    pub tee: Option<&'a crate::tee::TeeUploads>,
    /// Scans kept by layer digest: a layer found there is not read at all. Its salt must name
    /// what `wanted` and `max_body` keep.
    pub cache: Option<&'a crate::cache::ScanCache>,
}

impl<'a> ScanOptions<'a> {
    /// Keeping the bodies `wanted` names up to `max_body` bytes; no inflation bound, no tee, no
    /// cache (set those fields on the value returned).
    pub fn keeping(wanted: &'a (dyn Fn(&str) -> bool + Sync), max_body: u64) -> Self {
        ScanOptions {
            wanted,
            max_body,
            max_inflated: u64::MAX,
            tee: None,
            cache: None,
        }
    }
}

/// The merged root of an image's layers.
#[derive(Debug, Clone, Default)]
pub struct LayeredRoot {
    nodes: BTreeMap<String, Node>,
    /// Which layer (0 = bottom) last wrote each path.
    origin: BTreeMap<String, usize>,
    /// Each layer as scanned, bottom first.
    pub layers: Vec<ScannedLayer>,
}

/// One layer's scan, filled by a worker thread.
type Slot = Mutex<Option<Result<Arc<Changes>, ImageError>>>;

impl LayeredRoot {
    /// Scans every layer of `platform` (in parallel, one pass each) and merges them.
    pub fn scan(
        image: &Image,
        platform: &PlatformImage,
        options: &ScanOptions<'_>,
    ) -> Result<LayeredRoot, ImageError> {
        let layers = &platform.layers;
        let results: Vec<Slot> = layers.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(layers.len().max(1));
        // The first failing layer ends the scan: the other workers take no new layer, and the
        // one they are reading fails at its next read.
        let stop = crate::stop::Stop::new();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while !stop.stopped() {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(layer) = layers.get(i) else { break };
                        let result = match options.cache.and_then(|c| c.get(layer)) {
                            Some(hit) => Ok(hit),
                            None => scan_layer(image, layer, options, &stop).map(|changes| {
                                let changes = Arc::new(changes);
                                if let Some(cache) = options.cache {
                                    cache.put(layer, Arc::clone(&changes));
                                }
                                changes
                            }),
                        };
                        match result {
                            Ok(changes) => {
                                if let Ok(mut slot) = results[i].lock() {
                                    *slot = Some(Ok(changes));
                                }
                            }
                            Err(e) => stop.fail(e),
                        }
                    }
                });
            }
        });
        if let Some(error) = stop.take_error() {
            return Err(error);
        }
        let mut root = LayeredRoot::default();
        root.nodes.insert("/".to_owned(), Node::implied_dir());
        for slot in results {
            let changes = slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(ImageError::BadLayer {
                    layer: "?".into(),
                    detail: "a scan thread failed".into(),
                })
            })?;
            root.merge(Arc::unwrap_or_clone(changes))?;
        }
        Ok(root)
    }

    /// The layer (0 = bottom) that last wrote the entry at `path` (free of symlinks), when a
    /// layer did (not a directory only implied by a path).
    pub fn layer_of(&self, path: &str) -> Option<usize> {
        if !self.nodes.contains_key(path) {
            return None;
        }
        self.origin.get(path).copied()
    }

    fn merge(&mut self, changes: Changes) -> Result<(), ImageError> {
        for dir in &changes.opaque {
            self.remove_children(dir);
        }
        for path in &changes.whiteouts {
            self.nodes.remove(path);
            self.remove_children(path);
        }
        for (path, entry) in changes.entries {
            let node = match entry {
                Entry::Node(node) => node,
                Entry::Hardlink {
                    target,
                    mode,
                    uid,
                    gid,
                    mtime,
                } => match self.nodes.get(&target) {
                    Some(t) if t.kind == NodeKind::File => Node {
                        kind: NodeKind::File,
                        mode,
                        uid,
                        gid,
                        mtime,
                        size: t.size,
                        body: t.body.clone(),
                    },
                    found => {
                        return Err(ImageError::BadLayer {
                            layer: changes.scanned.digest.to_string(),
                            detail: format!(
                                "entry {path} is a hard link to {target}, {}",
                                if found.is_some() {
                                    "which is not a regular file"
                                } else {
                                    "which no layer holds"
                                }
                            ),
                        });
                    }
                },
            };
            if node.kind != NodeKind::Dir {
                self.remove_children(&path);
            }
            self.implied_parents(&path);
            self.origin.insert(path.clone(), self.layers.len());
            self.nodes.insert(path, node);
        }
        self.layers.push(changes.scanned);
        Ok(())
    }

    /// A layer may hold `/a/b/c` without entries for `/a` and `/a/b` (legal, and some builders
    /// write such layers): those directories exist, as extracting the layer makes them, root-owned
    /// 0755.
    fn implied_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(i) = path[end + 1..].find('/') {
            end += 1 + i;
            let dir = &path[..end];
            if !self.nodes.contains_key(dir) {
                self.nodes.insert(dir.to_owned(), Node::implied_dir());
            }
        }
    }

    fn remove_children(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for path in doomed {
            self.nodes.remove(&path);
        }
    }

    /// The node at an absolute path (links not followed).
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The names in a directory, sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| &k[prefix.len()..])
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_owned)
            .collect()
    }

    /// Every path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}

/// Entry points for the fuzz targets (`fuzz/`): the same code as an image scan, over bytes in
/// memory. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{LayeredRoot, ScanOptions, scan_opened};
    use crate::digest::{DiffId, Digest};
    use crate::error::ImageError;
    use crate::source::{BlobRef, Layer};

    /// Scans `blob` as one layer of `media_type`, every body wanted; the diff ID the scan finds
    /// is taken as the expected one (so valid layers are merged too).
    pub fn scan_layer(blob: &[u8], media_type: &str) -> Result<LayeredRoot, ImageError> {
        let all = |_: &str| true;
        let options = ScanOptions {
            // One execution reads at most this much tar, however well the input compresses.
            max_inflated: 1 << 20,
            ..ScanOptions::keeping(&all, 1 << 20)
        };
        let mut layer = Layer {
            media_type: media_type.to_owned(),
            size: blob.len() as u64,
            digest: Some(Digest::of(blob)),
            diff_id: DiffId(Digest::of(b"")),
            descriptor: None,
            blob: BlobRef::Member("fuzz".into()),
        };
        let open = || -> Result<Box<dyn std::io::Read + Send>, ImageError> {
            Ok(Box::new(std::io::Cursor::new(blob.to_vec())))
        };
        let changes = match scan_opened(&open, &layer, &options) {
            Err(ImageError::BlobMismatch { found, .. }) => {
                layer.diff_id = DiffId(Digest::parse(&found)?);
                scan_opened(&open, &layer, &options)?
            }
            other => other?,
        };
        let mut root = LayeredRoot::default();
        root.merge(changes)?;
        Ok(root)
    }

    /// Parses a docker archive's `manifest.json` and checks every member name; returns how
    /// many entries it has.
    pub fn docker_manifest(bytes: &[u8]) -> Result<usize, ImageError> {
        use crate::source::docker::{ArchiveEntry, check_member};
        let entries: Vec<ArchiveEntry> =
            serde_json::from_slice(bytes).map_err(|e| ImageError::BadJson {
                what: "manifest.json".into(),
                detail: e.to_string(),
            })?;
        for entry in &entries {
            for member in entry.layers.iter().chain([&entry.config]) {
                check_member(member, "fuzz")?;
            }
        }
        Ok(entries.len())
    }
}

/// A reader whose hash state is shared, so it can be read after the decoder consumed it.
struct SharedHashing<R> {
    inner: R,
    state: Arc<Mutex<(Sha256, u64)>>,
}

impl<R: Read> Read for SharedHashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.state.lock() {
            s.0.update(&buf[..n]);
            s.1 += n as u64;
        }
        Ok(n)
    }
}

/// Scans one layer. A wanted path that is a hard link to a file of the same layer whose body
/// was not kept (its own path is not wanted) needs that body: the layer is then read a second
/// time for those files only — rare, and never for a layer without such a link.
fn scan_layer(
    image: &Image,
    layer: &Layer,
    options: &ScanOptions<'_>,
    stop: &crate::stop::Stop,
) -> Result<Changes, ImageError> {
    scan_opened(
        &|| {
            let blob = image.open_layer(layer)?;
            Ok(Box::new(stop.reader(blob)) as Box<dyn Read + Send>)
        },
        layer,
        options,
    )
}

/// A layer's blob, opened afresh.
type Opener<'a> = dyn Fn() -> Result<Box<dyn Read + Send>, ImageError> + 'a;

fn scan_opened(
    open: &Opener<'_>,
    layer: &Layer,
    options: &ScanOptions<'_>,
) -> Result<Changes, ImageError> {
    let none = std::collections::HashSet::new();
    let changes = scan_layer_once(open, layer, options, &none)?;
    let kept: std::collections::HashMap<&str, bool> = changes
        .entries
        .iter()
        .filter_map(|(path, e)| match e {
            Entry::Node(node) if node.kind == NodeKind::File => Some((
                path.as_str(),
                node.body.is_some() || node.size > options.max_body,
            )),
            _ => None,
        })
        .collect();
    let needed: std::collections::HashSet<String> = changes
        .entries
        .iter()
        .filter_map(|(path, e)| match e {
            Entry::Hardlink { target, .. }
                if (options.wanted)(path) && kept.get(target.as_str()) == Some(&false) =>
            {
                Some(target.clone())
            }
            _ => None,
        })
        .collect();
    if needed.is_empty() {
        return Ok(changes);
    }
    scan_layer_once(open, layer, options, &needed)
}

fn scan_layer_once(
    open: &Opener<'_>,
    layer: &Layer,
    options: &ScanOptions<'_>,
    also_wanted: &std::collections::HashSet<String>,
) -> Result<Changes, ImageError> {
    let name = layer.name();
    let bad = |detail: String| ImageError::BadLayer {
        layer: name.clone(),
        detail: one_line(&detail),
    };
    // Never more than the descriptor says (and one byte to notice a longer blob): a blob that
    // does not end cannot hold the scan.
    let blob = open()?.take(layer.size.saturating_add(1));
    // The first pass over a blob the destination lacks also stores it there. The writer is
    // dropped when this function returns: the end of the blob for the store, which verifies it.
    let out = if also_wanted.is_empty() {
        options.tee.and_then(|t| t.writer(layer))
    } else {
        None
    };
    let blob = crate::tee::TeeRead { inner: blob, out };
    let state = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let hashing = SharedHashing {
        inner: blob,
        state: Arc::clone(&state),
    };
    let decoder = decompressing(hashing, layer, &bad)?;
    // A large buffer between tar (which skips entry data in small reads) and the inflater:
    // the decoder and the diff-ID hash then work in 1 MiB steps.
    let limit = options.max_inflated;
    let mut archive = tar::Archive::new(BufReader::with_capacity(
        1 << 20,
        HashingReader::new(Bounded {
            inner: decoder,
            left: limit,
        }),
    ));
    let mut changes = Changes {
        entries: Vec::new(),
        whiteouts: Vec::new(),
        opaque: Vec::new(),
        scanned: ScannedLayer {
            digest: Digest::of(b""),
            size: 0,
            diff_id: DiffId(Digest::of(b"")),
        },
    };
    for entry in archive.entries().map_err(|e| bad(format!("tar: {e}")))? {
        let mut entry = entry.map_err(|e| bad(format!("tar: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = normalize(&raw).map_err(|()| ImageError::EscapingEntry {
            layer: name.clone(),
            path: one_line(&raw),
        })?
        else {
            continue;
        };
        let (parent, file) = path
            .rsplit_once('/')
            .map(|(p, f)| (if p.is_empty() { "/" } else { p }, f))
            .unwrap_or(("/", path.as_str()));
        if file == ".wh..wh..opq" {
            changes.opaque.push(parent.to_owned());
            continue;
        }
        if let Some(hidden) = file.strip_prefix(".wh.") {
            changes.whiteouts.push(if parent == "/" {
                format!("/{hidden}")
            } else {
                format!("{parent}/{hidden}")
            });
            continue;
        }
        let Some(node) = entry_of(&mut entry, &path, options, also_wanted, &bad, &name)? else {
            continue;
        };
        changes.entries.push((path, node));
    }
    // Bytes still in the buffer were hashed when it was filled; `finish` hashes the rest.
    let (diff_id, _) = archive
        .into_inner()
        .into_inner()
        .finish()
        .map_err(|e| bad(format!("reading: {e}")))?;
    // The tar's end may leave compressed bytes unread (padding, gzip trailer): hash them too.
    let (digest, size) = {
        let s = state
            .lock()
            .map_err(|_| bad("hash state poisoned".into()))?;
        (Digest(s.0.clone().finalize().into()), s.1)
    };
    check_digests(layer, &name, digest, size, diff_id)?;
    changes.scanned = ScannedLayer {
        digest,
        size,
        diff_id: DiffId(diff_id),
    };
    Ok(changes)
}

/// The layer's tar stream from its blob: the first bytes sniffed (gzip, zstd or plain tar), which
/// must be what the media type says — a registry, a runtime or umoci trusts the media type, so a
/// mismatch would make an image others cannot read.
fn decompressing<'r>(
    mut blob: impl Read + 'r,
    layer: &Layer,
    bad: &dyn Fn(String) -> ImageError,
) -> Result<Box<dyn Read + 'r>, ImageError> {
    // The first four bytes, however few each read brings (a slow registry sends one at a time).
    let mut magic = Vec::with_capacity(4);
    (&mut blob)
        .take(4)
        .read_to_end(&mut magic)
        .map_err(|e| bad(format!("reading: {e}")))?;
    let buffered =
        BufReader::with_capacity(256 * 1024, std::io::Cursor::new(magic.clone()).chain(blob));
    let gzip = magic.starts_with(&[0x1f, 0x8b]);
    let zstd = magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    // The bytes must be what the media type says: a registry, a runtime or umoci trusts the
    // media type, so a mismatch would make an image others cannot read.
    let declared = if layer.media_type.ends_with("+zstd") {
        "zstd"
    } else if layer.media_type.ends_with("+gzip") || layer.media_type.ends_with(".gzip") {
        "gzip"
    } else {
        "uncompressed tar"
    };
    let found = if gzip {
        "gzip"
    } else if zstd {
        "zstd"
    } else {
        "uncompressed tar"
    };
    if declared != found {
        return Err(bad(format!(
            "its media type {} says {declared}, its bytes are {found}",
            layer.media_type
        )));
    }
    Ok(if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else if zstd {
        Box::new(ZstdFrames::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// An entry's permission bits, owner, group and mtime.
struct Stat {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

/// The [`Stat`] of a tar header. An empty numeric field (all NUL or spaces) is 0, as GNU tar and
/// Python's tarfile read it; anything else that does not parse is an error.
fn stat_of(
    header: &tar::Header,
    path: &str,
    bad: &dyn Fn(String) -> ImageError,
) -> Result<Stat, ImageError> {
    let field = |what: &str, raw: &[u8], value: std::io::Result<u64>| -> Result<u64, ImageError> {
        if raw.iter().all(|b| *b == 0 || *b == b' ') {
            return Ok(0);
        }
        value.map_err(|e| bad(format!("entry {path}: unreadable {what}: {e}")))
    };
    let old = header.as_old();
    let small = |what: &str, value: u64| -> Result<u32, ImageError> {
        u32::try_from(value).map_err(|_| bad(format!("entry {path}: {what} {value} is too large")))
    };
    let mode = field("mode", &old.mode, header.mode().map(u64::from))? as u32 & 0o7777;
    let uid = small("uid", field("uid", &old.uid, header.uid())?)?;
    let gid = small("gid", field("gid", &old.gid, header.gid())?)?;
    let mtime = field("mtime", &old.mtime, header.mtime())?;
    let mtime = i64::try_from(mtime)
        .map_err(|_| bad(format!("entry {path}: mtime {mtime} is too large")))?;
    Ok(Stat {
        mode,
        uid,
        gid,
        mtime,
    })
}

/// One tar entry as the scan keeps it (`None` for pax and GNU extension headers): its kind,
/// owner, mode and mtime, and its body when `wanted` names it and it is small enough.
fn entry_of<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &str,
    options: &ScanOptions<'_>,
    also_wanted: &std::collections::HashSet<String>,
    bad: &dyn Fn(String) -> ImageError,
    name: &str,
) -> Result<Option<Entry>, ImageError> {
    let Stat {
        mode,
        uid,
        gid,
        mtime,
    } = stat_of(entry.header(), path, bad)?;
    let link_target = |entry: &tar::Entry<'_, _>| -> Result<String, ImageError> {
        match entry.link_name_bytes() {
            Some(target) => Ok(String::from_utf8_lossy(&target).into_owned()),
            None => Err(bad(format!("entry {path}: a link without a target"))),
        }
    };
    let size = entry.size();
    let kind = entry.header().entry_type();
    let node = |kind: NodeKind, size: u64, body: Option<Arc<Vec<u8>>>| {
        Entry::Node(Node {
            kind,
            mode,
            uid,
            gid,
            mtime,
            size,
            body,
        })
    };
    let found = if kind.is_dir() {
        node(NodeKind::Dir, 0, None)
    } else if kind.is_symlink() {
        let target = link_target(entry)?;
        node(NodeKind::Symlink(target), 0, None)
    } else if kind.is_hard_link() {
        let target = link_target(entry)?;
        let target =
            normalize(&target)
                .ok()
                .flatten()
                .ok_or_else(|| ImageError::EscapingEntry {
                    layer: name.to_owned(),
                    path: one_line(&target),
                })?;
        Entry::Hardlink {
            target,
            mode,
            uid,
            gid,
            mtime,
        }
    } else if kind.is_file() || kind == tar::EntryType::Continuous {
        let body =
            if ((options.wanted)(path) || also_wanted.contains(path)) && size <= options.max_body {
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("reading {path}: {e}")))?;
                Some(Arc::new(bytes))
            } else {
                None
            };
        node(NodeKind::File, size, body)
    } else if kind.is_pax_global_extensions()
        || kind.is_pax_local_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink()
    {
        return Ok(None);
    } else {
        node(NodeKind::Other, 0, None)
    };
    Ok(Some(found))
}

/// The blob's digest and size as its descriptor says, and the tar's digest as the config's
/// diff ID says.
fn check_digests(
    layer: &Layer,
    name: &str,
    digest: Digest,
    size: u64,
    diff_id: Digest,
) -> Result<(), ImageError> {
    if let Some(expected) = layer.digest {
        if expected != digest {
            return Err(ImageError::BlobMismatch {
                digest: expected.to_string(),
                what: "digest",
                expected: expected.to_string(),
                found: digest.to_string(),
            });
        }
        if layer.size != size {
            return Err(ImageError::BlobMismatch {
                digest: expected.to_string(),
                what: "size",
                expected: layer.size.to_string(),
                found: size.to_string(),
            });
        }
    }
    if diff_id != layer.diff_id.0 {
        return Err(ImageError::BlobMismatch {
            digest: name.to_owned(),
            what: "diff ID",
            expected: layer.diff_id.to_string(),
            found: diff_id.to_string(),
        });
    }
    Ok(())
}

/// A decoder that fails once it has given `left` bytes and would give more: the bound on how
/// far one layer may inflate ([`ScanOptions::max_inflated`]).
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // At the bound: any more is too much, the end is fine.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "it inflates past the bound set for one layer",
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Every frame of a zstd stream, one after the other (`pzstd` writes several; zstd:chunked
/// layers, as podman and buildah push them, are many frames with skippable ones holding their
/// table of contents): ruzstd's decoder reads one frame.
struct ZstdFrames<R> {
    inner: R,
    decoder: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(inner: R) -> Self {
        ZstdFrames {
            inner,
            decoder: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        let invalid = |e: FrameDecoderError| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("zstd: {e}"))
        };
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                let n = self.decoder.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                if self.decoder.is_finished() {
                    self.in_frame = false;
                    continue;
                }
                self.decoder
                    .decode_blocks(&mut self.inner, BlockDecodingStrategy::UptoBytes(1 << 20))
                    .map_err(invalid)?;
                continue;
            }
            if self.inner.fill_buf()?.is_empty() {
                return Ok(0); // the end of the last frame is the end of the stream
            }
            match self.decoder.reset(&mut self.inner) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = std::io::copy(
                        &mut (&mut self.inner).take(u64::from(length)),
                        &mut std::io::sink(),
                    )?;
                    if skipped != u64::from(length) {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "zstd: a skippable frame ends early",
                        ));
                    }
                }
                Err(e) => return Err(invalid(e)),
            }
        }
    }
}

/// `text` as one printable line of reasonable length: names and tar's messages can carry raw
/// bytes from a hostile layer (control characters, newlines, escape sequences).
fn one_line(text: &str) -> String {
    const MAX: usize = 300;
    let mut out = String::new();
    for c in text.chars() {
        if out.len() >= MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `./etc/x`, `etc/x/`, `/etc/x` → `/etc/x`; the root itself → `None`; `..` → error.
fn normalize(raw: &str) -> Result<Option<String>, ()> {
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(()),
            p => parts.push(p),
        }
    }
    Ok(if parts.is_empty() {
        None
    } else {
        Some(format!("/{}", parts.join("/")))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;

    use super::{ZstdFrames, normalize};

    #[test]
    fn every_zstd_frame_is_decoded_and_skippable_frames_skipped() {
        use ruzstd::encoding::{CompressionLevel, compress_to_vec};
        let mut stream = compress_to_vec(&b"first frame, "[..], CompressionLevel::Fastest);
        // A skippable frame (magic 0x184D2A50..5F, little-endian length, payload).
        stream.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        stream.extend_from_slice(&3u32.to_le_bytes());
        stream.extend_from_slice(b"toc");
        stream.extend(compress_to_vec(
            &b"second frame"[..],
            CompressionLevel::Fastest,
        ));
        let mut out = String::new();
        ZstdFrames::new(&stream[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "first frame, second frame");
        // A stream that stops inside a frame is an error, not a short read.
        let mut out = Vec::new();
        let cut = &stream[..stream.len() - 3];
        assert!(ZstdFrames::new(cut).read_to_end(&mut out).is_err());
    }

    #[test]
    fn a_layer_inflating_past_its_bound_is_refused() {
        let bomb = crate::layer::build_layer(&[crate::layer::LayerEntry {
            path: "/zeros".into(),
            kind: crate::layer::LayerEntryKind::File(vec![0; 2 << 20]),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
        }])
        .unwrap();
        assert!(bomb.blob.len() < 8 * 1024, "{} bytes", bomb.blob.len());
        let err =
            super::fuzzing::scan_layer(&bomb.blob, "application/vnd.oci.image.layer.v1.tar+gzip")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("it inflates past the bound set for one layer"),
            "{err}"
        );
    }

    #[test]
    fn layer_messages_are_one_printable_line() {
        assert_eq!(
            super::one_line("bad \u{1b}[31mname\n\u{0}x"),
            "bad \\u{1b}[31mname\\n\\u{0}x"
        );
        assert!(super::one_line(&"x".repeat(1000)).chars().count() <= 301);
    }

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        assert_eq!(normalize("./etc/ssl/"), Ok(Some("/etc/ssl".to_owned())));
        assert_eq!(normalize("/usr//lib"), Ok(Some("/usr/lib".to_owned())));
        assert_eq!(normalize("./"), Ok(None));
        assert_eq!(normalize("../etc/passwd"), Err(()));
        assert_eq!(normalize("etc/../../x"), Err(()));
    }
}
