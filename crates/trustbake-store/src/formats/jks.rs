//! Java keystores (JKS), as p11-kit's `java-cacerts` and Debian's ca-certificates-java write
//! them: parse, append trusted-certificate entries, and recompute the keyed SHA-1 trailer.

use sha1::{Digest, Sha1};

/// A parsed keystore: its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// The entries.
    pub entries: Vec<KeystoreEntry>,
}

/// One keystore entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreEntry {
    /// The alias.
    pub alias: String,
    /// Creation time, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// What the entry holds.
    pub body: EntryBody,
}

/// What a keystore entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// A trusted certificate: its type (`X.509`) and encoding.
    TrustedCert {
        /// Certificate type, `X.509`.
        cert_type: String,
        /// The DER.
        der: Vec<u8>,
    },
    /// A private-key entry, carried through as its raw bytes after the timestamp.
    PrivateKey(Vec<u8>),
}

/// Why a keystore could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JksError {
    /// Not a JKS file.
    #[error("not a Java keystore (bad magic or version)")]
    NotJks,
    /// A PKCS12 keystore (what `keytool` and Debian's ca-certificates-java write with Java 9
    /// and later), not JKS: `formats::keystore::JavaStore` reads both.
    #[error("a PKCS12 keystore, not JKS")]
    Pkcs12,
    /// Cut short or inconsistent.
    #[error("the keystore is truncated or malformed")]
    Malformed,
    /// The keyed SHA-1 does not match the password `changeit`.
    #[error("the keystore's integrity check fails for the password 'changeit'")]
    Integrity,
}

const MAGIC: u32 = 0xfeed_feed;
const PASSWORD: &str = "changeit";

impl Keystore {
    /// Parses a JKS keystore protected with the password `changeit`.
    pub fn parse(bytes: &[u8]) -> Result<Self, JksError> {
        // PKCS12 is DER: a SEQUENCE with a long-form length.
        if bytes.first() == Some(&0x30) && bytes.get(1).is_some_and(|b| b & 0x80 != 0) {
            return Err(JksError::Pkcs12);
        }
        if bytes.len() < 32 {
            return Err(JksError::NotJks);
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 20);
        if integrity(body) != trailer {
            return Err(JksError::Integrity);
        }
        let mut r = Reader { bytes: body, at: 0 };
        if r.u32()? != MAGIC || r.u32()? != 2 {
            return Err(JksError::NotJks);
        }
        let count = r.u32()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let tag = r.u32()?;
            let alias = r.utf()?;
            let timestamp_ms = r.i64()?;
            let body = match tag {
                2 => EntryBody::TrustedCert {
                    cert_type: r.utf()?,
                    der: r.blob()?,
                },
                1 => {
                    let start = r.at;
                    r.blob()?; // encrypted key
                    let chain = r.u32()?;
                    for _ in 0..chain {
                        r.utf()?;
                        r.blob()?;
                    }
                    EntryBody::PrivateKey(body[start..r.at].to_vec())
                }
                _ => return Err(JksError::Malformed),
            };
            entries.push(KeystoreEntry {
                alias,
                timestamp_ms,
                body,
            });
        }
        if r.at != body.len() {
            return Err(JksError::Malformed);
        }
        Ok(Keystore { entries })
    }

    /// Serialises the keystore with the `changeit` integrity trailer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for entry in &self.entries {
            let tag: u32 = match entry.body {
                EntryBody::TrustedCert { .. } => 2,
                EntryBody::PrivateKey(_) => 1,
            };
            out.extend_from_slice(&tag.to_be_bytes());
            utf(&mut out, &entry.alias);
            out.extend_from_slice(&entry.timestamp_ms.to_be_bytes());
            match &entry.body {
                EntryBody::TrustedCert { cert_type, der } => {
                    utf(&mut out, cert_type);
                    out.extend_from_slice(&(der.len() as u32).to_be_bytes());
                    out.extend_from_slice(der);
                }
                EntryBody::PrivateKey(raw) => out.extend_from_slice(raw),
            }
        }
        let mac = integrity(&out);
        out.extend_from_slice(&mac);
        out
    }

    /// The DER of every trusted certificate.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.iter().filter_map(|e| match &e.body {
            EntryBody::TrustedCert { der, .. } => Some(der.as_slice()),
            EntryBody::PrivateKey(_) => None,
        })
    }

    /// Removes every trusted-certificate entry whose DER satisfies `remove`; how many.
    pub fn remove_trusted(&mut self, remove: impl Fn(&[u8]) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| match &e.body {
            EntryBody::TrustedCert { der, .. } => !remove(der),
            EntryBody::PrivateKey(_) => true,
        });
        before - self.entries.len()
    }

    /// Adds a trusted certificate under `alias` made unique as p11-kit does (`-1`, `-2`, …).
    pub fn add_trusted(&mut self, alias: &str, der: &[u8], timestamp_ms: i64) {
        self.add_trusted_all([(alias.to_owned(), der)], timestamp_ms);
    }

    /// [`Keystore::add_trusted`] for many certificates at once, in one pass: each alias made
    /// unique against the entries and the ones added before it (`alias`, `alias-1`, …) through
    /// a set and a counter per alias — linear, where a search per certificate is quadratic.
    pub fn add_trusted_all<'a>(
        &mut self,
        certs: impl IntoIterator<Item = (String, &'a [u8])>,
        timestamp_ms: i64,
    ) {
        let mut taken: std::collections::HashSet<String> =
            self.entries.iter().map(|e| e.alias.clone()).collect();
        let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (alias, der) in certs {
            let mut unique = alias.clone();
            let n = next.entry(alias.clone()).or_insert(1);
            while taken.contains(&unique) {
                unique = format!("{alias}-{n}");
                *n += 1;
            }
            taken.insert(unique.clone());
            self.entries.push(KeystoreEntry {
                alias: unique,
                timestamp_ms,
                body: EntryBody::TrustedCert {
                    cert_type: "X.509".to_owned(),
                    der: der.to_vec(),
                },
            });
        }
    }
}

/// p11-kit's alias for a label: lower-cased, whitespace and non-ASCII removed; `unlabeled`
/// when nothing is left.
pub fn p11_kit_alias(label: &str) -> String {
    let alias: String = label
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if alias.is_empty() {
        "unlabeled".to_owned()
    } else {
        alias
    }
}

/// SHA-1 over UTF-16BE(password) ‖ "Mighty Aphrodite" ‖ body.
fn integrity(body: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    for unit in PASSWORD.encode_utf16() {
        h.update(unit.to_be_bytes());
    }
    h.update(b"Mighty Aphrodite");
    h.update(body);
    h.finalize().into()
}

fn utf(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], JksError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(JksError::Malformed)?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, JksError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, JksError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn utf(&mut self) -> Result<String, JksError> {
        let b = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| JksError::Malformed)
    }

    fn blob(&mut self) -> Result<Vec<u8>, JksError> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_p11_kit() {
        assert_eq!(
            p11_kit_alias("Trustbake Test Root EC"),
            "trustbaketestrootec"
        );
        assert_eq!(p11_kit_alias("Ωmega Root Ⅱ"), "megaroot");
        assert_eq!(p11_kit_alias(" \t"), "unlabeled");
    }

    #[test]
    fn keystores_round_trip_and_check_integrity() {
        let mut ks = Keystore {
            entries: Vec::new(),
        };
        ks.add_trusted("a", b"der1", 1);
        ks.add_trusted("a", b"der2", 2);
        ks.add_trusted("a", b"der3", 3);
        let bytes = ks.to_bytes();
        let parsed = Keystore::parse(&bytes).unwrap();
        assert_eq!(parsed, ks);
        assert_eq!(
            parsed
                .entries
                .iter()
                .map(|e| e.alias.as_str())
                .collect::<Vec<_>>(),
            ["a", "a-1", "a-2"]
        );
        let mut broken = bytes.clone();
        broken[20] ^= 1;
        assert_eq!(Keystore::parse(&broken), Err(JksError::Integrity));
    }
}
