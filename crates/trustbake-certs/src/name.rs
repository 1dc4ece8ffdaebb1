//! Distinguished names: decoding directory strings, certifi's `# Issuer:`/`# Subject:`
//! rendering and p11-kit's label.

use x509_parser::der_parser::asn1_rs::Any;
use x509_parser::x509::X509Name;

const OID_CN: &str = "2.5.4.3";
const OID_O: &str = "2.5.4.10";
const OID_OU: &str = "2.5.4.11";

/// Decodes an attribute value of one of the directory string types to Unicode: UTF8String,
/// PrintableString, IA5String, VisibleString and NumericString as text, T61String as Latin-1
/// (as OpenSSL and Python's `cryptography` read it), BMPString as UTF-16BE and
/// UniversalString as UTF-32BE. Other types give `None`.
pub(crate) fn decode_directory_string(value: &Any<'_>) -> Option<String> {
    let data = value.data;
    match value.header.tag().0 {
        12 => std::str::from_utf8(data).ok().map(str::to_owned),
        18 | 19 | 22 | 26 | 20 => Some(data.iter().map(|&b| char::from(b)).collect()),
        30 => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        28 => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// The values of attribute `oid` in `name`, in the certificate's order.
fn values<'a>(name: &'a X509Name<'_>, oid: &'a str) -> impl Iterator<Item = String> + 'a {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .filter(move |atv| atv.attr_type().to_id_string() == oid)
        .filter_map(|atv| decode_directory_string(atv.attr_value()))
}

/// certifi's rendering of a name: `CN=… O=… OU=…`, each attribute present once with its
/// values joined by `/`, the whole escaped like Python's `unicode_escape`.
pub(crate) fn certifi_name(name: &X509Name<'_>) -> String {
    let mut parts = Vec::new();
    for (key, oid) in [("CN", OID_CN), ("O", OID_O), ("OU", OID_OU)] {
        let joined: Vec<String> = values(name, oid).collect();
        if !joined.is_empty() {
            parts.push(format!("{key}={}", joined.join("/")));
        }
    }
    python_unicode_escape(&parts.join(" "))
}

/// p11-kit's label: the subject's first CN, else its first OU, else its first O, each decoded
/// as p11-kit decodes directory strings (see [`p11_kit_string`]); a value p11-kit cannot
/// decode counts as absent. Empty when none is left.
pub(crate) fn label(subject: &X509Name<'_>) -> String {
    [OID_CN, OID_OU, OID_O]
        .iter()
        .find_map(|oid| {
            let first = subject
                .iter_rdn()
                .flat_map(|rdn| rdn.iter())
                .find(|atv| atv.attr_type().to_id_string() == *oid)?;
            p11_kit_string(first.attr_value())
        })
        .unwrap_or_default()
}

/// A directory string as p11-kit's `p11_x509_parse_directory_string` reads it: UTF8String,
/// NumericString, PrintableString, TeletexString and IA5String as their bytes, which must be
/// valid UTF-8 (a Latin-1 TeletexString is rejected); UniversalString as UCS-4 and BMPString
/// as UCS-2, big-endian; any other type is not a string.
fn p11_kit_string(value: &Any<'_>) -> Option<String> {
    match value.header.tag().0 {
        12 | 18 | 19 | 20 | 22 => std::str::from_utf8(value.data).ok().map(str::to_owned),
        28 | 30 => decode_directory_string(value),
        _ => None,
    }
}

/// Escapes `text` the way Python's `str.encode('unicode_escape')` does, which is how certifi's
/// comments carry non-ASCII names: `\\`, `\t`, `\n`, `\r`, `\xNN` below 0x20 and from 0x7f to
/// 0xff, `\uNNNN` up to 0xffff and `\UNNNNNNNN` beyond.
pub fn python_unicode_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let n = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if n < 0x20 || (0x7f..0x100).contains(&n) => out.push_str(&format!("\\x{n:02x}")),
            _ if n < 0x80 => out.push(c),
            _ if n < 0x10000 => out.push_str(&format!("\\u{n:04x}")),
            _ => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::python_unicode_escape;

    fn check(input: &str, expected: &str) {
        assert_eq!(python_unicode_escape(input), expected, "escaping {input:?}");
    }

    #[test]
    fn escapes_like_python() {
        check(
            "NetLock Arany (Class Gold) Főtanúsítvány",
            "NetLock Arany (Class Gold) F\\u0151tan\\xfas\\xedtv\\xe1ny",
        );
        check("plain ASCII, with (parens)", "plain ASCII, with (parens)");
        check("a\\b\tc\nd\re\u{7f}", "a\\\\b\\tc\\nd\\re\\x7f");
        check("\u{1}", "\\x01");
        check("😀", "\\U0001f600");
    }
}
