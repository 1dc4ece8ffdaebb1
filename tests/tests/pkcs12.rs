//! PKCS12 Java trust stores, made by the real `keytool` in each form Java writes — JDK 12 and
//! later (PBES2 with AES-256, HMAC-SHA-256 MAC), the password-less form of JDK 18's cacerts,
//! and JDK 11's (RC2-40 certificates, HMAC-SHA-1 MAC) — in a Debian root's
//! `/etc/ssl/certs/java/cacerts` (ca-certificates-java with Java 9 and later): after an apply
//! keytool lists every old entry and the new ones as trusted certificates, the store keeps its
//! protection, and a Java TLS client trusting only that store reaches a loopback server whose
//! chain ends at an added root; a removal takes the entry out again.

use tests::java::{java_connects, keystore, listed};
use tests::{TlsServer, fixture, scratch, tool};

/// keytool's `-J` options for each form.
const FORMS: &[(&str, &[&str])] = &[
    ("jdk17", &[]),
    (
        "password-less",
        &[
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        ],
    ),
    (
        "jdk11",
        &[
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=PBEWithSHA1AndRC2_40",
            "-J-Dkeystore.pkcs12.macAlgorithm=HmacPBESHA1",
        ],
    ),
];

#[test]
fn every_form_of_pkcs12_store_gets_the_ca_and_java_trusts_it() {
    let work = scratch("pkcs12");
    let base = tests::bookworm_root();
    let server = TlsServer::start();
    for (form, options) in FORMS {
        let root = work.join(form);
        tests::copy_tree(&base, &root);
        let store = root.join("etc/ssl/certs/java/cacerts");
        keystore(
            &store,
            "PKCS12",
            options,
            &["v1-root.pem", "bmp-subject.pem"],
        );
        let before = listed(&store);
        assert!(
            !java_connects(&work, &store, server.port),
            "{form}: not yet trusted"
        );

        let cas = trustbake::load_cas(
            &[fixture("root-rsa.pem"), fixture("demo-root.pem")],
            trustbake::Policy::at(trustbake::process::now()),
        )
        .unwrap();
        let outcome = trustbake::apply(&trustbake::ApplyRequest::new(
            &root,
            &cas,
            trustbake::process::now(),
        ))
        .unwrap();
        assert!(outcome.detected.debian_java, "{form}");
        let after = listed(&store);
        assert_eq!(after.len(), before.len() + 2, "{form}: {after:?}");
        assert!(
            before.iter().all(|e| after.contains(e)),
            "{form}: old entries kept"
        );
        assert!(
            after
                .iter()
                .filter(|(a, _)| !before.iter().any(|(b, _)| b == a))
                .all(|(a, t)| a.starts_with("debian:") && t == "trustedCertEntry"),
            "{form}: {after:?}"
        );
        assert!(
            java_connects(&work, &store, server.port),
            "{form}: trusted after"
        );
        // openssl prints the protection on stderr.
        let info = tool("openssl", "openssl")
            .args(["pkcs12", "-info", "-noout", "-legacy"])
            .args(["-passin", "pass:changeit", "-in"])
            .arg(&store)
            .output()
            .unwrap();
        assert!(info.status.success(), "{form}: {info:?}");
        let protection = String::from_utf8_lossy(&info.stderr);
        match *form {
            "jdk17" => assert!(protection.contains("AES-256-CBC"), "{protection}"),
            "password-less" => assert!(!protection.contains("MAC:"), "{protection}"),
            _ => assert!(protection.contains("MAC: sha1"), "{protection}"),
        }

        // Again: nothing to add. Then the RSA root distrusted: Java refuses again.
        let again = trustbake::apply_preview(&trustbake::ApplyRequest::new(
            &root,
            &cas,
            trustbake::process::now(),
        ))
        .unwrap();
        assert!(again.entries.is_empty(), "{form}: {:?}", again.entries);
        let none = trustbake::Intake::default();
        let removal =
            trustbake::load_removals(&[fixture("root-rsa.pem").display().to_string()]).unwrap();
        trustbake::apply(
            &trustbake::ApplyRequest::new(&root, &none, trustbake::process::now()).remove(removal),
        )
        .unwrap();
        assert_eq!(listed(&store).len(), before.len() + 1, "{form}");
        assert!(
            !java_connects(&work, &store, server.port),
            "{form}: distrusted"
        );
    }
}
