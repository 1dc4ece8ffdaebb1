//! What intake accepts, merges, warns about and refuses — each with its message.

use trustbake_certs::{KeyAlgorithm, Policy, Refusal, Source, intake};

use super::{NOW, source, take};

fn refused(names: &[&str], policy: Policy) -> Vec<String> {
    take(names, policy)
        .expect_err("must be refused")
        .refusals()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn roots_are_accepted_with_their_facts() {
    let cas = take(
        &["root-rsa.pem", "root-ec.pem", "intermediate.pem"],
        Policy::at(NOW),
    )
    .unwrap();
    let facts: Vec<(&str, String, bool, u8)> = cas
        .cas()
        .iter()
        .map(|ca| {
            let c = &ca.certificate;
            (
                c.label(),
                c.key().to_string(),
                c.is_authority(),
                c.version(),
            )
        })
        .collect();
    assert_eq!(
        facts,
        [
            ("Trustbake Test Root RSA", "RSA 2048".to_owned(), true, 3),
            ("Trustbake Test Root EC", "EC P-256".to_owned(), true, 3),
            (
                "Trustbake Test Intermediate",
                "RSA 2048".to_owned(),
                true,
                3
            ),
        ]
    );
    let root = &cas.cas()[0].certificate;
    assert_eq!(
        root.subject(),
        "CN=Trustbake Test Root RSA O=Trustbake Test"
    );
    assert_eq!(root.signature_algorithm(), "sha256WithRSAEncryption");
    assert!(cas.warnings().is_empty() && cas.notes().is_empty());
    assert!(matches!(
        cas.cas()[1].certificate.key().algorithm,
        KeyAlgorithm::Ec(_)
    ));
}

#[test]
fn a_bundle_with_commentary_gives_every_certificate_with_block_and_line() {
    let cas = take(&["bundle.pem"], Policy::at(NOW)).unwrap();
    let origins: Vec<String> = cas
        .cas()
        .iter()
        .map(|ca| ca.origins[0].to_string())
        .collect();
    assert_eq!(
        origins,
        [
            "bundle.pem (block 1, line 4)",
            "bundle.pem (block 2, line 28)"
        ]
    );
}

#[test]
fn der_is_accepted_and_equals_its_pem() {
    let der = take(&["root-rsa.der"], Policy::at(NOW)).unwrap();
    let pem = take(&["root-rsa.pem"], Policy::at(NOW)).unwrap();
    assert_eq!(der.cas()[0].certificate, pem.cas()[0].certificate);
    assert_eq!(der.cas()[0].origins[0].to_string(), "root-rsa.der");
}

#[test]
fn trusted_certificate_blocks_give_their_certificate_with_a_note() {
    let cas = take(&["trusted.pem"], Policy::at(NOW)).unwrap();
    let plain = take(&["root-ec.pem"], Policy::at(NOW)).unwrap();
    assert_eq!(cas.cas()[0].certificate, plain.cas()[0].certificate);
    assert_eq!(cas.notes().len(), 1);
    assert!(
        cas.notes()[0].contains("OpenSSL's extra trust settings (purposes, alias) are not carried"),
        "{:?}",
        cas.notes()
    );
}

#[test]
fn duplicates_are_merged_with_a_note_naming_both_sources() {
    let cas = take(
        &["root-rsa.pem", "bundle.pem", "root-rsa.der"],
        Policy::at(NOW),
    )
    .unwrap();
    assert_eq!(cas.cas().len(), 2);
    assert_eq!(cas.cas()[0].origins.len(), 3);
    assert_eq!(cas.notes().len(), 2);
    assert!(
        cas.notes()[0].contains(
            "is in both root-rsa.pem (block 1, line 1) and bundle.pem (block 1, line 4); added once"
        ),
        "{:?}",
        cas.notes()
    );
}

#[test]
fn a_v1_self_signed_root_is_an_authority() {
    let cas = take(&["v1-root.pem"], Policy::at(NOW)).unwrap();
    let cert = &cas.cas()[0].certificate;
    assert_eq!((cert.version(), cert.is_authority()), (1, true));
    assert_eq!(cert.authority_reason(), "version 1 self-signed certificate");
}

#[test]
fn weak_keys_and_signatures_are_warnings_not_errors() {
    let cas = take(&["weak-rsa.pem", "sha1-root.pem"], Policy::at(NOW)).unwrap();
    assert_eq!(
        cas.warnings(),
        [
            "weak-rsa.pem (block 1, line 1): 'Trustbake Weak RSA Root' has a weak RSA key of 1024 bits (below 2048)",
            "sha1-root.pem (block 1, line 1): 'Trustbake SHA1 Root' is signed with SHA-1 (sha1WithRSAEncryption), which is weak",
        ]
    );
}

#[test]
fn a_private_key_is_refused_and_nothing_is_taken() {
    assert_eq!(
        refused(&["root-ec.pem", "cert-and-key.pem"], Policy::at(NOW)),
        [
            "cert-and-key.pem (block 2, line 21): is a private key (PRIVATE KEY); never bake a private key into an image: remove the key and pass only the CA certificate"
        ]
    );
}

#[test]
fn every_key_block_type_is_refused_as_a_key() {
    for kind in [
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "DSA PRIVATE KEY",
    ] {
        let text = format!("-----BEGIN {kind}-----\nAAAA\n-----END {kind}-----\n");
        let err = intake(&[Source::new("k.pem", text)], &Policy::at(NOW)).unwrap_err();
        assert!(
            matches!(err.refusals(), [Refusal::PrivateKey { .. }]),
            "{kind}: {err}"
        );
    }
}

#[test]
fn other_blocks_damaged_pem_and_bad_der_are_refused_by_name() {
    assert_eq!(
        refused(
            &[
                "csr.pem",
                "garbage.pem",
                "bad-der.pem",
                "empty.pem",
                "text-only.pem"
            ],
            Policy::at(NOW)
        ),
        [
            "csr.pem (block 1, line 1): a 'CERTIFICATE REQUEST' block is not a certificate; pass only CERTIFICATE blocks",
            "garbage.pem (block 1, line 1): bad base64 (InvalidCharacter(33)); the PEM text is damaged (truncated or edited?): export the certificate again",
            "bad-der.pem (block 1, line 1): not a valid X.509 certificate (Parsing Error: NomError(Eof)); export the certificate again as PEM or DER",
            "empty.pem: is empty; pass a PEM or DER CA certificate",
            "text-only.pem: holds no certificate (no PEM block, and not DER); pass a PEM or DER CA certificate",
        ]
    );
}

#[test]
fn an_unterminated_block_and_trailing_der_are_refused() {
    let err = intake(
        &[Source::new(
            "cut.pem",
            "x\n-----BEGIN CERTIFICATE-----\nMIIB\n",
        )],
        &Policy::at(NOW),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA input refused: cut.pem (block 1, line 2): the 'CERTIFICATE' block has no END line; the PEM text is damaged (truncated or edited?): export the certificate again"
    );
    let mut der = std::fs::read(super::fixture_path("root-rsa.der")).unwrap();
    der.extend_from_slice(b"junk");
    let err = intake(&[Source::new("long.der", der)], &Policy::at(NOW)).unwrap_err();
    assert!(
        err.to_string()
            .contains("4 bytes of trailing data after the certificate"),
        "{err}"
    );
}

#[test]
fn leaves_are_refused_unless_allowed() {
    assert_eq!(
        refused(&["leaf.pem"], Policy::at(NOW)),
        [
            "leaf.pem (block 1, line 1): 'localhost' is not a certificate authority (BasicConstraints cA is FALSE): update-ca-trust leaves it out of every TLS bundle, so adding it would do nothing for TLS; pass the CA that issued it, or allow non-authorities to add it anyway"
        ]
    );
    let cas = take(
        &["leaf.pem"],
        Policy {
            allow_non_ca: true,
            ..Policy::at(NOW)
        },
    )
    .unwrap();
    assert!(
        cas.warnings()[0].contains("added because non-authorities are allowed"),
        "{:?}",
        cas.warnings()
    );
}

#[test]
fn expired_and_not_yet_valid_are_refused_unless_allowed() {
    assert_eq!(
        refused(&["expired.pem", "not-yet-valid.pem"], Policy::at(NOW)),
        [
            "expired.pem (block 1, line 1): 'Trustbake Expired Root' expired on 2011-01-01T00:00:00Z; pass a current CA, or allow expired certificates to add it anyway",
            "not-yet-valid.pem (block 1, line 1): 'Trustbake Future Root' is not valid before 2100-01-01T00:00:00Z; pass a current CA, or allow expired certificates to add it anyway",
        ]
    );
    let cas = take(
        &["expired.pem", "not-yet-valid.pem"],
        Policy {
            allow_expired: true,
            ..Policy::at(NOW)
        },
    )
    .unwrap();
    assert_eq!(cas.cas().len(), 2);
    assert_eq!(cas.warnings().len(), 2);
}

#[test]
fn one_refusal_means_nothing_is_taken_and_all_problems_are_listed() {
    let err = take(
        &["root-rsa.pem", "leaf.pem", "expired.pem"],
        Policy::at(NOW),
    )
    .unwrap_err();
    assert_eq!(err.refusals().len(), 2);
    assert!(
        err.to_string()
            .starts_with("CA input refused, 2 problems: leaf.pem"),
        "{err}"
    );
}

#[test]
fn no_input_is_refused() {
    let err = intake(&[], &Policy::at(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA input refused: no CA certificate given; pass at least one file, directory, or - for stdin"
    );
}

#[test]
fn file_stems_are_safe_and_stable() {
    let cas = take(
        &[
            "demo-root.pem",
            "odd-subject.pem",
            "bmp-subject.pem",
            "t61-subject.pem",
        ],
        Policy::at(NOW),
    )
    .unwrap();
    let stems: Vec<String> = cas
        .cas()
        .iter()
        .map(|ca| ca.certificate.file_stem())
        .collect();
    for (stem, ca) in stems.iter().zip(cas.cas()) {
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{stem}"
        );
        assert!(
            stem.ends_with(&ca.certificate.sha256().hex()[..8]),
            "{stem}"
        );
    }
    assert!(
        stems[0].starts_with("example-corp-root-ca-"),
        "{}",
        stems[0]
    );
    assert!(stems[1].starts_with("odd-whitespace-ca-"), "{}", stems[1]);
    assert!(stems[2].starts_with("mega-root-"), "{}", stems[2]);
    // A Latin-1 TeletexString CN is not a string to p11-kit: the label falls back to the O.
    assert!(stems[3].starts_with("trustbake-test-"), "{}", stems[3]);
}

#[test]
fn certifi_entries_have_certifi_shape() {
    let cas = take(&["demo-root.pem"], Policy::at(NOW)).unwrap();
    let cert = &cas.cas()[0].certificate;
    let entry = cert.certifi_entry();
    let lines: Vec<&str> = entry.lines().collect();
    assert_eq!(lines[0], "");
    assert_eq!(
        lines[1],
        "# Issuer: CN=Example Corp Root CA O=Example Corp OU=Security"
    );
    assert_eq!(lines[3], "# Label: \"Example Corp Root CA\"");
    assert!(lines[4].starts_with("# Serial: "));
    assert_eq!(
        lines[7],
        format!("# SHA256 Fingerprint: {}", cert.sha256().colon_hex())
    );
    assert_eq!(lines[8], "-----BEGIN CERTIFICATE-----");
    assert!(entry.ends_with("-----END CERTIFICATE-----\n"));
    let _ = source("demo-root.pem");
}
