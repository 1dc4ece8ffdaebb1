//! The Debian family: local .crt, the link, the rebuilt bundle, hash links, Java; and certifi
//! builds that must be left alone.

use trustbake_certs::Certificate;
use trustbake_store::{Content, MemRoot, Meta, StoreKind, formats, plan};

use super::{OPTIONS, file, fixture, mozilla, shas};

/// An Ubuntu-18.04-like root with `base` as the distribution's CAs.
pub(crate) fn ubuntu(base: &[Certificate]) -> MemRoot {
    let mut r = MemRoot::new();
    r.file(
        "/etc/os-release",
        "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"18.04\"\n",
        Meta::root(0o644, 1),
    );
    let mut conf = String::from("# comment\n");
    let mut bundle = Vec::new();
    for (i, c) in base.iter().enumerate() {
        let name = format!("mozilla/Root_{i}.crt");
        r.file(
            &format!("/usr/share/ca-certificates/{name}"),
            c.to_pem(),
            Meta::root(0o644, 1),
        );
        conf.push_str(&format!("{name}\n"));
        bundle.extend_from_slice(c.to_pem().as_bytes());
        r.symlink(
            &format!("/etc/ssl/certs/Root_{i}.pem"),
            &format!("/usr/share/ca-certificates/{name}"),
        );
        r.symlink(
            &format!("/etc/ssl/certs/{:08x}.0", c.subject_hash()),
            &format!("Root_{i}.pem"),
        );
    }
    conf.push_str("!mozilla/Disabled.crt\n");
    r.file("/etc/ca-certificates.conf", conf, Meta::root(0o644, 1));
    r.file(
        "/etc/ssl/certs/ca-certificates.crt",
        bundle,
        Meta::root(0o644, 1),
    );
    r.dir("/usr/local/share/ca-certificates", Meta::root(0o755, 1));
    r
}

#[test]
fn a_local_crt_its_link_the_bundle_and_the_hash_link() {
    let base = mozilla(3);
    let root = ubuntu(&base);
    let ca = fixture("demo-root.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let stem = ca.file_stem();
    let crt = format!("/usr/local/share/ca-certificates/trustbake/{stem}.crt");
    assert_eq!(file(&plan, &crt), ca.to_pem().as_bytes());
    let link = plan
        .items
        .iter()
        .find(|i| i.path == format!("/etc/ssl/certs/{stem}.pem"))
        .unwrap();
    assert_eq!(link.content, Content::Symlink(crt.clone()));
    let bundle = file(&plan, "/etc/ssl/certs/ca-certificates.crt");
    let mut expected: Vec<String> = base.iter().map(|c| c.sha256().hex()).collect();
    expected.push(ca.sha256().hex());
    assert_eq!(
        shas(bundle),
        expected,
        "conf entries first, then local certs"
    );
    let hash = plan
        .items
        .iter()
        .find(|i| i.path == format!("/etc/ssl/certs/{:08x}.0", ca.subject_hash()))
        .unwrap();
    assert_eq!(hash.content, Content::Symlink(format!("{stem}.pem")));
    assert!(plan.items.iter().any(
        |i| i.path == "/usr/local/share/ca-certificates/trustbake" && i.content == Content::Dir
    ));
}

#[test]
fn hash_collisions_are_numbered_in_file_name_order() {
    let base = mozilla(2);
    let mut root = ubuntu(&base);
    let ca = fixture("demo-root.pem");
    // Another file with the same subject hash already linked as .0, sorting after ours.
    let hash = format!("{:08x}", ca.subject_hash());
    root.file(
        "/usr/share/ca-certificates/zz/zzz-other.crt",
        base[0].to_pem(),
        Meta::root(0o644, 1),
    );
    root.symlink(
        "/etc/ssl/certs/zzz-other.pem",
        "/usr/share/ca-certificates/zz/zzz-other.crt",
    );
    root.symlink(&format!("/etc/ssl/certs/{hash}.0"), "zzz-other.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let link = |n: u32| {
        plan.items
            .iter()
            .find(|i| i.path == format!("/etc/ssl/certs/{hash}.{n}"))
            .map(|i| i.content.clone())
    };
    assert_eq!(
        link(0),
        Some(Content::Symlink(format!("{}.pem", ca.file_stem())))
    );
    assert_eq!(link(1), Some(Content::Symlink("zzz-other.pem".to_owned())));
}

#[test]
fn java_cacerts_gets_the_debian_alias() {
    let mut root = ubuntu(&mozilla(1));
    let ks = formats::jks::Keystore {
        entries: Vec::new(),
    };
    root.file(
        "/etc/ssl/certs/java/cacerts",
        ks.to_bytes(),
        Meta::root(0o644, 77),
    );
    let ca = fixture("demo-root.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let ks = formats::jks::Keystore::parse(file(&plan, "/etc/ssl/certs/java/cacerts")).unwrap();
    assert_eq!(
        ks.entries[0].alias,
        format!("debian:{}.pem", ca.file_stem())
    );
    assert_eq!(ks.entries[0].timestamp_ms, 77_000);
}

#[test]
fn distribution_certifi_and_links_into_the_os_store_are_left_alone() {
    let mut root = ubuntu(&mozilla(1));
    // Debian's python3-certifi: patched core.py, no cacert.pem.
    root.file(
        "/usr/lib/python3/dist-packages/certifi/core.py",
        "def where():\n    return \"/etc/ssl/certs/ca-certificates.crt\"\n",
        Meta::root(0o644, 1),
    );
    // A pip certifi whose cacert.pem was replaced by a link to the OS bundle.
    root.file(
        "/usr/local/lib/python3.6/dist-packages/certifi/core.py",
        "def where(): ...\n",
        Meta::root(0o644, 1),
    );
    root.symlink(
        "/usr/local/lib/python3.6/dist-packages/certifi/cacert.pem",
        "/etc/ssl/certs/ca-certificates.crt",
    );
    // pip's vendored copy.
    root.file(
        "/usr/lib/python3/dist-packages/pip/_vendor/certifi/cacert.pem",
        "x",
        Meta::root(0o644, 1),
    );
    root.file(
        "/usr/lib/python3/dist-packages/pip/_vendor/certifi/core.py",
        "x",
        Meta::root(0o644, 1),
    );
    let (plan, report) = plan(&root, &[fixture("demo-root.pem")], None, &OPTIONS).unwrap();
    let reasons: Vec<(String, String)> = report
        .stores
        .iter()
        .filter(|s| s.kind == StoreKind::Certifi)
        .map(|s| (s.store.clone(), s.skipped[0].reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|(_, r)| r.contains("links to the OS store (/etc/ssl/certs/ca-certificates.crt)")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(_, r)| r.contains("distribution build")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(_, r)| r.contains("vendored")),
        "{reasons:?}"
    );
    assert!(!plan.items.iter().any(|i| i.path.contains("/certifi/")));
}

#[test]
fn a_damaged_pkcs12_keystore_is_named_and_left_as_it_is() {
    let mut root = ubuntu(&mozilla(2));
    // ca-certificates-java with Java 9 or later: PKCS12 (DER, a long-form SEQUENCE).
    let mut p12 = vec![0x30, 0x82, 0x04, 0xd2, 0x02, 0x01, 0x03];
    p12.resize(1238, 0);
    root.file("/etc/ssl/certs/java/cacerts", p12, Meta::root(0o644, 1));
    let ca = fixture("demo-root.pem");
    let (plan, report) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert!(
        !plan
            .items
            .iter()
            .any(|i| i.path == "/etc/ssl/certs/java/cacerts")
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("PKCS12") && n.contains("left as it is")),
        "{:?}",
        report.notes
    );
}
