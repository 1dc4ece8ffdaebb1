//! pip's vendored certifi: pip 24.2 and later on Python 3.10 and later use the system store
//! (truststore), so the OS store covers them; older pip reads the vendored bundle, which is
//! patched only with `--include-vendored` — and a note says so.

use trustbake_store::{MemRoot, Meta, plan};

use super::{OPTIONS, debian::ubuntu, fixture, mozilla};

fn with_pip(python: &str, pip: &str) -> MemRoot {
    let mut root = ubuntu(&mozilla(2));
    let site = format!("/usr/lib/{python}/site-packages");
    let mut pem = String::new();
    for c in mozilla(2) {
        pem.push_str(&c.to_pem());
    }
    root.file(
        &format!("{site}/pip/_vendor/certifi/cacert.pem"),
        pem,
        Meta::root(0o644, 1),
    );
    root.dir(&format!("{site}/pip-{pip}.dist-info"), Meta::root(0o755, 1));
    root
}

fn reason_and_notes(root: &MemRoot) -> (String, Vec<String>) {
    let ca = fixture("demo-root.pem");
    let (plan, report) = plan(root, std::slice::from_ref(&ca), None, &OPTIONS).unwrap();
    assert!(!plan.items.iter().any(|i| i.path.contains("/pip/_vendor/")));
    let store = report
        .stores
        .iter()
        .find(|s| s.store.contains("/pip/_vendor/"))
        .unwrap();
    (store.skipped[0].reason.clone(), report.notes)
}

#[test]
fn pip_with_truststore_is_covered_by_the_os_store() {
    let (reason, notes) = reason_and_notes(&with_pip("python3.12", "24.2"));
    assert!(reason.contains("uses the system store"), "{reason}");
    assert!(
        !notes.iter().any(|n| n.contains("--include-vendored")),
        "{notes:?}"
    );
}

#[test]
fn older_pip_reads_its_vendored_certifi_and_a_note_says_so() {
    for (python, pip) in [("python3.11", "23.0.1"), ("python3.9", "24.3.1")] {
        let (reason, notes) = reason_and_notes(&with_pip(python, pip));
        assert!(
            reason.contains("reads its vendored certifi"),
            "{python} {pip}: {reason}"
        );
        assert!(
            notes.iter().any(|n| n.contains("--include-vendored")),
            "{python} {pip}: {notes:?}"
        );
    }
}
