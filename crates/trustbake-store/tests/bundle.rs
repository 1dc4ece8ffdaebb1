//! `--bundle PATH`: a PEM bundle the user names, appended to in its own format, in a root with
//! or without an OS store trustbake knows; distrusted CAs taken out again; anything that is
//! not a bundle refused.

use trustbake_store::{MemRoot, Meta, Removal, RootView, StoreError, StoreKind, plan};

use super::{OPTIONS, debian::ubuntu, file, fixture, mozilla};

fn with_bundles(paths: &[&str]) -> trustbake_store::Options {
    trustbake_store::Options {
        bundles: paths.iter().map(|p| (*p).to_owned()).collect(),
        ..OPTIONS
    }
}

/// A root with no store trustbake knows: an application's own bundle, certificates line after
/// line, owned by the application's user.
fn app_root() -> MemRoot {
    let mut r = MemRoot::new();
    r.file("/etc/os-release", "ID=busybox\n", Meta::root(0o644, 1));
    let mut pem = String::new();
    for c in mozilla(2) {
        pem.push_str(&c.to_pem());
    }
    let owner = Meta {
        mode: 0o640,
        uid: 1000,
        gid: 1000,
        mtime: 1,
    };
    r.file("/app/certs/ca.pem", pem, owner);
    r.file("/app/config.yaml", "tls: true\n", owner);
    r
}

#[test]
fn a_root_without_a_known_store_needs_a_named_bundle() {
    let root = app_root();
    let ca = fixture("demo-root.pem");
    let refused = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap_err();
    assert!(matches!(refused, StoreError::NoTrustStore));
    assert!(refused.to_string().contains("--bundle PATH"), "{refused}");

    let options = with_bundles(&["/app/certs/ca.pem"]);
    let (first, report) = plan(&root, std::slice::from_ref(&ca), None, &options).unwrap();
    assert_eq!(report.detected.family.as_str(), "unknown");
    let paths: Vec<&str> = first.items.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["/app/certs/ca.pem"]);
    let mut expected = root.read("/app/certs/ca.pem").unwrap();
    expected.extend_from_slice(ca.to_pem().as_bytes());
    assert_eq!(file(&first, "/app/certs/ca.pem"), expected.as_slice());
    let item = &first.items[0];
    assert_eq!(
        (item.meta.uid, item.meta.mode),
        (1000, 0o644),
        "owner kept, readable"
    );
    assert_eq!(report.stores[0].kind, StoreKind::NamedBundle);

    let mut root = root;
    let base = root.clone();
    root.apply(&first);
    assert!(
        plan(&root, std::slice::from_ref(&ca), None, &options)
            .unwrap()
            .0
            .is_empty()
    );
    let removing = trustbake_store::Options {
        remove: vec![Removal::Certificate(Box::new(ca))],
        ..options
    };
    root.apply(&plan(&root, &[], None, &removing).unwrap().0);
    assert_eq!(
        root.read("/app/certs/ca.pem").ok(),
        base.read("/app/certs/ca.pem").ok()
    );
}

#[test]
fn beside_an_os_store_the_named_bundle_keeps_its_blank_lines() {
    let mut root = ubuntu(&mozilla(2));
    let mut pem = String::new();
    for c in mozilla(2) {
        pem.push_str(&c.to_pem());
        pem.push('\n');
    }
    root.file("/opt/app/trust.pem", pem.clone(), Meta::root(0o644, 1));
    let ca = fixture("demo-root.pem");
    let options = with_bundles(&["/opt/app/trust.pem"]);
    let (plan, report) = plan(&root, std::slice::from_ref(&ca), None, &options).unwrap();
    assert_eq!(report.detected.family.as_str(), "debian");
    let expected = format!("{pem}{}\n", ca.to_pem());
    assert_eq!(file(&plan, "/opt/app/trust.pem"), expected.as_bytes());
    assert!(
        plan.items
            .iter()
            .any(|i| i.path == "/etc/ssl/certs/ca-certificates.crt")
    );
}

#[test]
fn what_is_not_a_bundle_is_refused() {
    let root = app_root();
    let ca = fixture("demo-root.pem");
    for (path, why) in [
        ("/app/certs/missing.pem", "not a file"),
        ("/app/config.yaml", "no PEM certificate"),
        ("/app/certs", "not a file"),
    ] {
        let err = plan(
            &root,
            std::slice::from_ref(&ca),
            None,
            &with_bundles(&[path]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, StoreError::BadBundle { .. }) && err.to_string().contains(why),
            "{path}: {err}"
        );
    }
}
