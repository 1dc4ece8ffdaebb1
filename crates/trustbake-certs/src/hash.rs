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
    let canonical = canonical_name(name_der)?;
    Some(first_four_le(&Sha1::digest(&canonical)))
}

/// The old-style (MD5, OpenSSL before 1.0) hash of a DER-encoded Name.
pub fn subject_hash_old(name_der: &[u8]) -> u32 {
    first_four_le(&Md5::digest(name_der))
}

fn first_four_le(digest: &[u8]) -> u32 {
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// OpenSSL's canonical encoding of a Name (`x509_name_canon`).
fn canonical_name(name_der: &[u8]) -> Option<Vec<u8>> {
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
            let value = match canonical_value(value) {
                Some(text) => der::write(0x0c, &text),
                None => value.raw.to_vec(),
            };
            entries.push(der::write(0x30, &[oid.raw, &value].concat()));
        }
        out.extend(der::set_of(entries));
    }
    Some(out)
}

/// The canonical UTF-8 of a directory string value, or `None` for types copied unchanged.
fn canonical_value(value: &der::Tlv<'_>) -> Option<Vec<u8>> {
    let data = value.content;
    let text: String = match value.tag {
        0x0c => String::from_utf8_lossy(data).into_owned(),
        // PrintableString, T61String, IA5String, VisibleString: one byte per character.
        0x13 | 0x14 | 0x16 | 0x1a => data.iter().map(|&b| char::from(b)).collect(),
        0x1e => char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        0x1c => data
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        _ => return None,
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
    Some(out)
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
        let canonical = canonical_name(&name).unwrap();
        assert_eq!(
            canonical,
            der::write(0x31, &atv(CN, 0x0c, b"mixed case name"))
        );
    }

    #[test]
    fn multi_valued_rdns_are_sorted_and_other_types_copied() {
        let rdn = [atv(O, 0x13, b"B"), atv(CN, 0x12, b"123")].concat();
        let name = der::write(0x30, &der::write(0x31, &rdn));
        let canonical = canonical_name(&name).unwrap();
        let mut expected = [atv(O, 0x0c, b"b"), atv(CN, 0x12, b"123")];
        expected.sort();
        assert_eq!(canonical, der::write(0x31, &expected.concat()));
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
