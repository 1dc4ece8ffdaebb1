//! `check-config` on a full Anchore-shaped `config.yaml` (every Engine service and Enterprise's
//! extra ones) over a PKI made by `openssl`: it finds exactly the planted faults — a key that is
//! not the certificate's, a missing intermediate, a wrong host name, an expired certificate, a
//! client-auth-only certificate, and (with `--image`) a root the image does not trust — warns
//! about a group-readable key and `internal_ssl_verify: False`, and refuses configs Anchore
//! would refuse.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::Value;
use tests::pki::Pki;
use tests::realistic::realistic_enterprise;
use tests::{output, scratch, trustbake};

/// (service, certificate and key of the PKI, chain sent, endpoint_hostname)
const SERVICES: &[(&str, &str, bool, &str)] = &[
    ("apiext", "apiext", true, "anchore-api"),
    ("catalog", "catalog", true, "anchore-catalog"),
    ("simplequeue", "simplequeue", true, "anchore-simplequeue"),
    ("analyzer", "analyzer", true, "anchore-analyzer"),
    ("policy_engine", "policy_engine", true, "anchore-policy"),
    ("reports", "reports", true, "${ANCHORE_REPORTS_HOST}"),
    // Planted faults.
    ("notifications", "wrong-key", true, "anchore-wrong-key"),
    ("reports_worker", "catalog", false, "anchore-catalog"),
    ("rbac_manager", "wrong-host", true, "anchore-rbac-manager"),
    ("rbac_authorizer", "expired", true, "anchore-expired"),
    ("kubernetes_webhook", "client-only", true, "anchore-client"),
    ("feeds", "unknown-root", true, "anchore-elsewhere"),
];

fn write_config(pki: &Pki, dir: &Path) -> std::path::PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let mut yaml = String::from(
        "# Anchore Enterprise config.yaml (shape of the shipped one)\nservice_dir: /anchore_service\ntmp_dir: /analysis_scratch\nlog_level: INFO\ninternal_ssl_verify: False\ncredentials:\n  database:\n    db_connect: 'postgresql://${ANCHORE_DB_USER}:pw@anchore-db:5432/anchore'\n    db_connect_args:\n      timeout: 120\nservices:\n",
    );
    for (service, name, chain, host) in SERVICES {
        for ext in ["pem", "key"] {
            std::fs::copy(
                pki.path(&format!("{name}.{ext}")),
                certs.join(format!("{name}.{ext}")),
            )
            .unwrap();
        }
        let mode = if *service == "analyzer" { 0o640 } else { 0o600 };
        std::fs::set_permissions(
            certs.join(format!("{name}.key")),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap();
        let chain_file = if *name == "unknown-root" {
            "other-root"
        } else {
            "intermediate"
        };
        std::fs::copy(
            pki.path(&format!("{chain_file}.pem")),
            certs.join(format!("{chain_file}.pem")),
        )
        .unwrap();
        yaml.push_str(&format!(
            "  {service}:\n    enabled: true\n    require_auth: true\n    endpoint_hostname: {host}\n    listen: '0.0.0.0'\n    port: 8228\n    ssl_enable: True\n    ssl_cert: /config/certs/{name}.pem\n    ssl_key: /config/certs/{name}.key\n"
        ));
        if *chain {
            yaml.push_str(&format!("    ssl_chain: /config/certs/{chain_file}.pem\n"));
        }
    }
    yaml.push_str("  data_syncer:\n    enabled: false\n    endpoint_hostname: anchore-syncer\n    listen: '0.0.0.0'\n    port: 8778\n");
    yaml.push_str("  enterprise_ui_proxy:\n    enabled: yes\n    endpoint_hostname: anchore-ui\n    listen: '0.0.0.0'\n    port: 3000\n");
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn check(config: &Path, extra: &[&str]) -> (i32, Value) {
    let out = trustbake()
        .arg("check-config")
        .arg(config)
        .args(extra)
        .arg("--json")
        .env("ANCHORE_REPORTS_HOST", "anchore-reports")
        .env("ANCHORE_DB_USER", "anchore")
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(code <= 1, "{}", String::from_utf8_lossy(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

fn statuses(json: &Value, status: &str) -> BTreeSet<(String, String)> {
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(move |c| c["status"] == status)
                .map(move |c| {
                    (
                        s["name"].as_str().unwrap().to_owned(),
                        c["check"].as_str().unwrap().to_owned(),
                    )
                })
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn message<'a>(json: &'a Value, service: &str, check: &str) -> &'a str {
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == service)
        .unwrap()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .unwrap()["message"]
        .as_str()
        .unwrap()
}

#[test]
fn check_config_finds_exactly_the_planted_faults() {
    let work = scratch("check-config");
    let pki = Pki::generate(&work.join("pki"));
    let config = write_config(&pki, &work.join("deploy"));

    let (code, json) = check(&config, &[]);
    assert_eq!(code, 1);
    assert_eq!(json["ok"], false);
    assert_eq!(json["internal_ssl_verify"], false);
    assert_eq!(
        statuses(&json, "fail"),
        set(&[
            ("notifications", "key"),
            ("reports_worker", "chain"),
            ("rbac_manager", "hostname"),
            ("rbac_authorizer", "certificate"),
            ("kubernetes_webhook", "usage"),
        ]),
        "{json:#}"
    );
    assert_eq!(
        statuses(&json, "warn"),
        set(&[("analyzer", "key")]),
        "{json:#}"
    );
    // Every key type is proved: RSA, EC and Ed25519.
    for service in ["apiext", "simplequeue", "policy_engine"] {
        assert!(
            message(&json, service, "key").contains("signature"),
            "{service}"
        );
    }
    assert!(message(&json, "analyzer", "key").contains("mode 0640"));
    assert!(
        message(&json, "reports_worker", "chain")
            .starts_with("missing intermediate: add the certificate of 'CN=Trustbake PKI Intermediate O=Trustbake PKI'"),
        "{json:#}"
    );
    assert!(message(&json, "notifications", "key").contains("is not the key of"));
    assert!(
        message(&json, "rbac_manager", "hostname")
            .contains("'anchore-rbac-manager' is not one of other.example")
    );
    assert!(message(&json, "rbac_authorizer", "certificate").contains("expired on 2021-01-01"));
    assert_eq!(
        message(&json, "reports", "hostname"),
        "'anchore-reports' is among the certificate's names"
    );
    let services: Vec<&str> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(services.len(), SERVICES.len() + 2);
    let disabled = &json["services"].as_array().unwrap()[SERVICES.len()];
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["checks"].as_array().unwrap().is_empty());
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .starts_with("internal_ssl_verify is off while 12 service(s) serve TLS")),
        "{findings:?}"
    );
    // Never a key byte in the output.
    let key = std::fs::read_to_string(pki.path("apiext.key")).unwrap();
    let body: String = key.lines().nth(1).unwrap().to_owned();
    assert!(!json.to_string().contains(&body));

    // With the image: the baked one trusts every service whose chain is sound; the unknown root,
    // the missing intermediate, the wrong name, the expired and the client-only certificates are
    // refused by its clients too. The base trusts none.
    let base = realistic_enterprise();
    let baked = work.join("baked");
    output(
        trustbake()
            .args(["bake", "--from"])
            .arg(format!("oci:{}:5.1.0", base.display()))
            .arg("--to")
            .arg(format!("oci:{}:corp", baked.display()))
            .arg("--ca")
            .arg(pki.path("root.pem")),
    );
    let image = format!("oci:{}:corp", baked.display());
    let (_, json) = check(&config, &["--image", &image]);
    let image_fails: BTreeSet<String> = statuses(&json, "fail")
        .into_iter()
        .filter(|(_, c)| c == "image-trust")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        image_fails,
        [
            "feeds",
            "kubernetes_webhook",
            "rbac_authorizer",
            "rbac_manager",
            "reports_worker"
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        "{json:#}"
    );
    assert!(message(&json, "apiext", "image-trust").starts_with("trusted by all 3 clients of"));
    let (_, json) = check(
        &config,
        &["--image", &format!("oci:{}:5.1.0", base.display())],
    );
    let ok: Vec<_> = statuses(&json, "ok")
        .into_iter()
        .filter(|(_, c)| c == "image-trust")
        .collect();
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn configs_anchore_would_refuse_are_refused() {
    let work = scratch("check-config-refused");
    let run = |text: &str, env: &[(&str, &str)]| {
        let path = work.join("config.yaml");
        std::fs::write(&path, text).unwrap();
        let mut cmd = trustbake();
        cmd.arg("check-config").arg(&path);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run("services:\n  apiext: [unclosed\n", &[]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("not YAML") && text.contains("line"), "{text}");
    let (code, text) = run(
        "services:\n  apiext:\n    enabled: true\n    endpoint_hostname: ${ANCHORE_HOST}\n",
        &[],
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("${ANCHORE_HOST} is not set"), "{text}");
    let (code, text) = run(
        "services:\n  apiext:\n    enabled: true\n    endpoint_hostname: ${ANCHORE_HOST}\n    port: 8228\n",
        &[("ANCHORE_HOST", "api")],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("api:8228  plain HTTP"), "{text}");
    let (code, text) = run("log_level: INFO\n", &[]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("no 'services' mapping"), "{text}");
    // A TLS service whose files are missing, or outside any mount: failed checks, by name.
    let (code, text) = run(
        "services:\n  apiext:\n    enabled: true\n    endpoint_hostname: api\n    port: 8228\n    ssl_enable: true\n    ssl_cert: /config/missing.pem\n    ssl_key: /etc/tls/api.key\n",
        &[],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("missing.pem: cannot be read: no such file or directory"),
        "{text}"
    );
    let (code, text) = run(
        "services:\n  apiext:\n    enabled: true\n    endpoint_hostname: api\n    port: 8228\n    ssl_enable: true\n    ssl_cert: /config/missing.pem\n",
        &[],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("must be set together"), "{text}");
    let out = trustbake()
        .args(["check-config", "/nonexistent/config.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
