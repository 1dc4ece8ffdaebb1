//! `--remove` on in-memory roots: certifi and its RECORD, Node's file, the blocklist's name by
//! release, fingerprints the image does not hold, and the text format's own rules.

use trustbake_certs::Sha256Fingerprint;
use trustbake_store::{Content, Meta, Options, Removal, StoreKind, formats, plan};

use super::rhel::ubi9;
use super::{OPTIONS, file, fixture, mozilla, shas};

fn removing(removals: Vec<Removal>) -> Options {
    let mut options = OPTIONS.clone();
    options.remove = removals;
    options
}

const SITE: &str = "/home/anchore/venv/lib/python3.11/site-packages";

#[test]
fn a_shipped_root_leaves_certifi_every_bundle_and_record_stays_true() {
    let base = mozilla(4);
    let root = ubi9(&base);
    let gone = base[2].clone();
    let options = removing(vec![Removal::Fingerprint(gone.sha256())]);
    let (p, report) = plan(&root, &[], None, &options).unwrap();
    let cacert = file(&p, &format!("{SITE}/certifi/cacert.pem"));
    let left = shas(cacert);
    assert_eq!(left.len(), 3);
    assert!(!left.contains(&gone.sha256().hex()));
    // The remaining entries are certifi's own bytes, in order.
    let refs: Vec<_> = base
        .iter()
        .filter(|c| c.sha256() != gone.sha256())
        .collect();
    assert_eq!(cacert, formats::certifi_append(b"", &refs).as_slice());
    let record =
        String::from_utf8(file(&p, &format!("{SITE}/certifi-2024.2.2.dist-info/RECORD")).to_vec())
            .unwrap();
    assert!(record.contains(&formats::record_line("certifi/cacert.pem", cacert)));
    let tls = file(&p, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
    assert_eq!(tls, formats::pem_bundle_append(b"", &refs).as_slice());
    let kinds: Vec<StoreKind> = report
        .stores
        .iter()
        .filter(|s| !s.removed.is_empty())
        .map(|s| s.kind)
        .collect();
    for kind in [
        StoreKind::PemBundle,
        StoreKind::JavaCacerts,
        StoreKind::Edk2,
        StoreKind::Certifi,
    ] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    // EL9: the blocklist, created.
    assert!(p.items.iter().any(
        |i| i.path.starts_with("/etc/pki/ca-trust/source/blocklist/")
            && matches!(i.content, Content::File(_))
    ));
}

#[test]
fn el8_gets_the_blacklist_and_an_unknown_fingerprint_is_a_note() {
    let mut root = ubi9(&mozilla(2));
    root.file(
        "/etc/os-release",
        "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\"\n",
        Meta::root(0o644, 1),
    );
    let nowhere = Sha256Fingerprint::of(b"not a certificate");
    let options = removing(vec![
        Removal::Certificate(Box::new(fixture("root-rsa.pem"))),
        Removal::Fingerprint(nowhere),
    ]);
    let (p, report) = plan(&root, &[], None, &options).unwrap();
    assert!(
        p.items
            .iter()
            .any(|i| i.path.starts_with("/etc/pki/ca-trust/source/blacklist/")),
        "{:?}",
        p.items.iter().map(|i| &i.path).collect::<Vec<_>>()
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(&nowhere.hex()) && n.contains("nothing to remove"))
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("Trustbake Test Root RSA") && n.contains("blocklisted")),
        "{:?}",
        report.notes
    );
}

#[test]
fn an_added_anchor_is_removed_by_a_whiteout_and_a_second_plan_is_empty() {
    let mut root = ubi9(&mozilla(2));
    let ca = fixture("root-rsa.pem");
    let (added, _) = plan(&root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    root.apply(&added);
    let options = removing(vec![Removal::Certificate(Box::new(ca.clone()))]);
    let (p, _) = plan(&root, &[], None, &options).unwrap();
    let anchor = format!("/etc/pki/ca-trust/source/anchors/{}.pem", ca.file_stem());
    assert!(
        p.items
            .iter()
            .any(|i| i.path == anchor && i.content == Content::Remove)
    );
    root.apply(&p);
    let (again, _) = plan(&root, &[], None, &options).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn text_entries_go_with_their_comments_and_one_separating_line() {
    let certs = mozilla(3);
    let refs: Vec<_> = certs.iter().collect();
    let bundle = formats::pem_bundle_append(b"", &refs);
    for (i, gone) in certs.iter().enumerate() {
        let out = formats::remove_entries(&bundle, |c| c.sha256() == gone.sha256()).unwrap();
        let rest: Vec<_> = certs
            .iter()
            .filter(|c| c.sha256() != gone.sha256())
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&formats::pem_bundle_append(b"", &rest)),
            "entry {i}"
        );
    }
    assert!(formats::remove_entries(&bundle, |_| false).is_none());
    let all = formats::remove_entries(&bundle, |_| true).unwrap();
    assert!(all.is_empty(), "{}", String::from_utf8_lossy(&all));
}

#[test]
fn inspect_lists_the_blocklist_and_warns_of_an_anchor_it_distrusts() {
    let mut root = ubi9(&mozilla(2));
    let ca = fixture("root-rsa.pem");
    let options = removing(vec![Removal::Certificate(Box::new(ca.clone()))]);
    let (p, _) = plan(&root, &[], None, &options).unwrap();
    root.apply(&p);
    let found = trustbake_store::inspect(&root, &Default::default()).unwrap();
    let list = found
        .stores
        .iter()
        .find(|s| s.kind == StoreKind::Blocklist)
        .unwrap();
    assert_eq!(list.certificates, 1);
    assert!(found.local_cas.is_empty());
    // The same CA dropped into anchors by hand: distrusted all the same, and said so.
    root.file(
        "/etc/pki/ca-trust/source/anchors/by-hand.pem",
        ca.to_pem().into_bytes(),
        Meta::root(0o644, 0),
    );
    let found = trustbake_store::inspect(&root, &Default::default()).unwrap();
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("by-hand.pem") && w.contains("distrusts it")),
        "{:?}",
        found.warnings
    );
    let local = &found.local_cas[0];
    assert!(!local.missing_from.iter().any(|m| m.contains("blocklist")));
}
