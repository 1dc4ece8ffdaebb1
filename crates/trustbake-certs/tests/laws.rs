//! Laws of intake: the order of inputs does not change which CAs are taken, repeating an
//! input changes nothing, and PEM rendering round-trips.

use proptest::prelude::*;
use trustbake_certs::{Certificate, Policy, Source, intake, render_pem};

use super::{NOW, source};

const GOOD: &[&str] = &[
    "root-rsa.pem",
    "root-ec.pem",
    "intermediate.pem",
    "v1-root.pem",
    "bundle.pem",
    "trusted.pem",
    "root-rsa.der",
    "demo-root.pem",
];

fn sha_set(sources: &[Source]) -> Vec<String> {
    let cas = intake(sources, &Policy::at(NOW)).unwrap();
    let mut set: Vec<String> = cas
        .cas()
        .iter()
        .map(|ca| ca.certificate.sha256().hex())
        .collect();
    set.sort();
    set
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn input_order_does_not_change_the_result(order in Just((0..GOOD.len()).collect::<Vec<_>>()).prop_shuffle()) {
        let forward: Vec<Source> = GOOD.iter().map(|n| source(n)).collect();
        let shuffled: Vec<Source> = order.iter().map(|&i| source(GOOD[i])).collect();
        prop_assert_eq!(sha_set(&forward), sha_set(&shuffled));
    }

    #[test]
    fn repeating_inputs_changes_nothing(picks in proptest::collection::vec(0..GOOD.len(), 1..12)) {
        let once: Vec<Source> = { let mut p = picks.clone(); p.sort(); p.dedup(); p.iter().map(|&i| source(GOOD[i])).collect() };
        let repeated: Vec<Source> = picks.iter().map(|&i| source(GOOD[i])).collect();
        prop_assert_eq!(sha_set(&once), sha_set(&repeated));
    }

    #[test]
    fn pem_rendering_round_trips(index in 0..webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()) {
        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[index].as_ref();
        let cert = Certificate::from_der(der).unwrap();
        let again = intake(&[Source::new("x", cert.to_pem())], &Policy { allow_expired: true, ..Policy::at(0) }).unwrap();
        prop_assert_eq!(again.cas()[0].certificate.der(), der);
        prop_assert_eq!(cert.to_pem(), render_pem("CERTIFICATE", der));
    }

    #[test]
    fn intake_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = intake(&[Source::new("fuzz", bytes)], &Policy::at(NOW));
    }

    #[test]
    fn intake_never_panics_on_arbitrary_pem_bodies(body in "[A-Za-z0-9+/=\n!]{0,300}") {
        let text = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        let _ = intake(&[Source::new("fuzz", text)], &Policy::at(NOW));
    }
}
