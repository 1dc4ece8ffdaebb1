//! The version map at every boundary between release lines, and beyond both ends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use trustbake_targets::{Base, Confidence, OsFamily, Product, TargetError, Version, VersionMap};

/// Resolves `product version` and returns (line, base, python, primary certifi path).
fn resolve(product: Product, version: &str) -> Result<(String, Base, String, String), TargetError> {
    let version: Version = version.parse().unwrap();
    let r = VersionMap::builtin().resolve(product, &version)?;
    Ok((
        r.line.line.clone(),
        r.line.base,
        r.line.python.clone(),
        r.certifi_paths[0].clone(),
    ))
}

fn check(product: Product, version: &str, line: &str, base: Base, python: &str, certifi: &str) {
    let got = resolve(product, version).unwrap_or_else(|e| panic!("{product} {version}: {e}"));
    assert_eq!(
        got,
        (line.to_owned(), base, python.to_owned(), certifi.to_owned()),
        "{product} {version}"
    );
}

const E: Product = Product::Engine;
const X: Product = Product::Enterprise;

#[test]
fn engine_boundaries() {
    check(
        E,
        "0.1.0",
        "0.1.x-0.2.x",
        Base::Centos7,
        "2.7",
        "/usr/lib/python2.7/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.2.9",
        "0.1.x-0.2.x",
        Base::Centos7,
        "2.7",
        "/usr/lib/python2.7/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.3.0",
        "0.3.x",
        Base::Ubuntu1804,
        "3.6",
        "/usr/local/lib/python3.6/dist-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.3.99",
        "0.3.x",
        Base::Ubuntu1804,
        "3.6",
        "/usr/local/lib/python3.6/dist-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.4.0",
        "0.4.x-0.6.x",
        Base::Ubi7,
        "3.6",
        "/opt/rh/rh-python36/root/usr/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.6.9",
        "0.4.x-0.6.x",
        Base::Ubi7,
        "3.6",
        "/opt/rh/rh-python36/root/usr/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.7.0",
        "0.7.x-0.8.x",
        Base::Ubi8,
        "3.6",
        "/usr/local/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.8.9",
        "0.7.x-0.8.x",
        Base::Ubi8,
        "3.6",
        "/usr/local/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.9.0",
        "0.9.x-1.1.x",
        Base::Ubi8,
        "3.8",
        "/usr/local/lib/python3.8/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "1.1.0",
        "0.9.x-1.1.x",
        Base::Ubi8,
        "3.8",
        "/usr/local/lib/python3.8/site-packages/certifi/cacert.pem",
    );
}

#[test]
fn enterprise_boundaries() {
    check(
        X,
        "2.3.0",
        "2.3.x+",
        Base::Ubi8,
        "3.6",
        "/usr/local/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "2.4.9",
        "2.3.x+",
        Base::Ubi8,
        "3.6",
        "/usr/local/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "3.0.0",
        "3.0.x+",
        Base::Ubi8,
        "3.8",
        "/usr/local/lib/python3.8/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "4.3.9",
        "3.0.x+",
        Base::Ubi8,
        "3.8",
        "/usr/local/lib/python3.8/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "4.4.0",
        "4.4.x+",
        Base::Ubi8,
        "3.9",
        "/usr/local/lib/python3.9/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "4.4.9",
        "4.4.x+",
        Base::Ubi8,
        "3.9",
        "/usr/local/lib/python3.9/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "4.5.0",
        "4.5.x+",
        Base::Ubi9,
        "3.9",
        "/home/anchore/venv/lib/python3.9/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "5.0.9",
        "4.5.x+",
        Base::Ubi9,
        "3.9",
        "/home/anchore/venv/lib/python3.9/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "5.1.0",
        "5.1.x+",
        Base::Ubi9,
        "3.11",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "5.1",
        "5.1.x+",
        Base::Ubi9,
        "3.11",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "v5.1.0",
        "5.1.x+",
        Base::Ubi9,
        "3.11",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    );
}

#[test]
fn a_release_candidate_belongs_to_its_release_line() {
    check(
        X,
        "5.1.0-rc1",
        "5.1.x+",
        Base::Ubi9,
        "3.11",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    );
    check(
        E,
        "0.3.0-rc2",
        "0.3.x",
        Base::Ubuntu1804,
        "3.6",
        "/usr/local/lib/python3.6/dist-packages/certifi/cacert.pem",
    );
    let r = VersionMap::builtin()
        .resolve(X, &"5.1.0-rc1".parse().unwrap())
        .unwrap();
    assert!(
        r.notes
            .iter()
            .any(|n| n == "'rc1' is a pre-release tag; it is read as a 5.1.0 build"),
        "{:?}",
        r.notes
    );
}

#[test]
fn far_future_versions_map_to_the_newest_line_with_a_note() {
    for (product, version, line) in [
        (X, "5.2.0", "5.1.x+"),
        (X, "5.27.3", "5.1.x+"),
        (X, "6.2.0", "6.1.x+"),
        (X, "99.0", "6.1.x+"),
        (E, "1.2.0", "0.9.x-1.1.x"),
        (E, "7.0", "0.9.x-1.1.x"),
    ] {
        let r = VersionMap::builtin()
            .resolve(product, &version.parse().unwrap())
            .unwrap();
        assert_eq!(r.line.line, line);
        assert!(
            r.notes.iter().any(|n| n
                .contains("is newer than the newest release the map has facts for")
                && n.contains("bake confirms it by looking inside the image")),
            "{product} {version}: {:?}",
            r.notes
        );
    }
    // Inside the covered range there is no such note.
    for (product, version) in [(X, "5.1.9"), (X, "6.1.1"), (E, "1.1.9"), (E, "0.9.0")] {
        let r = VersionMap::builtin()
            .resolve(product, &version.parse().unwrap())
            .unwrap();
        assert!(
            !r.notes.iter().any(|n| n.contains("is newer than")),
            "{product} {version}: {:?}",
            r.notes
        );
    }
}

#[test]
fn versions_older_than_the_first_line_are_not_guessed() {
    for (product, version, first) in [
        (X, "1.9.9", "2.0.x-2.2.x"),
        (X, "1.0.0", "2.0.x-2.2.x"),
        (E, "0.0.9", "0.1.x-0.2.x"),
    ] {
        let err = resolve(product, version).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TargetError::NotInMap { .. }));
        assert!(text.contains("is not in the version map"), "{text}");
        assert!(
            text.contains(&format!("its first known line is {first}")),
            "{text}"
        );
        assert!(
            text.contains("bake detects the layout from the image itself"),
            "{text}"
        );
    }
    assert_eq!(
        resolve(X, "1.0").unwrap_err().to_string(),
        "enterprise 1.0.0 is not in the version map (its first known line is 2.0.x-2.2.x, from 2.0.0); trustbake does not guess: bake detects the layout from the image itself"
    );
}

#[test]
fn the_cli_venv_certifi_appears_from_0_10_1() {
    let paths = |v: &str| {
        VersionMap::builtin()
            .resolve(E, &v.parse().unwrap())
            .unwrap()
    };
    assert_eq!(paths("0.10.0").certifi_paths.len(), 1);
    let r = paths("0.10.1");
    assert_eq!(
        r.certifi_paths,
        [
            "/usr/local/lib/python3.8/site-packages/certifi/cacert.pem",
            "/anchore-cli/lib/python3.8/site-packages/certifi/cacert.pem"
        ]
    );
    // Confirmed now (the Dockerfile): no inferred-path note.
    assert!(
        !r.notes.iter().any(|n| n.contains("is inferred")),
        "{:?}",
        r.notes
    );
    // Enterprise 3.0's path is inferred even though its base and Python are confirmed.
    let r = VersionMap::builtin()
        .resolve(X, &"3.0.0".parse().unwrap())
        .unwrap();
    assert!(
        r.notes.iter().any(|n| n
            .starts_with("/usr/local/lib/python3.8/site-packages/certifi/cacert.pem is inferred")),
        "{:?}",
        r.notes
    );
}

#[test]
fn the_fleet_through_6_1() {
    check(
        X,
        "2.1.0",
        "2.0.x-2.2.x",
        Base::Ubi7,
        "3.6",
        "/opt/rh/rh-python36/root/usr/lib/python3.6/site-packages/certifi/cacert.pem",
    );
    check(
        X,
        "6.1.1",
        "6.1.x+",
        Base::Ubi9,
        "3.11",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    );
    let line = |name: &str| {
        VersionMap::builtin()
            .lines()
            .iter()
            .find(|l| l.line == name)
            .unwrap()
            .clone()
    };
    assert!(line("2.0.x-2.2.x").source.contains("Engine 0.4-0.6"));
    assert!(line("6.1.x+").source.contains("readOnlyRootFilesystem"));
}

#[test]
fn every_row_is_consistent() {
    for line in VersionMap::builtin().lines() {
        let info = &line.base_info;
        let (family, anchors, command) = match line.base {
            Base::Ubuntu1804 => (
                OsFamily::Debian,
                "/usr/local/share/ca-certificates",
                "update-ca-certificates",
            ),
            _ => (
                OsFamily::Rhel,
                "/etc/pki/ca-trust/source/anchors",
                "update-ca-trust extract",
            ),
        };
        assert_eq!(
            (
                info.os_family,
                info.anchors_dir.as_str(),
                info.update_command.as_str()
            ),
            (family, anchors, command),
            "{}",
            line.line
        );
        assert!(
            line.certifi[0].path.ends_with("/certifi/cacert.pem"),
            "{}",
            line.line
        );
        assert!(
            line.certifi[0]
                .path
                .contains(&format!("python{}", line.python)),
            "{}: certifi path and python disagree",
            line.line
        );
        assert!(!line.source.is_empty());
        let has_edk2 = info
            .os_outputs
            .iter()
            .any(|o| o.ends_with("edk2/cacerts.bin"));
        assert_eq!(
            has_edk2,
            matches!(line.base, Base::Ubi8 | Base::Ubi9),
            "{}: edk2 output is EL8+",
            line.line
        );
    }
    let confirmed: Vec<&str> = VersionMap::builtin()
        .lines()
        .iter()
        .filter(|l| l.confidence == Confidence::Confirmed)
        .map(|l| l.line.as_str())
        .collect();
    assert_eq!(
        confirmed,
        [
            "0.1.x-0.2.x",
            "0.3.x",
            "0.4.x-0.6.x",
            "0.7.x-0.8.x",
            "0.9.x-1.1.x",
            "2.3.x+"
        ]
    );
}

#[test]
fn products_parse_and_unknown_ones_are_refused() {
    assert_eq!("Enterprise".parse::<Product>().unwrap(), X);
    assert_eq!("anchore-engine".parse::<Product>().unwrap(), E);
    assert_eq!(
        "grype".parse::<Product>().unwrap_err().to_string(),
        "unknown product 'grype'; use engine or enterprise"
    );
}
