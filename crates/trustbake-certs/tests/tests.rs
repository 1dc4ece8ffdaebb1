//! Integration tests of certificate intake over the committed test CAs and Mozilla's roots.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod intake;
mod laws;
mod mozilla;

use std::path::PathBuf;

use trustbake_certs::{Intake, IntakeError, Policy, Source, intake};

/// 2026-01-01: inside the validity of every "valid" fixture (2020–2120).
const NOW: i64 = 1_767_225_600;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/cas")
        .join(name)
}

fn source(name: &str) -> Source {
    let path = fixture_path(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate the fixtures with: cargo xtask gen-test-cas",
            path.display()
        )
    });
    Source::new(name, bytes)
}

fn take(names: &[&str], policy: Policy) -> Result<Intake, IntakeError> {
    let sources: Vec<Source> = names.iter().map(|n| source(n)).collect();
    intake(&sources, &policy)
}

#[test]
fn every_fixture_named_in_the_manifest_exists() {
    let manifest = std::fs::read_to_string(fixture_path("MANIFEST"))
        .expect("tests/fixtures/cas/MANIFEST; run: cargo xtask gen-test-cas");
    for name in manifest.lines() {
        assert!(
            fixture_path(name).is_file(),
            "fixture {name} is missing; regenerate with: cargo xtask gen-test-cas"
        );
    }
}
