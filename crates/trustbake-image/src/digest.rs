//! Digests, parsed strictly: a compressed blob's digest and an uncompressed layer's diff ID
//! are distinct types.

use std::fmt;
use std::io::{Read, Write};

use sha2::{Digest as _, Sha256};

use crate::error::ImageError;

/// A `sha256:` digest of a blob.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub(crate) [u8; 32]);

/// The digest of a layer's uncompressed tar (`rootfs.diff_ids`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiffId(pub Digest);

impl Digest {
    /// Parses `sha256:<64 lower-case hex>`; anything else (other algorithms, upper case, path
    /// separators, `..`) is refused, so a digest can safely name a file.
    pub fn parse(text: &str) -> Result<Self, ImageError> {
        let bad = || ImageError::BadDigest(text.to_owned());
        let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Digest(out))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for DiffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for DiffId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for DiffId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Digest::deserialize(d).map(DiffId)
    }
}

impl std::str::FromStr for Digest {
    type Err = ImageError;

    fn from_str(text: &str) -> Result<Self, ImageError> {
        Digest::parse(text)
    }
}

impl fmt::Debug for DiffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiffId({})", self.0)
    }
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads what is left (so the digest covers the whole stream), then returns it.
    pub(crate) fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok((Digest(self.hasher.finalize().into()), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A reader that fails unless what passes through it is exactly `size` bytes with `digest`:
/// the error comes at the end of the stream (or as soon as it runs long), so a consumer never
/// finishes on bytes that do not match their descriptor.
pub(crate) struct VerifyingReader<R> {
    inner: HashingReader<std::io::Take<R>>,
    digest: Digest,
    size: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R, digest: Digest, size: u64) -> Self {
        VerifyingReader {
            // One byte more than announced, to see a blob that runs long.
            inner: HashingReader::new(inner.take(size.saturating_add(1))),
            digest,
            size,
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        if self.inner.count > self.size {
            return Err(bad(format!(
                "blob {} is larger than its descriptor's {} bytes",
                self.digest, self.size
            )));
        }
        if n == 0 && !buf.is_empty() {
            if self.inner.count != self.size {
                return Err(bad(format!(
                    "blob {}: {} bytes, its descriptor says {}",
                    self.digest, self.inner.count, self.size
                )));
            }
            let found = Digest(self.inner.hasher.clone().finalize().into());
            if found != self.digest {
                return Err(bad(format!("blob {} has digest {found}", self.digest)));
            }
        }
        Ok(n)
    }
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<W> {
    pub(crate) inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub(crate) fn finish(self) -> (W, Digest, u64) {
        (
            self.inner,
            Digest(self.hasher.finalize().into()),
            self.count,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_parsed_strictly() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(Digest::parse(&good).unwrap().to_string(), good);
        for bad in [
            "sha256:../../etc/passwd",
            "sha512:ab",
            &format!("sha256:{}", "AB".repeat(32)),
            &format!("sha256:{}", "a".repeat(63)),
            "/abs",
            "",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
