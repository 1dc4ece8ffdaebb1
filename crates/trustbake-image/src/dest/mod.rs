//! Writing images. Every transport implements [`ImageDestination`]; [`write`] puts a
//! [`NewImage`] into one in the order that keeps it consistent at every step — layers, then
//! each config, each manifest, the index — and names it last ([`ImageDestination::commit`]),
//! so a failure never leaves the destination naming an incomplete image.

mod docker;
mod layout;
mod registry;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::digest::VerifyingReader;
use crate::error::{ImageError, io_err};
use crate::model::{Descriptor, media_type};
use crate::mutate::{LayerBlob, NewImage};
use crate::reference::ImageRef;
use crate::source::{BlobRef, ImageSource, read_blob};

/// A place images are written to: one implementation per transport.
pub trait ImageDestination {
    /// The reference, for messages.
    fn name(&self) -> String;

    /// Whether the destination can hold an index (a docker archive holds one platform).
    fn holds_index(&self) -> bool {
        true
    }

    /// Whether the blob is there already, whole.
    fn has_blob(&mut self, blob: &Descriptor) -> Result<bool, ImageError>;

    /// Stores a blob from `content`, which yields exactly its bytes or fails.
    fn put_blob(&mut self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError>;

    /// Stores a blob from bytes in memory (a destination that can retry does so).
    fn put_blob_bytes(&mut self, blob: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        self.put_blob(blob, &mut &bytes[..])
    }

    /// Stores a blob without copying it, from another repository of the same registry;
    /// `false` when the destination cannot (the caller then copies).
    fn mount_blob(
        &mut self,
        _blob: &Descriptor,
        _from: &dyn ImageSource,
    ) -> Result<bool, ImageError> {
        Ok(false)
    }

    /// Stores a blob by linking the host file `from`, when the destination can; `false` when
    /// it cannot (the caller then copies).
    fn link_blob(&mut self, _blob: &Descriptor, _from: &Path) -> Result<bool, ImageError> {
        Ok(false)
    }

    /// A handle that stores blobs from other threads (to store a blob while it is scanned).
    fn sink(&self) -> Option<std::sync::Arc<dyn crate::tee::BlobSink>> {
        None
    }

    /// Notes that a blob was stored through [`ImageDestination::sink`].
    fn mark_present(&mut self, _digest: crate::digest::Digest) {}

    /// Stores a manifest or index, after every blob it references.
    fn put_manifest(&mut self, manifest: &Descriptor, bytes: &[u8]) -> Result<(), ImageError>;

    /// Names `top` (tags it) and makes the image visible. Until then, nothing at the
    /// destination names the new image.
    fn commit(self: Box<Self>, top: &Descriptor) -> Result<(), ImageError>;
}

/// The destination for a reference: an OCI layout (new, or existing — its other tags kept),
/// an OCI archive or a docker archive. Refuses one that would overwrite the source `from`.
pub fn destination(
    to: &ImageRef,
    from: &ImageRef,
) -> Result<Box<dyn ImageDestination>, ImageError> {
    destination_in(to, from, &crate::registry::Session::default())
}

/// [`destination`], reaching registries through `session`.
pub fn destination_in(
    to: &ImageRef,
    from: &ImageRef,
    session: &crate::registry::Session,
) -> Result<Box<dyn ImageDestination>, ImageError> {
    check_not_source(to, from)?;
    open_destination(to, session)
}

/// The destination `to` names, without the check against a source (an artifact written beside
/// an image has none).
pub(crate) fn open_destination(
    to: &ImageRef,
    session: &crate::registry::Session,
) -> Result<Box<dyn ImageDestination>, ImageError> {
    Ok(match to {
        ImageRef::Registry(r) => Box::new(registry::RegistryDestination::new(
            r.clone(),
            session.client(r, crate::registry::Role::Destination)?,
        )?),
        ImageRef::OciLayout { dir, tag } => {
            Box::new(layout::LayoutDestination::open(dir, tag.clone())?)
        }
        ImageRef::OciArchive { file, tag } => {
            Box::new(layout::OciArchiveDestination::create(file, tag.clone())?)
        }
        ImageRef::DockerArchive { file, reference } => Box::new(
            docker::DockerArchiveDestination::create(file, reference.clone())?,
        ),
    })
}

/// Writes `image` to `to`; returns the descriptor the destination names.
pub fn write(image: &NewImage<'_>, to: &ImageRef) -> Result<Descriptor, ImageError> {
    let dest = destination(to, &image.base().reference)?;
    write_to(image, dest)
}

/// Writes `image` into `dest` and commits it; returns the descriptor the destination names.
pub fn write_to(
    image: &NewImage<'_>,
    mut dest: Box<dyn ImageDestination>,
) -> Result<Descriptor, ImageError> {
    let source = image.base().source();
    let indexed = dest.holds_index() && image.index.is_some();
    if !dest.holds_index() && image.platforms.len() != 1 {
        return Err(ImageError::SinglePlatform {
            destination: dest.name(),
            platforms: image.platforms.len(),
        });
    }
    // Every platform's layers first: base blobs that are neither there, linked nor mounted are
    // copied a few at a time; then each config and manifest.
    // Without a sink, blobs are stored in manifest order (a docker archive's members follow it).
    let concurrent = dest.sink().is_some();
    let mut pending: Vec<(&BlobRef, &Descriptor)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in &image.platforms {
        let m = p.manifest.value();
        for (descriptor, blob) in m.layers.iter().zip(&p.blobs) {
            if !seen.insert(descriptor.digest) || dest.has_blob(descriptor)? {
                continue;
            }
            match blob {
                LayerBlob::Base(layer) => {
                    if !concurrent {
                        copy_blob(source, &layer.blob, descriptor, dest.as_mut())?;
                    } else if !link_or_mount(source, &layer.blob, descriptor, dest.as_mut())? {
                        pending.push((&layer.blob, descriptor));
                    }
                }
                LayerBlob::New => {
                    let bytes = p.layer.as_ref().map(|l| l.blob.as_slice());
                    let bytes = bytes.ok_or_else(|| ImageError::BadLayer {
                        layer: descriptor.digest.to_string(),
                        detail: "the new layer's bytes are missing".into(),
                    })?;
                    dest.put_blob_bytes(descriptor, bytes)?;
                }
            }
        }
    }
    copy_all(source, &pending, dest.as_mut())?;
    for p in &image.platforms {
        let m = p.manifest.value();
        if !dest.has_blob(&m.config)? {
            dest.put_blob_bytes(&m.config, p.config.bytes())?;
        }
        dest.put_manifest(&p.descriptor, p.manifest.bytes())?;
    }
    let top = match (&image.index, indexed) {
        (Some(index), true) => {
            for entry in image.carried() {
                copy_tree(source, entry, dest.as_mut(), 0)?;
            }
            for nested in image.nested_indexes() {
                dest.put_manifest(&nested.descriptor, nested.document.bytes())?;
            }
            dest.put_manifest(&index.descriptor, index.document.bytes())?;
            index.descriptor.clone()
        }
        _ => image
            .platforms
            .first()
            .map(|p| p.descriptor.clone())
            .ok_or_else(|| ImageError::SinglePlatform {
                destination: dest.name(),
                platforms: 0,
            })?,
    };
    dest.commit(&top)?;
    Ok(top)
}

/// Copies one blob from the source, verified against `descriptor`: a hard link or a mount
/// when the two sides allow it, else a stream.
fn copy_blob(
    source: &dyn ImageSource,
    blob: &BlobRef,
    descriptor: &Descriptor,
    dest: &mut dyn ImageDestination,
) -> Result<(), ImageError> {
    if link_or_mount(source, blob, descriptor, dest)? {
        return Ok(());
    }
    with_retries(|| {
        let reader = source.open_blob(blob)?;
        let mut verified = VerifyingReader::new(reader, descriptor.digest, descriptor.size);
        dest.put_blob(descriptor, &mut verified)
    })
}

/// Stores a blob without copying its bytes: a hard link to the source's file, or a mount from
/// the source's repository; `false` when neither is possible.
fn link_or_mount(
    source: &dyn ImageSource,
    blob: &BlobRef,
    descriptor: &Descriptor,
    dest: &mut dyn ImageDestination,
) -> Result<bool, ImageError> {
    if let Some(file) = source.blob_file(blob) {
        let regular = std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_file());
        if regular && dest.link_blob(descriptor, &file)? {
            return Ok(true);
        }
    }
    dest.mount_blob(descriptor, source)
}

/// Base blobs copied at once, at most (per destination).
const COPIES_IN_FLIGHT: usize = 3;

/// Copies `blobs`: through the destination's sink a few at a time when it has one, else one
/// after the other.
fn copy_all(
    source: &dyn ImageSource,
    blobs: &[(&BlobRef, &Descriptor)],
    dest: &mut dyn ImageDestination,
) -> Result<(), ImageError> {
    let sink = match dest.sink() {
        Some(sink) if blobs.len() > 1 => sink,
        _ => {
            for (blob, descriptor) in blobs {
                copy_blob(source, blob, descriptor, dest)?;
            }
            return Ok(());
        }
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    // The first failing copy ends them all: the others take no new blob and fail at their
    // next read; every thread is joined before the error is returned.
    let stop = crate::stop::Stop::new();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..COPIES_IN_FLIGHT.min(blobs.len()))
            .map(|_| {
                s.spawn(|| {
                    while !stop.stopped() {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((blob, descriptor)) = blobs.get(i) else {
                            return;
                        };
                        let copied = with_retries(|| {
                            let reader = stop.reader(source.open_blob(blob)?);
                            let mut verified =
                                VerifyingReader::new(reader, descriptor.digest, descriptor.size);
                            sink.put(descriptor, &mut verified)
                        });
                        if let Err(e) = copied {
                            stop.fail(e);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            if worker.join().is_err() {
                stop.fail(ImageError::BadBlob {
                    image: source.name(),
                    detail: "a copying thread failed".into(),
                });
            }
        }
    });
    if let Some(error) = stop.take_error() {
        return Err(error);
    }
    for (_, descriptor) in blobs {
        dest.mark_present(descriptor.digest);
    }
    Ok(())
}

/// Runs `copy` again (from the start of the blob) when a connection was lost or the registry
/// wants the blob in chunks, twice at most.
fn with_retries(mut copy: impl FnMut() -> Result<(), ImageError>) -> Result<(), ImageError> {
    use crate::registry::RegistryError::{Connect, RestartInChunks};
    let mut attempt = 0;
    loop {
        match copy() {
            Err(ImageError::Registry(Connect { .. } | RestartInChunks { .. })) if attempt < 2 => {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// What a manifest or index references: enough to copy an entry this crate does not bake
/// (another platform, an attestation, a nested index) with everything below it.
#[derive(Deserialize)]
struct References {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// Nested indexes deeper than this are refused.
const MAX_DEPTH: usize = 8;

fn copy_tree(
    source: &dyn ImageSource,
    entry: &Descriptor,
    dest: &mut dyn ImageDestination,
    depth: usize,
) -> Result<(), ImageError> {
    if depth > MAX_DEPTH {
        return Err(ImageError::BadJson {
            what: format!("index entry {}", entry.digest),
            detail: format!("indexes nested more than {MAX_DEPTH} deep"),
        });
    }
    if dest.has_blob(entry)? {
        return Ok(());
    }
    let bytes = read_blob(source, entry, "index entry")?;
    let refs: References = serde_json::from_slice(&bytes).map_err(|e| ImageError::BadJson {
        what: format!("index entry {}", entry.digest),
        detail: e.to_string(),
    })?;
    for child in &refs.manifests {
        copy_tree(source, child, dest, depth + 1)?;
    }
    for blob in refs.config.iter().chain(&refs.layers) {
        if !dest.has_blob(blob)? {
            copy_blob(source, &BlobRef::Digest(blob.digest), blob, dest)?;
        }
    }
    dest.put_manifest(entry, &bytes)
}

/// Refuses a destination that is the source itself (by file identity, whatever the
/// spelling): an archive would be overwritten, a layout's tag rewritten.
fn check_not_source(to: &ImageRef, from: &ImageRef) -> Result<(), ImageError> {
    use std::os::unix::fs::MetadataExt;
    if let (ImageRef::Registry(a), ImageRef::Registry(b)) = (to, from) {
        if a.registry == b.registry && a.repository == b.repository && a.tag == b.tag {
            return Err(ImageError::SameAsSource {
                path: PathBuf::from(to.to_string()),
            });
        }
        return Ok(());
    }
    let (Some(to_path), Some(from_path)) = (to.path(), from.path()) else {
        return Ok(());
    };
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let same = matches!((id(to_path), id(from_path)), (Some(a), Some(b)) if a == b);
    if !same {
        return Ok(());
    }
    let clash = match (to, from) {
        (ImageRef::OciLayout { tag: a, .. }, ImageRef::OciLayout { tag: b, .. }) => {
            a.is_none() || a == b
        }
        _ => true,
    };
    if clash {
        return Err(ImageError::SameAsSource {
            path: to_path.to_path_buf(),
        });
    }
    Ok(())
}

/// Refuses a destination path that exists and is not a regular file (a device, a FIFO, a
/// socket, a directory, a link): it would be replaced.
pub(crate) fn check_file_destination(file: &Path) -> Result<(), ImageError> {
    match std::fs::symlink_metadata(file) {
        Ok(md) if md.file_type().is_file() => Ok(()),
        Ok(_) => Err(ImageError::BadDestination {
            path: file.to_path_buf(),
            expected: "a regular file",
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(file, "checking the destination")(e)),
    }
}

/// The directory a destination's temporaries go in (beside it, so a rename is atomic).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The prefix of a destination's temporaries: `.NAME.trustbake-`, then random characters.
pub(crate) fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.trustbake-")
}

/// A new temporary file in `dir` (created exclusively, with a random name), readable by all
/// as image files are (0644).
pub(crate) fn temp_file(
    dir: &Path,
    prefix: &str,
) -> Result<(tempfile::NamedTempFile, crate::cleanup::Registered), ImageError> {
    use std::os::unix::fs::PermissionsExt;
    let temp = crate::cleanup::create_registered(
        || {
            tempfile::Builder::new()
                .prefix(prefix)
                .permissions(std::fs::Permissions::from_mode(0o644))
                .tempfile_in(dir)
        },
        |t| t.path().to_path_buf(),
    )
    .map_err(io_err(dir, "creating a temporary file"))?;
    let registered = crate::cleanup::Registered::adopt(temp.path());
    Ok((temp, registered))
}

/// Whether a descriptor is a config (named `.json` in a docker archive).
pub(crate) fn is_config(d: &Descriptor) -> bool {
    d.media_type == media_type::OCI_CONFIG || d.media_type == media_type::DOCKER_CONFIG
}
