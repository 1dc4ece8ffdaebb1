//! The bounds every read of the crate keeps: the largest document, the most platforms and
//! layers, and the bounded read of a small file or member.

use std::io::Read;
use std::path::PathBuf;

use crate::error::{ImageError, io_err};

/// The largest JSON document (index, manifest, config) read from any source.
pub const MAX_DOCUMENT: u64 = 8 * 1024 * 1024;

/// The most platforms an index may name (distinct manifests; repeated entries count once).
pub const MAX_PLATFORMS: usize = 256;

/// The most layers a manifest may have (Docker's own limit is 127; the overlay driver's 500).
pub const MAX_LAYERS: usize = 1024;

/// Reads a small member (index.json, manifest.json) whole, refusing one over
/// [`MAX_DOCUMENT`].
pub(crate) fn read_small(
    mut reader: impl Read,
    path: impl Into<PathBuf>,
) -> Result<Vec<u8>, ImageError> {
    let path = path.into();
    let mut bytes = Vec::new();
    (&mut reader)
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(&path, "reading"))?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(ImageError::TooLarge {
            what: path.display().to_string(),
            size: bytes.len() as u64,
            limit: MAX_DOCUMENT,
        });
    }
    Ok(bytes)
}
