//! PEM: finding every block of an input (whatever its type, with its line number) and
//! rendering certificates back to PEM text.
//!
//! The base64 of `CERTIFICATE` blocks is decoded by `rustls-pki-types`' `PemObject`; that API
//! silently skips block types it does not know, so the scan of block boundaries and types is
//! done here, and every block is accounted for.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// One `-----BEGIN X-----` … `-----END X-----` block of an input.
#[derive(Debug)]
pub(crate) struct Block<'a> {
    /// The type between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    pub(crate) label: String,
    /// 1-based position among the input's blocks.
    pub(crate) index: usize,
    /// 1-based line of the BEGIN marker.
    pub(crate) line: usize,
    /// 1-based line of the END marker.
    pub(crate) end_line: usize,
    /// The base64 body lines, markers excluded.
    body: Vec<&'a [u8]>,
}

/// A block that starts but never ends.
#[derive(Debug)]
pub(crate) struct Unterminated {
    pub(crate) label: String,
    pub(crate) index: usize,
    pub(crate) line: usize,
}

/// Finds every PEM block in `input`, in order. Text outside blocks is ignored (bundles carry
/// comments); a BEGIN without its END is an error.
pub(crate) fn scan(input: &[u8]) -> Result<Vec<Block<'_>>, Unterminated> {
    let mut blocks = Vec::new();
    let mut open: Option<Block<'_>> = None;
    for (n, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = trim(raw);
        if let Some(block) = open.as_mut() {
            if let Some(label) = marker(line, b"-----END ") {
                if label == block.label {
                    block.end_line = n + 1;
                    blocks.extend(open.take());
                    continue;
                }
            }
            if marker(line, b"-----BEGIN ").is_some() {
                return Err(Unterminated {
                    label: block.label.clone(),
                    index: block.index,
                    line: block.line,
                });
            }
            block.body.push(line);
        } else if let Some(label) = marker(line, b"-----BEGIN ") {
            open = Some(Block {
                label,
                index: blocks.len() + 1,
                line: n + 1,
                end_line: 0,
                body: Vec::new(),
            });
        }
    }
    match open {
        Some(block) => Err(Unterminated {
            label: block.label,
            index: block.index,
            line: block.line,
        }),
        None => Ok(blocks),
    }
}

impl Block<'_> {
    /// Decodes the base64 body with rustls-pki-types (whatever the block's own type: the body
    /// of a `TRUSTED CERTIFICATE` is base64 like any other).
    pub(crate) fn decode(&self) -> Result<Vec<u8>, String> {
        let mut text = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        for line in &self.body {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        text.extend_from_slice(b"-----END CERTIFICATE-----\n");
        match CertificateDer::from_pem_slice(&text) {
            Ok(der) if der.is_empty() => Err("the block is empty".to_owned()),
            Ok(der) => Ok(der.to_vec()),
            Err(rustls_pki_types::pem::Error::Base64Decode(detail)) => {
                Err(format!("bad base64 ({detail})"))
            }
            Err(err) => Err(format!("malformed PEM ({err:?})")),
        }
    }
}

/// `-----BEGIN X-----` → `X` for the given prefix.
fn marker(line: &[u8], prefix: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(prefix)?.strip_suffix(b"-----")?;
    String::from_utf8(rest.to_vec()).ok()
}

fn trim(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let start = line[..end]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(end);
    &line[start..end]
}

/// Renders `der` as a PEM block of type `label` with 64-character lines, as OpenSSL, p11-kit
/// and certifi write it.
pub fn render_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_with_lines_and_ignores_text_between() {
        let input =
            b"comment\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\ntext\n\
                      -----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n";
        let blocks = scan(input).unwrap();
        let seen: Vec<_> = blocks
            .iter()
            .map(|b| (b.label.as_str(), b.index, b.line))
            .collect();
        assert_eq!(seen, [("CERTIFICATE", 1, 2), ("PRIVATE KEY", 2, 6)]);
        assert_eq!(blocks[0].decode().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn crlf_and_indentation_are_accepted() {
        let input = b"  -----BEGIN CERTIFICATE-----\r\n AAEC\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(scan(input).unwrap()[0].decode().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn a_block_without_end_is_an_error() {
        let err = scan(b"x\n-----BEGIN CERTIFICATE-----\nAAEC\n").unwrap_err();
        assert_eq!((err.label.as_str(), err.line), ("CERTIFICATE", 2));
        let err = scan(b"-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn bad_base64_is_reported() {
        let blocks =
            scan(b"-----BEGIN CERTIFICATE-----\nA!!B\n-----END CERTIFICATE-----\n").unwrap();
        assert!(blocks[0].decode().unwrap_err().contains("base64"));
    }

    #[test]
    fn renders_64_column_lines() {
        let pem = render_pem("CERTIFICATE", &[7u8; 100]);
        let lines: Vec<_> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    }
}
