//! `helm-values` and `secret`: the output parses as YAML (PyYAML), sets only keys the charts
//! have (held against copies of the charts' values.yaml keys in `tests/fixtures/charts/`, with
//! their source), and the Secret is valid Kubernetes whose data round-trips to the CA set.

use std::collections::BTreeSet;

use serde_json::Value;
use tests::{fixture, output, root, scratch, tool, trustbake};

/// `text` (one or more YAML documents) as JSON values, through PyYAML.
fn yaml(text: &str) -> Vec<Value> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = scratch(&format!("deploy-yaml-{}-{n}", std::process::id()));
    let file = work.join("doc.yaml");
    std::fs::write(&file, text).unwrap();
    let out = tool("python3", "python3")
        .arg("-c")
        .arg("import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyYAML (install python3-yaml): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every leaf key path of a value (`ui.image`); an empty mapping (`values: {}`) is a leaf.
fn leaves(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if map.is_empty() => {
            out.insert(prefix.to_owned());
        }
        Value::Object(map) => {
            for (k, v) in map {
                let path = tests::key_path(prefix, k);
                leaves(v, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

fn chart_keys(name: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/charts").join(name)).unwrap();
    let mut keys = BTreeSet::new();
    leaves(&yaml(&text)[0], "", &mut keys);
    keys
}

#[test]
fn helm_values_are_one_document_for_the_chart_the_tag_names() {
    let enterprise = chart_keys("enterprise-values.yaml");
    let engine = chart_keys("anchore-engine-values.yaml");
    let digest = format!(
        "harbor.corp:5000/anchore/enterprise@sha256:{}",
        "ab".repeat(32)
    );
    // (image, component, --chart, the chart's keys, the one key set)
    for (image, component, chart, keys, key) in [
        (
            "harbor.corp/anchore/enterprise:v5.1.0-corp",
            "enterprise",
            None,
            &enterprise,
            "image",
        ),
        (
            "registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0",
            "enterprise",
            None,
            &enterprise,
            "image",
        ),
        (
            "docker://harbor.corp/anchore/enterprise-ui:v5.1.0-corp",
            "ui",
            None,
            &enterprise,
            "ui.image",
        ),
        (
            "harbor.corp/anchore/enterprise:v3.2.0-corp",
            "enterprise",
            None,
            &engine,
            "anchoreEnterpriseGlobal.image",
        ),
        (
            "harbor.corp/anchore/enterprise-ui:v3.2.0-corp",
            "ui",
            None,
            &engine,
            "anchoreEnterpriseUi.image",
        ),
        (
            "harbor.corp/anchore/anchore-engine:v0.9.4-corp",
            "engine",
            None,
            &engine,
            "anchoreGlobal.image",
        ),
        (
            digest.as_str(),
            "enterprise",
            Some("enterprise"),
            &enterprise,
            "image",
        ),
        (
            digest.as_str(),
            "enterprise",
            Some("engine"),
            &engine,
            "anchoreEnterpriseGlobal.image",
        ),
    ] {
        let mut cmd = trustbake();
        cmd.args(["helm-values", "--image", image, "--component", component]);
        if let Some(chart) = chart {
            cmd.args(["--chart", chart]);
        }
        let text = output(&mut cmd);
        // As helm -f reads it: one document, a mapping.
        let docs = yaml(&text);
        assert_eq!(docs.len(), 1, "{text}");
        assert!(!text.contains("\n---"), "{text}");
        assert!(docs[0].is_object(), "{text}");
        let mut set = BTreeSet::new();
        leaves(&docs[0], "", &mut set);
        assert_eq!(set, BTreeSet::from([key.to_owned()]), "{text}");
        assert!(keys.contains(key), "{key} is a key of the chart");
        let value = key.split('.').fold(&docs[0], |v, k| &v[k]);
        let want = image.strip_prefix("docker://").unwrap_or(image);
        assert_eq!(value, want, "{text}");
    }
    // A digest (or a tag naming no version) needs the chart; the enterprise chart has no
    // Engine image; a layout is not a registry image (named as typed); an unknown component.
    for (args, needle) in [
        (vec!["--image", digest.as_str()], "--chart"),
        (
            vec!["--image", "harbor.corp/anchore/enterprise:latest"],
            "--chart",
        ),
        (
            vec![
                "--image",
                "a/b:v0.9.4",
                "--component",
                "engine",
                "--chart",
                "enterprise",
            ],
            "no Engine image",
        ),
        (
            vec!["--image", "oci:./layout:tag"],
            "'oci:./layout:tag' is not a registry image",
        ),
        (vec!["--image", "a/b:v5.1.0", "--component", "db"], "db"),
    ] {
        let out = trustbake().arg("helm-values").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("docker://oci:"), "{err}");
    }
}

#[test]
fn the_secret_is_valid_kubernetes_and_round_trips_to_the_ca_set() {
    let cas = [
        fixture("root-rsa.pem"),
        fixture("root-ec.pem"),
        fixture("demo-root.pem"),
    ];
    let mut cmd = trustbake();
    cmd.args([
        "secret",
        "--name",
        "anchore-certs",
        "--namespace",
        "anchore",
    ]);
    for ca in &cas {
        cmd.arg("--ca").arg(ca);
    }
    let text = output(&mut cmd);
    assert!(
        text.contains("readOnlyRootFilesystem") && text.contains("Java"),
        "the comment says what it does not reach"
    );
    let doc = &yaml(&text)[0];
    assert_eq!(doc["apiVersion"], "v1");
    assert_eq!(doc["kind"], "Secret");
    assert_eq!(doc["type"], "Opaque");
    assert_eq!(doc["metadata"]["name"], "anchore-certs");
    assert_eq!(doc["metadata"]["namespace"], "anchore");
    let data = doc["data"].as_object().unwrap();
    let mut got = BTreeSet::new();
    for (key, value) in data {
        assert!(
            key.ends_with(".pem")
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)),
            "{key}"
        );
        let pem = output(
            tool("python3", "python3")
                .arg("-c")
                .arg("import base64,sys; sys.stdout.write(base64.b64decode(sys.argv[1], validate=True).decode())")
                .arg(value.as_str().unwrap()),
        );
        for cert in trustbake_certs::read_bundle(pem.as_bytes()).certificates {
            got.insert(cert.sha256().hex());
        }
    }
    let want: BTreeSet<String> = cas
        .iter()
        .flat_map(|f| trustbake_certs::read_bundle(&std::fs::read(f).unwrap()).certificates)
        .map(|c| c.sha256().hex())
        .collect();
    assert_eq!(got, want);
    // The same strict intake as bake: a leaf is refused (3), a bad name is a usage error (2).
    let out = trustbake()
        .args(["secret", "--ca"])
        .arg(fixture("leaf.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = trustbake()
        .args(["secret", "--name", "Bad_Name", "--ca"])
        .arg(fixture("root-rsa.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The keys of a committed copy of Big Bang's values (`tests/fixtures/charts/bigbang/`).
fn bigbang_keys(name: &str) -> BTreeSet<String> {
    chart_keys(&format!("bigbang/{name}"))
}

#[test]
fn big_bang_values_are_one_mapping_in_the_umbrella_and_package_shape() {
    let enterprise = "harbor.corp/ironbank/anchore/enterprise/enterprise:5.23.0-corp";
    let ui = "harbor.corp/ironbank/anchore/enterpriseui/enterpriseui:5.23.0-corp";
    let old_ui = "harbor.corp/ironbank/anchore/enterprise/enterpriseui:5.8.0-corp";
    // (the release option, the umbrella copy, the package copy, the addon key, the package's
    // keys the two images and the Secret name must land on)
    let upstream = [
        "upstream.image",
        "upstream.ui.image",
        "upstream.certStoreSecretName",
    ];
    for (option, umbrella, package, addon, want) in [
        (
            vec![],
            "umbrella-3.30.0.yaml",
            "package-3.19.2-bb.0.yaml",
            "anchoreEnterprise",
            upstream,
        ),
        (
            vec!["--bigbang-version", "3.18.0"],
            "umbrella-3.30.0.yaml",
            "package-3.19.2-bb.0.yaml",
            "anchoreEnterprise",
            upstream,
        ),
        (
            vec!["--package-version", "3.14.2-bb.4"],
            "umbrella-3.30.0.yaml",
            "package-3.14.2-bb.4.yaml",
            "anchoreEnterprise",
            ["image", "ui.image", "certStoreSecretName"],
        ),
        (
            vec!["--bigbang-version", "2.53.0"],
            "umbrella-2.53.0.yaml",
            "package-3.14.2-bb.4.yaml",
            "anchore",
            ["image", "ui.image", "certStoreSecretName"],
        ),
        (
            vec!["--bigbang-version", "2.18.0"],
            "umbrella-2.53.0.yaml",
            "package-1.27.4-bb.7.yaml",
            "anchore",
            [
                "anchoreEnterpriseGlobal.image",
                "anchoreEnterpriseUi.image",
                "anchoreGlobal.certStoreSecretName",
            ],
        ),
    ] {
        let umbrella = bigbang_keys(umbrella);
        let package = bigbang_keys(package);
        let text = output(
            trustbake()
                .args(["helm-values", "--chart", "bigbang", "--image", enterprise])
                .args(["--image", ui, "--cert-store-secret", "anchore-certs"])
                .args(&option),
        );
        let docs = yaml(&text);
        assert_eq!(docs.len(), 1, "{option:?}: {text}");
        let doc = &docs[0];
        let addons = doc["addons"].as_object().unwrap();
        assert_eq!(addons.len(), 1, "{text}");
        let addon_values = &addons[addon];
        assert_eq!(addon_values["enabled"], true, "{text}");
        assert!(
            umbrella.contains(&format!("addons.{addon}.enabled")),
            "{text}"
        );
        assert!(
            umbrella.contains(&format!("addons.{addon}.values")),
            "{text}"
        );
        let mut set = BTreeSet::new();
        leaves(&addon_values["values"], "", &mut set);
        let wanted: BTreeSet<String> = want.iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(set, wanted, "{option:?}: {text}");
        assert!(set.is_subset(&package), "{option:?}: {set:?} ⊄ {package:?}");
        let at = |key: &str| key.split('.').fold(&addon_values["values"], |v, k| &v[k]);
        assert_eq!(at(want[0]), enterprise, "{text}");
        assert_eq!(at(want[1]), ui, "{text}");
        assert_eq!(at(want[2]), "anchore-certs", "{text}");
    }
    // Iron Bank's earlier UI path, alone, names the UI; --component overrides a name.
    let text = output(trustbake().args(["helm-values", "--chart", "bigbang", "--image", old_ui]));
    assert_eq!(
        yaml(&text)[0]["addons"]["anchoreEnterprise"]["values"]["upstream"]["ui"]["image"],
        old_ui
    );
    // Refused, as usage errors naming what to give: an ambiguous package, a release option
    // without the chart, two images for one key, --component with two images, the CLI.
    for (args, needle) in [
        (
            vec![
                "--chart",
                "bigbang",
                "--package-version",
                "3.7.0-bb.0",
                "--image",
                enterprise,
            ],
            "--bigbang-version",
        ),
        (
            vec!["--bigbang-version", "3.18.0", "--image", enterprise],
            "--chart bigbang",
        ),
        (
            vec![
                "--chart", "bigbang", "--image", enterprise, "--image", enterprise,
            ],
            "two images",
        ),
        (
            vec![
                "--chart",
                "bigbang",
                "--image",
                enterprise,
                "--image",
                ui,
                "--component",
                "ui",
            ],
            "--component",
        ),
        (
            vec![
                "--chart",
                "bigbang",
                "--image",
                "registry1.dso.mil/ironbank/anchore/cli/cli:0.9.4",
            ],
            "CLI",
        ),
        (
            vec![
                "--chart",
                "bigbang",
                "--package-version",
                "3.19",
                "--image",
                ui,
            ],
            "3.19",
        ),
        (
            vec![
                "--chart",
                "bigbang",
                "--bigbang-version",
                "0.9.0",
                "--image",
                ui,
            ],
            "1.1.0",
        ),
        (
            vec![
                "--chart",
                "bigbang",
                "--image",
                ui,
                "--cert-store-secret",
                "a: b\nc",
            ],
            "--cert-store-secret",
        ),
    ] {
        let out = trustbake().arg("helm-values").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn the_big_bang_secret_names_its_values_key_and_namespace() {
    let text = output(
        trustbake()
            .args(["secret", "--chart", "bigbang", "--ca"])
            .arg(fixture("root-rsa.pem")),
    );
    assert!(
        text.contains(
            "addons.anchoreEnterprise.values.upstream.certStoreSecretName: anchore-certs"
        ),
        "{text}"
    );
    let doc = &yaml(&text)[0];
    assert_eq!(doc["metadata"]["namespace"], "anchore", "{text}");
    let text = output(
        trustbake()
            .args([
                "secret",
                "--chart",
                "bigbang",
                "--bigbang-version",
                "2.20.0",
                "--namespace",
                "sec",
            ])
            .arg("--ca")
            .arg(fixture("root-rsa.pem")),
    );
    assert!(
        text.contains("addons.anchore.values.anchoreGlobal.certStoreSecretName: anchore-certs"),
        "{text}"
    );
    assert_eq!(yaml(&text)[0]["metadata"]["namespace"], "sec", "{text}");
}
