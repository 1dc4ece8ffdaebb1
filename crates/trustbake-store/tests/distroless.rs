//! distroless: the bundle appended to line after line (no blank line, as rules_distroless'
//! `cacerts` writes it), the Java keystore given the same CAs by `java_keystore`'s rule (alias
//! the canonical subject, date the notBefore, bundle order), nothing else written; removal
//! gives the base back.

use trustbake_certs::Certificate;
use trustbake_store::formats::jks::{EntryBody, Keystore, KeystoreEntry};
use trustbake_store::{MemRoot, Meta, Removal, RootView, StoreKind, detect, plan};

use super::{OPTIONS, file, fixture, mozilla};

/// A keystore by `java_keystore`'s rule over `certs`, in order.
pub(crate) fn by_the_rule(certs: &[Certificate]) -> Vec<u8> {
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

/// `gcr.io/distroless/java17-debian12` in miniature: `base` in the bundle and the keystore,
/// the JRE's store linked to it.
pub(crate) fn distroless_java(base: &[Certificate]) -> MemRoot {
    let mut r = MemRoot::new();
    r.file(
        "/etc/os-release",
        "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\n",
        Meta::root(0o644, 1),
    );
    r.dir("/var/lib/dpkg/status.d", Meta::root(0o755, 1));
    let mut bundle = Vec::new();
    for c in base {
        bundle.extend_from_slice(c.to_pem().as_bytes());
    }
    r.file(
        "/etc/ssl/certs/ca-certificates.crt",
        bundle,
        Meta::root(0o555, 1),
    );
    r.file(
        "/etc/ssl/certs/java/cacerts",
        by_the_rule(base),
        Meta::root(0o555, 1),
    );
    r.symlink(
        "/usr/lib/jvm/temurin17_jre_amd64/lib/security/cacerts",
        "/etc/ssl/certs/java/cacerts",
    );
    r
}

#[test]
fn detected_as_distroless_not_debian() {
    let layout = detect(&distroless_java(&mozilla(2))).unwrap();
    assert_eq!(layout.family.as_str(), "distroless");
    assert!(!layout.debian);
    assert!(layout.distroless.unwrap().java);
}

#[test]
fn the_bundle_and_the_keystore_are_what_the_rules_make_of_the_longer_bundle() {
    let base = mozilla(3);
    let mut root = distroless_java(&base);
    let cas = [fixture("demo-root.pem"), fixture("bmp-subject.pem")];
    let (first, report) = plan(&root, &cas, None, &OPTIONS).unwrap();
    let paths: Vec<&str> = first.items.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/ssl/certs/java/cacerts"
        ],
        "nothing else"
    );
    let mut added = cas.to_vec();
    added.sort_by_key(Certificate::sha256);
    let all: Vec<Certificate> = base.iter().chain(&added).cloned().collect();
    let mut bundle = Vec::new();
    for c in &all {
        bundle.extend_from_slice(c.to_pem().as_bytes());
    }
    assert_eq!(
        file(&first, "/etc/ssl/certs/ca-certificates.crt"),
        bundle.as_slice()
    );
    assert!(
        file(&first, "/etc/ssl/certs/java/cacerts") == by_the_rule(&all).as_slice(),
        "the keystore is java_keystore's of the new bundle"
    );
    assert!(first.items.iter().all(|i| i.meta.mode == 0o555));
    let kinds: Vec<StoreKind> = report.stores.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StoreKind::DistrolessBundle, StoreKind::JavaCacerts]);
    root.apply(&first);
    let (again, _) = plan(&root, &cas, None, &OPTIONS).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn removing_what_was_added_gives_the_base_back() {
    let mut root = distroless_java(&mozilla(3));
    let base = root.clone();
    let ca = fixture("demo-root.pem");
    root.apply(
        &plan(&root, std::slice::from_ref(&ca), None, &OPTIONS)
            .unwrap()
            .0,
    );
    let options = trustbake_store::Options {
        remove: vec![Removal::Certificate(Box::new(ca))],
        ..OPTIONS
    };
    root.apply(&plan(&root, &[], None, &options).unwrap().0);
    for path in base.paths() {
        assert_eq!(root.read(path).ok(), base.read(path).ok(), "{path}");
    }
}
