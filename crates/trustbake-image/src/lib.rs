//! Container images for trustbake, without a daemon: read OCI image layouts
//! (`oci:DIR[:TAG]`), OCI archives (`oci-archive:FILE[:TAG]`) and `docker save` archives
//! (`docker-archive:FILE[:REPO:TAG]`), single-platform or multi-platform, OCI or Docker media
//! types, gzip, zstd or uncompressed layers; see an image's root file system through its layers
//! without extracting anything ([`LayeredRoot`]); append one deterministic layer
//! ([`build_layer`], [`Image::append`]) and write the new image, carrying the base blobs byte
//! for byte ([`write()`]); and check an image's integrity ([`validate`]).
//!
//! Documents are typed ([`model`]) and keep their bytes until they change. Transports meet the
//! rest of the crate in two traits: [`ImageSource`] (resolve a reference, open blobs) and
//! [`ImageDestination`] (has blob, put blob or link it, put manifest, commit).
//!
//! This crate knows nothing about certificates: it moves files and layers.

pub mod cache;
pub mod cleanup;
mod dest;
mod digest;
mod layer;
mod layers;
pub mod model;
mod mutate;
mod reference;
pub mod registry;
mod source;
mod stop;
mod tee;
mod validate;

pub use cache::ScanCache;
pub use dest::{ImageDestination, destination, destination_in, write, write_to};
pub use digest::{DiffId, Digest};
pub use layer::{LayerEntry, LayerEntryKind, NewLayer, build_layer};
#[doc(hidden)]
pub use layers::fuzzing;
pub use layers::{LayeredRoot, Node, NodeKind, ScanOptions, ScannedLayer};
pub use model::{Descriptor, Document, Platform};
pub use mutate::{
    Append, AppendOptions, BASE_DIGEST, BASE_NAME, Family, NewImage, NewPlatform, ReplacedSettings,
};
pub use reference::{ImageRef, RegistryRef};
pub use source::{
    BlobRef, Image, ImageSource, IndexImage, Layer, MAX_DOCUMENT, MAX_LAYERS, MAX_PLATFORMS,
    MemberLayer, PlatformImage, Resolved, open, open_in, open_verified,
};
pub use tee::{BlobSink, TeeUploads};
pub use validate::{Validation, validate};

use std::path::PathBuf;

/// Everything that can go wrong with an image. Each variant names the thing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// An image reference that does not parse.
    #[error(
        "'{input}' is not an image reference ({reason}); use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG] or docker://[HOST/]REPO[:TAG|@DIGEST]"
    )]
    BadReference {
        /// What was given.
        input: String,
        /// Why.
        reason: &'static str,
    },
    /// Not an image reference, but close to one (a skopeo or crane habit).
    #[error("'{input}' is not an image reference: {why}; did you mean {suggestion}?")]
    DidYouMean {
        /// What was given.
        input: String,
        /// What is wrong with it.
        why: &'static str,
        /// The reference it most likely means.
        suggestion: String,
    },
    /// A local image named by a path alone that does not exist.
    #[error(
        "{input}: no such file or directory (an image is named oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE)"
    )]
    NoSuchPath {
        /// The path.
        input: String,
    },
    /// A layout or archive holding several images, none named.
    #[error("{image} holds {count} images: name one, as {image}:TAG (tags: {tags})")]
    NameOne {
        /// The image as given.
        image: String,
        /// How many images it holds.
        count: usize,
        /// Their tags.
        tags: String,
    },
    /// A file could not be read or written (the cause follows in the error's source).
    #[error("{path}: {what}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// JSON that does not parse or lacks a field.
    #[error("{what}: {detail}")]
    BadJson {
        /// Which document.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// A digest string that is not `sha256:` and 64 lower-case hex digits.
    #[error("'{0}' is not a valid sha256 digest (expected sha256: and 64 lower-case hex digits)")]
    BadDigest(String),
    /// A blob the image names is not there.
    #[error("blob {digest} is missing from {image}")]
    MissingBlob {
        /// The blob.
        digest: String,
        /// The image.
        image: String,
    },
    /// A blob's content does not match its descriptor.
    #[error("blob {digest}: {what} mismatch: expected {expected}, found {found}")]
    BlobMismatch {
        /// The blob.
        digest: String,
        /// `digest`, `size` or `diff ID`.
        what: &'static str,
        /// What the descriptor says.
        expected: String,
        /// What the content is.
        found: String,
    },
    /// A media type trustbake does not handle.
    #[error("unknown media type '{media_type}' for {what}")]
    UnknownMediaType {
        /// The media type.
        media_type: String,
        /// Where it was found.
        what: String,
    },
    /// An index entry that is itself an index (an index of indexes): baked images are an
    /// index of manifests, or one manifest.
    #[error(
        "index {index}: entry {entry} is an image index, nested {depth} deep; trustbake follows at most {limit} levels of indexes: name an inner index (@DIGEST) or a platform's manifest"
    )]
    NestedIndex {
        /// The index read.
        index: String,
        /// The entry that is an index.
        entry: String,
        /// How many indexes deep the chain goes.
        depth: usize,
        /// The most levels read.
        limit: usize,
    },
    /// A tag that is not in the layout or archive.
    #[error("{image}: no image tagged '{tag}' (tags: {available})")]
    NoSuchTag {
        /// The image.
        image: String,
        /// The tag asked for.
        tag: String,
        /// The tags there are.
        available: String,
    },
    /// A layer entry that would land outside the root.
    #[error("layer {layer}: entry '{path}' escapes the root file system")]
    EscapingEntry {
        /// The layer's digest.
        layer: String,
        /// The entry's path.
        path: String,
    },
    /// A broken layer (bad tar or compression).
    #[error("layer {layer}: {detail}")]
    BadLayer {
        /// The layer's digest.
        layer: String,
        /// What is wrong.
        detail: String,
    },
    /// A destination that is the source itself, by another spelling or the same.
    #[error(
        "{path}: the destination is the source itself (trustbake never modifies its input): write to another file, or to another tag of the layout"
    )]
    SameAsSource {
        /// The destination.
        path: PathBuf,
    },
    /// An index without a single runnable image.
    #[error(
        "{image}: no runnable platform (the index holds only attestations or other non-image entries, or nothing): nothing to bake"
    )]
    NoRunnablePlatform {
        /// The image.
        image: String,
    },
    /// More platforms or layers than any real image has.
    #[error("{what}: more than {limit} {items}; refused")]
    TooMany {
        /// The document.
        what: String,
        /// `platforms` or `layers`.
        items: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A blob or archive that is not a regular file.
    #[error("{path}: is {found}, not a regular file: refused")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
    /// A platform that does not parse.
    #[error("'{input}' is not a platform: {reason}")]
    BadPlatform {
        /// What was given.
        input: String,
        /// Why.
        reason: &'static str,
    },
    /// A directory that is not an OCI image layout.
    #[error("{path}: not an OCI image layout (it has no oci-layout file)")]
    NotALayout {
        /// The directory.
        path: PathBuf,
    },
    /// A document or file over the size trustbake reads.
    #[error("{what}: {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// What it is.
        what: String,
        /// Its size (or how much was read before stopping).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A blob that could not be read or copied whole, or whose bytes do not match.
    #[error("{image}: {detail}")]
    BadBlob {
        /// The image.
        image: String,
        /// What went wrong, naming the blob.
        detail: String,
    },
    /// A destination that holds one platform, given another number.
    #[error(
        "{destination} holds a single platform, and the image has {platforms}: choose one platform"
    )]
    SinglePlatform {
        /// The destination.
        destination: String,
        /// How many platforms the image has.
        platforms: usize,
    },
    /// A platform the index lacks.
    #[error("{image} has no platform {platform} (it has: {available})")]
    NoSuchPlatform {
        /// The image.
        image: String,
        /// The platform asked for.
        platform: String,
        /// The platforms there are.
        available: String,
    },
    /// A registry failed, or refused (never holds a credential).
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    /// A destination that exists and is not what it should be.
    #[error(
        "{path}: the destination exists and is not {expected}; choose another destination or remove it"
    )]
    BadDestination {
        /// The destination.
        path: PathBuf,
        /// What it should have been.
        expected: &'static str,
    },
}

pub(crate) fn io_err(
    path: impl Into<PathBuf>,
    what: &'static str,
) -> impl FnOnce(std::io::Error) -> ImageError {
    let path = path.into();
    move |source| ImageError::Io { path, what, source }
}

/// Small images for the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use crate::model::{Config, Descriptor, Document, History, Manifest, RootFs, media_type};
    use crate::{Digest, LayerEntry, LayerEntryKind, build_layer};

    /// Writes a one-layer OCI layout at `dir`, tagged `tag`; returns the manifest's digest.
    pub(crate) fn layout(dir: &Path, tag: &str) -> Digest {
        let layer = build_layer(&[LayerEntry {
            path: "/etc/hello".into(),
            kind: LayerEntryKind::File(b"hello\n".to_vec()),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1,
        }])
        .unwrap();
        let config = Document::new(Config {
            created: Some("2024-01-01T00:00:00Z".into()),
            architecture: Some("amd64".into()),
            os: Some("linux".into()),
            variant: None,
            config: None,
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![layer.diff_id],
                rest: Default::default(),
            },
            history: Some(vec![History {
                created: None,
                created_by: Some("test".into()),
                comment: None,
                empty_layer: None,
                rest: Default::default(),
            }]),
            rest: Default::default(),
        })
        .unwrap();
        let manifest = Document::new(Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.into()),
            config: config.descriptor(media_type::OCI_CONFIG),
            layers: vec![Descriptor::of(media_type::OCI_LAYER_GZIP, &layer.blob)],
            annotations: None,
            rest: Default::default(),
        })
        .unwrap();
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        for bytes in [&layer.blob[..], config.bytes(), manifest.bytes()] {
            std::fs::write(blobs.join(Digest::of(bytes).hex()), bytes).unwrap();
        }
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = serde_json::json!({ "schemaVersion": 2, "manifests": [{
            "mediaType": media_type::OCI_MANIFEST, "digest": manifest.digest().to_string(),
            "size": manifest.bytes().len(),
            "annotations": { "org.opencontainers.image.ref.name": tag } }] });
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        manifest.digest()
    }
}
