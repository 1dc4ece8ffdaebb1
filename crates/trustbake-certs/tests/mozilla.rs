//! Mozilla's root set (the `webpki-root-certs` crate): real-world certificates of every shape.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Policy, Source, intake, render_pem};

#[test]
fn every_mozilla_root_parses_as_an_authority_with_a_label() {
    let mut stems = BTreeSet::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let cert = Certificate::from_der(der.as_ref()).unwrap();
        assert!(cert.is_authority(), "{}", cert.label());
        assert!(!cert.label().is_empty(), "{}", cert.subject());
        assert!(cert.key().bits >= 256, "{}: {}", cert.label(), cert.key());
        assert!(
            stems.insert(cert.file_stem()),
            "file stem collision: {}",
            cert.file_stem()
        );
    }
    assert!(stems.len() > 100);
}

#[test]
fn the_whole_set_as_one_bundle_is_taken_in_order() {
    let bundle: String = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| {
            format!(
                "# a comment line\n{}",
                render_pem("CERTIFICATE", der.as_ref())
            )
        })
        .collect();
    let cas = intake(
        &[Source::new("mozilla.pem", bundle)],
        &Policy {
            allow_expired: true,
            ..Policy::at(0)
        },
    )
    .unwrap();
    assert_eq!(
        cas.cas().len(),
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()
    );
    for (ca, der) in cas
        .cas()
        .iter()
        .zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS)
    {
        assert_eq!(ca.certificate.der(), der.as_ref());
    }
}
