//! Fingerprints, serials, validity, subject hashes and names computed by trustbake, checked against
//! `openssl x509` for the generated test CAs and for Mozilla's root set.

use std::path::Path;

use tests::{fixture, output, tool};
use trustbake_certs::{Certificate, Policy, Source, intake};

/// What `openssl x509` says of one certificate file.
struct OpenSsl {
    sha256: String,
    sha1: String,
    md5: String,
    serial_hex: String,
    start: i64,
    end: i64,
    hash: String,
    hash_old: String,
}

fn openssl_facts(path: &Path, inform: &str) -> OpenSsl {
    let fp = |alg: &str| {
        let out = output(
            tool("openssl", "openssl")
                .args([
                    "x509",
                    "-noout",
                    "-inform",
                    inform,
                    "-fingerprint",
                    alg,
                    "-in",
                ])
                .arg(path),
        );
        out.trim()
            .rsplit('=')
            .next()
            .unwrap_or_default()
            .replace(':', "")
            .to_ascii_lowercase()
    };
    let out = output(
        tool("openssl", "openssl")
            .args([
                "x509",
                "-noout",
                "-inform",
                inform,
                "-serial",
                "-startdate",
                "-enddate",
                "-dateopt",
                "iso_8601",
                "-subject_hash",
                "-subject_hash_old",
                "-in",
            ])
            .arg(path),
    );
    let field = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let hashes: Vec<&str> = out.lines().filter(|l| !l.contains('=')).collect();
    OpenSsl {
        hash: hashes[0].to_owned(),
        hash_old: hashes[1].to_owned(),
        sha256: fp("-sha256"),
        sha1: fp("-sha1"),
        md5: fp("-md5"),
        serial_hex: field("serial="),
        start: iso_to_unix(&field("notBefore=")),
        end: iso_to_unix(&field("notAfter=")),
    }
}

/// `2020-01-01 00:00:00Z` → Unix seconds (days-from-civil, UTC).
fn iso_to_unix(iso: &str) -> i64 {
    let n = |s: &str| {
        s.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad date {iso:?}"))
    };
    let (date, time) = iso
        .trim_end_matches('Z')
        .split_once(' ')
        .unwrap_or_else(|| panic!("bad date {iso:?}"));
    let d: Vec<i64> = date.split('-').map(n).collect();
    let t: Vec<i64> = time.split(':').map(n).collect();
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

/// Decimal string of a big-endian hex number.
fn hex_to_decimal(hex: &str) -> String {
    let mut digits = vec![0u32]; // little-endian base 10^9
    for c in hex.chars() {
        let mut carry = c.to_digit(16).unwrap_or_else(|| panic!("bad hex {hex}"));
        for d in &mut digits {
            let v = u64::from(*d) * 16 + u64::from(carry);
            *d = (v % 1_000_000_000) as u32;
            carry = (v / 1_000_000_000) as u32;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    let mut out = digits.last().map(u32::to_string).unwrap_or_default();
    for d in digits.iter().rev().skip(1) {
        out.push_str(&format!("{d:09}"));
    }
    out
}

fn check(cert: &Certificate, facts: &OpenSsl, what: &str) {
    assert_eq!(cert.sha256().hex(), facts.sha256, "{what}: sha256");
    assert_eq!(cert.sha1().hex(), facts.sha1, "{what}: sha1");
    assert_eq!(cert.md5().hex(), facts.md5, "{what}: md5");
    let expected = match facts.serial_hex.strip_prefix('-') {
        Some(hex) => format!("-{}", hex_to_decimal(hex)),
        None => hex_to_decimal(&facts.serial_hex),
    };
    assert_eq!(cert.serial(), expected, "{what}: serial");
    assert_eq!(
        (cert.not_before(), cert.not_after()),
        (facts.start, facts.end),
        "{what}: validity"
    );
    assert_eq!(
        format!("{:08x}", cert.subject_hash()),
        facts.hash,
        "{what}: subject hash"
    );
    assert_eq!(
        format!("{:08x}", cert.subject_hash_old()),
        facts.hash_old,
        "{what}: old subject hash"
    );
}

fn lenient() -> Policy {
    Policy {
        allow_non_ca: true,
        allow_expired: true,
        now: 0,
    }
}

#[test]
fn generated_certificates_agree_with_openssl() {
    for name in [
        "root-rsa.pem",
        "root-ec.pem",
        "intermediate.pem",
        "leaf.pem",
        "expired.pem",
        "not-yet-valid.pem",
        "v1-root.pem",
        "odd-subject.pem",
        "bmp-subject.pem",
        "t61-subject.pem",
        "multi-rdn.pem",
        "weak-rsa.pem",
        "sha1-root.pem",
        "demo-root.pem",
    ] {
        let path = fixture(name);
        let intake = intake(
            &[Source::new(name, std::fs::read(&path).unwrap())],
            &lenient(),
        )
        .unwrap();
        check(
            &intake.cas()[0].certificate,
            &openssl_facts(&path, "PEM"),
            name,
        );
    }
    let der = fixture("root-rsa.der");
    let cert = Certificate::from_der(&std::fs::read(&der).unwrap()).unwrap();
    check(&cert, &openssl_facts(&der, "DER"), "root-rsa.der");
}

#[test]
fn mozilla_roots_agree_with_openssl() {
    let dir = tempfile_dir();
    for (i, root) in webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().enumerate() {
        let path = dir.join(format!("{i}.der"));
        std::fs::write(&path, root.as_ref()).unwrap();
        let cert = Certificate::from_der(root.as_ref()).unwrap();
        check(
            &cert,
            &openssl_facts(&path, "DER"),
            &format!("Mozilla root {i} '{}'", cert.label()),
        );
        assert!(
            cert.is_authority(),
            "Mozilla root '{}' must be an authority",
            cert.label()
        );
    }
}

#[test]
fn serial_conversion_is_exact() {
    assert_eq!(hex_to_decimal("01"), "1");
    assert_eq!(hex_to_decimal("FF"), "255");
    assert_eq!(
        hex_to_decimal("0444AF5C6F6B36A4D94D3B3AD3F5B1F0"),
        "5673544914674071326580958969166410224"
    );
    assert_eq!(iso_to_unix("1970-01-02 00:00:01Z"), 86_401);
    assert_eq!(iso_to_unix("2020-01-01 00:00:00Z"), 1_577_836_800);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trustbake-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The subject attributes as `openssl x509 -nameopt multiline,utf8,-esc_msb` decodes them.
fn openssl_subject(path: &Path) -> Vec<(String, String)> {
    let out = output(
        tool("openssl", "openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "multiline,utf8,-esc_msb",
                "-in",
            ])
            .arg(path),
    );
    out.lines()
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once("= ")?;
            Some((name.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

#[test]
fn names_decode_as_openssl_decodes_them() {
    // BMPString, T61String (Latin-1), UTF8String with runs of whitespace kept as they are.
    for name in [
        "odd-subject.pem",
        "bmp-subject.pem",
        "t61-subject.pem",
        "root-ec.pem",
        "v1-root.pem",
    ] {
        let path = fixture(name);
        let cert = intake(
            &[Source::new(name, std::fs::read(&path).unwrap())],
            &lenient(),
        )
        .unwrap()
        .cas()[0]
            .certificate
            .clone();
        let attrs = openssl_subject(&path);
        let cn = attrs
            .iter()
            .find(|(k, _)| k == "commonName")
            .map(|(_, v)| v.clone())
            .unwrap();
        if name != "t61-subject.pem" {
            assert_eq!(cert.label(), cn, "{name}: label = openssl's commonName");
        }
        let o = attrs
            .iter()
            .find(|(k, _)| k == "organizationName")
            .map(|(_, v)| v.clone())
            .unwrap();
        let rendered = trustbake_certs::python_unicode_escape(&format!("CN={cn} O={o}"));
        assert!(
            cert.subject().starts_with(&rendered),
            "{name}: {:?} should start with {rendered:?}",
            cert.subject()
        );
    }
    let cert = Certificate::from_der(&pem_der("multi-rdn.pem")).unwrap();
    assert_eq!(cert.label(), "Trustbake Multi RDN Root");
    assert_eq!(
        cert.subject(),
        "CN=Trustbake Multi RDN Root O=Trustbake Test OU=Multi Valued"
    );
}

fn pem_der(name: &str) -> Vec<u8> {
    let path = tempfile_dir().join(format!("{name}.der"));
    output(
        tool("openssl", "openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(fixture(name))
            .arg("-out")
            .arg(&path),
    );
    std::fs::read(path).unwrap()
}
