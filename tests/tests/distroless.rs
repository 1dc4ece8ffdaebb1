//! distroless against the real Java: the canonical subject trustbake names keystore entries
//! by is `X500Principal.getName(CANONICAL)` for every Mozilla root and every odd fixture; a
//! distroless java image baked: the bundle appended line after line, the keystore is what
//! `java_keystore`'s rule makes of the new bundle (aliases and dates as Java computes them),
//! keytool reads it with `changeit`, the JRE's linked store is the same file, Python's `ssl`
//! and `openssl verify` take the bundle, `verify` trusts a chain to an added root only after.

use std::path::Path;

use tests::distroless::{BASE, JRE_CACERTS, distroless_java};
use tests::{fixture, jks_entries, output, scratch, tool, trustbake};
use trustbake_certs::{Certificate, read_bundle};
use trustbake_store::formats::jks::Keystore;

/// Prints, per certificate of each file, Java's canonical subject and notBefore (ms).
const CANON_JAVA: &str = r#"
import java.io.FileInputStream;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.security.auth.x500.X500Principal;

public class Canon {
    public static void main(String[] args) throws Exception {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        for (String path : args) {
            try (FileInputStream in = new FileInputStream(path)) {
                for (Certificate c : f.generateCertificates(in)) {
                    X509Certificate x = (X509Certificate) c;
                    System.out.println(x.getSubjectX500Principal().getName(X500Principal.CANONICAL)
                        + "\t" + x.getNotBefore().getTime());
                }
            }
        }
    }
}
"#;

/// Java's (canonical subject, notBefore ms) of every certificate of `pem`, in order.
fn java_says(work: &Path, pem: &Path) -> Vec<(String, i64)> {
    let source = work.join("Canon.java");
    std::fs::write(&source, CANON_JAVA).unwrap();
    let out = output(
        tool("java", "openjdk-17-jdk-headless")
            .arg(&source)
            .arg(pem)
            .env("LC_ALL", "C.UTF-8")
            .env(
                "JAVA_TOOL_OPTIONS",
                "-Dfile.encoding=UTF-8 -Dstdout.encoding=UTF-8",
            ),
    );
    out.lines()
        .filter(|l| !l.starts_with("Picked up"))
        .map(|l| {
            let (name, ms) = l.rsplit_once('\t').unwrap();
            (name.to_owned(), ms.parse().unwrap())
        })
        .collect()
}

#[test]
fn canonical_subjects_are_javas_for_every_mozilla_root_and_odd_fixture() {
    let work = scratch("distroless-canonical");
    let mut pem = String::new();
    let mut certs = Vec::new();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        certs.push(Certificate::from_der(der.as_ref()).unwrap());
    }
    for name in [
        "bmp-subject.pem",
        "t61-subject.pem",
        "odd-subject.pem",
        "multi-rdn.pem",
        "v1-root.pem",
        "demo-root.pem",
        "leaf.pem",
        "intermediate.pem",
    ] {
        certs.extend(read_bundle(&std::fs::read(fixture(name)).unwrap()).certificates);
    }
    for c in &certs {
        pem.push_str(&c.to_pem());
    }
    let all = work.join("all.pem");
    std::fs::write(&all, pem).unwrap();
    let java = java_says(&work, &all);
    assert_eq!(java.len(), certs.len());
    let wrong: Vec<String> = certs
        .iter()
        .zip(&java)
        .filter(|(c, (name, ms))| c.subject_canonical() != *name || c.not_before() * 1000 != *ms)
        .map(|(c, (name, _))| format!("ours {:?}\njava {name:?}", c.subject_canonical()))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_distroless_java_image_is_baked_by_its_rules_and_java_reads_it() {
    let work = scratch("distroless-image");
    let rootfs = work.join("rootfs");
    distroless_java(&rootfs);
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &rootfs,
        &layout,
        &[],
        tests::distroless::java_config(),
        "java",
    );
    let from = format!("oci:{}:java", layout.display());
    let to = format!("oci:{}:java-corp", layout.display());
    const ADDED: &[&str] = &["demo-root.pem", "root-rsa.pem", "t61-subject.pem"];
    let mut bake = trustbake();
    bake.args(["bake", "--from", &from, "--to", &to]);
    for name in ADDED {
        bake.arg("--ca").arg(fixture(name));
    }
    output(&mut bake);

    let baked = tests::unpack(&layout, "java-corp", &work.join("bundle"));
    // The bundle: the base's bytes, then each CA's PEM, line after line.
    let bundle = baked.join("etc/ssl/certs/ca-certificates.crt");
    let bytes = std::fs::read(&bundle).unwrap();
    let base_bytes = std::fs::read(rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(bytes.starts_with(&base_bytes));
    assert!(
        !String::from_utf8_lossy(&bytes).contains("\n\n"),
        "no blank line"
    );
    let certs = read_bundle(&bytes).certificates;
    assert_eq!(certs.len(), BASE.len() + ADDED.len());

    // The keystore: one entry per bundle certificate, in bundle order, named and dated as Java
    // computes it; keytool reads it with changeit.
    let store = baked.join("etc/ssl/certs/java/cacerts");
    let java = java_says(&work, &bundle);
    let ks = Keystore::parse(&std::fs::read(&store).unwrap()).unwrap();
    let entries: Vec<(String, i64)> = ks
        .entries
        .iter()
        .map(|e| (e.alias.clone(), e.timestamp_ms))
        .collect();
    assert_eq!(entries, java, "java_keystore's rule over the new bundle");
    assert_eq!(jks_entries(&store).len(), certs.len());
    assert_eq!(
        std::fs::read_link(baked.join(JRE_CACERTS)).unwrap(),
        Path::new("/etc/ssl/certs/java/cacerts"),
        "the JRE's store still links to the OS one"
    );

    // Python's ssl loads the bundle; openssl finds every added CA in it.
    let python = output(
        tool("python3", "python3")
            .args([
                "-c",
                "import ssl, sys\nc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\nc.load_verify_locations(cafile=sys.argv[1])\nprint(c.cert_store_stats()['x509'])",
            ])
            .arg(&bundle),
    );
    assert_eq!(python.trim(), certs.len().to_string());
    for name in ADDED {
        output(
            tool("openssl", "openssl")
                .args(["verify", "-CAfile"])
                .arg(&bundle)
                .arg(fixture(name)),
        );
    }

    // inspect names the family; verify trusts the test leaf's chain after the bake only.
    let inspect: serde_json::Value =
        serde_json::from_str(&output(trustbake().args(["inspect", "--json", &to]))).unwrap();
    assert_eq!(inspect["platforms"][0]["detected"]["family"], "distroless");
    assert_eq!(
        inspect["platforms"][0]["detected"]["distroless"]["java"],
        true
    );
    let chain = tests::leaf_chain(&work);
    let verify = |image: &str| {
        trustbake()
            .args(["verify", "--chain"])
            .arg(&chain)
            .arg(image)
            .output()
            .unwrap()
    };
    let (before, after) = (verify(&from), verify(&to));
    assert!(!before.status.success(), "{before:?}");
    assert!(after.status.success(), "{after:?}");
    let said = String::from_utf8_lossy(&after.stdout);
    assert!(
        said.contains("trusted by all 2 consumers"),
        "OpenSSL (SSL_CERT_FILE) and Java: {said}"
    );

    // dockerfile cannot: no shell, no tool.
    let dockerfile = trustbake()
        .args(["dockerfile", "--from", &from, "--output"])
        .arg(work.join("context"))
        .arg("--ca")
        .arg(fixture("demo-root.pem"))
        .output()
        .unwrap();
    assert_eq!(dockerfile.status.code(), Some(2), "{dockerfile:?}");
    assert!(String::from_utf8_lossy(&dockerfile.stderr).contains("trustbake bake"));
}
