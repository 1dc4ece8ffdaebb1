//! Java's canonical form of an X.500 name (`X500Principal.getName(CANONICAL)`): what
//! distroless' keystore generator names each entry, and so what an entry added beside them is
//! named. The rule (the `X500Principal` documentation, RFC 2253 section 2 with Java's
//! canonicalisation): the RDNs last to first, joined by `,`; a multi-valued RDN's attributes
//! sorted — those with an RFC 2253 keyword by their canonical text, then the others by OID —
//! and joined by `+`; each attribute `keyword=value`, the keyword one of RFC 2253's (`cn`, `c`,
//! `l`, `st`, `o`, `ou`, `street`, `dc`, `uid`) or the dotted OID; a PrintableString or
//! UTF8String value as text with `,+<>;"\` (and a leading `#`) escaped by `\`, runs of
//! printable white space made one space, leading and trailing white space dropped; any other
//! value `#` and the hex of its DER encoding; the whole upper-cased, lower-cased and put in
//! Unicode NFKD.

use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization;

use crate::der;

/// RFC 2253's keywords by OID content bytes.
const KEYWORDS: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
];

const PRINTABLE_STRING: u8 = 0x13;
const UTF8_STRING: u8 = 0x0c;

/// The canonical form of the DER-encoded Name `name`; `None` when it does not parse.
pub(crate) fn java_canonical(name: &[u8]) -> Option<String> {
    let (seq, _) = der::read(name)?;
    let mut rdns = Vec::new();
    for rdn in der::children(seq.content)?.iter().rev() {
        let mut avas = Vec::new();
        for ava in der::children(rdn.content)? {
            let parts = der::children(ava.content)?;
            let (oid, value) = (parts.first()?, parts.get(1)?);
            avas.push(Ava::read(oid.content, value)?);
        }
        avas.sort_by(Ava::order);
        let texts: Vec<String> = avas.into_iter().map(|a| a.text).collect();
        rdns.push(texts.join("+"));
    }
    Some(rdns.join(","))
}

struct Ava {
    keyword: bool,
    arcs: Vec<u64>,
    text: String,
}

impl Ava {
    fn read(oid: &[u8], value: &der::Tlv<'_>) -> Option<Ava> {
        let arcs = arcs(oid)?;
        let keyword = KEYWORDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k);
        let name = match keyword {
            Some(k) => k.to_owned(),
            None => arcs
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
        };
        let value = match value.tag {
            PRINTABLE_STRING | UTF8_STRING if keyword.is_some() => {
                string_value(&String::from_utf8_lossy(value.content))
            }
            _ => {
                let mut hex = String::from("#");
                for b in value.raw {
                    hex.push_str(&format!("{b:02x}"));
                }
                hex
            }
        };
        let text = format!("{name}={value}")
            .to_uppercase()
            .to_lowercase()
            .nfkd()
            .collect();
        Some(Ava {
            keyword: keyword.is_some(),
            arcs,
            text,
        })
    }

    /// Attributes with a keyword first, by their text; then the others by OID.
    fn order(a: &Ava, b: &Ava) -> Ordering {
        match (a.keyword, b.keyword) {
            (true, true) => a.text.cmp(&b.text),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.arcs.cmp(&b.arcs),
        }
    }
}

/// A string value: escapes, one space for a run of printable white space, trimmed.
fn string_value(value: &str) -> String {
    const ESCAPED: &str = ",+<>;\"\\";
    let mut out = String::with_capacity(value.len());
    let mut white = false;
    for (i, c) in value.chars().enumerate() {
        if is_printable_string_char(c) || ESCAPED.contains(c) || (i == 0 && c == '#') {
            if (i == 0 && c == '#') || ESCAPED.contains(c) {
                out.push('\\');
            }
            if c.is_whitespace() {
                if white {
                    continue;
                }
                white = true;
            } else {
                white = false;
            }
            out.push(c);
        } else {
            white = false;
            out.push(c);
        }
    }
    out.trim_matches(|c: char| c <= ' ').to_owned()
}

/// The characters of ASN.1's PrintableString.
fn is_printable_string_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

/// The arcs of an OID's content octets.
fn arcs(content: &[u8]) -> Option<Vec<u64>> {
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        value = value.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == content.len() {
            return None;
        }
    }
    (!arcs.is_empty()).then_some(arcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_white_space_and_trimming() {
        assert_eq!(string_value("  a,b  +c  "), "a\\,b \\+c");
        assert_eq!(string_value("#x"), "\\#x");
        assert_eq!(arcs(&[0x55, 0x04, 0x05]), Some(vec![2, 5, 4, 5]));
    }
}
