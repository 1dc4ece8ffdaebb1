//! Best-effort reading of third-party bundles (the image's own stores): take every certificate
//! that parses, count what does not, never fail.

use crate::certificate::Certificate;
use crate::pem;

/// The certificates found in a bundle and how many blocks were skipped.
#[derive(Debug, Clone, Default)]
pub struct BundleContents {
    /// Certificates, in file order (duplicates kept).
    pub certificates: Vec<Certificate>,
    /// Blocks that were not certificates or did not parse.
    pub skipped: usize,
}

impl BundleContents {
    /// The SHA-256 of every certificate found.
    pub fn shas(&self) -> std::collections::BTreeSet<crate::fingerprint::Sha256Fingerprint> {
        self.certificates.iter().map(Certificate::sha256).collect()
    }
}

/// Reads every `CERTIFICATE` and `TRUSTED CERTIFICATE` block of `bytes`, or `bytes` as one DER
/// certificate when it holds no PEM block.
pub fn read_bundle(bytes: &[u8]) -> BundleContents {
    read(bytes, true)
}

/// A certificate [`read_bundle`] finds, with the lines its PEM block spans.
#[derive(Debug, Clone)]
pub struct BundleEntry {
    /// The certificate.
    pub certificate: Certificate,
    /// 0-based index of the BEGIN line (lines split at `\n`).
    pub first_line: usize,
    /// 0-based index of the END line.
    pub last_line: usize,
}

/// The certificates [`read_bundle`] finds in the PEM blocks of `bytes`, each with its lines
/// (none for DER without PEM).
pub fn read_bundle_entries(bytes: &[u8]) -> Vec<BundleEntry> {
    let Ok(blocks) = pem::scan(bytes) else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter_map(|block| {
            Some(BundleEntry {
                certificate: parse_block(block, true)?,
                first_line: block.line - 1,
                last_line: block.end_line - 1,
            })
        })
        .collect()
}

fn parse_block(block: &pem::Block<'_>, openssl: bool) -> Option<Certificate> {
    match block.label.as_str() {
        "CERTIFICATE" => block
            .decode()
            .ok()
            .and_then(|der| Certificate::from_der(&der).ok()),
        "X509 CERTIFICATE" if openssl => block
            .decode()
            .ok()
            .and_then(|der| Certificate::from_der(&der).ok()),
        "TRUSTED CERTIFICATE" if openssl => block
            .decode()
            .ok()
            .and_then(|der| Certificate::from_der_prefix(&der).ok().map(|(c, _)| c)),
        _ => None,
    }
}

/// Reads only the `CERTIFICATE` blocks of `bytes`, as Go's `AppendCertsFromPEM` does (a
/// `TRUSTED CERTIFICATE` block, or DER without PEM, counts as skipped).
pub fn read_pem_certificates(bytes: &[u8]) -> BundleContents {
    read(bytes, false)
}

fn read(bytes: &[u8], openssl: bool) -> BundleContents {
    let mut out = BundleContents::default();
    let blocks = match pem::scan(bytes) {
        Ok(blocks) => blocks,
        Err(_) => {
            out.skipped = 1;
            return out;
        }
    };
    if openssl && blocks.is_empty() && bytes.first() == Some(&0x30) {
        match Certificate::from_der(bytes) {
            Ok(cert) => out.certificates.push(cert),
            Err(_) => out.skipped += 1,
        }
        return out;
    }
    for block in blocks {
        match parse_block(&block, openssl) {
            Some(cert) => out.certificates.push(cert),
            None => out.skipped += 1,
        }
    }
    out
}
