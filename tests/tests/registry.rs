//! `bake` and `inspect` through registries, against the real CNCF `docker-registry` on
//! loopback: plain HTTP, TLS from the test CA, htpasswd Basic auth and token auth with scopes;
//! a counting, fault-injecting proxy proves what went over the wire (base layers mounted, not
//! uploaded; each downloaded once; nothing uploaded by a dry run; faults retried; a bad blob
//! tags nothing); skopeo reads back what was pushed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tests::images::enterprise_layout;
use tests::registry::{Auth, Fault, Proxy, Registry, Rule, cert_dir};
use tests::{fixture, output, scratch, tool};

/// `trustbake` with no host credentials or CA variables in reach: a fresh HOME (and scan
/// cache), no auth-file variables, no host bundle variables.
fn trustbake(home: &Path) -> Command {
    let mut cmd = tests::trustbake();
    // A cache of this test's own (counted downloads must not depend on an earlier run).
    tests::isolated(&mut cmd, home);
    cmd
}

/// `trustbake bake --from FROM --to TO --ca CA` (a test CA), as [`trustbake`] runs it.
fn bake_cmd(home: &Path, from: &str, to: &str, ca: &str) -> Command {
    let mut cmd = trustbake(home);
    cmd.args(["bake", "--from", from, "--to", to, "--ca"])
        .arg(fixture(ca));
    cmd
}

fn skopeo() -> Command {
    let mut cmd = tool("skopeo", "skopeo");
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a bake expecting success; returns its JSON outcome.
fn bake_json(cmd: &mut Command) -> Value {
    let out = run(cmd.arg("--json"));
    assert!(out.status.success(), "bake failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A base image (Enterprise-shaped; `platforms` of them) pushed to `registry` as
/// `anchore/enterprise:5.1.0` by skopeo, with `extra` skopeo options.
fn push_base(work: &Path, registry: &Registry, platforms: usize, extra: &[&str]) -> PathBuf {
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", platforms);
    let mut cmd = skopeo();
    cmd.args(["copy", "--quiet", "--all"])
        .args(registry.skopeo_tls("dest-"))
        .args(extra)
        .arg(format!("oci:{}:5.1.0", layout.display()))
        .arg(format!(
            "docker://{}/anchore/enterprise:5.1.0",
            registry.host()
        ));
    output(&mut cmd);
    layout
}

/// Every layer digest of every platform of an OCI layout's image.
fn base_layers(layout: &Path) -> BTreeSet<String> {
    let read = |digest: &str| -> Value {
        let hex = digest.trim_start_matches("sha256:");
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut layers = BTreeSet::new();
    let mut stack: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect();
    while let Some(d) = stack.pop() {
        let doc = read(&d);
        if let Some(ms) = doc["manifests"].as_array() {
            stack.extend(ms.iter().map(|m| m["digest"].as_str().unwrap().to_owned()));
        }
        if let Some(ls) = doc["layers"].as_array() {
            layers.extend(ls.iter().map(|l| l["digest"].as_str().unwrap().to_owned()));
        }
    }
    layers
}

/// The digests the outcome says were made (new layers and configs).
fn new_blobs(outcome: &Value) -> BTreeSet<String> {
    let mut blobs = BTreeSet::new();
    for p in outcome["platforms"].as_array().unwrap() {
        blobs.insert(p["config"].as_str().unwrap().to_owned());
        if let Some(d) = p["layer"]["digest"].as_str() {
            blobs.insert(d.to_owned());
        }
    }
    blobs
}

/// Requests in a proxy log whose method is one of `methods`.
pub(crate) fn requests<'a>(log: &'a [String], methods: &[&str]) -> Vec<&'a String> {
    log.iter()
        .filter(|l| methods.iter().any(|m| l.starts_with(&format!("{m} "))))
        .collect()
}

/// Blob GETs per digest.
pub(crate) fn blob_gets(log: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for l in requests(log, &["GET"]) {
        if let Some(i) = l.find("/blobs/sha256:") {
            let digest = l[i + 7..].split_whitespace().next().unwrap().to_owned();
            *counts.entry(digest).or_default() += 1;
        }
    }
    counts
}

/// Digests of the blobs uploaded (monolithic PUTs).
fn uploaded(log: &[String]) -> BTreeSet<String> {
    requests(log, &["PUT"])
        .iter()
        .filter_map(|l| l.split("digest=").nth(1))
        .map(|rest| {
            rest.split(|c: char| c == '&' || c.is_whitespace())
                .next()
                .unwrap()
                .replace("%3A", ":")
        })
        .collect()
}

fn skopeo_digest(registry: &Registry, reference: &str) -> Option<String> {
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw"])
        .args(registry.skopeo_tls(""))
        .arg(format!("docker://{}/{reference}", registry.host()));
    let out = run(&mut cmd);
    out.status
        .success()
        .then(|| trustbake_image::Digest::of(&out.stdout).to_string())
}

#[test]
fn registry_to_registry_on_one_host_mounts_every_base_layer_and_a_dry_run_uploads_nothing() {
    let work = scratch("registry-one-host");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let proxy = Proxy::start(registry.port);
    let layout = push_base(&work, &registry, 2, &[]);
    let layers = base_layers(&layout);
    let from = format!("docker://{}/anchore/enterprise:5.1.0", proxy.host());
    let to = format!("docker://{}/corp/enterprise:5.1.0-corp", proxy.host());
    let bake_to = |to: &str, ca: &str, extra: &[&str]| {
        let mut cmd = bake_cmd(&work, &from, to, ca);
        cmd.args(["--src-tls-verify=false", "--dest-tls-verify=false"])
            .args(extra);
        bake_json(&mut cmd)
    };
    let bake = |dry: bool| {
        if dry {
            bake_to(&to, "root-rsa.pem", &["--dry-run", "--no-cache"])
        } else {
            bake_to(&to, "root-rsa.pem", &[])
        }
    };

    let preview = bake(true);
    let log = proxy.take_log();
    assert!(
        requests(&log, &["POST", "PUT", "PATCH", "DELETE"]).is_empty(),
        "a dry run wrote to the registry: {log:#?}"
    );
    assert_eq!(preview["platforms"].as_array().unwrap().len(), 2);

    let outcome = bake(false);
    let log = proxy.take_log();
    assert_eq!(outcome["digest"], preview["digest"], "the dry run's digest");
    // Base layers: mounted, never uploaded; each downloaded once (for the scan).
    let mounts: Vec<&String> = requests(&log, &["POST"])
        .into_iter()
        .filter(|l| l.contains("mount=") && l.contains(" 201 "))
        .collect();
    assert_eq!(mounts.len(), layers.len(), "{log:#?}");
    let up = uploaded(&log);
    assert!(up.is_disjoint(&layers), "base layers uploaded: {up:?}");
    assert_eq!(up, new_blobs(&outcome), "{log:#?}");
    let gets = blob_gets(&log);
    for layer in &layers {
        assert_eq!(gets.get(layer), Some(&1), "{layer}: {log:#?}");
    }
    let transfer = &outcome["registries"][0];
    assert_eq!(transfer["mounted"], layers.len());
    // The tag is pushed last.
    let last_put = requests(&log, &["PUT"]).last().unwrap().to_string();
    assert!(last_put.contains("/manifests/5.1.0-corp "), "{last_put}");

    // What skopeo reads back is what trustbake said, whole.
    assert_eq!(
        skopeo_digest(&registry, "corp/enterprise:5.1.0-corp").as_deref(),
        outcome["digest"].as_str()
    );
    let copy = work.join("copy");
    let mut cmd = skopeo();
    cmd.args(["copy", "--quiet", "--all", "--src-tls-verify=false"])
        .arg(format!(
            "docker://{}/corp/enterprise:5.1.0-corp",
            registry.host()
        ))
        .arg(format!("oci:{}:x", copy.display()));
    output(&mut cmd);

    // inspect reads the pushed image from the registry.
    let out = run(trustbake(&work).args([
        "inspect",
        "--json",
        "--tls-verify=false",
        &format!("docker://{}/corp/enterprise:5.1.0-corp", registry.host()),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inspected["platforms"].as_array().unwrap().len(), 2);

    // Warm: another CA on the same base reads no base layer (every scan from the cache),
    // transfers nothing but manifests, configs and the new layers, and gives what a cold bake
    // gives, byte for byte.
    proxy.take_log();
    let warm_to = format!("docker://{}/corp/enterprise:ec", proxy.host());
    let warm = bake_to(&warm_to, "root-ec.pem", &[]);
    let log = proxy.take_log();
    let gets = blob_gets(&log);
    assert!(
        layers.iter().all(|l| !gets.contains_key(l)),
        "a warm bake downloaded a base layer: {log:#?}"
    );
    assert_eq!(warm["scanned_layers"], 0);
    assert_eq!(warm["cached_layers"], layers.len() * 2);
    // Only the configs (a few kB): no layer.
    let downloaded = warm["registries"][0]["downloaded"].as_u64().unwrap();
    assert!(downloaded < 10_000, "{downloaded} bytes downloaded");
    assert_eq!(uploaded(&log), new_blobs(&warm));
    let cold = bake_to(&warm_to, "root-ec.pem", &["--no-cache", "--dry-run"]);
    assert_eq!(cold["digest"], warm["digest"]);
    // Cold, each distinct layer is read once (a layer both platforms share, once).
    assert_eq!(cold["scanned_layers"], layers.len());

    // Rotation through the registry: root-ec onto the root-rsa image replaces trustbake's layer;
    // the result is what root-ec on the base gives, and the replaced layer is never downloaded.
    proxy.take_log();
    let mut cmd = bake_cmd(
        &work,
        &to,
        &format!("docker://{}/corp/enterprise:rotated", proxy.host()),
        "root-ec.pem",
    );
    cmd.args(["--src-tls-verify=false", "--dest-tls-verify=false"]);
    let rotated = bake_json(&mut cmd);
    let log = proxy.take_log();
    assert_eq!(rotated["digest"], warm["digest"]);
    let gets = blob_gets(&log);
    for (p, old) in rotated["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .zip(outcome["platforms"].as_array().unwrap())
    {
        assert_eq!(p["replaced"]["layer"], old["layer"]["digest"], "{p}");
        let old_layer = old["layer"]["digest"].as_str().unwrap();
        assert!(!gets.contains_key(old_layer), "{log:#?}");
    }
}

#[test]
fn across_two_registries_each_base_layer_is_downloaded_once_and_pins_and_layouts_work() {
    let work = scratch("registry-two");
    let one = Registry::start(&work.join("one"), false, Auth::None);
    let two = Registry::start(&work.join("two"), false, Auth::None);
    let (p1, p2) = (Proxy::start(one.port), Proxy::start(two.port));
    let layout = push_base(&work, &one, 1, &[]);
    let layers = base_layers(&layout);
    let pinned = skopeo_digest(&one, "anchore/enterprise:5.1.0").unwrap();
    let from = format!("docker://{}/anchore/enterprise@{pinned}", p1.host());
    let to = format!("docker://{}/anchore/enterprise:5.1.0-corp", p2.host());
    let outcome = bake_json(
        trustbake(&work)
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(fixture("root-rsa.pem"))
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"]),
    );
    let (log1, log2) = (p1.take_log(), p2.take_log());
    let gets = blob_gets(&log1);
    for layer in &layers {
        assert_eq!(gets.get(layer), Some(&1), "{layer} downloaded: {log1:#?}");
    }
    assert!(requests(&log1, &["POST", "PUT", "PATCH", "DELETE"]).is_empty());
    let up = uploaded(&log2);
    assert!(layers.is_subset(&up), "{log2:#?}");
    assert_eq!(outcome["from"], from);
    // The pinned source stays pinned in the base annotations.
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!(
            "docker://{}/anchore/enterprise:5.1.0-corp",
            two.host()
        ));
    let manifest: Value = serde_json::from_str(&output(&mut cmd)).unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.name"],
        format!("{}/anchore/enterprise@{pinned}", p1.host())
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        pinned
    );

    // Registry to a layout and back: the same image, digest for digest.
    let local = work.join("local");
    let to_layout = bake_json(
        trustbake(&work)
            .args(["bake", "--from", &from, "--to"])
            .arg(format!("oci:{}:corp", local.display()))
            .arg("--ca")
            .arg(fixture("root-rsa.pem"))
            .arg("--src-tls-verify=false"),
    );
    assert_eq!(to_layout["digest"], outcome["digest"]);
    let gets = blob_gets(&p1.take_log());
    for layer in &layers {
        assert_eq!(
            gets.get(layer),
            Some(&1),
            "{layer} downloaded twice to a layout"
        );
    }
    let back = bake_json(
        trustbake(&work)
            .args(["bake", "--from"])
            .arg(format!("oci:{}:5.1.0", layout.display()))
            .args([
                "--to",
                &format!("docker://{}/local/enterprise:x", p2.host()),
            ])
            .arg("--ca")
            .arg(fixture("root-rsa.pem"))
            .arg("--dest-tls-verify=false"),
    );
    assert_eq!(
        skopeo_digest(&two, "local/enterprise:x").as_deref(),
        back["digest"].as_str()
    );
}

#[test]
fn docker_media_types_stay_docker() {
    let work = scratch("registry-docker-types");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    push_base(&work, &registry, 1, &["--format", "v2s2"]);
    let host = registry.host();
    let outcome = bake_json(
        trustbake(&work)
            .args(["bake", "--from"])
            .arg(format!("docker://{host}/anchore/enterprise:5.1.0"))
            .arg("--to")
            .arg(format!("docker://{host}/anchore/enterprise:5.1.0-corp"))
            .arg("--ca")
            .arg(fixture("root-rsa.pem"))
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"]),
    );
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{host}/anchore/enterprise:5.1.0-corp"));
    let manifest: Value = serde_json::from_str(&output(&mut cmd)).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert!(manifest["layers"].as_array().unwrap().iter().all(|l| {
        l["mediaType"]
            .as_str()
            .unwrap()
            .starts_with("application/vnd.docker.image.rootfs")
    }));
    assert!(outcome["platforms"][0]["layer"]["digest"].is_string());
}

#[test]
fn tls_and_basic_auth_credentials_and_certificates_as_skopeo_finds_them() {
    let work = scratch("registry-tls-basic");
    let registry = Registry::start(
        &work.join("registry"),
        true,
        Auth::Htpasswd {
            user: "alice",
            password: "s3cr3t:pw",
        },
    );
    push_base(&work, &registry, 1, &["--dest-creds", "alice:s3cr3t:pw"]);
    let host = registry.host();
    let from = format!("docker://{host}/anchore/enterprise:5.1.0");
    let certs = cert_dir(&work);
    let bake = |to: &str, extra: &[&str]| {
        let mut cmd = bake_cmd(
            &work,
            &from,
            &format!("docker://{host}/{to}"),
            "root-rsa.pem",
        );
        cmd.args(extra);
        run(&mut cmd)
    };

    // A registry signed by a CA the host does not trust: refused, naming the option.
    let out = bake("corp/e:1", &["--src-creds", "alice:s3cr3t:pw"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--src-cert-dir"), "{err}");

    // The same on the destination side: the option named is the destination's.
    let layout = work.join("base");
    let mut cmd = bake_cmd(
        &work,
        &format!("oci:{}:5.1.0", layout.display()),
        &format!("docker://{host}/corp/e:1"),
        "root-rsa.pem",
    );
    let out = run(cmd.args(["--dest-creds", "alice:s3cr3t:pw"]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--dest-cert-dir"), "{err}");

    // A wrong password: refused, and the password never printed.
    let src_certs = format!("--src-cert-dir={}", certs.display());
    let dest_certs = format!("--dest-cert-dir={}", certs.display());
    let out = bake(
        "corp/e:1",
        &["--src-creds", "alice:wrong-pw", &src_certs, &dest_certs],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong-pw"), "{err}");

    // No credentials at all: the registry's 401 says so.
    let out = bake("corp/e:1", &[&src_certs, &dest_certs]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no credentials were found"),
        "{}",
        stderr(&out)
    );

    // The credentials from an auth file (containers-auth.json), both sides.
    let auth = work.join("auth.json");
    std::fs::write(
        &auth,
        serde_json::json!({"auths": {host.clone(): {"auth": "YWxpY2U6czNjcjN0OnB3"}}}).to_string(),
    )
    .unwrap();
    let authfile = format!("--authfile={}", auth.display());
    let out = bake("corp/e:1", &[&authfile, &src_certs, &dest_certs]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Found where skopeo finds it without options: REGISTRY_AUTH_FILE.
    let mut cmd = trustbake(&work);
    cmd.env("REGISTRY_AUTH_FILE", &auth)
        .args(["bake", "--from", &from, "--to"])
        .arg(format!("docker://{host}/corp/e:2"))
        .arg("--ca")
        .arg(fixture("root-rsa.pem"))
        .args([&src_certs, &dest_certs]);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    // The password from stdin, for one side.
    let mut cmd = trustbake(&work);
    cmd.args(["bake", "--from", &from, "--to"])
        .arg(format!("docker://{host}/corp/e:3"))
        .arg("--ca")
        .arg(fixture("root-rsa.pem"))
        .args(["--src-creds", "alice", "--src-password-file", "-"])
        .args(["--dest-creds", "alice:s3cr3t:pw", &src_certs, &dest_certs])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"s3cr3t:pw\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // The registry is signed by the very CA being baked: --registry-trust-ca.
    let out = bake("corp/e:4", &[&authfile, "--registry-trust-ca"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(skopeo_digest_tls(&registry, &certs, "corp/e:4").is_some());
}

fn skopeo_digest_tls(registry: &Registry, certs: &Path, reference: &str) -> Option<String> {
    let mut cmd = skopeo();
    cmd.args([
        "inspect",
        "--raw",
        "--creds",
        "alice:s3cr3t:pw",
        "--cert-dir",
    ])
    .arg(certs)
    .arg(format!("docker://{}/{reference}", registry.host()));
    let out = run(&mut cmd);
    out.status
        .success()
        .then(|| trustbake_image::Digest::of(&out.stdout).to_string())
}

#[test]
fn token_auth_asks_the_right_scopes_and_a_missing_push_scope_fails() {
    let work = scratch("registry-token");
    let registry = Registry::start(
        &work.join("registry"),
        true,
        Auth::Token(vec!["pusher:p-secret:pull,push", "reader:r-secret:pull"]),
    );
    let certs = cert_dir(&work);
    push_base(&work, &registry, 1, &["--dest-creds", "pusher:p-secret"]);
    let host = registry.host();
    let certs_opts = [
        format!("--src-cert-dir={}", certs.display()),
        format!("--dest-cert-dir={}", certs.display()),
    ];
    let bake = |creds: &str, to: &str| {
        let mut cmd = bake_cmd(
            &work,
            &format!("docker://{host}/anchore/enterprise:5.1.0"),
            &format!("docker://{host}/{to}"),
            "root-rsa.pem",
        );
        cmd.args(["--src-creds", creds, "--dest-creds", creds])
            .args(&certs_opts);
        run(&mut cmd)
    };

    // A user who may only pull cannot push: refused, and nothing is tagged.
    let out = bake("reader:r-secret", "corp/enterprise:denied");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("access denied"), "{err}");
    let mut cmd = skopeo();
    cmd.args([
        "inspect",
        "--raw",
        "--creds",
        "pusher:p-secret",
        "--cert-dir",
    ])
    .arg(&certs)
    .arg(format!("docker://{host}/corp/enterprise:denied"));
    assert!(!run(&mut cmd).status.success(), "a denied bake left a tag");

    // The pusher can; the mount asked for push on the destination and pull on the source
    // in one token request, destination first.
    let before = registry.token_requests().len();
    let out = bake("pusher:p-secret", "corp/enterprise:5.1.0-corp");
    assert!(out.status.success(), "{}", stderr(&out));
    let asked: Vec<Value> = registry.token_requests()[before..].to_vec();
    assert!(
        asked.iter().any(|r| r["scopes"]
            == serde_json::json!([
                "repository:corp/enterprise:pull,push",
                "repository:anchore/enterprise:pull"
            ])),
        "{asked:#?}"
    );
    assert!(asked.iter().all(|r| r["user"] == "pusher"));
    assert!(registry.log().contains("mount="), "no mount was attempted");
}

#[test]
fn faults_are_retried_and_a_blob_that_does_not_match_tags_nothing() {
    let work = scratch("registry-faults");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let proxy = Proxy::start(registry.port);
    let layout = push_base(&work, &registry, 1, &[]);
    let layers: Vec<String> = base_layers(&layout).into_iter().collect();
    let host = proxy.host();
    let bake = |to: &str| {
        let mut cmd = bake_cmd(
            &work,
            &format!("docker://{host}/anchore/enterprise:5.1.0"),
            &format!("docker://{host}/{to}"),
            "root-rsa.pem",
        );
        cmd.args([
            "--no-cache",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ]);
        run(&mut cmd)
    };
    // A connection dropped mid-blob, one 500, one 429 with Retry-After.
    proxy.inject(Rule {
        method: "GET",
        path: format!("/blobs/{}", layers[0]),
        fault: Fault::Cut,
        times: 1,
    });
    proxy.inject(Rule {
        method: "GET",
        path: format!("/blobs/{}", layers[1]),
        fault: Fault::Status(500),
        times: 1,
    });
    proxy.inject(Rule {
        method: "POST",
        path: "/blobs/uploads/".into(),
        fault: Fault::Status(429),
        times: 1,
    });
    let out = bake("corp/enterprise:ok");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = proxy.take_log();
    assert_eq!(
        log.iter().filter(|l| l.ends_with("injected")).count(),
        3,
        "{log:#?}"
    );
    assert!(skopeo_digest(&registry, "corp/enterprise:ok").is_some());

    // Bytes that do not match their digest, every time: a hard error naming the blob, and
    // nothing tagged.
    proxy.inject(Rule {
        method: "GET",
        path: format!("/blobs/{}", layers[0]),
        fault: Fault::Corrupt,
        times: 100,
    });
    let out = bake("corp/enterprise:bad");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&layers[0]), "{err}");
    assert!(skopeo_digest(&registry, "corp/enterprise:bad").is_none());
}

#[test]
fn unknown_tags_and_plain_http_without_consent_are_refused() {
    let work = scratch("registry-refusals");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    push_base(&work, &registry, 1, &[]);
    let host = registry.host();
    let bake = |from: &str, extra: &[&str]| {
        let mut cmd = bake_cmd(
            &work,
            from,
            &format!("docker://{host}/corp/x:y"),
            "root-rsa.pem",
        );
        cmd.args(extra);
        run(&mut cmd)
    };
    let out = bake(
        &format!("docker://{host}/anchore/enterprise:no-such-tag"),
        &["--src-tls-verify=false", "--dest-tls-verify=false"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    let out = bake(&format!("docker://{host}/anchore/enterprise:5.1.0"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("does not speak HTTPS"), "{err}");
    assert!(err.contains("--src-tls-verify=false"), "{err}");
}

#[test]
fn a_warm_local_bake_reads_no_layer_and_a_damaged_cache_entry_is_scanned_again() {
    let work = scratch("scan-cache");
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", 1);
    let layers = base_layers(&layout).len();
    let cache = work.join("cache");
    let bake = |to: &str, ca: &str| {
        bake_json(
            trustbake(&work)
                .args(["bake", "--from"])
                .arg(format!("oci:{}:5.1.0", layout.display()))
                .arg("--to")
                .arg(format!("oci:{}:x", work.join(to).display()))
                .arg("--ca")
                .arg(fixture(ca))
                .arg("--cache-dir")
                .arg(&cache),
        )
    };
    let cold = bake("cold", "root-rsa.pem");
    assert_eq!(cold["scanned_layers"], layers);
    let warm = bake("warm", "root-ec.pem");
    assert_eq!(warm["scanned_layers"], 0);
    assert_eq!(warm["cached_layers"], layers);
    let again = bake("again", "root-rsa.pem");
    assert_eq!(
        again["digest"], cold["digest"],
        "a warm bake gives the cold digests"
    );
    // Damage every entry (one flipped byte, or cut short): each layer is read again, and the
    // image is the same.
    let mut entries = Vec::new();
    for sub in std::fs::read_dir(&cache).unwrap() {
        // Entries live in subdirectories; the cache's key beside them.
        let sub = sub.unwrap().path();
        if !sub.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(sub).unwrap() {
            entries.push(e.unwrap().path());
        }
    }
    assert_eq!(entries.len(), layers);
    for (i, entry) in entries.iter().enumerate() {
        let mut bytes = std::fs::read(entry).unwrap();
        if i % 2 == 0 {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 1;
        } else {
            bytes.truncate(bytes.len() - 1);
        }
        std::fs::write(entry, bytes).unwrap();
    }
    let repaired = bake("repaired", "root-rsa.pem");
    assert_eq!(repaired["scanned_layers"], layers);
    assert_eq!(repaired["digest"], cold["digest"]);
    let warm_again = bake("warm-again", "root-rsa.pem");
    assert_eq!(warm_again["scanned_layers"], 0);
}

#[test]
fn a_registry_that_refuses_one_put_gets_the_blob_in_chunks() {
    let work = scratch("registry-chunked");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let proxy = Proxy::start(registry.port);
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", 1);
    // As GHCR does with a large body: the first monolithic PUT is refused.
    proxy.inject(Rule {
        method: "PUT",
        path: "digest=".into(),
        fault: Fault::Status(413),
        times: 1,
    });
    let to = format!("docker://{}/corp/enterprise:chunked", proxy.host());
    let mut cmd = bake_cmd(
        &work,
        &format!("oci:{}:5.1.0", layout.display()),
        &to,
        "root-rsa.pem",
    );
    let outcome = bake_json(cmd.arg("--dest-tls-verify=false"));
    let log = proxy.take_log();
    assert!(
        log.iter()
            .any(|l| l.starts_with("PUT ") && l.contains(" 413 ")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("PATCH ") && l.contains(" 202 ")),
        "no chunk was sent: {log:#?}"
    );
    assert_eq!(
        skopeo_digest(&registry, "corp/enterprise:chunked").as_deref(),
        outcome["digest"].as_str()
    );
    let mut cmd = skopeo();
    cmd.args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!(
            "docker://{}/corp/enterprise:chunked",
            registry.host()
        ))
        .arg(format!("oci:{}:x", work.join("copy").display()));
    output(&mut cmd);
}

#[test]
fn credential_helpers_and_identity_tokens_are_used_as_docker_uses_them() {
    let work = scratch("registry-helpers");
    let registry = Registry::start(
        &work.join("registry"),
        true,
        Auth::Token(vec!["pusher:p-secret:pull,push"]),
    );
    let certs = cert_dir(&work);
    push_base(&work, &registry, 1, &["--dest-creds", "pusher:p-secret"]);
    let host = registry.host();
    let from = format!("docker://{host}/anchore/enterprise:5.1.0");
    let certs_opts = [
        format!("--src-cert-dir={}", certs.display()),
        format!("--dest-cert-dir={}", certs.display()),
    ];
    // A credential helper on PATH, named by credHelpers in $DOCKER_CONFIG/config.json: it is
    // given the registry on stdin and answers {Username, Secret}.
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-tbtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\necho \"$server\" >> {}\n[ \"$1\" = get ] && [ \"$server\" = \"{host}\" ] && echo '{{\"Username\":\"pusher\",\"Secret\":\"p-secret\"}}' && exit 0\necho 'credentials not found in native keychain'; exit 1\n",
            work.join("helper.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker = work.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_config = |config: serde_json::Value, to: &str| {
        std::fs::write(docker.join("config.json"), config.to_string()).unwrap();
        let mut cmd = bake_cmd(
            &work,
            &from,
            &format!("docker://{host}/{to}"),
            "root-rsa.pem",
        );
        cmd.env("DOCKER_CONFIG", &docker)
            .env("PATH", &path)
            .args(&certs_opts);
        run(&mut cmd)
    };
    let out = with_config(
        serde_json::json!({ "credHelpers": { host.clone(): "tbtest" } }),
        "corp/e:helper",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(work.join("helper.log"))
            .unwrap()
            .contains(&host)
    );
    // credsStore: the helper for every registry.
    let out = with_config(
        serde_json::json!({ "auths": { host.clone(): {} }, "credsStore": "tbtest" }),
        "corp/e:store",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // An identity token (an OAuth2 refresh token) is exchanged at the token server.
    let before = registry.token_requests().len();
    let out = with_config(
        serde_json::json!({ "auths": { host.clone(): { "identitytoken": "refresh-pusher" } } }),
        "corp/e:identity",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let asked = registry.token_requests()[before..].to_vec();
    assert!(
        !asked.is_empty() && asked.iter().all(|r| r["how"] == "refresh_token"),
        "{asked:#?}"
    );
}

#[test]
fn a_registry_that_requires_a_client_certificate_gets_the_one_in_the_cert_dir() {
    let work = scratch("registry-mtls");
    // A client certificate issued by the test root, for client authentication.
    let key = work.join("client.key");
    let csr = work.join("client.csr");
    let cert = work.join("client.cert");
    let ext = work.join("client.ext");
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").unwrap();
    output(tool("openssl", "openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=trustbake test client",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
    ]));
    output(
        tool("openssl", "openssl")
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(fixture("root-rsa.pem"))
            .arg("-CAkey")
            .arg(fixture("root-rsa.key"))
            .args(["-CAcreateserial", "-extfile"])
            .arg(&ext)
            .arg("-out")
            .arg(&cert),
    );
    let registry = Registry::start_requiring_client_certificates(
        &work.join("registry"),
        &fixture("root-rsa.pem"),
    );
    let with_client = work.join("with-client");
    std::fs::create_dir_all(&with_client).unwrap();
    std::fs::copy(fixture("root-rsa.pem"), with_client.join("ca.crt")).unwrap();
    std::fs::copy(&cert, with_client.join("client.cert")).unwrap();
    std::fs::copy(&key, with_client.join("client.key")).unwrap();
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", 1);
    let from = format!("oci:{}:5.1.0", layout.display());
    let to = format!("docker://{}/corp/e:mtls", registry.host());
    // Without the client certificate: refused by the registry's TLS.
    let mut cmd = bake_cmd(&work, &from, &to, "root-rsa.pem");
    cmd.arg(format!("--dest-cert-dir={}", cert_dir(&work).display()));
    let out = run(&mut cmd);
    assert!(!out.status.success());
    // With it: pushed, and skopeo (with the same directory) reads it back.
    let mut cmd = bake_cmd(&work, &from, &to, "root-rsa.pem");
    cmd.arg(format!("--dest-cert-dir={}", with_client.display()));
    let outcome = bake_json(&mut cmd);
    let mut cmd = skopeo();
    cmd.args(["inspect", "--raw", "--cert-dir"])
        .arg(&with_client)
        .arg(format!("docker://{}/corp/e:mtls", registry.host()));
    assert_eq!(
        trustbake_image::Digest::of(output(&mut cmd).as_bytes()).to_string(),
        outcome["digest"].as_str().unwrap()
    );
}
