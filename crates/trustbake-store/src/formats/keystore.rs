//! A Java trust store in either of its formats, told apart by its bytes: JKS (`FEEDFEED`, what
//! p11-kit, older Java and distroless write) or PKCS12 (DER, what `keytool` and Debian's
//! ca-certificates-java write with Java 9 and later). Each keeps its own format when written.

use super::jks::{JksError, Keystore};
use super::pkcs12::Pkcs12;

/// A Java trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JavaStore {
    /// JKS.
    Jks(Keystore),
    /// PKCS12.
    Pkcs12(Pkcs12),
}

impl JavaStore {
    /// Parses either format (password `changeit`); the error says what the bytes are not.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        match Keystore::parse(bytes) {
            Ok(ks) => Ok(JavaStore::Jks(ks)),
            Err(JksError::Pkcs12) => Pkcs12::parse(bytes)
                .map(JavaStore::Pkcs12)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The DER of every trusted certificate read.
    pub fn certificates(&self) -> Vec<&[u8]> {
        match self {
            JavaStore::Jks(ks) => ks.certificates().collect(),
            JavaStore::Pkcs12(p) => p.certificates().map(|c| c.der.as_slice()).collect(),
        }
    }

    /// Parts that could not be read (a PKCS12 part encrypted with RC2 or 3DES).
    pub fn unreadable(&self) -> usize {
        match self {
            JavaStore::Jks(_) => 0,
            JavaStore::Pkcs12(p) => p.unreadable_parts(),
        }
    }

    /// Adds trusted certificates under unique aliases; `timestamp_ms` is a JKS entry's date
    /// (PKCS12 has none).
    pub fn add_trusted_all<'a>(
        &mut self,
        certs: impl IntoIterator<Item = (String, &'a [u8])>,
        timestamp_ms: i64,
    ) {
        match self {
            JavaStore::Jks(ks) => ks.add_trusted_all(certs, timestamp_ms),
            JavaStore::Pkcs12(p) => p.add_trusted(certs),
        }
    }

    /// Removes every trusted certificate whose DER satisfies `remove`; how many.
    pub fn remove_trusted(&mut self, remove: impl Fn(&[u8]) -> bool) -> usize {
        match self {
            JavaStore::Jks(ks) => ks.remove_trusted(remove),
            JavaStore::Pkcs12(p) => p.remove_trusted(remove),
        }
    }

    /// The store's bytes, in its own format.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            JavaStore::Jks(ks) => ks.to_bytes(),
            JavaStore::Pkcs12(p) => p.to_bytes(),
        }
    }
}
