//! conda prefixes: each prefix's `ssl/cacert.pem` (curl's format: a blank line between
//! entries) gets the CAs in that format, `ssl/cert.pem` keeps linking to it, environments under
//! `envs/` and a prefix only `CONDA_PREFIX` names included; removal gives the base back.

use trustbake_store::{Env, MemRoot, Meta, Removal, RootView, StoreKind, plan};

use super::{OPTIONS, debian::ubuntu, file, fixture, mozilla};

fn prefix(r: &mut MemRoot, dir: &str) -> Vec<u8> {
    r.dir(&format!("{dir}/conda-meta"), Meta::root(0o755, 1));
    let mut pem = String::from("##\n## Bundle of CA Root Certificates\n##\n\n");
    for c in mozilla(2) {
        pem.push_str(&format!("{}\n=====\n{}\n", c.label(), c.to_pem()));
    }
    r.file(
        &format!("{dir}/ssl/cacert.pem"),
        pem.clone(),
        Meta::root(0o664, 1),
    );
    r.symlink(&format!("{dir}/ssl/cert.pem"), "cacert.pem");
    pem.into_bytes()
}

#[test]
fn every_prefix_bundle_gets_the_ca_in_its_format() {
    let mut root = ubuntu(&mozilla(2));
    let base_bundle = prefix(&mut root, "/opt/conda");
    prefix(&mut root, "/opt/conda/envs/app");
    prefix(&mut root, "/srv/env");
    let env: Env = [("CONDA_PREFIX".to_owned(), "/srv/env".to_owned())].into();
    let options = trustbake_store::Options { env, ..OPTIONS };
    let ca = fixture("demo-root.pem");
    let (first, report) = plan(&root, std::slice::from_ref(&ca), None, &options).unwrap();
    let mut expected = base_bundle.clone();
    expected.extend_from_slice(ca.to_pem().as_bytes());
    expected.push(b'\n');
    for dir in ["/opt/conda", "/opt/conda/envs/app", "/srv/env"] {
        assert_eq!(
            file(&first, &format!("{dir}/ssl/cacert.pem")),
            expected.as_slice(),
            "{dir}"
        );
    }
    assert_eq!(
        report
            .stores
            .iter()
            .filter(|s| s.kind == StoreKind::Conda)
            .count(),
        3
    );
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
        root.read("/opt/conda/ssl/cacert.pem").ok(),
        base.read("/opt/conda/ssl/cacert.pem").ok()
    );
}
