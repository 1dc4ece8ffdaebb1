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

/// Reads every `CERTIFICATE` and `TRUSTED CERTIFICATE` block of `bytes`, or `bytes` as one DER
/// certificate when it holds no PEM block.
pub fn read_bundle(bytes: &[u8]) -> BundleContents {
    read(bytes, true)
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
        let parsed = match block.label.as_str() {
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
        };
        match parsed {
            Some(cert) => out.certificates.push(cert),
            None => out.skipped += 1,
        }
    }
    out
}
