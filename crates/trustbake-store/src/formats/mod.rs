//! The byte formats of the trust stores, as pure functions: p11-kit's PEM and OpenSSL
//! bundles, edk2 signature lists, Java keystores, directory-hash names, Debian's link names,
//! certifi entries and wheel RECORD lines.

pub mod jks;
pub mod keystore;
pub mod pkcs12;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use trustbake_certs::{Certificate, der, render_pem};

/// Appends `certs` to a p11-kit `pem-bundle` written with `--comment`: each entry is
/// `# <label>\n` and the PEM block; entries after the first are preceded by an empty line.
pub fn pem_bundle_append(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    append_entries(existing, certs, |c| c.to_pem())
}

/// Whether a bundle's entries carry comments (p11-kit's `--comment`, certifi): a `# text` line
/// right above a `-----BEGIN` line. An empty bundle counts as one (p11-kit's, for RHEL).
pub fn commented(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return true;
    }
    let mut previous: &[u8] = b"";
    for line in bytes.split(|b| *b == b'\n') {
        if line.starts_with(b"-----BEGIN")
            && previous.starts_with(b"# ")
            && !previous[2..].trim_ascii().is_empty()
        {
            return true;
        }
        previous = line;
    }
    false
}

/// Appends `certs` to a PEM bundle written without comments (p11-kit's `pem-bundle` without
/// `--comment`, as SUSE's hook runs it): PEM blocks back to back.
pub fn pem_bundle_append_plain(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    let mut out = existing.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for cert in certs {
        out.extend_from_slice(cert.to_pem().as_bytes());
    }
    out
}

/// Appends `certs` to a p11-kit `openssl-bundle`: `TRUSTED CERTIFICATE` blocks holding the
/// certificate then OpenSSL's `CertAux` for an anchor trusted for every purpose (no trust
/// OIDs, alias = label).
pub fn openssl_bundle_append(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    append_entries(existing, certs, openssl_trusted_pem)
}

/// One certificate as p11-kit's OpenSSL formats write an anchor trusted for every purpose: a
/// `TRUSTED CERTIFICATE` block of the certificate then OpenSSL's `CertAux` (no trust OIDs,
/// alias = label) — an `openssl-bundle` entry, an `openssl-directory` file.
pub fn openssl_trusted_pem(cert: &Certificate) -> String {
    let aux = der::write(0x30, &der::write(0x0c, cert.label().as_bytes()));
    render_pem("TRUSTED CERTIFICATE", &[cert.der(), &aux].concat())
}

/// Appends `certs` to a p11-kit `openssl-bundle` as p11-kit writes a distrusted certificate
/// (one only the blocklist names): `CertAux` rejecting every purpose p11-kit knows —
/// serverAuth, clientAuth, codeSigning, emailProtection, ipsecEndSystem, ipsecTunnel,
/// ipsecUser, timeStamping (id-kp 1 to 8) — then the alias.
pub fn openssl_bundle_append_distrusted(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    append_entries(existing, certs, |c| {
        let oids: Vec<u8> = (1u8..=8)
            .flat_map(|n| der::write(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, n]))
            .collect();
        let aux = der::write(
            0x30,
            &[
                der::write(0xa0, &oids),
                der::write(0x0c, c.label().as_bytes()),
            ]
            .concat(),
        );
        render_pem("TRUSTED CERTIFICATE", &[c.der(), &aux].concat())
    })
}

fn append_entries(
    existing: &[u8],
    certs: &[&Certificate],
    render: impl Fn(&Certificate) -> String,
) -> Vec<u8> {
    let mut out = existing.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for cert in certs {
        if !out.is_empty() {
            out.push(b'\n');
        }
        out.extend_from_slice(format!("# {}\n", cert.label()).as_bytes());
        out.extend_from_slice(render(cert).as_bytes());
    }
    out
}

/// EFI_CERT_X509_GUID, a5c059a1-94e4-4aa7-87b5-ab155c2bf072, in its on-disk byte order.
const EFI_CERT_X509: [u8; 16] = [
    0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72,
];
/// The signature owner p11-kit writes, dcdd3b50-f405-43fd-96be-bd33b1734776.
const P11_KIT_OWNER: [u8; 16] = [
    0x50, 0x3b, 0xdd, 0xdc, 0x05, 0xf4, 0xfd, 0x43, 0x96, 0xbe, 0xbd, 0x33, 0xb1, 0x73, 0x47, 0x76,
];

/// Appends one EFI_SIGNATURE_LIST per certificate, as p11-kit's `edk2-cacerts` writes them.
pub fn edk2_append(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    let mut out = existing.to_vec();
    for cert in certs {
        let der = cert.der();
        let signature_size = 16 + der.len() as u32;
        out.extend_from_slice(&EFI_CERT_X509);
        out.extend_from_slice(&(28 + signature_size).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&signature_size.to_le_bytes());
        out.extend_from_slice(&P11_KIT_OWNER);
        out.extend_from_slice(der);
    }
    out
}

/// `bytes` of an edk2 `cacerts.bin` without the signature lists holding a certificate that
/// satisfies `remove` (p11-kit writes one list per certificate); `None` if it is not a sequence
/// of X.509 signature lists.
pub fn edk2_remove(bytes: &[u8], remove: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let list_size = edk2_certificates(rest)
            .and_then(|_| rest.get(16..20))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)?;
        let list = &rest[..list_size];
        let certs = edk2_certificates(list)?;
        if !certs.iter().any(|der| remove(der)) {
            out.extend_from_slice(list);
        }
        rest = &rest[list_size..];
    }
    Some(out)
}

/// A text bundle (p11-kit's PEM and OpenSSL bundles, certifi's `cacert.pem`, a PEM file)
/// without the entries whose certificate satisfies `remove`: each entry is a PEM block — with
/// the `#` comment lines right above it when the bundle's entries carry comments
/// ([`commented`]; a header of a bundle whose entries do not, as SUSE's `ca-bundle.pem` has,
/// stays) — and the empty line that separates it from the one before (for the first entry,
/// the one after it). Other bytes are kept as they are. `None` when nothing matched.
pub fn remove_entries(bytes: &[u8], remove: impl Fn(&Certificate) -> bool) -> Option<Vec<u8>> {
    let entries = trustbake_certs::read_bundle_entries(bytes);
    if entries.is_empty() {
        // DER without PEM: the whole file is the one certificate.
        let found = trustbake_certs::read_bundle(bytes).certificates;
        return found.first().filter(|c| remove(c)).map(|_| Vec::new());
    }
    let gone: Vec<(usize, usize)> = entries
        .iter()
        .filter(|e| remove(&e.certificate))
        .map(|e| (e.first_line, e.last_line))
        .collect();
    if gone.is_empty() {
        return None;
    }
    let with_comments = commented(bytes);
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let mut out: Vec<&[u8]> = Vec::with_capacity(lines.len());
    let mut drop_blank_after = false;
    let mut i = 0;
    while i < lines.len() {
        if let Some(&(_, last)) = gone.iter().find(|(first, _)| *first == i) {
            // The comment lines right above, and the empty line above those (for the first
            // entry, the one after it).
            while with_comments && out.last().is_some_and(|l| l.trim_ascii().starts_with(b"#")) {
                out.pop();
            }
            if out.last().is_some_and(|l| l.trim_ascii().is_empty()) {
                out.pop();
            } else {
                drop_blank_after = true;
            }
            i = last + 1;
            continue;
        }
        let line = lines[i];
        if drop_blank_after && line.trim_ascii().is_empty() {
            drop_blank_after = false;
            i += 1;
            continue;
        }
        drop_blank_after = false;
        out.push(line);
        i += 1;
    }
    Some(out.concat())
}

/// The DER certificates of an edk2 `cacerts.bin`; `None` if it is not a sequence of X.509
/// signature lists.
pub fn edk2_certificates(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 28 || rest[..16] != EFI_CERT_X509 {
            return None;
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]) as usize
        };
        let (list_size, header_size, signature_size) = (u32_at(16), u32_at(20), u32_at(24));
        if list_size > rest.len() || signature_size < 16 || list_size < 28 + header_size {
            return None;
        }
        let mut sigs = &rest[28 + header_size..list_size];
        while sigs.len() >= signature_size {
            out.push(sigs[16..signature_size].to_vec());
            sigs = &sigs[signature_size..];
        }
        rest = &rest[list_size..];
    }
    Some(out)
}

/// p11-kit's `pem-directory-hash` file name for a label: every byte of its UTF-8 outside
/// `[A-Za-z0-9._-]` becomes `_` (so `Ω` gives `__`), then `.pem`; `n` > 0 gives the collision
/// names `label.1.pem`, ….
pub fn directory_hash_file_name(label: &str, n: usize) -> String {
    let base: String = label
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "unlabeled".to_owned()
    } else {
        base
    };
    if n == 0 {
        format!("{base}.pem")
    } else {
        format!("{base}.{n}.pem")
    }
}

/// The `/etc/ssl/certs` link name `update-ca-certificates` gives a `.crt` file: its base name
/// without `.crt`, `' '` → `_`, `(` and `)` → `=`, `,` → `_`, then `.pem`.
pub fn debian_link_name(crt_file_name: &str) -> String {
    let stem = crt_file_name.strip_suffix(".crt").unwrap_or(crt_file_name);
    let mangled: String = stem
        .chars()
        .map(|c| match c {
            ' ' | ',' => '_',
            '(' | ')' => '=',
            other => other,
        })
        .collect();
    format!("{mangled}.pem")
}

/// Appends certifi entries to a `cacert.pem`, keeping its bytes.
pub fn certifi_append(existing: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    let mut out = existing.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for cert in certs {
        out.extend_from_slice(cert.certifi_entry().as_bytes());
    }
    out
}

/// The `RECORD` line of a wheel for a file: `path,sha256=<urlsafe base64, no padding>,size`.
pub fn record_line(path_in_record: &str, content: &[u8]) -> String {
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(content));
    format!("{path_in_record},sha256={digest},{}", content.len())
}

/// `record` with the line for `path_in_record` replaced by `new_line`; `None` if no line names it.
pub fn record_replace(record: &str, path_in_record: &str, new_line: &str) -> Option<String> {
    let mut found = false;
    let mut out = String::with_capacity(record.len() + 8);
    for line in record.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.split(',').next() == Some(path_in_record) {
            found = true;
            out.push_str(new_line);
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_hash_names_replace_unsafe_characters() {
        assert_eq!(
            directory_hash_file_name("Trustbake Test Root EC", 0),
            "Trustbake_Test_Root_EC.pem"
        );
        assert_eq!(
            directory_hash_file_name("Café (R2), v1.0", 2),
            "Caf____R2___v1.0.2.pem"
        );
    }

    #[test]
    fn debian_link_names_are_mangled_like_the_tool() {
        assert_eq!(
            debian_link_name("ACME Root (2024), Inc.crt"),
            "ACME_Root_=2024=__Inc.pem"
        );
        assert_eq!(
            debian_link_name("corp-root-1a2b3c4d.crt"),
            "corp-root-1a2b3c4d.pem"
        );
    }

    #[test]
    fn record_lines_are_replaced_in_place() {
        let record = "certifi/__init__.py,sha256=abc,94\ncertifi/cacert.pem,sha256=old,10\ncertifi-2024.2.2.dist-info/RECORD,,\n";
        let line = record_line("certifi/cacert.pem", b"hello");
        assert_eq!(
            line,
            "certifi/cacert.pem,sha256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ,5"
        );
        let new = record_replace(record, "certifi/cacert.pem", &line).unwrap();
        assert_eq!(new.lines().nth(1), Some(line.as_str()));
        assert_eq!(new.lines().count(), 3);
        assert!(record_replace(record, "certifi/missing.pem", &line).is_none());
    }

    #[test]
    fn edk2_lists_round_trip() {
        let cert =
            Certificate::from_der(webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref()).unwrap();
        let bytes = edk2_append(&[], &[&cert, &cert]);
        assert_eq!(
            edk2_certificates(&bytes).unwrap(),
            vec![cert.der().to_vec(), cert.der().to_vec()]
        );
        assert!(edk2_certificates(b"not a list").is_none());
    }
}
