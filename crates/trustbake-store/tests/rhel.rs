//! The RHEL family: anchors, every extracted output in its own format, directory-hash.

use trustbake_certs::Certificate;
use trustbake_store::formats::jks::Keystore;
use trustbake_store::{Content, MemRoot, Meta, RootView, StoreKind, formats, plan};

use super::{OPTIONS, add_certifi, file, fixture, mozilla, read, shas};

/// A UBI-9-like root: p11-kit outputs made from `base`, the RPM's static links, the Anchore
/// venv with certifi.
pub(crate) fn ubi9(base: &[Certificate]) -> MemRoot {
    let refs: Vec<&Certificate> = base.iter().collect();
    let ro = Meta::root(0o444, 10);
    let mut r = MemRoot::new();
    r.file(
        "/etc/os-release",
        "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
        Meta::root(0o644, 1),
    );
    r.dir("/etc/pki/ca-trust/source/anchors", Meta::root(0o755, 1));
    r.file(
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        formats::pem_bundle_append(b"", &refs),
        ro,
    );
    r.file(
        "/etc/pki/ca-trust/extracted/pem/email-ca-bundle.pem",
        formats::pem_bundle_append(b"", &refs),
        ro,
    );
    r.file(
        "/etc/pki/ca-trust/extracted/pem/objsign-ca-bundle.pem",
        formats::pem_bundle_append(b"", &refs),
        ro,
    );
    r.file(
        "/etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
        formats::openssl_bundle_append(b"", &refs),
        ro,
    );
    let mut ks = Keystore {
        entries: Vec::new(),
    };
    for c in base {
        ks.add_trusted(&formats::jks::p11_kit_alias(c.label()), c.der(), 10_000);
    }
    r.file(
        "/etc/pki/ca-trust/extracted/java/cacerts",
        ks.to_bytes(),
        ro,
    );
    r.file(
        "/etc/pki/ca-trust/extracted/edk2/cacerts.bin",
        formats::edk2_append(b"", &refs),
        ro,
    );
    r.dir(
        "/etc/pki/ca-trust/extracted/pem/directory-hash",
        Meta::root(0o555, 10),
    );
    r.symlink(
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    );
    r.symlink("/etc/ssl/certs", "/etc/pki/tls/certs");
    r.file(
        "/home/anchore/venv/pyvenv.cfg",
        "home = /usr/bin\nversion = 3.11.7\n",
        Meta {
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: 5,
        },
    );
    add_certifi(
        &mut r,
        "/home/anchore/venv/lib/python3.11/site-packages",
        base,
    );
    r
}

#[test]
fn every_output_gets_the_new_authorities_in_its_own_format() {
    let base = mozilla(5);
    let root = ubi9(&base);
    let cas = [fixture("root-rsa.pem"), fixture("root-ec.pem")];
    let (plan, report) = plan(&root, &cas, None, &OPTIONS).unwrap();
    assert_eq!(report.detected.python.as_deref(), Some("3.11"));
    assert_eq!(report.detected.rhel_outputs.len(), 6);

    let mut expected: Vec<String> = base.iter().map(|c| c.sha256().hex()).collect();
    let mut new: Vec<&Certificate> = cas.iter().collect();
    new.sort_by_key(|c| c.sha256());
    expected.extend(new.iter().map(|c| c.sha256().hex()));
    for path in [
        "pem/tls-ca-bundle.pem",
        "pem/email-ca-bundle.pem",
        "pem/objsign-ca-bundle.pem",
        "openssl/ca-bundle.trust.crt",
    ] {
        let path = format!("/etc/pki/ca-trust/extracted/{path}");
        let bytes = file(&plan, &path);
        assert_eq!(shas(bytes), expected, "{path}");
        assert!(
            bytes.starts_with(&read(&root, &path)),
            "{path}: the base's bytes are kept"
        );
    }
    let tls = String::from_utf8(
        file(&plan, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem").to_vec(),
    )
    .unwrap();
    assert!(
        tls.contains(&format!(
            "\n\n# {}\n-----BEGIN CERTIFICATE-----\n",
            new[0].label()
        )),
        "p11-kit's comment format"
    );
    let trusted = String::from_utf8(
        file(
            &plan,
            "/etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
        )
        .to_vec(),
    )
    .unwrap();
    assert_eq!(
        trusted
            .matches("-----BEGIN TRUSTED CERTIFICATE-----")
            .count(),
        7
    );

    let ks = Keystore::parse(file(&plan, "/etc/pki/ca-trust/extracted/java/cacerts")).unwrap();
    let aliases: Vec<&str> = ks.entries.iter().map(|e| e.alias.as_str()).collect();
    assert!(
        aliases.contains(&"trustbaketestrootrsa") && aliases.contains(&"trustbaketestrootec"),
        "{aliases:?}"
    );
    assert_eq!(
        ks.entries.last().unwrap().timestamp_ms,
        10_000,
        "timestamp from the base keystore's mtime, never the clock"
    );

    let edk2 =
        formats::edk2_certificates(file(&plan, "/etc/pki/ca-trust/extracted/edk2/cacerts.bin"))
            .unwrap();
    assert_eq!(edk2.len(), 7);

    for ca in &cas {
        let anchor = format!("/etc/pki/ca-trust/source/anchors/{}.pem", ca.file_stem());
        assert_eq!(file(&plan, &anchor), ca.to_pem().as_bytes());
        let item = plan.items.iter().find(|i| i.path == anchor).unwrap();
        assert_eq!(
            (item.meta.mode, item.meta.uid, item.meta.mtime),
            (0o644, 0, OPTIONS.mtime)
        );
    }
    let item = plan
        .items
        .iter()
        .find(|i| i.path.ends_with("tls-ca-bundle.pem"))
        .unwrap();
    assert_eq!(
        (item.meta.mode, item.meta.uid),
        (0o444, 0),
        "outputs keep the base's owner and mode"
    );
}

#[test]
fn directory_hash_gets_a_file_and_both_hash_links() {
    let root = ubi9(&mozilla(2));
    let ca = fixture("root-ec.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let dir = "/etc/pki/ca-trust/extracted/pem/directory-hash";
    assert_eq!(
        file(&plan, &format!("{dir}/Trustbake_Test_Root_EC.pem")),
        ca.to_pem().as_bytes()
    );
    for hash in [ca.subject_hash(), ca.subject_hash_old()] {
        let link = plan
            .items
            .iter()
            .find(|i| i.path == format!("{dir}/{hash:08x}.0"))
            .unwrap();
        assert_eq!(
            link.content,
            Content::Symlink("Trustbake_Test_Root_EC.pem".to_owned())
        );
    }
}

#[test]
fn the_venv_certifi_is_patched_and_its_record_kept_true() {
    let root = ubi9(&mozilla(3));
    let ca = fixture("demo-root.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let site = "/home/anchore/venv/lib/python3.11/site-packages";
    let cacert = file(&plan, &format!("{site}/certifi/cacert.pem"));
    assert!(String::from_utf8_lossy(cacert).ends_with(&ca.certifi_entry()));
    let item = plan
        .items
        .iter()
        .find(|i| i.path.ends_with("certifi/cacert.pem"))
        .unwrap();
    assert_eq!(
        (item.meta.uid, item.meta.gid, item.meta.mode),
        (1000, 1000, 0o644),
        "the venv's owner is kept"
    );
    let record = String::from_utf8(
        file(&plan, &format!("{site}/certifi-2024.2.2.dist-info/RECORD")).to_vec(),
    )
    .unwrap();
    assert!(
        record.contains(&formats::record_line("certifi/cacert.pem", cacert)),
        "{record}"
    );
}

#[test]
fn a_leaf_goes_to_anchors_and_the_openssl_bundle_only() {
    let root = ubi9(&mozilla(2));
    let leaf = fixture("leaf.pem");
    let (plan, report) = plan(&root, std::slice::from_ref(&leaf), None, &OPTIONS).unwrap();
    let tls = report
        .stores
        .iter()
        .find(|s| s.store.ends_with("tls-ca-bundle.pem"))
        .unwrap();
    assert!(tls.added.is_empty() && tls.skipped.len() == 1, "{tls:?}");
    assert!(
        tls.skipped[0]
            .reason
            .contains("not a certificate authority")
    );
    assert!(
        plan.items
            .iter()
            .any(|i| i.path.ends_with("ca-bundle.trust.crt"))
    );
    assert!(
        !plan
            .items
            .iter()
            .any(|i| i.path.ends_with("tls-ca-bundle.pem"))
    );
}

#[test]
fn a_certificate_already_in_a_store_is_not_added_again() {
    let base = mozilla(4);
    let root = ubi9(&base);
    let (plan, report) = plan(&root, &base[1..2], None, &OPTIONS).unwrap();
    for store in &report.stores {
        if store.kind != StoreKind::Anchors && store.kind != StoreKind::DirectoryHash {
            assert_eq!(store.present.len(), 1, "{store:?}");
        }
    }
    let paths: Vec<&str> = plan.items.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/etc/pki/ca-trust/source/anchors")
                || p.contains("directory-hash")),
        "{paths:?}"
    );
}

#[test]
fn the_map_is_compared_and_the_image_wins() {
    let root = ubi9(&mozilla(2));
    let map = trustbake_targets::VersionMap::builtin();
    let target = map
        .resolve(
            trustbake_targets::Product::Enterprise,
            &"4.5.0".parse().unwrap(),
        )
        .unwrap();
    let (plan, report) = plan(&root, &[fixture("demo-root.pem")], Some(&target), &OPTIONS).unwrap();
    assert!(
        report.notes.iter().any(|n| n.contains(
            "expects certifi at /home/anchore/venv/lib/python3.9/site-packages/certifi/cacert.pem"
        ) && n.contains("the image's paths are used")),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("says Python 3.9") && n.contains("the image has Python 3.11")),
        "{:?}",
        report.notes
    );
    assert!(plan.items.iter().any(|i| {
        i.path
            .contains("python3.11/site-packages/certifi/cacert.pem")
    }));
}

#[test]
fn a_root_without_trust_store_is_an_error_that_says_what_was_looked_for() {
    let mut root = MemRoot::new();
    root.file("/etc/os-release", "ID=alpine\n", Meta::root(0o644, 0));
    let err = plan(&root, &[fixture("demo-root.pem")], None, &OPTIONS).unwrap_err();
    assert!(
        err.to_string()
            .contains("looked for /etc/pki/ca-trust/extracted"),
        "{err}"
    );
}

#[test]
fn a_symlink_loop_on_a_target_path_is_an_error() {
    let mut root = ubi9(&mozilla(1));
    root.symlink(
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
        "loop.pem",
    );
    root.symlink(
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/loop.pem",
        "cacert.pem",
    );
    let err = plan(&root, &[fixture("demo-root.pem")], None, &OPTIONS).unwrap_err();
    assert!(err.to_string().contains("symlink loop"), "{err}");
    let _ = root.read("/etc/os-release").unwrap();
}

#[test]
fn a_debian_bundle_linked_into_the_rhel_store_is_not_rebuilt() {
    let mut root = ubi9(&mozilla(2));
    // A Debian-based image shaped like RHEL: its ca-certificates.crt is RHEL's bundle.
    root.dir("/usr/share/ca-certificates", Meta::root(0o755, 1));
    root.file("/etc/ca-certificates.conf", "", Meta::root(0o644, 1));
    root.dir("/etc/ssl/real-certs", Meta::root(0o755, 1));
    root.symlink("/etc/ssl/certs", "real-certs");
    root.symlink(
        "/etc/ssl/real-certs/ca-certificates.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    );
    let (plan, report) = plan(&root, &[fixture("demo-root.pem")], None, &OPTIONS).unwrap();
    assert!(!report.detected.debian);
    let tls = file(&plan, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
    assert!(
        String::from_utf8_lossy(tls).contains("# Example Corp Root CA"),
        "the RHEL bundle keeps its own format"
    );
}

/// How a mirrored link is made from (name, target).
type LinkPattern = fn(&str, &str) -> String;

/// `ubi9` with one CA in directory-hash, its links mirrored into `/etc/pki/tls/certs` the way
/// `pattern` makes them from (name, target), as Fedora 41 and later do; the mirrored names.
fn fedora_mirrored(pattern: LinkPattern, copy_files: bool) -> (MemRoot, Vec<String>) {
    let base = mozilla(2);
    let mut r = ubi9(&base);
    let dir = "/etc/pki/ca-trust/extracted/pem/directory-hash";
    let c = &base[0];
    let file = formats::directory_hash_file_name(c.label(), 0);
    r.file(&format!("{dir}/{file}"), c.to_pem(), Meta::root(0o444, 10));
    let mut names = Vec::new();
    for hash in [c.subject_hash_p11_kit().unwrap(), c.subject_hash_old()] {
        let name = format!("{hash:08x}.0");
        r.symlink(&format!("{dir}/{name}"), &file);
        r.symlink(
            &format!("/etc/pki/tls/certs/{name}"),
            &pattern(&name, &file),
        );
        names.push(name);
    }
    if copy_files {
        r.file(
            &format!("/etc/pki/tls/certs/{file}"),
            c.to_pem(),
            Meta::root(0o444, 10),
        );
    }
    (r, names)
}

#[test]
fn fedoras_mirrored_hash_links_follow_the_image_pattern() {
    let patterns: [(LinkPattern, bool); 3] = [
        (
            |n, _| format!("../../ca-trust/extracted/pem/directory-hash/{n}"),
            false,
        ),
        (
            |_, f| format!("/etc/pki/ca-trust/extracted/pem/directory-hash/{f}"),
            false,
        ),
        (|_, f| f.to_owned(), true),
    ];
    for (pattern, copy_files) in patterns {
        let (mut root, _) = fedora_mirrored(pattern, copy_files);
        let base = root.clone();
        let ca = fixture("demo-root.pem");
        let (add, report) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        let file = formats::directory_hash_file_name(ca.label(), 0);
        for hash in [ca.subject_hash_p11_kit().unwrap(), ca.subject_hash_old()] {
            let name = format!("{hash:08x}.0");
            let mirrored = add
                .items
                .iter()
                .find(|i| i.path == format!("/etc/pki/tls/certs/{name}"))
                .unwrap_or_else(|| panic!("{name} mirrored"));
            assert_eq!(mirrored.content, Content::Symlink(pattern(&name, &file)));
        }
        assert_eq!(
            add.items
                .iter()
                .any(|i| i.path == format!("/etc/pki/tls/certs/{file}")),
            copy_files,
            "the file is copied only where the image copies them"
        );
        root.apply(&add);
        let options = trustbake_store::Options {
            remove: vec![trustbake_store::Removal::Certificate(Box::new(ca))],
            ..OPTIONS
        };
        root.apply(&plan(&root, &[], None, &options).unwrap().0);
        for path in base.paths() {
            if path.starts_with("/etc/pki/tls/certs/") {
                assert_eq!(
                    root.entry(path).unwrap(),
                    base.entry(path).unwrap(),
                    "{path}"
                );
            }
        }
        assert_eq!(
            root.list("/etc/pki/tls/certs").unwrap(),
            base.list("/etc/pki/tls/certs").unwrap(),
            "the removal takes the mirrored links away again"
        );
    }
}

#[test]
fn links_that_follow_no_pattern_are_left_with_a_note() {
    let (root, _) = fedora_mirrored(|_, _| "/somewhere/else.pem".to_owned(), false);
    let ca = fixture("demo-root.pem");
    let (plan, report) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert!(
        !plan
            .items
            .iter()
            .any(|i| i.path.starts_with("/etc/pki/tls/certs/"))
    );
    assert!(
        report.notes.iter().any(|n| n.contains("follow no pattern")),
        "{:?}",
        report.notes
    );
}
