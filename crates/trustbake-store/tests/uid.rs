//! Any runtime UID: what trustbake writes is readable by every user, and `inspect` says which
//! stores of an image are not.

use trustbake_store::{Content, Meta, RootView, inspect, plan};

use super::rhel::ubi9;
use super::{OPTIONS, fixture, mozilla};

#[test]
fn every_file_written_is_readable_by_any_user() {
    let base = mozilla(3);
    let mut root = ubi9(&base);
    // A certifi only its owner may read: widened to others' read, never narrowed.
    let certifi = "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem";
    let body = root.read(certifi).unwrap();
    let private = Meta {
        mode: 0o600,
        uid: 1000,
        gid: 1000,
        mtime: 5,
    };
    root.file(certifi, body, private);
    let before = inspect(&root, &Default::default()).unwrap();
    assert!(
        before
            .warnings
            .iter()
            .any(|w| w.starts_with(certifi) && w.contains("mode 0600")),
        "{:?}",
        before.warnings
    );
    let (p, _) = plan(&root, &[fixture("root-rsa.pem")], None, &OPTIONS).unwrap();
    for item in &p.items {
        match item.content {
            Content::File(_) => assert_eq!(item.meta.mode & 0o444, 0o444, "{}", item.path),
            Content::Dir => assert_eq!(item.meta.mode & 0o555, 0o555, "{}", item.path),
            Content::Symlink(_) | Content::Remove => {}
        }
    }
    let written = p.items.iter().find(|i| i.path == certifi).unwrap();
    assert_eq!((written.meta.mode, written.meta.uid), (0o644, 1000));
    root.apply(&p);
    assert!(
        inspect(&root, &Default::default())
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn a_store_behind_a_closed_directory_is_reported() {
    let mut root = ubi9(&mozilla(2));
    root.dir("/home/anchore", Meta::root(0o700, 1));
    let warnings = inspect(&root, &Default::default()).unwrap().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("its directory /home/anchore has mode 0700")),
        "{warnings:?}"
    );
}
