//! The `trustbake` binary's image commands: `bake` (dry run, JSON, recipes), `inspect` (an image
//! whose stores disagree shows it).

use std::path::PathBuf;

use serde_json::Value;
use tests::synthetic::write_layout;
use tests::{fixture, output, root, scratch, tool, trustbake};

fn enterprise_base(work: &std::path::Path) -> PathBuf {
    let line = tests::synthetic::enterprise_5_1();
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
    // A recipe that only distrusts: a file next to it, and a fingerprint.
    let rsa = trustbake_certs::read_bundle(&std::fs::read(fixture("root-rsa.pem")).unwrap())
        .certificates[0]
        .sha256()
        .hex();
    let recipe = work.join("remove.toml");
    std::fs::write(
        &recipe,
        format!("from = \"oci:out:corp\"\nto = \"oci:out:removed\"\nremove = [\"certs/corp.pem\", \"sha256:{rsa}\"]\n"),
    )
    .unwrap();
    let text = output(
        trustbake()
            .args(["bake", "--json", "-f"])
            .arg(&recipe)
            .current_dir("/"),
    );
    let outcome: Value = serde_json::from_str(&text).unwrap();
    let platform = &outcome["platforms"][0];
    assert!(platform["replaced"].is_object(), "{platform}");
    // The CA the replaced layer added is blocklisted (the layer below never held it).
    let blocklist = platform["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "blocklist")
        .unwrap();
    assert_eq!(
        blocklist["added"].as_array().unwrap().len(),
        1,
        "{platform}"
    );
    assert!(
        platform["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains(&rsa)),
        "{platform}"
    );
}

#[test]
fn inspect_shows_a_local_ca_missing_from_stores() {
    let work = scratch("cli-inspect");
    let base = enterprise_base(&work);
    let bundle = work.join("bundle");
    let rootfs = tests::unpack(&base, "5.1.0", &bundle);
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
            "docker-daemon:anchore/enterprise:v5.1.0",
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
        err.contains(
            "'docker-daemon:anchore/enterprise:v5.1.0' is not an image reference (unknown transport)"
        ),
        "{err}"
    );
}

/// The README's "JSON output" section: per table (`plan`, `plan-all`, `apply`, `bake`,
/// `inspect`, and the shared `detected`, `store`, `entry`), each field's path and type.
fn documented() -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## JSON output")
        .expect("README has a JSON output section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut tables = std::collections::BTreeMap::new();
    let mut current = String::new();
    for line in section[..end].lines() {
        if let Some(title) = line.strip_prefix("#### `") {
            let title = title.trim_end_matches('`');
            current = match title {
                "trustbake plan --json" => "plan",
                "trustbake plan --all --json" => "plan-all",
                "trustbake apply --json" => "apply",
                "trustbake bake --json" => "bake",
                "trustbake inspect --json" => "inspect",
                "trustbake verify --json" => "verify",
                "trustbake check-config --json" => "check-config",
                "trustbake verify-image --json" => "verify-image",
                "trustbake sync --json" => "sync",
                other => other,
            }
            .to_owned();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4 && cells[1].starts_with('`') {
            tables
                .entry(current.clone())
                .or_insert_with(Vec::new)
                .push((cells[1].trim_matches('`').to_owned(), cells[2].to_owned()));
        }
    }
    // The shared `plan` object is the `plan` command's table.
    let plan: Vec<(String, String)> = tables["plan"]
        .iter()
        .map(|(p, t)| (format!("plan.{p}"), t.clone()))
        .collect();
    tables.insert("plan-object".to_owned(), plan);
    tables
}

/// Every field path of `value` (`a`, `a[]` for an array of objects, `a[].b`).
fn field_paths(value: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = tests::key_path(prefix, k);
                out.insert(path.clone());
                field_paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                if item.is_object() {
                    out.insert(format!("{prefix}[]"));
                    field_paths(item, &format!("{prefix}[]"), out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn json_output_matches_the_readme_both_ways() {
    let docs = documented();
    let shared = |name: &str| -> std::collections::BTreeSet<String> {
        let table = if name == "plan" { "plan-object" } else { name };
        docs[table].iter().map(|(p, _)| p.clone()).collect()
    };
    // A path is in a table when it is listed, or is the elements of a listed array of objects.
    fn listed<'a>(mut paths: impl Iterator<Item = &'a str>, path: &str) -> bool {
        let array = path.strip_suffix("[]");
        paths.any(|p| p == path || Some(p) == array)
    }
    // Whether `path` of `command`'s output is documented: directly, or below a field whose type
    // is a shared object.
    let is_documented = |command: &str, path: &str| -> bool {
        listed(docs[command].iter().map(|(p, _)| p.as_str()), path)
            // Below a free-form object (its fields are listed in words).
            || docs[command].iter().any(|(p, ty)| {
                ty.contains("free-form") && path.starts_with(&format!("{p}."))
            })
            || docs[command].iter().any(|(p, ty)| {
                let object = ty.trim_matches('`');
                ty.starts_with('`')
                    && path.strip_prefix(p.as_str()).is_some_and(|rest| {
                        let table = shared(object);
                        listed(table.iter().map(String::as_str), &format!("{object}{rest}"))
                    })
            })
    };

    // Outputs that between them show every field: a leaf CA is skipped by some stores, a second
    // apply finds the CAs present, the baked image has local CAs.
    let work = scratch("cli-json-contract");
    let base = enterprise_base(&work);
    let (demo, leaf) = (fixture("demo-root.pem"), fixture("leaf.pem"));
    let run = |args: &[&str]| -> Value {
        let mut cmd = trustbake();
        cmd.args(args).arg("--json");
        serde_json::from_str(&output(&mut cmd)).unwrap()
    };
    let cas = [
        "--ca",
        demo.to_str().unwrap(),
        leaf.to_str().unwrap(),
        "--allow-non-ca",
    ];
    let bundle = work.join("bundle");
    let rootfs = tests::unpack(&base, "5.1.0", &bundle);
    let rootfs = rootfs.to_str().unwrap();
    let from = format!("oci:{}:5.1.0", base.display());
    let to = format!("oci:{}:corp", work.join("out").display());
    let mut outputs: Vec<(&str, Value)> = vec![
        (
            "plan",
            run(&[
                &["plan", "--product", "enterprise", "--version", "5.1"],
                &cas[..],
            ]
            .concat()),
        ),
        ("plan-all", run(&[&["plan", "--all"], &cas[..]].concat())),
        (
            "apply",
            run(&[&["apply", "--root", rootfs], &cas[..]].concat()),
        ),
        (
            "apply",
            run(&[&["apply", "--dry-run", "--root", rootfs], &cas[..]].concat()),
        ),
        (
            "bake",
            run(&[&["bake", "--from", &from, "--to", &to], &cas[..]].concat()),
        ),
    ];
    // The CA applied above, distrusted again.
    let removal: Vec<&str> = cas
        .iter()
        .map(|a| if *a == "--ca" { "--remove" } else { a })
        .collect();
    outputs.push((
        "apply",
        run(&[&["apply", "--root", rootfs], &removal[..]].concat()),
    ));
    // A SUSE, an Alpine and a distroless root: the families' own detected fields.
    let alpine = work.join("alpine");
    tests::alpine::alpine_with_tool(&alpine);
    outputs.push((
        "apply",
        run(&[&["apply", "--root", alpine.to_str().unwrap()], &cas[..]].concat()),
    ));
    let suse = work.join("suse");
    tests::suse::suse_root(&suse, 4);
    outputs.push((
        "apply",
        run(&[&["apply", "--root", suse.to_str().unwrap()], &cas[..]].concat()),
    ));
    let distroless = work.join("distroless");
    tests::distroless::distroless_java(&distroless);
    outputs.push((
        "apply",
        run(&[&["apply", "--root", distroless.to_str().unwrap()], &cas[..]].concat()),
    ));
    // Through a registry: the transfers are reported.
    let registry = tests::registry::Registry::start(
        &work.join("registry"),
        false,
        tests::registry::Auth::None,
    );
    // Pushed under Anchore's Docker Hub name: its `anchore` object is printed.
    let pushed = format!("docker://{}/anchore/enterprise:5.1.0-corp", registry.host());
    outputs.push((
        "bake",
        run(&[
            &[
                "bake",
                "--from",
                &from,
                "--to",
                &pushed,
                "--dest-tls-verify=false",
            ],
            &cas[..],
        ]
        .concat()),
    ));
    outputs.push(("inspect", run(&["inspect", &to])));
    outputs.push(("inspect", run(&["inspect", &pushed, "--tls-verify=false"])));
    // sync over that repository: the pushed tag baked again, elsewhere.
    let repository = format!("docker://{}/anchore/enterprise", registry.host());
    let synced = format!(
        "docker://{}/corp/enterprise:{{tag}}-synced",
        registry.host()
    );
    let sync_args = [
        "sync",
        "--from",
        &repository,
        "--to",
        &synced,
        "--tags",
        "corp$",
    ];
    let tls = [
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--no-cache",
    ];
    outputs.push(("sync", run(&[&sync_args[..], &tls, &cas[..]].concat())));
    outputs.push((
        "plan",
        run(&[
            "plan",
            "--image",
            "registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0",
        ]),
    ));
    // A second bake onto the first replaces its layer; a CA removed.
    let rotated = format!("oci:{}:rotated", work.join("out").display());
    let (rsa, ec) = (fixture("root-rsa.pem"), fixture("root-ec.pem"));
    outputs.push((
        "bake",
        run(&[
            "bake",
            "--from",
            &to,
            "--to",
            &rotated,
            "--ca",
            rsa.to_str().unwrap(),
            "--remove",
            ec.to_str().unwrap(),
        ]),
    ));
    // verify: the demo CA baked in `to` does not issue the test leaf (a failure with a reason);
    // the leaf and its intermediate against the test root's store (trusted with an anchor).
    let chain = tests::leaf_chain(&work);
    let verify = |args: &[&str]| -> Value { crate::verify::verify_json(args).0 };
    let trusting = format!("oci:{}:trusting", work.join("out").display());
    output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &trusting, "--ca"])
            .arg(fixture("root-rsa.pem")),
    );
    outputs.push((
        "verify",
        verify(&[
            &to,
            "--chain",
            chain.to_str().unwrap(),
            "--hostname",
            "localhost",
        ]),
    ));
    outputs.push((
        "verify",
        verify(&[
            &trusting,
            "--chain",
            chain.to_str().unwrap(),
            "--hostname",
            "localhost",
        ]),
    ));
    outputs.push(("inspect", run(&["inspect", rootfs])));
    // bake signed and attested (each platform too), and verify-image on the result.
    let (key, public) = tests::pki::p256_keypair(&work, "cosign");
    let signed = format!("oci:{}:signed", work.join("out").display());
    let demo_ca = demo.to_str().unwrap();
    let signing = [
        "--sign-by-sigstore-private-key",
        key.to_str().unwrap(),
        "--attest",
    ];
    let bake_signed = [
        ["bake", "--from", &from, "--to", &signed, "--ca", demo_ca].as_slice(),
        &signing,
    ]
    .concat();
    outputs.push(("bake", run(&bake_signed)));
    outputs.push((
        "verify-image",
        run(&["verify-image", "--key", public.to_str().unwrap(), &signed]),
    ));

    // check-config: a TLS service over the committed test leaf (with its chain), one without a
    // chain, a disabled one, internal_ssl_verify off, judged against the image too.
    let deploy = work.join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    for name in ["leaf.pem", "leaf.key", "intermediate.pem"] {
        std::fs::copy(fixture(name), deploy.join(name)).unwrap();
    }
    std::fs::write(
        deploy.join("config.yaml"),
        "internal_ssl_verify: False\nservices:\n  apiext:\n    enabled: true\n    endpoint_hostname: localhost\n    port: 8228\n    ssl_enable: true\n    ssl_cert: /config/leaf.pem\n    ssl_key: /config/leaf.key\n    ssl_chain: /config/intermediate.pem\n  catalog:\n    enabled: true\n    endpoint_hostname: localhost\n    port: 8082\n    ssl_enable: true\n    ssl_cert: /config/leaf.pem\n    ssl_key: /config/leaf.key\n  simplequeue:\n    enabled: false\n    endpoint_hostname: localhost\n    port: 8083\n",
    )
    .unwrap();
    let config = deploy.join("config.yaml");
    let check_config = |extra: &[&str]| -> Value {
        let out = trustbake()
            .arg("check-config")
            .arg(&config)
            .args(extra)
            .arg("--json")
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    outputs.push(("check-config", check_config(&["--image", &trusting])));

    let mut produced: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for (command, value) in &outputs {
        assert_eq!(value["schema_version"], 1, "{command}");
        let mut paths = std::collections::BTreeSet::new();
        field_paths(value, "", &mut paths);
        for path in &paths {
            assert!(
                is_documented(command, path),
                "`{command} --json` prints `{path}`, which the README does not document"
            );
        }
        produced.entry(command).or_default().extend(paths);
    }
    // Every documented field is printed by some output (shared objects through any command).
    for command in [
        "plan",
        "plan-all",
        "apply",
        "bake",
        "inspect",
        "verify",
        "check-config",
        "verify-image",
        "sync",
    ] {
        for (path, _) in &docs[command] {
            assert!(
                produced[command].contains(path),
                "the README documents `{path}` for `{command} --json`, which no output printed"
            );
        }
    }
    for object in ["anchore", "detected", "store", "entry"] {
        for path in shared(object) {
            let rest = &path[object.len()..];
            let found = docs.iter().any(|(command, rows)| {
                produced.get(command.as_str()).is_some_and(|seen| {
                    rows.iter().any(|(p, ty)| {
                        ty.trim_matches('`') == object && seen.contains(&format!("{p}{rest}"))
                    })
                })
            });
            assert!(
                found,
                "the README documents `{path}`, which no output printed"
            );
        }
    }
}

#[test]
fn skopeo_and_crane_habits_are_steered_to_the_right_spelling() {
    let work = scratch("cli-habits");
    let base = enterprise_base(&work);
    // A second tag in the layout: a reference naming none must name one.
    bake_oci(&base, "5.1.0", &base, "5.1.0-corp", "demo-root.pem");
    let missing = work.join("missing");
    // A chain that is not there reads as a CA input that is not there.
    let out = trustbake()
        .args(["verify", base.to_str().unwrap(), "--chain"])
        .arg(&missing)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing: cannot be read: no such file or directory"),
        "{err}"
    );
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["bake".into(), "docker://a/b:c".into(), "oci:./x".into()],
            "trustbake bake --from docker://a/b:c --to oci:./x --ca FILE".into(),
        ),
        (
            vec![
                "inspect".into(),
                "docker.io/anchore/enterprise:v5.1.0".into(),
            ],
            "did you mean docker://docker.io/anchore/enterprise:v5.1.0?".into(),
        ),
        (
            vec!["inspect".into(), "oci://dir:t".into()],
            "did you mean oci:dir:t?".into(),
        ),
        (
            vec!["inspect".into(), missing.display().to_string()],
            "no such file or directory".into(),
        ),
        (
            vec![
                "bake".into(),
                "--from".into(),
                base.display().to_string(),
                "--to".into(),
                "oci:./x".into(),
                "--ca".into(),
                fixture("demo-root.pem").display().to_string(),
            ],
            format!("did you mean oci:{}?", base.display()),
        ),
        (
            vec!["inspect".into(), format!("oci:{}", base.display())],
            format!(
                "holds 2 images: name one, as oci:{}:TAG (tags: 5.1.0, 5.1.0-corp)",
                base.display()
            ),
        ),
    ];
    for (args, needle) in cases {
        let out = trustbake().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!err.contains("no transport"), "{err}");
    }
}

#[test]
fn digests_do_not_depend_on_how_a_local_source_is_spelled() {
    let work = scratch("cli-spellings");
    let base = enterprise_base(&work);
    let mut digests = Vec::new();
    for (i, from) in [
        "oci:./base:5.1.0".to_owned(),
        "oci:base:5.1.0".to_owned(),
        format!("oci:{}:5.1.0", base.display()),
    ]
    .iter()
    .enumerate()
    {
        let out: Value = serde_json::from_str(&output(
            trustbake()
                .current_dir(&work)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args([
                    "bake",
                    "--from",
                    from,
                    "--to",
                    &format!("oci:out{i}:x"),
                    "--ca",
                ])
                .arg(fixture("demo-root.pem"))
                .arg("--json"),
        ))
        .unwrap();
        digests.push(out["digest"].as_str().unwrap().to_owned());
        // No path of this machine in the image.
        let manifest = out["platforms"][0]["manifest"].as_str().unwrap().to_owned();
        let bytes = std::fs::read(
            work.join(format!("out{i}/blobs/sha256"))
                .join(manifest.trim_start_matches("sha256:")),
        )
        .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("base.name") && !text.contains("base:5.1.0"),
            "{text}"
        );
        assert!(
            text.contains("org.opencontainers.image.base.digest"),
            "{text}"
        );
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
}

#[test]
fn the_demo_result_loads_in_podman() {
    // What `cargo xtask demo` does (images/demo.toml: the synthetic Enterprise 5.1 base and
    // the demo CA), then containers-storage — which refuses a layer naming a path twice —
    // takes the result, and the exported file system holds the CA in the bundle.
    let work = scratch("cli-demo-podman");
    let base = enterprise_base(&work);
    let out = work.join("demo");
    bake_oci(&base, "5.1.0", &out, "5.1.0-corp", "demo-root.pem");
    let id = tests::podman::load(&out, "5.1.0-corp");
    let container = output(tests::podman::podman().args(["create", &id, "/none"]));
    let container = container.trim();
    let tar = work.join("rootfs.tar");
    output(
        tests::podman::podman()
            .args(["export", "-o"])
            .arg(&tar)
            .arg(container),
    );
    let _ = tests::podman::podman().args(["rm", container]).output();
    let listing = output(
        tool("tar", "tar")
            .arg("-xOf")
            .arg(&tar)
            .arg("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"),
    );
    let demo = std::fs::read_to_string(fixture("demo-root.pem")).unwrap();
    let body: String = demo
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(3)
        .collect();
    assert!(
        listing.replace('\n', "").contains(&body),
        "the demo CA is not in the bundle podman sees"
    );
}

#[test]
fn credentials_in_a_reference_never_reach_a_message() {
    let chain = tests::leaf_chain(&scratch("cli-credentials"));
    let reference = "docker://svc-user:hunter2-secret@registry.corp/anchore/enterprise:v5.1.0";
    for args in [
        vec!["plan", "--image", reference],
        vec!["inspect", reference],
        vec!["verify", reference, "--chain", chain.to_str().unwrap()],
    ] {
        let out = trustbake().args(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(!text.contains("hunter2"), "{args:?}: {text}");
        assert!(text.contains("<credentials>"), "{args:?}: {text}");
    }
}

/// `trustbake bake` from `from:from_tag` to `to:to_tag` (OCI layouts) with the test CA `ca`;
/// panics unless it succeeds.
fn bake_oci(from: &std::path::Path, from_tag: &str, to: &std::path::Path, to_tag: &str, ca: &str) {
    output(
        trustbake()
            .arg("bake")
            .arg("--from")
            .arg(format!("oci:{}:{from_tag}", from.display()))
            .arg("--to")
            .arg(format!("oci:{}:{to_tag}", to.display()))
            .arg("--ca")
            .arg(fixture(ca)),
    );
}
