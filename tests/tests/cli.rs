//! The `trustbake` binary's image commands: `bake` (dry run, JSON, recipes), `inspect` (an image
//! whose stores disagree shows it).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tests::synthetic::write_layout;
use tests::{fixture, output, root, scratch, tool};
use trustbake_targets::{Product, VersionMap};

fn trustbake() -> Command {
    let bin = root().join("target/debug/trustbake");
    assert!(
        bin.is_file(),
        "{} is missing; build it with: cargo build -p trustbake-cli",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn enterprise_base(work: &std::path::Path) -> PathBuf {
    let line = VersionMap::builtin()
        .lines_of(Product::Enterprise)
        .last()
        .unwrap()
        .clone();
    let base = work.join("base");
    write_layout(&base, &line, 1);
    base
}

#[test]
fn dry_run_writes_nothing_and_predicts_the_digest() {
    let work = scratch("cli-dry-run");
    let base = enterprise_base(&work);
    let from = format!("oci:{}:5.1.0", base.display());
    let to = format!("oci:{}:corp", work.join("out").display());
    let ca = fixture("demo-root.pem");
    let dry: Value = serde_json::from_str(&output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(&ca)
            .args(["--dry-run", "--json"]),
    ))
    .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert!(!work.join("out").exists(), "a dry run writes nothing");
    let entries = dry["platforms"][0]["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["path"]
        == "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem"
        && e["uid"] == 1000));
    let real: Value = serde_json::from_str(&output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(&ca)
            .arg("--json"),
    ))
    .unwrap();
    assert_eq!(
        dry["digest"], real["digest"],
        "the dry run predicts the digest"
    );
    let text = output(
        trustbake()
            .args([
                "bake",
                "--from",
                &from,
                "--to",
                &format!("oci:{}:again", work.join("out").display()),
                "--ca",
            ])
            .arg(&ca)
            .arg("--dry-run"),
    );
    assert!(text.starts_with("dry run: would write oci:"), "{text}");
}

#[test]
fn recipes_resolve_paths_next_to_the_recipe() {
    let work = scratch("cli-recipe");
    enterprise_base(&work);
    std::fs::create_dir_all(work.join("certs")).unwrap();
    std::fs::copy(fixture("demo-root.pem"), work.join("certs/corp.pem")).unwrap();
    let recipe = work.join("recipe.toml");
    std::fs::write(&recipe, "from = \"oci:base:5.1.0\"\nto = \"oci:out:corp\"\ncas = [\"certs/corp.pem\"]\nproduct = \"enterprise\"\nversion = \"5.1\"\n").unwrap();
    let text = output(
        trustbake()
            .arg("bake")
            .arg("-f")
            .arg(&recipe)
            .current_dir("/"),
    );
    assert!(text.contains("certifi"), "{text}");
    output(
        tool("skopeo", "skopeo")
            .arg("inspect")
            .arg(format!("oci:{}:corp", work.join("out").display())),
    );
}

#[test]
fn inspect_shows_a_local_ca_missing_from_stores() {
    let work = scratch("cli-inspect");
    let base = enterprise_base(&work);
    let bundle = work.join("bundle");
    output(
        tool("umoci", "umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:5.1.0", base.display()))
            .arg(&bundle),
    );
    let rootfs = bundle.join("rootfs");
    // An anchor dropped in by hand, without running update-ca-trust: the stores disagree.
    std::fs::copy(
        fixture("demo-root.pem"),
        rootfs.join("etc/pki/ca-trust/source/anchors/corp.pem"),
    )
    .unwrap();
    let text = output(trustbake().arg("inspect").arg(&rootfs));
    assert!(text.contains("local CA 'Example Corp Root CA'"), "{text}");
    assert!(text.contains("in 0 of 8 stores"), "{text}");
    assert!(
        text.contains(
            "MISSING from /home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem"
        ),
        "{text}"
    );
    // Applying fixes it.
    output(
        trustbake()
            .args(["apply", "--root"])
            .arg(&rootfs)
            .arg("--ca")
            .arg(fixture("demo-root.pem")),
    );
    let json: Value = serde_json::from_str(&output(
        trustbake().arg("inspect").arg(&rootfs).arg("--json"),
    ))
    .unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(
        json["platforms"][0]["local_cas"][0]["missing_from"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn bad_references_are_refused_before_anything_is_read() {
    let out = trustbake()
        .args([
            "bake",
            "--from",
            "docker://anchore/enterprise",
            "--to",
            "oci:x",
            "--ca",
        ])
        .arg(fixture("demo-root.pem"))
        .output()
        .unwrap();
    // A reference that does not parse is a usage error.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'docker://anchore/enterprise' is not an image reference (unknown transport)"),
        "{err}"
    );
}
