//! Node.js: the CAs go into the file `NODE_EXTRA_CA_CERTS` names — the image's own, extended,
//! or trustbake's, with the variable to set — and `inspect` reads it back.

use trustbake_certs::read_bundle;
use trustbake_store::{Env, Meta, Options, StoreKind, inspect, paths, plan};

use super::rhel::ubi9;
use super::{OPTIONS, fixture, mozilla, read, shas};

const NODE: &str = "/usr/bin/node";

fn with_env(pairs: &[(&str, &str)]) -> Options {
    let mut options = OPTIONS.clone();
    options.env = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Env>();
    options
}

fn node_root() -> trustbake_store::MemRoot {
    let mut root = ubi9(&mozilla(2));
    root.file(NODE, b"\x7fELF".to_vec(), Meta::root(0o755, 0));
    root
}

#[test]
fn trustbakes_own_file_is_written_and_the_variable_set() {
    let mut root = node_root();
    let ca = fixture("root-rsa.pem");
    let options = with_env(&[("PATH", "/usr/local/bin:/usr/bin")]);
    let (p, report) = plan(&root, std::slice::from_ref(&ca), None, &options).unwrap();
    assert_eq!(
        p.env,
        [(
            "NODE_EXTRA_CA_CERTS".to_owned(),
            paths::NODE_EXTRA_CA_CERTS.to_owned()
        )]
    );
    let store = report
        .stores
        .iter()
        .find(|s| s.kind == StoreKind::NodeExtra)
        .unwrap();
    assert_eq!(store.store, paths::NODE_EXTRA_CA_CERTS);
    assert_eq!(store.added.len(), 1);
    let item = p
        .items
        .iter()
        .find(|i| i.path == paths::NODE_EXTRA_CA_CERTS)
        .unwrap();
    assert_eq!(item.meta.mode, 0o644);
    assert!(p.items.iter().any(|i| i.path == "/etc/trustbake"));
    root.apply(&p);
    assert_eq!(
        shas(&read(&root, paths::NODE_EXTRA_CA_CERTS)),
        [ca.sha256().hex()]
    );
    // Baked: the config now names the file, and a second plan has nothing to do.
    let baked = with_env(&[
        ("PATH", "/usr/local/bin:/usr/bin"),
        ("NODE_EXTRA_CA_CERTS", paths::NODE_EXTRA_CA_CERTS),
    ]);
    let (again, report) = plan(&root, std::slice::from_ref(&ca), None, &baked).unwrap();
    assert!(again.is_empty(), "{again:?}");
    let inspected = inspect(&root, &baked.env).unwrap();
    let node = inspected
        .stores
        .iter()
        .find(|s| s.kind == StoreKind::NodeExtra)
        .unwrap();
    assert_eq!(node.certificates, 1);
    assert!(report.stores.iter().all(|s| s.added.is_empty()));
}

#[test]
fn the_images_own_file_is_extended_and_the_variable_kept() {
    let mut root = node_root();
    let theirs = fixture("root-ec.pem");
    let mut existing = b"# their CA\n".to_vec();
    existing.extend_from_slice(&std::fs::read(super::fixture_path("root-ec.pem")).unwrap());
    root.dir("/opt", Meta::root(0o755, 0));
    root.dir("/opt/ui", Meta::root(0o755, 0));
    root.file("/opt/ui/extra.pem", existing.clone(), Meta::root(0o640, 0));
    let options = with_env(&[("NODE_EXTRA_CA_CERTS", "/opt/ui/extra.pem")]);
    let ca = fixture("root-rsa.pem");
    let (p, _) = plan(&root, &[ca.clone(), theirs.clone()], None, &options).unwrap();
    assert!(
        p.env.is_empty(),
        "the image's variable is kept: {:?}",
        p.env
    );
    let item = p
        .items
        .iter()
        .find(|i| i.path == "/opt/ui/extra.pem")
        .unwrap();
    // Widened to others' read (any runtime UID), never narrowed.
    assert_eq!(item.meta.mode, 0o644);
    root.apply(&p);
    let bytes = read(&root, "/opt/ui/extra.pem");
    assert!(bytes.starts_with(&existing), "extended, not replaced");
    let mut want = vec![theirs.sha256().hex(), ca.sha256().hex()];
    want.sort();
    let mut got = shas(&bytes);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(read_bundle(&bytes).skipped, 0);
}

#[test]
fn a_named_file_that_is_not_a_pem_bundle_is_left_alone() {
    let mut root = node_root();
    root.file(
        "/etc/shadow",
        b"root:*:19000:0:99999:7:::\n".to_vec(),
        Meta::root(0o640, 0),
    );
    let options = with_env(&[("NODE_EXTRA_CA_CERTS", "/etc/shadow")]);
    let (p, report) = plan(&root, &[fixture("root-rsa.pem")], None, &options).unwrap();
    assert!(p.items.iter().all(|i| i.path != "/etc/shadow"));
    assert!(report.notes.iter().any(|n| n.contains("not a PEM bundle")));
}

#[test]
fn without_node_or_with_a_relative_path_nothing_is_written_for_node() {
    let root = ubi9(&mozilla(2));
    let ca = fixture("root-rsa.pem");
    let (p, report) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert!(p.env.is_empty());
    assert!(report.stores.iter().all(|s| s.kind != StoreKind::NodeExtra));
    let root = node_root();
    let options = with_env(&[("NODE_EXTRA_CA_CERTS", "certs/extra.pem")]);
    let (p, report) = plan(&root, std::slice::from_ref(&ca), None, &options).unwrap();
    assert!(p.env.is_empty());
    assert!(p.items.iter().all(|i| !i.path.contains("extra.pem")));
    let store = report
        .stores
        .iter()
        .find(|s| s.kind == StoreKind::NodeExtra)
        .unwrap();
    assert_eq!(store.skipped.len(), 1);
    assert!(report.notes.iter().any(|n| n.contains("relative")));
    // inspect says Node does not get the locally added CAs when nothing names a file.
    let mut root = node_root();
    let (p, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let mut without_node_file = p.clone();
    without_node_file
        .items
        .retain(|i| !i.path.starts_with("/etc/trustbake"));
    root.apply(&without_node_file);
    let warnings = inspect(&root, &Env::new()).unwrap().warnings;
    assert!(
        warnings.iter().any(|w| w.contains("built-in roots")),
        "{warnings:?}"
    );
}
