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

pub mod artifact;
pub mod cache;
pub mod cache_remote;
pub mod cleanup;
mod dest;
mod digest;
mod error;
mod layer;
mod layers;
mod limits;
pub mod model;
mod mutate;
mod reference;
pub mod registry;
mod registry_error;
mod source;
mod stop;
mod tee;
#[cfg(test)]
mod testing;
mod tree;
mod validate;

pub use cache::ScanCache;
pub use dest::{ImageDestination, destination, destination_in, write, write_to};
pub use digest::{DiffId, Digest};
pub use error::ImageError;
pub use layer::{LayerEntry, LayerEntryKind, LayerFile, NewLayer, build_layer, layer_files};
#[doc(hidden)]
pub use layers::fuzzing;
pub use layers::{LayeredRoot, ScanOptions};
pub use limits::{MAX_DOCUMENT, MAX_LAYERS, MAX_PLATFORMS};
pub use model::{Descriptor, Document, Family, Platform};
pub use mutate::{
    Append, AppendOptions, BASE_DIGEST, BASE_NAME, NewImage, NewPlatform, ReplacedSettings,
};
pub use reference::{ImageRef, RegistryRef};
pub use source::{
    BlobRef, Image, ImageSource, IndexImage, Layer, MemberLayer, PlatformImage, Resolved, open,
    open_in, open_verified,
};
pub use tee::{BlobSink, TeeUploads};
pub use tree::{Node, NodeKind, ScannedLayer};
pub use validate::{Validation, validate};
