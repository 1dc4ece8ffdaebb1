//! `cargo xtask test`: the whole test suite, as CI runs it. Checks that the outside tools the
//! tests drive are installed (failing with the install command otherwise), holds the code to
//! its habits (`cargo fmt --check`, clippy and rustdoc with warnings denied), fetches the real
//! third-party fixtures, clears the host's CA-bundle variables, then runs every test.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::fixtures;
use crate::util::{require_tool, root, run as run_cmd};

/// Variables that point TLS clients at a host bundle; tests must never depend on them.
const HOST_CA_VARIABLES: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "PIP_CERT",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
];

pub(crate) fn run(extra: &[String]) -> Result<()> {
    for (tool, package) in [
        ("openssl", "openssl"),
        ("python3", "python3"),
        ("trust", "p11-kit p11-kit-modules"),
        ("keytool", "openjdk-17-jre-headless"),
        ("javac", "openjdk-17-jdk-headless"),
        ("debootstrap", "debootstrap"),
        ("unshare", "util-linux"),
        ("chroot", "coreutils"),
        ("skopeo", "skopeo"),
        ("umoci", "umoci"),
        ("oci-image-tool", "oci-image-tool"),
        ("podman", "podman"),
        ("runc", "runc"),
        ("time", "time"),
        ("pzstd", "zstd"),
        ("docker-registry", "docker-registry"),
        ("htpasswd", "apache2-utils"),
        ("curl", "curl"),
        ("buildah", "buildah"),
        ("musl-gcc", "musl-tools"),
    ] {
        require_tool(tool, package)?;
    }
    // The proxy-env tests parse the YAML forms as Anchore and compose do (PyYAML).
    let yaml = Command::new("python3").args(["-c", "import yaml"]).output();
    anyhow::ensure!(
        yaml.is_ok_and(|o| o.status.success()),
        "Python's yaml module is missing; install it with: apt-get install -y python3-yaml"
    );
    // trustbake's own image holds a static binary built for musl.
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    anyhow::ensure!(
        targets.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("x86_64-unknown-linux-musl")),
        "the musl target is missing; install it with: rustup target add x86_64-unknown-linux-musl"
    );
    // The attestation's schema is checked by Debian's python3 (python3-jsonschema).
    let jsonschema = Command::new("/usr/bin/python3")
        .args(["-c", "import jsonschema"])
        .output();
    anyhow::ensure!(
        jsonschema.is_ok_and(|o| o.status.success()),
        "Python's jsonschema module is missing; install it with: apt-get install -y python3-jsonschema"
    );
    let nextest = Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output();
    if !nextest.map(|o| o.status.success()).unwrap_or(false) {
        bail!(
            "cargo-nextest is not installed; install it with: cargo install cargo-nextest --locked"
        );
    }
    gates()?;
    let certifi = fixtures::fetch().context("fetching the test fixtures")?;

    let cargo = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root())
            .args(args)
            .env("TRUSTBAKE_CERTIFI_FIXTURES", &certifi);
        for var in HOST_CA_VARIABLES {
            cmd.env_remove(var);
        }
        cmd
    };
    run_cmd(&mut cargo(&["test", "--workspace", "--doc", "--quiet"]))?;
    // The end-to-end tests drive the trustbake binary itself.
    run_cmd(&mut cargo(&[
        "build",
        "--quiet",
        "--package",
        "trustbake-cli",
    ]))?;
    let mut all = cargo(&[
        "nextest",
        "run",
        "--workspace",
        "--all-targets",
        "--no-fail-fast",
    ]);
    all.args(extra);
    run_cmd(&mut all)
}

/// Formatting, lints and documentation: the habits that keep the code readable, checked before
/// any test runs.
fn gates() -> Result<()> {
    let cargo = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root()).args(args);
        cmd
    };
    run_cmd(&mut cargo(&["fmt", "--all", "--", "--check"]))
        .context("the code is not formatted: run `cargo fmt --all`")?;
    run_cmd(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy found warnings")?;
    run_cmd(
        cargo(&["doc", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"),
    )
    .context("rustdoc found warnings")
}
