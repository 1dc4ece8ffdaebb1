//! distroless-shaped roots, laid out as its build rules leave them (docs/families.md): the
//! bundle as rules_distroless' `cacerts` writes it (each certificate file line by line, no
//! blank line between), Java's keystore as `java_keystore` writes it from that bundle (alias
//! the canonical subject, date the notBefore, bundle order) with the JRE's store linked to it,
//! `PRETTY_NAME="Distroless"`, one dpkg status file per package.

use std::os::unix::fs::symlink;
use std::path::Path;

use trustbake_certs::{Certificate, read_bundle};
use trustbake_store::formats::jks::{EntryBody, Keystore, KeystoreEntry};

use crate::fixture;

/// The CAs the fixture's bundle holds.
pub const BASE: &[&str] = &[
    "v1-root.pem",
    "bmp-subject.pem",
    "odd-subject.pem",
    "multi-rdn.pem",
];

/// The JRE's own store, a link to the OS keystore as in distroless' java images.
pub const JRE_CACERTS: &str = "usr/lib/jvm/temurin17_jre_amd64/lib/security/cacerts";

/// A keystore by `java_keystore`'s rule over `certs`, in order.
pub fn keystore_by_the_rule(certs: &[Certificate]) -> Vec<u8> {
    Keystore {
        entries: certs
            .iter()
            .map(|c| KeystoreEntry {
                alias: c.subject_canonical(),
                timestamp_ms: c.not_before() * 1000,
                body: EntryBody::TrustedCert {
                    cert_type: "X.509".to_owned(),
                    der: c.der().to_vec(),
                },
            })
            .collect(),
    }
    .to_bytes()
}

/// A distroless java root at `root`.
pub fn distroless_java(root: &Path) {
    let put = |path: &str, bytes: &[u8]| {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    };
    put(
        "etc/os-release",
        b"PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n",
    );
    put(
        "var/lib/dpkg/status.d/libc6",
        b"Package: libc6\nVersion: 2.36-9+deb12u9\n",
    );
    let mut bundle = Vec::new();
    for name in BASE {
        bundle.extend_from_slice(&std::fs::read(fixture(name)).unwrap());
    }
    put("etc/ssl/certs/ca-certificates.crt", &bundle);
    let certs = read_bundle(&bundle).certificates;
    put("etc/ssl/certs/java/cacerts", &keystore_by_the_rule(&certs));
    let jre = root.join(JRE_CACERTS);
    std::fs::create_dir_all(jre.parent().unwrap()).unwrap();
    symlink("/etc/ssl/certs/java/cacerts", jre).unwrap();
    // The JRE's launcher (a stand-in: the image is never run here).
    put("usr/lib/jvm/temurin17_jre_amd64/bin/java", b"\x7fELF");
}

/// The config distroless' java images carry: user 65532, `SSL_CERT_FILE` (from the base image)
/// and `JAVA_HOME`.
pub fn java_config() -> serde_json::Value {
    serde_json::json!({"architecture": "amd64", "os": "linux", "config": {
        "User": "65532",
        "Env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "JAVA_HOME=/usr/lib/jvm/temurin17_jre_amd64",
            "LANG=C.UTF-8"
        ],
        "Entrypoint": ["/usr/lib/jvm/temurin17_jre_amd64/bin/java", "-jar"]
    }})
}
