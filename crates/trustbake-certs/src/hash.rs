//! OpenSSL's subject-name hashes, the names of the `XXXXXXXX.N` links in a hashed certificate
//! directory (`openssl rehash`, `c_rehash`, p11-kit's `directory-hash`).
//!
//! New style (`x509 -subject_hash`): the first four bytes, read little-endian, of the SHA-1 of
//! the name's canonical encoding. The canonical encoding is every RDN's `SET OF
//! AttributeTypeAndValue` re-encoded and concatenated, without the outer SEQUENCE; values of the
//! directory string types are converted to UTF-8, trimmed, inner whitespace runs folded to one
//! space, ASCII lower-cased and re-tagged UTF8String; other values are copied unchanged.
//! Old style (`-subject_hash_old`): the same over the MD5 of the name's DER.

use md5::Md5;
use sha1::{Digest, Sha1};

use crate::der;

/// The new-style hash of a DER-encoded Name; `None` if it is not a well-formed Name.
pub fn subject_hash(name_der: &[u8]) -> Option<u32> {
    let canonical = canonical_name(name_der, Flavor::OpenSsl)?;
    Some(first_four_le(&Sha1::digest(&canonical)))
}

/// The new-style hash as p11-kit computes it for `pem-directory-hash`: its own decoder takes
/// UTF8, Numeric, Printable, Teletex and IA5 strings as bytes that must be valid UTF-8 (and so
/// canonicalises NumericString too, where OpenSSL copies it), UniversalString and BMPString
/// as UCS. `None` when a value does not decode — p11-kit then writes no new-style link.
pub fn subject_hash_p11_kit(name_der: &[u8]) -> Option<u32> {
    let canonical = canonical_name(name_der, Flavor::P11Kit)?;
    Some(first_four_le(&Sha1::digest(&canonical)))
}

/// Whose reading of directory strings the canonical form follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    OpenSsl,
    P11Kit,
}

/// The old-style (MD5, OpenSSL before 1.0) hash of a DER-encoded Name.
pub fn subject_hash_old(name_der: &[u8]) -> u32 {
    first_four_le(&Md5::digest(name_der))
}

fn first_four_le(digest: &[u8]) -> u32 {
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// OpenSSL's canonical encoding of a Name (`x509_name_canon`).
fn canonical_name(name_der: &[u8], flavor: Flavor) -> Option<Vec<u8>> {
    let (name, rest) = der::read(name_der)?;
    if name.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for rdn in der::children(name.content)? {
        if rdn.tag != 0x31 {
            return None;
        }
        let mut entries = Vec::new();
        for atv in der::children(rdn.content)? {
            let parts = der::children(atv.content)?;
            let [oid, value] = parts.as_slice() else {
                return None;
            };
            if atv.tag != 0x30 || oid.tag != 0x06 {
                return None;
            }
            let value = match canonical_value(value, flavor)? {
                Some(text) => der::write(0x0c, &text),
                None => value.raw.to_vec(),
            };
            entries.push(der::write(0x30, &[oid.raw, &value].concat()));
        }
        out.extend(der::set_of(entries));
    }
    Some(out)
}

/// The canonical UTF-8 of a directory string value: `Some(None)` for types copied
/// unchanged, `None` when the value does not decode (p11-kit's flavour only).
fn canonical_value(value: &der::Tlv<'_>, flavor: Flavor) -> Option<Option<Vec<u8>>> {
    let data = value.content;
    let ucs2 = || {
        char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
    };
    let ucs4 = || {
        data.chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    };
    let text: String = match (flavor, value.tag) {
        (Flavor::OpenSsl, 0x0c) => String::from_utf8_lossy(data).into_owned(),
        // PrintableString, T61String, IA5String, VisibleString: one byte per character.
        (Flavor::OpenSsl, 0x13 | 0x14 | 0x16 | 0x1a) => {
            data.iter().map(|&b| char::from(b)).collect()
        }
        (Flavor::OpenSsl, 0x1e) => ucs2()
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        (Flavor::OpenSsl, 0x1c) => ucs4()
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        (Flavor::P11Kit, 0x0c | 0x12 | 0x13 | 0x14 | 0x16) => {
            std::str::from_utf8(data).ok()?.to_owned()
        }
        (Flavor::P11Kit, 0x1e) if data.len() % 2 == 0 => {
            ucs2().collect::<Result<String, _>>().ok()?
        }
        (Flavor::P11Kit, 0x1c) if data.len() % 4 == 0 => ucs4().collect::<Option<String>>()?,
        (Flavor::P11Kit, 0x1e | 0x1c) => return None,
        _ => return Some(None),
    };
    // OpenSSL's isspace: space, \t, \n, \v, \f, \r.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end - start);
    let mut in_space = false;
    for b in &bytes[start..end] {
        if is_space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_space = false;
        }
    }
    Some(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atv(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        der::write(
            0x30,
            &[der::write(0x06, oid), der::write(tag, value)].concat(),
        )
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];

    #[test]
    fn values_are_folded_trimmed_and_lowercased() {
        let name = der::write(
            0x30,
            &der::write(0x31, &atv(CN, 0x13, b"  Mixed   CASE\tName ")),
        );
        let canonical = canonical_name(&name, Flavor::OpenSsl).unwrap();
        assert_eq!(
            canonical,
            der::write(0x31, &atv(CN, 0x0c, b"mixed case name"))
        );
    }

    #[test]
    fn multi_valued_rdns_are_sorted_and_other_types_copied() {
        let rdn = [atv(O, 0x13, b"B"), atv(CN, 0x12, b"123")].concat();
        let name = der::write(0x30, &der::write(0x31, &rdn));
        let canonical = canonical_name(&name, Flavor::OpenSsl).unwrap();
        let mut expected = [atv(O, 0x0c, b"b"), atv(CN, 0x12, b"123")];
        expected.sort();
        assert_eq!(canonical, der::write(0x31, &expected.concat()));
    }

    #[test]
    fn p11_kit_refuses_latin1_teletex_and_canonicalises_numeric_strings() {
        let latin1 = der::write(0x30, &der::write(0x31, &atv(CN, 0x14, b"Caf\xe9")));
        assert!(subject_hash(&latin1).is_some());
        assert_eq!(subject_hash_p11_kit(&latin1), None);
        let numeric = der::write(0x30, &der::write(0x31, &atv(CN, 0x12, b" 12  34 ")));
        assert_ne!(subject_hash(&numeric), subject_hash_p11_kit(&numeric));
        let plain = der::write(0x30, &der::write(0x31, &atv(CN, 0x13, b"Plain  Name")));
        assert_eq!(subject_hash(&plain), subject_hash_p11_kit(&plain));
    }

    #[test]
    fn an_empty_name_hashes_the_empty_string() {
        assert_eq!(
            subject_hash(&[0x30, 0x00]),
            Some(first_four_le(&Sha1::digest(b"")))
        );
        assert_eq!(subject_hash(&[0x31, 0x00]), None);
    }
}
