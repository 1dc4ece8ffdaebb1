//! PKCS12 Java trust stores, made by the real `keytool` in each form Java writes — JDK 12 and
//! later (PBES2 with AES-256, HMAC-SHA-256 MAC), the password-less form of JDK 18's cacerts,
//! and JDK 11's (RC2-40 certificates, HMAC-SHA-1 MAC) — in a Debian root's
//! `/etc/ssl/certs/java/cacerts` (ca-certificates-java with Java 9 and later): after an apply
//! keytool lists every old entry and the new ones as trusted certificates, the store keeps its
//! protection, and a Java TLS client trusting only that store reaches a loopback server whose
//! chain ends at an added root; a removal takes the entry out again.

use std::path::Path;

use tests::{TlsServer, fixture, output, scratch, tool};

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

/// A trust store at `path` in `form`, holding `names` (fixtures) as `debian:NAME` entries.
fn keystore(path: &Path, form: &[&str], names: &[&str]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for name in names {
        output(
            tool("keytool", "openjdk-17-jre-headless")
                .args(form)
                .args(["-importcert", "-noprompt", "-storetype", "PKCS12"])
                .args(["-storepass", "changeit", "-alias"])
                .arg(format!("debian:{name}"))
                .arg("-file")
                .arg(fixture(name))
                .arg("-keystore")
                .arg(path),
        );
    }
}

/// (alias, entry type) of every entry, as keytool lists them.
fn listed(path: &Path) -> Vec<(String, String)> {
    let out = output(
        tool("keytool", "openjdk-17-jre-headless")
            .args(["-list", "-v", "-storepass", "changeit", "-keystore"])
            .arg(path),
    );
    let mut entries = Vec::new();
    let mut alias = String::new();
    for line in out.lines() {
        if let Some(a) = line.strip_prefix("Alias name: ") {
            alias = a.to_owned();
        }
        if let Some(t) = line.strip_prefix("Entry type: ") {
            entries.push((alias.clone(), t.to_owned()));
        }
    }
    entries.sort();
    entries
}

/// Whether a Java TLS client trusting only `store` completes a handshake with `port`.
fn java_connects(work: &Path, store: &Path, port: u16) -> bool {
    let source = work.join("Client.java");
    std::fs::write(
        &source,
        "import javax.net.ssl.*;\npublic class Client {\n  public static void main(String[] a) throws Exception {\n    SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket(\"127.0.0.1\", Integer.parseInt(a[0]));\n    s.startHandshake();\n    s.close();\n  }\n}\n",
    )
    .unwrap();
    tool("java", "openjdk-17-jdk-headless")
        .arg(format!("-Djavax.net.ssl.trustStore={}", store.display()))
        .arg("-Djavax.net.ssl.trustStoreType=PKCS12")
        .arg("-Djavax.net.ssl.trustStorePassword=changeit")
        .arg(&source)
        .arg(port.to_string())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn every_form_of_pkcs12_store_gets_the_ca_and_java_trusts_it() {
    let work = scratch("pkcs12");
    let base = tests::bookworm_root();
    let server = TlsServer::start();
    for (form, options) in FORMS {
        let root = work.join(form);
        tests::copy_tree(&base, &root);
        let store = root.join("etc/ssl/certs/java/cacerts");
        keystore(&store, options, &["v1-root.pem", "bmp-subject.pem"]);
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
