//! The Alpine family: the local file, its `ca-cert-*.pem` link, the bundle rebuilt as Alpine's
//! `update-ca-certificates` does (each source followed by a newline, or not, as the image's own
//! bundle shows), the hook's hash links; a bundle-only image appended to in its own format;
//! and removal back to the base.

use trustbake_certs::Certificate;
use trustbake_store::{Content, MemRoot, Meta, Removal, RootView, StoreKind, detect, plan};

use super::{OPTIONS, file, fixture, mozilla, shas};

/// An `alpine:3.x` root with `apk add ca-certificates`: `base` as the packaged CAs (enabled in
/// `/etc/ca-certificates.conf`), `local.pem` of the administrator's, the bundle as the tool
/// wrote it — each file followed by a newline when `newline` — and the hook's links.
pub(crate) fn alpine(base: &[Certificate], newline: bool) -> MemRoot {
    let mut r = MemRoot::new();
    r.file(
        "/etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n",
        Meta::root(0o644, 1),
    );
    r.file(
        "/lib/apk/db/installed",
        "P:ca-certificates\nV:20240705-r0\n",
        Meta::root(0o644, 1),
    );
    r.file(
        "/etc/ca-certificates/update.d/certhash",
        "#!/bin/sh\nexec /usr/bin/c_rehash /etc/ssl/certs >/dev/null\n",
        Meta::root(0o755, 1),
    );
    let mut conf = String::new();
    let mut bundle = Vec::new();
    let mut sources = Vec::new();
    for (i, c) in base.iter().enumerate() {
        let name = format!("mozilla/Root_{i}.crt");
        let path = format!("/usr/share/ca-certificates/{name}");
        r.file(&path, c.to_pem(), Meta::root(0o644, 1));
        conf.push_str(&format!("{name}\n"));
        sources.push((format!("ca-cert-Root_{i}.pem"), path, c.clone()));
    }
    let local = fixture("multi-rdn.pem");
    r.file(
        "/usr/local/share/ca-certificates/local.pem",
        local.to_pem(),
        Meta::root(0o644, 1),
    );
    sources.push((
        "ca-cert-local.pem.pem".to_owned(),
        "/usr/local/share/ca-certificates/local.pem".to_owned(),
        local,
    ));
    for (link, path, c) in &sources {
        bundle.extend_from_slice(c.to_pem().as_bytes());
        if newline {
            bundle.push(b'\n');
        }
        r.symlink(&format!("/etc/ssl/certs/{link}"), path);
        r.symlink(&format!("/etc/ssl/certs/{:08x}.0", c.subject_hash()), link);
    }
    r.file("/etc/ca-certificates.conf", conf, Meta::root(0o644, 1));
    r.file(
        "/etc/ssl/certs/ca-certificates.crt",
        bundle,
        Meta::root(0o644, 1),
    );
    r.symlink("/etc/ssl/cert.pem", "certs/ca-certificates.crt");
    r
}

/// `alpine:3.x` as shipped: `ca-certificates-bundle` only — the bundle (certificates separated
/// by a blank line) and `/etc/ssl/cert.pem` linked to it; no tool, no sources.
pub(crate) fn alpine_bundle_only(base: &[Certificate]) -> MemRoot {
    let mut r = MemRoot::new();
    r.file(
        "/etc/os-release",
        "ID=alpine\nVERSION_ID=3.20.3\n",
        Meta::root(0o644, 1),
    );
    r.file(
        "/lib/apk/db/installed",
        "P:ca-certificates-bundle\nV:20240705-r0\n",
        Meta::root(0o644, 1),
    );
    let mut bundle = Vec::new();
    for c in base {
        bundle.extend_from_slice(c.to_pem().as_bytes());
        bundle.push(b'\n');
    }
    r.file(
        "/etc/ssl/certs/ca-certificates.crt",
        bundle,
        Meta::root(0o644, 1),
    );
    r.symlink("/etc/ssl/cert.pem", "certs/ca-certificates.crt");
    r
}

#[test]
fn detected_as_alpine_not_debian() {
    let layout = detect(&alpine(&mozilla(2), true)).unwrap();
    assert_eq!(layout.family.as_str(), "alpine");
    assert!(
        !layout.debian,
        "Alpine's paths are Debian's, its tool is not"
    );
    let store = layout.alpine.unwrap();
    assert!(store.tool && store.hash_links && !store.cert_pem);
    let only = detect(&alpine_bundle_only(&mozilla(2))).unwrap();
    assert_eq!(only.family.as_str(), "alpine");
    let store = only.alpine.unwrap();
    assert!(!store.tool && !store.hash_links);
}

#[test]
fn the_local_file_its_link_the_rebuilt_bundle_and_the_hash_link() {
    for newline in [true, false] {
        let base = mozilla(3);
        let root = alpine(&base, newline);
        let ca = fixture("demo-root.pem");
        let (plan, report) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
        let stem = ca.file_stem();
        // Flat in the local directory: the tool reads no sub-directory.
        let crt = format!("/usr/local/share/ca-certificates/{stem}.crt");
        assert_eq!(file(&plan, &crt), ca.to_pem().as_bytes());
        let link = plan
            .items
            .iter()
            .find(|i| i.path == format!("/etc/ssl/certs/ca-cert-{stem}.pem"))
            .unwrap();
        assert_eq!(link.content, Content::Symlink(crt.clone()));
        // The rule: the conf's entries in order, then the local files in name order, each
        // followed by a newline when the image's tool does so.
        let local = fixture("multi-rdn.pem");
        let mut expected = Vec::new();
        let mut locals = [
            (format!("{stem}.crt"), ca.clone()),
            ("local.pem".to_owned(), local),
        ];
        locals.sort_by(|a, b| a.0.cmp(&b.0));
        for c in base.iter().chain(locals.iter().map(|(_, c)| c)) {
            expected.extend_from_slice(c.to_pem().as_bytes());
            if newline {
                expected.push(b'\n');
            }
        }
        assert_eq!(
            String::from_utf8_lossy(file(&plan, "/etc/ssl/certs/ca-certificates.crt")),
            String::from_utf8_lossy(&expected),
            "newline after each file: {newline}"
        );
        let hash = plan
            .items
            .iter()
            .find(|i| i.path == format!("/etc/ssl/certs/{:08x}.0", ca.subject_hash()))
            .unwrap();
        assert_eq!(
            hash.content,
            Content::Symlink(format!("ca-cert-{stem}.pem"))
        );
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        let kinds: Vec<StoreKind> = report.stores.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StoreKind::AlpineLocal,
                StoreKind::AlpineBundle,
                StoreKind::AlpineHashLinks
            ]
        );
    }
}

#[test]
fn a_bundle_only_image_is_appended_to_in_its_own_format() {
    let base = mozilla(2);
    let mut root = alpine_bundle_only(&base);
    let ca = fixture("demo-root.pem");
    let (first, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    let paths: Vec<&str> = first.items.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/etc/ssl/certs/ca-certificates.crt"],
        "nothing else"
    );
    let mut expected = Vec::new();
    for c in base.iter().chain([&ca]) {
        expected.extend_from_slice(c.to_pem().as_bytes());
        expected.push(b'\n');
    }
    assert_eq!(
        file(&first, "/etc/ssl/certs/ca-certificates.crt"),
        expected.as_slice()
    );
    root.apply(&first);
    let (again, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_cert_pem_of_its_own_is_kept_in_step() {
    let base = mozilla(2);
    let mut root = alpine_bundle_only(&base);
    let bundle = root.read("/etc/ssl/certs/ca-certificates.crt").unwrap();
    root.remove("/etc/ssl/cert.pem");
    root.file("/etc/ssl/cert.pem", bundle, Meta::root(0o644, 1));
    assert!(detect(&root).unwrap().alpine.unwrap().cert_pem);
    let ca = fixture("demo-root.pem");
    let (plan, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert_eq!(
        file(&plan, "/etc/ssl/cert.pem"),
        file(&plan, "/etc/ssl/certs/ca-certificates.crt")
    );
}

#[test]
fn removing_what_was_added_gives_the_base_back() {
    for mut root in [alpine(&mozilla(3), true), alpine_bundle_only(&mozilla(3))] {
        let base = root.clone();
        let ca = fixture("demo-root.pem");
        let (add, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
        root.apply(&add);
        let options = trustbake_store::Options {
            remove: vec![Removal::Certificate(Box::new(ca.clone()))],
            ..OPTIONS
        };
        let (remove, report) = plan(&root, &[], None, &options).unwrap();
        root.apply(&remove);
        assert_eq!(
            root.paths().collect::<Vec<_>>(),
            base.paths().collect::<Vec<_>>(),
            "{report:?}"
        );
        for path in base.paths() {
            assert_eq!(root.read(path).ok(), base.read(path).ok(), "{path}");
        }
    }
}

#[test]
fn a_packaged_ca_is_disabled_in_the_conf_and_its_links_go() {
    let base = mozilla(3);
    let mut root = alpine(&base, true);
    let options = trustbake_store::Options {
        remove: vec![Removal::Certificate(Box::new(base[1].clone()))],
        ..OPTIONS
    };
    let (plan, _) = plan(&root, &[], None, &options).unwrap();
    root.apply(&plan);
    let conf = String::from_utf8(root.read("/etc/ca-certificates.conf").unwrap()).unwrap();
    assert_eq!(
        conf,
        "mozilla/Root_0.crt\n!mozilla/Root_1.crt\nmozilla/Root_2.crt\n"
    );
    assert!(
        root.entry("/etc/ssl/certs/ca-cert-Root_1.pem")
            .unwrap()
            .is_none()
    );
    let hash = format!("/etc/ssl/certs/{:08x}.0", base[1].subject_hash());
    assert!(root.entry(&hash).unwrap().is_none());
    let held = shas(&root.read("/etc/ssl/certs/ca-certificates.crt").unwrap());
    assert!(!held.contains(&base[1].sha256().hex()));
    assert_eq!(held.len(), 3, "two packaged and the local one");
}
