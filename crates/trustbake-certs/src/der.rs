//! A minimal DER reader and writer: just enough to walk a Name and re-encode it (OpenSSL's
//! canonical form) and to build small structures such as OpenSSL's `CertAux`.

/// One TLV: its tag byte, its content, and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The tag byte (low-tag-number form only).
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// Tag, length and content.
    pub raw: &'a [u8],
}

/// Reads the TLV at the start of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high-tag-number form: not used in names
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..count] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[count..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((
        Tlv {
            tag,
            content: &rest[..len],
            raw: &input[..header + len],
        },
        &rest[len..],
    ))
}

/// Every TLV inside `content`, in order; `None` if it does not parse completely.
pub fn children(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content)?;
        out.push(tlv);
        content = rest;
    }
    Some(out)
}

/// Encodes `tag` + definite length + `content`.
pub fn write(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER SET OF: the encodings sorted, as DER requires (and OpenSSL does when encoding).
pub fn set_of(mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    write(0x31, &items.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let content = vec![7u8; len];
            let encoded = write(0x04, &content);
            let (tlv, rest) = read(&encoded).unwrap();
            assert_eq!(
                (tlv.tag, tlv.content.len(), rest.len(), tlv.raw.len()),
                (0x04, len, 0, encoded.len())
            );
        }
        assert_eq!(write(0x30, &[0; 200])[..3], [0x30, 0x81, 200]);
    }

    #[test]
    fn truncated_input_is_rejected() {
        assert!(read(&[0x30, 0x05, 1, 2]).is_none());
        assert!(read(&[0x30, 0x84, 0, 0]).is_none());
        assert!(children(&[0x02, 0x01]).is_none());
    }
}
