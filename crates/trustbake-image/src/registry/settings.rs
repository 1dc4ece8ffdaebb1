//! Reading a registry setting file (auth file, certificate, key) within the document bound.

/// A settings file (auth file, certificate, key), read within [`crate::MAX_DOCUMENT`]: a
/// path that names something else (a device, a huge file) cannot hold trustbake.
pub(crate) fn read_setting(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    crate::limits::read_small(file, path).map_err(std::io::Error::other)
}
