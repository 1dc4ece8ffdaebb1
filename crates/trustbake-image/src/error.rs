//! Everything that can go wrong with an image, and the helper that turns an I/O error into
//! one naming its path.

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
    Registry(#[from] crate::registry_error::RegistryError),
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
