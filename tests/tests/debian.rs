//! The Debian family against the real `update-ca-certificates`: in a debootstrapped bookworm
//! root, the tool (in a chroot) after dropping the same `.crt` files trustbake chose, versus
//! trustbake on a copy of the same root: `/etc/ssl/certs` has the same names and link targets,
//! and `ca-certificates.crt` the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use tests::{bookworm_root, copy_tree, fixture, output, scratch, tool};

const ADDED: &[&str] = &[
    "root-rsa.pem",
    "root-ec.pem",
    "demo-root.pem",
    "bmp-subject.pem",
    "odd-subject.pem",
    "multi-rdn.pem",
];

/// name → link target (or "file") of `/etc/ssl/certs`.
fn certs_dir(root: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(root.join("etc/ssl/certs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let value = if e.file_type().unwrap().is_symlink() {
                std::fs::read_link(e.path()).unwrap().display().to_string()
            } else {
                "file".to_owned()
            };
            (name, value)
        })
        .collect()
}

/// Asserts that `ours` and `theirs` have the same `/etc/ssl/certs` (names and link targets) and
/// byte-identical bundles; returns ours.
fn same_as_the_tool(ours: &Path, theirs: &Path) -> BTreeMap<String, String> {
    let (a, b) = (certs_dir(ours), certs_dir(theirs));
    let only_ours: Vec<_> = a.iter().filter(|(k, v)| b.get(*k) != Some(v)).collect();
    let only_theirs: Vec<_> = b.iter().filter(|(k, v)| a.get(*k) != Some(v)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "/etc/ssl/certs differs:\n trustbake only: {only_ours:?}\n tool only: {only_theirs:?}"
    );
    let bundle = "etc/ssl/certs/ca-certificates.crt";
    assert!(
        std::fs::read(ours.join(bundle)).unwrap() == std::fs::read(theirs.join(bundle)).unwrap(),
        "ca-certificates.crt differs"
    );
    a
}

fn update_ca_certificates(root: &Path) {
    output(
        tool("chroot", "coreutils")
            .arg(root)
            .args(["/usr/sbin/update-ca-certificates", "--fresh"])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    );
}

#[test]
fn certs_dir_and_bundle_match_the_real_update_ca_certificates() {
    let base = bookworm_root();
    let work = scratch("debian-bookworm");
    let ours = work.join("trustbake");
    let theirs = work.join("tool");
    copy_tree(&base, &ours);
    copy_tree(&base, &theirs);

    let cas = trustbake::load_cas(
        &ADDED.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap();
    let report = trustbake::apply(&trustbake::ApplyRequest::new(
        &ours,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    assert!(report.detected.debian, "{:?}", report.detected);

    // The tool gets exactly the .crt files trustbake chose.
    let local = "usr/local/share/ca-certificates/trustbake";
    std::fs::create_dir_all(theirs.join(local)).unwrap();
    for entry in std::fs::read_dir(ours.join(local)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), theirs.join(local).join(entry.file_name())).unwrap();
    }
    update_ca_certificates(&theirs);

    let a = same_as_the_tool(&ours, &theirs);
    let bundle = "etc/ssl/certs/ca-certificates.crt";
    assert_eq!(
        a.len(),
        certs_dir(&base).len() + 2 * ADDED.len(),
        "a .pem link and a hash link per CA"
    );

    // A later update-ca-certificates in the image keeps what trustbake wrote.
    update_ca_certificates(&ours);
    assert_eq!(
        certs_dir(&ours),
        a,
        "a later run of the tool changes nothing in /etc/ssl/certs"
    );
    assert!(
        std::fs::read(ours.join(bundle)).unwrap() == std::fs::read(theirs.join(bundle)).unwrap()
    );
}

/// The first CA `/etc/ca-certificates.conf` enables, as (conf line, SHA-256 hex).
fn first_packaged(root: &Path) -> (String, String) {
    let conf = std::fs::read_to_string(root.join("etc/ca-certificates.conf")).unwrap();
    let line = conf
        .lines()
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .unwrap()
        .to_owned();
    let bytes = std::fs::read(root.join("usr/share/ca-certificates").join(&line)).unwrap();
    let sha = trustbake_certs::read_bundle(&bytes).certificates[0]
        .sha256()
        .hex();
    (line, sha)
}

#[test]
fn removal_matches_dpkg_reconfigure_and_update_ca_certificates() {
    let base = bookworm_root();
    let work = scratch("debian-remove");
    let ours = work.join("trustbake");
    let theirs = work.join("tool");
    copy_tree(&base, &ours);
    let cas = trustbake::load_cas(
        &ADDED.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap();
    trustbake::apply(&trustbake::ApplyRequest::new(
        &ours,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    copy_tree(&ours, &theirs);

    // Distrust: a packaged CA by fingerprint, a local one by file, one the image never held.
    let (line, sha) = first_packaged(&ours);
    let removals = trustbake::load_removals(&[
        format!("sha256:{sha}"),
        fixture("root-rsa.pem").display().to_string(),
        fixture("expired.pem").display().to_string(),
    ])
    .unwrap();
    let report = trustbake::apply(
        &trustbake::ApplyRequest::new(
            &ours,
            &trustbake::Intake::default(),
            trustbake::process::now(),
        )
        .remove(removals),
    )
    .unwrap();
    let removed_from = |kind: trustbake::types::StoreKind| {
        report
            .stores
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.removed.len())
            .sum::<usize>()
    };
    assert_eq!(removed_from(trustbake::types::StoreKind::DebianConf), 1);
    assert_eq!(removed_from(trustbake::types::StoreKind::DebianLocal), 1);
    assert_eq!(removed_from(trustbake::types::StoreKind::DebianBundle), 2);
    let conf = std::fs::read_to_string(ours.join("etc/ca-certificates.conf")).unwrap();
    assert!(conf.lines().any(|l| l == format!("!{line}")), "{line}");

    // The tool: what dpkg-reconfigure ca-certificates writes for a deselected CA, and the
    // administrator's file deleted; then update-ca-certificates.
    let path = theirs.join("etc/ca-certificates.conf");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l == line {
                format!("!{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let local = theirs.join("usr/local/share/ca-certificates/trustbake");
    for entry in std::fs::read_dir(&local).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("trustbake-test-root-rsa")
        {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    update_ca_certificates(&theirs);

    let a = same_as_the_tool(&ours, &theirs);
    let bundle = "etc/ssl/certs/ca-certificates.crt";
    assert_eq!(
        std::fs::read(ours.join("etc/ca-certificates.conf")).unwrap(),
        std::fs::read(&path).unwrap()
    );
    // A later run of the tool in the image keeps the CAs out.
    update_ca_certificates(&ours);
    assert_eq!(certs_dir(&ours), a);
    assert!(
        std::fs::read(ours.join(bundle)).unwrap() == std::fs::read(theirs.join(bundle)).unwrap()
    );
}
