//! The `trustbake` binary end to end: output snapshots, refusals with their exit status and
//! message, and the command-line conventions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/cas")
        .join(name)
        .display()
        .to_string()
}

fn trustbake(args: &[&str]) -> Output {
    trustbake_with_stdin(args, None)
}

fn trustbake_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trustbake"));
    cmd.args(args)
        .env_remove("TRUSTBAKE_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the trustbake binary runs");
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(bytes)
            .expect("stdin accepts the input");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("trustbake finishes")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replaces the absolute fixture directory so snapshots hold on every machine.
fn portable(text: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/cas")
        .display()
        .to_string();
    text.replace(&dir, "<fixtures>")
}

fn success(args: &[&str]) -> String {
    let out = trustbake(args);
    assert!(
        out.status.success(),
        "trustbake {args:?} failed: {}",
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "nothing on stderr without -v");
    portable(&stdout(&out))
}

mod snapshots {
    use super::*;

    #[test]
    fn plan_enterprise_5_1_with_cas() {
        let (demo, bundle) = (fixture("demo-root.pem"), fixture("bundle.pem"));
        insta::assert_snapshot!(success(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
            &demo,
            &bundle
        ]));
    }

    #[test]
    fn plan_engine_0_3_json() {
        let demo = fixture("demo-root.pem");
        insta::assert_snapshot!(success(&[
            "plan",
            "--product",
            "engine",
            "--version",
            "0.3.2",
            "--ca",
            &demo,
            "--json"
        ]));
    }

    #[test]
    fn plan_without_cas_json() {
        insta::assert_snapshot!(success(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "v4.5.1",
            "--json"
        ]));
    }

    #[test]
    fn plan_all_table_with_a_ca() {
        let demo = fixture("demo-root.pem");
        insta::assert_snapshot!(success(&["plan", "--all", "--ca", &demo]));
    }

    #[test]
    fn plan_all_json_lists_every_line() {
        let text = success(&["plan", "--all", "--json"]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["schema_version"], 1);
        let lines: Vec<String> = value["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["product"].as_str().unwrap(),
                    p["line"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(lines.len(), 12);
        insta::assert_snapshot!(lines.join("\n"));
    }
}

mod contract {
    use super::*;

    const KEYS: &[&str] = &[
        "schema_version",
        "product",
        "version",
        "line",
        "base",
        "os_family",
        "anchors_dir",
        "update_command",
        "os_outputs",
        "python",
        "certifi_paths",
        "user",
        "confidence",
        "notes",
    ];
    const CA_KEYS: &[&str] = &["label", "sha256", "anchor_file", "authority", "not_after"];

    #[test]
    fn json_has_every_documented_key_for_every_line() {
        let demo = fixture("demo-root.pem");
        let text = success(&["plan", "--all", "--json", "--ca", &demo]);
        let all: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(all["schema_version"], 1);
        for plan in all["lines"].as_array().unwrap() {
            for key in KEYS {
                assert!(plan.get(key).is_some(), "missing {key} in {plan}");
            }
            for ca in plan["cas"].as_array().unwrap() {
                for key in CA_KEYS {
                    assert!(ca.get(key).is_some(), "missing cas[].{key}");
                }
                let sha = ca["sha256"].as_str().unwrap();
                assert!(
                    sha.len() == 64
                        && sha
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                );
                let anchor = ca["anchor_file"].as_str().unwrap();
                let ext = if plan["os_family"] == "debian" {
                    ".crt"
                } else {
                    ".pem"
                };
                assert!(
                    anchor.starts_with(plan["anchors_dir"].as_str().unwrap())
                        && anchor.ends_with(ext),
                    "{anchor}"
                );
            }
        }
    }

    #[test]
    fn version_is_echoed_as_asked() {
        let text = success(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "v5.1.0-rc1",
            "--json",
        ]);
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(plan["version"], "5.1.0-rc1");
        assert_eq!(plan["line"], "5.1.x+");
        assert_eq!(plan["python"], "3.11");
    }

    #[test]
    fn warnings_stay_inside_the_json_and_logs_go_to_stderr() {
        let weak = fixture("weak-rsa.pem");
        let out = trustbake(&[
            "-vv",
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
            &weak,
            "--json",
        ]);
        assert!(out.status.success());
        let plan: serde_json::Value =
            serde_json::from_str(&stdout(&out)).expect("stdout is only JSON");
        assert!(
            plan["warnings"][0]
                .as_str()
                .unwrap()
                .contains("weak RSA key of 1024 bits")
        );
        assert!(
            stderr(&out).contains("CA input accepted"),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn stdin_is_read_with_a_dash() {
        let pem = std::fs::read(fixture("demo-root.pem")).unwrap();
        let out = trustbake_with_stdin(
            &[
                "plan",
                "--product",
                "engine",
                "--version",
                "0.9",
                "--ca",
                "-",
                "--json",
            ],
            Some(&pem),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(plan["cas"][0]["label"], "Example Corp Root CA");
        assert_eq!(plan["cas"][0]["sources"][0], "<stdin> (block 1, line 1)");
    }

    #[test]
    fn a_directory_is_read_for_its_certificate_files() {
        let dir = std::env::temp_dir().join(format!("trustbake-cli-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture("demo-root.pem"), dir.join("a.crt")).unwrap();
        std::fs::copy(fixture("root-rsa.der"), dir.join("b.der")).unwrap();
        std::fs::write(dir.join("README.txt"), "not read").unwrap();
        let text = success(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
            dir.to_str().unwrap(),
            "--json",
        ]);
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(plan["cas"].as_array().unwrap().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

mod refusals {
    use super::*;

    /// Runs a plan with `cas` and asserts exit status 3, nothing on stdout and exactly `message`
    /// as the one error line, followed only by `hint:` lines naming flags.
    fn refused(cas: &[&str], message: &str) {
        let paths: Vec<String> = cas.iter().map(|c| fixture(c)).collect();
        let mut args = vec![
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
        ];
        args.extend(paths.iter().map(String::as_str));
        let out = trustbake(&args);
        assert_eq!(out.status.code(), Some(3), "{cas:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "nothing is planned when input is refused");
        let err = portable(&stderr(&out));
        let mut lines = err.lines();
        assert_eq!(
            lines.next().unwrap_or_default(),
            format!("error: CA input refused: {message}")
        );
        for line in lines {
            assert!(line.starts_with("hint: --allow-"), "{line}");
        }
    }

    #[test]
    fn a_private_key() {
        refused(
            &["cert-and-key.pem"],
            "<fixtures>/cert-and-key.pem (block 2, line 21): is a private key (PRIVATE KEY); never bake a private key into an image: remove the key and pass only the CA certificate",
        );
    }

    #[test]
    fn a_block_that_is_not_a_certificate() {
        refused(
            &["csr.pem"],
            "<fixtures>/csr.pem (block 1, line 1): a 'CERTIFICATE REQUEST' block is not a certificate; pass only CERTIFICATE blocks",
        );
    }

    #[test]
    fn bad_base64() {
        refused(
            &["garbage.pem"],
            "<fixtures>/garbage.pem (block 1, line 1): bad base64 (InvalidCharacter(33)); the PEM text is damaged (truncated or edited?): export the certificate again",
        );
    }

    #[test]
    fn der_that_does_not_parse() {
        refused(
            &["bad-der.pem"],
            "<fixtures>/bad-der.pem (block 1, line 1): not a valid X.509 certificate (Parsing Error: NomError(Eof)); export the certificate again as PEM or DER",
        );
    }

    #[test]
    fn an_empty_file() {
        refused(
            &["empty.pem"],
            "<fixtures>/empty.pem: is empty; pass a PEM or DER CA certificate",
        );
    }

    #[test]
    fn a_file_without_certificate() {
        refused(
            &["text-only.pem"],
            "<fixtures>/text-only.pem: holds no certificate (no PEM block, and not DER); pass a PEM or DER CA certificate",
        );
    }

    #[test]
    fn a_missing_file() {
        refused(
            &["does-not-exist.pem"],
            "<fixtures>/does-not-exist.pem: cannot be read: no such file or directory",
        );
    }

    #[test]
    fn a_leaf_certificate() {
        refused(
            &["leaf.pem"],
            "<fixtures>/leaf.pem (block 1, line 1): 'localhost' is not a certificate authority (BasicConstraints cA is FALSE): update-ca-trust leaves it out of every TLS bundle, so adding it would do nothing for TLS; pass the CA that issued it, or allow non-authorities to add it anyway",
        );
    }

    #[test]
    fn an_expired_certificate() {
        refused(
            &["expired.pem"],
            "<fixtures>/expired.pem (block 1, line 1): 'Trustbake Expired Root' expired on 2011-01-01T00:00:00Z; pass a current CA, or allow expired certificates to add it anyway",
        );
    }

    #[test]
    fn a_certificate_not_yet_valid() {
        refused(
            &["not-yet-valid.pem"],
            "<fixtures>/not-yet-valid.pem (block 1, line 1): 'Trustbake Future Root' is not valid before 2100-01-01T00:00:00Z; pass a current CA, or allow expired certificates to add it anyway",
        );
    }

    #[test]
    fn one_bad_input_among_good_ones_refuses_everything() {
        let (demo, leaf, empty) = (
            fixture("demo-root.pem"),
            fixture("leaf.pem"),
            fixture("empty.pem"),
        );
        let out = trustbake(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
            &demo,
            &leaf,
            &empty,
        ]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(stdout(&out), "");
        assert_eq!(
            portable(&stderr(&out)),
            "error: CA input refused, 2 problems: <fixtures>/leaf.pem (block 1, line 1): 'localhost' is not a certificate authority (BasicConstraints cA is FALSE): update-ca-trust leaves it out of every TLS bundle, so adding it would do nothing for TLS; pass the CA that issued it, or allow non-authorities to add it anyway; <fixtures>/empty.pem: is empty; pass a PEM or DER CA certificate\nhint: --allow-non-ca adds a certificate that is not an authority anyway\n"
        );
    }

    #[test]
    fn allow_flags_let_leaves_and_expired_through_with_warnings() {
        let (leaf, expired) = (fixture("leaf.pem"), fixture("expired.pem"));
        let text = success(&[
            "plan",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--ca",
            &leaf,
            &expired,
            "--allow-non-ca",
            "--allow-expired",
            "--json",
        ]);
        let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(plan["cas"].as_array().unwrap().len(), 2);
        assert_eq!(plan["cas"][0]["authority"], false);
        assert_eq!(plan["warnings"].as_array().unwrap().len(), 2);
    }
}

mod conventions {
    use super::*;

    #[test]
    fn a_version_before_the_map_is_an_error_not_a_guess() {
        let out = trustbake(&["plan", "--product", "enterprise", "--version", "1.0"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stdout(&out), "");
        assert_eq!(
            stderr(&out),
            "error: no plan for enterprise 1.0: enterprise 1.0.0 is not in the version map (its first known line is 2.0.x-2.2.x, from 2.0.0); trustbake does not guess: bake detects the layout from the image itself\n"
        );
    }

    #[test]
    fn a_malformed_version_is_a_usage_error() {
        let out = trustbake(&["plan", "--product", "enterprise", "--version", "latest"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out)
                .starts_with("error: no plan for enterprise latest: 'latest' is not a version"),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["plan"][..],
            &["plan", "--product", "enterprise"],
            &["plan", "--all", "--product", "engine"],
            &["plan", "--product", "grype", "--version", "1"],
        ] {
            let out = trustbake(args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert_eq!(stdout(&out), "");
        }
    }

    #[test]
    fn help_has_examples_and_version_prints() {
        let help = success(&["plan", "--help"]);
        assert!(
            help.contains("Examples:") && help.contains("trustbake plan --all"),
            "{help}"
        );
        let help = success(&["completions", "--help"]);
        assert!(help.contains("Examples:"), "{help}");
        assert_eq!(
            success(&["--version"]),
            format!("trustbake {}\n", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn completions_are_generated() {
        for shell in ["bash", "zsh", "fish"] {
            let script = success(&["completions", shell]);
            assert!(
                script.contains("trustbake") && script.contains("plan"),
                "{shell}"
            );
        }
    }
}

mod apply {
    use super::*;

    /// A small UBI-like root on disk: an extracted pem bundle, the anchors directory, and the
    /// Anchore venv's certifi.
    fn rhel_root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("trustbake-cli-apply-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pem = std::fs::read_to_string(fixture("root-ec.pem")).unwrap();
        for (path, content) in [
            (
                "etc/os-release",
                "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n".to_owned(),
            ),
            (
                "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                format!("# Trustbake Test Root EC\n{pem}"),
            ),
            (
                "home/anchore/venv/pyvenv.cfg",
                "version = 3.11.7\n".to_owned(),
            ),
            (
                "home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
                format!("\n# Issuer: x\n{pem}"),
            ),
            (
                "home/anchore/venv/lib/python3.11/site-packages/certifi/core.py",
                "def where(): ...\n".to_owned(),
            ),
        ] {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        std::fs::create_dir_all(dir.join("etc/pki/ca-trust/source/anchors")).unwrap();
        dir
    }

    #[test]
    fn dry_run_writes_nothing_and_lists_what_it_would() {
        let root = rhel_root("dry");
        let before =
            std::fs::read(root.join("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")).unwrap();
        let demo = fixture("demo-root.pem");
        let out = trustbake(&[
            "apply",
            "--root",
            root.to_str().unwrap(),
            "--ca",
            &demo,
            "--dry-run",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("rhel trust layout (os-release ID=rhel VERSION_ID=9.4), Python 3.11"),
            "{text}"
        );
        assert!(text.contains("dry run: would write 3 entries:"), "{text}");
        assert!(
            text.contains("/etc/pki/ca-trust/source/anchors/example-corp-root-ca-93ccde28.pem"),
            "{text}"
        );
        assert_eq!(
            std::fs::read(root.join("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")).unwrap(),
            before
        );
        assert!(
            !root
                .join("etc/pki/ca-trust/source/anchors/example-corp-root-ca-93ccde28.pem")
                .exists()
        );
    }

    #[test]
    fn apply_writes_then_a_second_apply_has_nothing_to_do() {
        let root = rhel_root("twice");
        let demo = fixture("demo-root.pem");
        let args = [
            "apply",
            "--root",
            root.to_str().unwrap(),
            "--ca",
            &demo,
            "--json",
        ];
        let first: serde_json::Value = serde_json::from_str(&stdout(&trustbake(&args))).unwrap();
        assert_eq!(first["entries"].as_array().unwrap().len(), 3, "{first}");
        assert_eq!(first["detected"]["python"], "3.11");
        let stores: Vec<&str> = first["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert_eq!(stores, ["anchors", "pem-bundle", "certifi"]);
        let bundle =
            std::fs::read_to_string(root.join("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"))
                .unwrap();
        assert!(
            bundle.contains("\n\n# Example Corp Root CA\n-----BEGIN CERTIFICATE-----"),
            "{bundle}"
        );
        let second: serde_json::Value = serde_json::from_str(&stdout(&trustbake(&args))).unwrap();
        assert_eq!(second["entries"].as_array().unwrap().len(), 0, "{second}");
        assert_eq!(
            second["stores"][1]["present"][0]["label"],
            "Example Corp Root CA"
        );
    }

    #[test]
    fn a_root_without_trust_store_is_refused() {
        let dir = std::env::temp_dir().join(format!("trustbake-cli-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let demo = fixture("demo-root.pem");
        let out = trustbake(&["apply", "--root", dir.to_str().unwrap(), "--ca", &demo]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains(
                "no trust store found in the root: looked for /etc/pki/ca-trust/extracted"
            ),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn refused_ca_input_writes_nothing() {
        let root = rhel_root("refused");
        let (demo, key) = (fixture("demo-root.pem"), fixture("cert-and-key.pem"));
        let out = trustbake(&[
            "apply",
            "--root",
            root.to_str().unwrap(),
            "--ca",
            &demo,
            &key,
        ]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            std::fs::read_dir(root.join("etc/pki/ca-trust/source/anchors"))
                .unwrap()
                .count(),
            0
        );
    }
}
