//! OpenSSL's subject hashes for crafted names: each name is grafted into a real certificate
//! (OpenSSL hashes without checking the signature) and `openssl x509 -subject_hash` /
//! `-subject_hash_old` must agree with trustbake's.

use tests::{fixture, output, tool};
use trustbake_certs::der;
use trustbake_certs::{subject_hash, subject_hash_old};

const CN: &[u8] = &[0x55, 0x04, 0x03];
const O: &[u8] = &[0x55, 0x04, 0x0a];
const OU: &[u8] = &[0x55, 0x04, 0x0b];
const C: &[u8] = &[0x55, 0x04, 0x06];
const SERIAL: &[u8] = &[0x55, 0x04, 0x05];
const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

fn atv(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
    der::write(
        0x30,
        &[der::write(0x06, oid), der::write(tag, value)].concat(),
    )
}

/// A Name from RDNs, each a list of attributes kept in the given order (not sorted), as a
/// careless encoder would write them.
fn name(rdns: &[&[Vec<u8>]]) -> Vec<u8> {
    der::write(
        0x30,
        &rdns
            .iter()
            .map(|rdn| der::write(0x31, &rdn.concat()))
            .collect::<Vec<_>>()
            .concat(),
    )
}

fn bmp(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn universal(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| u32::from(c).to_be_bytes())
        .collect()
}

/// `cert` with its subject replaced by `subject`.
fn graft(cert: &[u8], subject: &[u8]) -> Vec<u8> {
    let (outer, _) = der::read(cert).unwrap();
    let parts = der::children(outer.content).unwrap();
    let fields = der::children(parts[0].content).unwrap();
    let subject_index = if fields[0].tag == 0xa0 { 5 } else { 4 };
    let tbs: Vec<u8> = fields
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            if i == subject_index {
                subject.to_vec()
            } else {
                f.raw.to_vec()
            }
        })
        .collect();
    let rest: Vec<u8> = parts[1..].iter().flat_map(|p| p.raw.to_vec()).collect();
    der::write(0x30, &[der::write(0x30, &tbs), rest].concat())
}

#[test]
fn crafted_subjects_hash_as_openssl_hashes_them() {
    let base = {
        let path =
            std::env::temp_dir().join(format!("trustbake-hash-base-{}.der", std::process::id()));
        output(
            tool("openssl", "openssl")
                .args(["x509", "-outform", "DER", "-out"])
                .arg(&path)
                .arg("-in")
                .arg(fixture("root-ec.pem")),
        );
        std::fs::read(&path).unwrap()
    };
    // OpenSSL accepts only Numeric, Printable, T61, IA5, Universal, BMP and UTF8 strings, BIT
    // STRING and SEQUENCE as name values; certificates with others (VisibleString, OCTET
    // STRING, GeneralString) do not load, cannot reach a hashed directory, and are not cases.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty subject", name(&[])),
        (
            "mixed case and runs of whitespace",
            name(&[
                &[atv(C, 0x13, b"DE")],
                &[atv(CN, 0x0c, b"  Mixed   CASE\t\tName  ")],
            ]),
        ),
        (
            "printable string with outer spaces",
            name(&[&[atv(O, 0x13, b"   ACME   Corp   ")]]),
        ),
        (
            "multi-valued RDN, unsorted",
            name(&[&[
                atv(OU, 0x0c, b"Zeta Unit"),
                atv(O, 0x0c, b"Alpha Org"),
                atv(CN, 0x13, b"Multi"),
            ]]),
        ),
        (
            "multi-valued RDN, same type twice",
            name(&[&[atv(OU, 0x0c, b"b"), atv(OU, 0x0c, b"A")]]),
        ),
        (
            "non-ASCII UTF8String",
            name(&[&[atv(CN, 0x0c, "Zürich ÄÖÜ Ωmega ÉCOLE".as_bytes())]]),
        ),
        (
            "BMPString",
            name(&[&[atv(CN, 0x1e, &bmp("Ωmega Root Ⅱ MIXED"))]]),
        ),
        (
            "T61String with Latin-1",
            name(&[&[atv(CN, 0x14, b"Caf\xc9 T\xe9l\xe9tex ROOT")]]),
        ),
        (
            "UniversalString",
            name(&[&[atv(CN, 0x1c, &universal("Universal 𝔘 Root"))]]),
        ),
        (
            "IA5String email",
            name(&[
                &[atv(EMAIL, 0x16, b"Admin@Example.COM")],
                &[atv(CN, 0x13, b"Mail CA")],
            ]),
        ),
        (
            "NumericString copied as is",
            name(&[&[atv(SERIAL, 0x12, b"0042 17")]]),
        ),
        (
            "BIT STRING copied as is",
            name(&[&[atv(CN, 0x03, b"\x00Raw  BITS")]]),
        ),
        (
            "empty value",
            name(&[&[atv(CN, 0x0c, b"")], &[atv(O, 0x13, b"   ")]]),
        ),
        (
            "form feed and vertical tab",
            name(&[&[atv(CN, 0x0c, b"a\x0b\x0cb\r\nc")]]),
        ),
        (
            "long name (two-byte lengths)",
            name(&[
                &[atv(
                    O,
                    0x0c,
                    "Long Organisation Name ".repeat(12).as_bytes(),
                )],
                &[atv(CN, 0x0c, b"Long")],
            ]),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("trustbake-hash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (what, subject)) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.der"));
        std::fs::write(&path, graft(&base, subject)).unwrap();
        let out = output(
            tool("openssl", "openssl")
                .args([
                    "x509",
                    "-inform",
                    "DER",
                    "-noout",
                    "-subject_hash",
                    "-subject_hash_old",
                    "-in",
                ])
                .arg(&path),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            format!("{:08x}", subject_hash(subject).unwrap()),
            lines[0],
            "{what}: subject hash"
        );
        assert_eq!(
            format!("{:08x}", subject_hash_old(subject)),
            lines[1],
            "{what}: old subject hash"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
