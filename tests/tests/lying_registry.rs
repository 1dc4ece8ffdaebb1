//! A registry that lies: `tests/fixtures/registry/hostile_registry.py` answers the protocol
//! correctly and then breaks one rule per case. For each: the run ends in bounded time and
//! memory with one `error:` line (or succeeds where following honestly is right), no secret
//! reaches any output, no credential reaches any origin but the registry's own (and the token
//! realm it announced over HTTPS), and nothing is tagged at the destination.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tests::images::enterprise_layout;
use tests::registry::{Hostile, cert_dir};
use tests::{fixture, peak_rss, root, scratch, tool};

const USER: &str = "pusher";
const SECRET: &str = "hostile-Secret-7f3a9";

/// What one run did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    rss_mib: u64,
    took: Duration,
}

fn basic() -> Value {
    json!({ "kind": "basic", "user": USER, "password": SECRET })
}

fn bearer() -> Value {
    json!({ "kind": "bearer", "user": USER, "password": SECRET })
}

/// The Enterprise-shaped base layout (built once per test directory).
fn layout(work: &Path) -> PathBuf {
    let layout = work.join("base");
    if !layout.join("index.json").is_file() {
        enterprise_layout(&layout, "5.1.0", 1);
    }
    layout
}

/// Starts the hostile registry over the base with `auth` and `rules`.
fn hostile(work: &Path, auth: Value, rules: Value) -> Hostile {
    let base = layout(work);
    Hostile::start(&work.join("registry"), Some(&base), auth, rules)
}

/// Runs `trustbake ARGS` under GNU time with no host credentials, proxies or CA variables,
/// killing it after `limit` (a hang fails the test, never CI).
fn trustbake(work: &Path, args: &[String], limit: Duration) -> Run {
    trustbake_env(work, args, limit, &[])
}

/// [`trustbake`] with `vars` set.
fn trustbake_env(work: &Path, args: &[String], limit: Duration, vars: &[(&str, &str)]) -> Run {
    let _ = tool("time", "time");
    let bin = root().join("target/debug/trustbake");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "trustbake-peak-rss-kib=%M"])
        .arg(bin)
        .args(args);
    tests::isolated(&mut cmd, work);
    cmd.env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let readers = (
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        }),
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        }),
    );
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("trustbake {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&readers.0.join().unwrap()).into_owned();
    let (rss_mib, stderr) = peak_rss(&String::from_utf8_lossy(&readers.1.join().unwrap()));
    Run {
        code: status.code(),
        stdout,
        stderr,
        rss_mib,
        took,
    }
}

/// `bake` from the hostile registry's `main` origin to `corp/enterprise:TAG` on it, with the
/// credentials on both sides and the test root trusted; `extra` options after.
fn bake(work: &Path, registry: &Hostile, tag: &str, extra: &[&str]) -> Run {
    bake_to(work, registry, "main", tag, extra)
}

/// [`bake`] to `corp/enterprise:TAG` on the `to` origin (another origin is another registry:
/// base layers are uploaded there, not mounted; no credentials are given for it).
fn bake_to(work: &Path, registry: &Hostile, to: &str, tag: &str, extra: &[&str]) -> Run {
    let host = registry.host("main");
    let dest_creds = if to == "main" {
        format!("--dest-creds={USER}:{SECRET}")
    } else {
        "--dest-no-creds".to_owned()
    };
    let certs = cert_dir(work);
    let mut args: Vec<String> = vec![
        "bake".into(),
        "--from".into(),
        format!("docker://{host}/anchore/enterprise:5.1.0"),
        "--to".into(),
        format!("docker://{}/corp/enterprise:{tag}", registry.host(to)),
        "--ca".into(),
        fixture("root-rsa.pem").display().to_string(),
        "--no-cache".into(),
        format!("--src-creds={USER}:{SECRET}"),
        dest_creds,
        format!("--src-cert-dir={}", certs.display()),
        format!("--dest-cert-dir={}", certs.display()),
        "-vvv".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    trustbake(work, &args, Duration::from_secs(150))
}

/// Every secret form that must never be printed.
fn secret_forms() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        SECRET.to_owned(),
        b64.encode(format!("{USER}:{SECRET}")),
        b64.encode(SECRET),
    ]
}

/// The checks every case makes: no secret printed, credentials at the registry's origin only
/// (and at `realm_origin`, the realm it announced), memory bounded.
fn held(run: &Run, registry: &Hostile, realm_origin: Option<&str>) {
    let dumped = hex_dumps(&run.stderr);
    for secret in secret_forms() {
        assert!(
            !run.stdout.contains(&secret),
            "a secret on stdout: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(&secret),
            "a secret on stderr: {}",
            run.stderr
        );
        assert!(
            !dumped.contains(&secret),
            "a secret in a hex dump on stderr: {}",
            run.stderr
        );
    }
    for request in registry.requests() {
        if request["authorization"].is_null() {
            continue;
        }
        let origin = request["origin"].as_str().unwrap();
        let to_realm =
            realm_origin == Some(origin) && request["path"].as_str().unwrap().starts_with("/token");
        assert!(
            origin == "main" || to_realm,
            "credentials went to the {origin} origin: {request}"
        );
        assert!(
            !(origin == "other" && request["client_cert"] == true),
            "a client certificate went to another origin: {request}"
        );
    }
    assert!(run.rss_mib < 300, "peak RSS {} MiB", run.rss_mib);
}

/// The bytes of every hex dump in `text` (lines of groups of four hex digits, as HTTP
/// libraries trace raw requests), decoded and joined: a header split over three lines is whole
/// again here.
fn hex_dumps(text: &str) -> String {
    let mut bytes = Vec::new();
    for line in text.lines() {
        let groups: Vec<&str> = line
            .split_whitespace()
            .filter(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect();
        if groups.len() < 4 {
            continue;
        }
        for group in groups {
            for pair in [&group[..2], &group[2..]] {
                bytes.push(u8::from_str_radix(pair, 16).unwrap());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A failed run: one `error:` line containing `needle`, within `within`; nothing tagged.
fn failed(run: &Run, registry: &Hostile, tag: &str, needle: &str, within: Duration) {
    assert_ne!(run.code, Some(0), "it succeeded: {}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(needle),
        "expected {needle:?} in: {}",
        errors[0]
    );
    assert!(!errors[0].chars().any(char::is_control), "{:?}", errors[0]);
    assert!(run.took < within, "took {:?}: {}", run.took, run.stderr);
    assert!(
        !tagged(registry, tag),
        "the tag {tag} was pushed: {}",
        run.stderr
    );
}

/// Whether a manifest was pushed under the tag `tag`.
fn tagged(registry: &Hostile, tag: &str) -> bool {
    registry.requests().iter().any(|r| {
        r["method"] == "PUT"
            && r["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/manifests/{tag}"))
    })
}

fn succeeded(run: &Run, registry: &Hostile, tag: &str) {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(tagged(registry, tag), "not tagged: {}", run.stderr);
}

/// The base's layer digests.
fn layers(work: &Path) -> Vec<String> {
    let base = layout(work);
    let read = |d: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(
                base.join("blobs/sha256")
                    .join(d.trim_start_matches("sha256:")),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(base.join("index.json")).unwrap()).unwrap();
    let mut top = read(index["manifests"][0]["digest"].as_str().unwrap());
    if let Some(m) = top["manifests"].as_array() {
        top = read(m[0]["digest"].as_str().unwrap());
    }
    let mut found: Vec<String> = top["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    found.push(top["config"]["digest"].as_str().unwrap().to_owned());
    found
}

#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    let work = scratch("lying-upload-location");
    // Followed without credentials: the other origin takes the upload, the bake succeeds.
    let registry = hostile(
        &work,
        basic(),
        json!([{ "method": "POST", "path": "/blobs/uploads/$", "upload_location": "other" }]),
    );
    let run = bake(&work, &registry, "moved", &[]);
    held(&run, &registry, None);
    succeeded(&run, &registry, "moved");
    // The password typed on the command line is noted, once for both sides.
    assert_eq!(
        run.stderr
            .matches("note: a password on the command line is visible in the process list")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        registry
            .requests()
            .iter()
            .any(|r| r["origin"] == "other" && r["method"] == "PUT"),
        "no upload went to the other origin"
    );
    drop(registry);
    // The other origin asks for credentials: refused, both origins named, nothing tagged.
    let registry = hostile(
        &work,
        basic(),
        json!([
            { "method": "POST", "path": "/blobs/uploads/$", "upload_location": "other" },
            { "origin": "other", "path": "/blobs/uploads/", "status": 401,
              "headers": { "WWW-Authenticate": "Basic realm=\"other\"" } }
        ]),
    );
    let run = bake(&work, &registry, "refused", &[]);
    held(&run, &registry, None);
    let other = format!("https://{}", registry.host("other"));
    failed(&run, &registry, "refused", &other, Duration::from_secs(60));
    assert!(
        run.stderr
            .contains(&format!("https://{}", registry.host("main"))),
        "{}",
        run.stderr
    );
}

#[test]
fn redirects_are_followed_without_credentials_and_never_to_plain_http() {
    let work = scratch("lying-redirects");
    let layers = layers(&work);
    let blob = format!("/blobs/{}", layers[0]);
    // A blob redirected to another origin (as to an object store): followed, no credentials.
    let registry = hostile(
        &work,
        bearer(),
        json!([{ "method": "GET", "path": blob, "redirect": "other" }]),
    );
    let run = bake(&work, &registry, "redirected", &[]);
    held(&run, &registry, None);
    succeeded(&run, &registry, "redirected");
    drop(registry);
    // From HTTPS to plain HTTP: refused, and nothing went over plain HTTP.
    let downgraded = json!([{ "method": "GET", "path": blob, "redirect": "plain" }]);
    let registry = refused_case(&work, bearer(), downgraded, "plain HTTP", &[]);
    assert!(
        !registry.requests().iter().any(|r| r["origin"] == "plain"),
        "a request went over plain HTTP"
    );
    // A manifest redirected to another origin that then asks for credentials; a redirect
    // loop.
    for (rules, needle) in [
        (
            json!([
                { "method": "GET", "path": "/manifests/sha256:", "redirect": "other" },
                { "origin": "other", "path": "/manifests/", "status": 401,
                  "headers": { "WWW-Authenticate": "Basic realm=\"x\"" } }
            ]),
            "asks for credentials",
        ),
        (
            json!([
                { "origin": "main", "method": "GET", "path": "/manifests/sha256:", "redirect": "other" },
                { "origin": "other", "method": "GET", "path": "/manifests/sha256:", "redirect": "main" }
            ]),
            "redirects",
        ),
    ] {
        refused_case(&work, basic(), rules, needle, &[]);
    }
}

/// A bake against a hostile registry with `auth` and `rules` that must fail with `needle` in
/// its one error line, within a minute, holding every invariant ([`held`], [`failed`]).
fn refused_case(work: &Path, auth: Value, rules: Value, needle: &str, extra: &[&str]) -> Hostile {
    let registry = hostile(work, auth, rules);
    let run = bake(work, &registry, "refused", extra);
    held(&run, &registry, None);
    failed(&run, &registry, "refused", needle, Duration::from_secs(60));
    registry
}

#[test]
fn a_token_realm_must_be_announced_and_reached_over_https() {
    let work = scratch("lying-realm");
    // A realm on another HTTPS origin: credentials go there (it was announced over HTTPS).
    let registry = hostile(&work, bearer(), json!([{ "realm": "other" }]));
    let run = bake(&work, &registry, "realm", &[]);
    held(&run, &registry, Some("other"));
    succeeded(&run, &registry, "realm");
    drop(registry);
    // A realm over plain HTTP: no credentials sent, refused.
    let registry = hostile(&work, bearer(), json!([{ "realm": "plain" }]));
    let run = bake(&work, &registry, "http-realm", &[]);
    held(&run, &registry, None);
    failed(
        &run,
        &registry,
        "http-realm",
        "plain HTTP",
        Duration::from_secs(60),
    );
    drop(registry);
    // Tokens that are huge or not JSON, and a token server that never answers.
    for (rule, needle) in [
        (json!({ "path": "^/token", "token": "huge" }), "token"),
        (
            json!({ "path": "^/token", "token": "notjson" }),
            "not a token",
        ),
        (json!({ "path": "^/token", "endless": true }), "token"),
    ] {
        let registry = hostile(&work, bearer(), json!([rule]));
        let run = bake(
            &work,
            &registry,
            "token",
            &["--request-timeout=3", "--retry-times=2"],
        );
        held(&run, &registry, None);
        failed(&run, &registry, "token", needle, Duration::from_secs(60));
    }
}

#[test]
fn bodies_that_end_early_never_end_or_crawl_are_bounded() {
    let work = scratch("lying-bodies");
    let layers = layers(&work);
    let limits = [
        "--request-timeout=3",
        "--speed-time=2",
        "--speed-limit=4096",
        "--retry-times=3",
        "--retry-max-wait=1",
    ];
    let cases = [
        // A manifest cut short every time.
        (
            json!({ "method": "GET", "path": "/manifests/sha256:", "truncate": 0.5 }),
            "manifest",
        ),
        // A manifest that never ends.
        (
            json!({ "method": "GET", "path": "/manifests/sha256:", "endless": true }),
            "manifest",
        ),
        // A manifest, one byte every 2 s.
        (
            json!({ "method": "GET", "path": "/manifests/sha256:", "slow": 2.0 }),
            "timed out",
        ),
        // A layer cut short every time (resumed, then given up).
        (
            json!({ "method": "GET", "path": format!("/blobs/{}", layers[0]), "truncate": 0.5 }),
            &layers[0],
        ),
        // A layer that never ends.
        (
            json!({ "method": "GET", "path": format!("/blobs/{}", layers[0]), "endless": true }),
            &layers[0],
        ),
        // A layer, one byte a second.
        (
            json!({ "method": "GET", "path": format!("/blobs/{}", layers[0]), "slow": 1.0 }),
            "bytes/s",
        ),
    ];
    for (i, (rule, needle)) in cases.into_iter().enumerate() {
        let registry = hostile(&work, basic(), json!([rule]));
        let tag = format!("case{i}");
        let run = bake(&work, &registry, &tag, &limits);
        held(&run, &registry, None);
        failed(&run, &registry, &tag, needle, Duration::from_secs(60));
        if needle == "timed out" {
            assert!(
                run.stderr
                    .contains("hint: on a slow link, raise --request-timeout"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn wrong_bytes_under_the_right_digest_end_the_bake() {
    let work = scratch("lying-bytes");
    let layers = layers(&work);
    let config = layers.last().unwrap().clone();
    for (i, (path, needle)) in [
        (format!("/blobs/{}", layers[0]), layers[0].clone()),
        (format!("/blobs/{}", layers[1]), layers[1].clone()),
        (format!("/blobs/{config}"), config.clone()),
        ("/manifests/".to_owned(), "digest".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let registry = hostile(
            &work,
            basic(),
            json!([{ "method": "GET", "path": path, "swap": true }]),
        );
        let tag = format!("swap{i}");
        let run = bake(&work, &registry, &tag, &[]);
        held(&run, &registry, None);
        failed(&run, &registry, &tag, &needle, Duration::from_secs(90));
        // To another registry: the base layers are uploaded there while they are scanned (one
        // download for both); the scan and every upload end, nothing is tagged.
        let run = bake_to(&work, &registry, "other", &tag, &[]);
        held(&run, &registry, None);
        failed(&run, &registry, &tag, &needle, Duration::from_secs(90));
    }
}

#[test]
fn challenges_and_failures_for_ever_end_in_bounded_time() {
    let work = scratch("lying-for-ever");
    let limits = [
        "--request-timeout=5",
        "--retry-times=4",
        "--retry-max-wait=1",
    ];
    let huge = "x".repeat(200_000);
    let cases = [
        (
            json!({ "path": "^/v2/$", "status": 401, "headers": { "WWW-Authenticate": "Negotiate" } }),
            "challenge",
        ),
        (
            json!({ "path": "^/v2/$", "status": 401, "headers": { "WWW-Authenticate": "Bearer realm=\"unterminated" } }),
            "challenge",
        ),
        (
            json!({ "path": "^/v2/$", "status": 401, "headers": { "WWW-Authenticate": format!("Basic realm=\"{huge}\"") } }),
            "127.0.0.1",
        ),
        (
            json!({ "path": "/manifests/", "status": 401, "headers": { "WWW-Authenticate": "Basic realm=\"x\"" } }),
            "authentication failed",
        ),
        (
            json!({ "path": "/manifests/", "status": 429, "headers": { "Retry-After": "999999999" } }),
            "rate limited",
        ),
        (json!({ "path": "/manifests/", "status": 503 }), "503"),
        (json!({ "path": "/blobs/uploads/", "status": 500 }), "500"),
    ];
    for (i, (rule, needle)) in cases.into_iter().enumerate() {
        let registry = hostile(&work, basic(), json!([rule]));
        let tag = format!("ever{i}");
        let run = bake(&work, &registry, &tag, &limits);
        held(&run, &registry, None);
        failed(&run, &registry, &tag, needle, Duration::from_secs(60));
    }
    // Another registry that refuses every blob: the uploads during the scan and the copies
    // when the image is written all end, nothing is tagged.
    let registry = hostile(
        &work,
        basic(),
        json!([{ "origin": "other", "method": "PUT", "path": "/blobs/uploads/", "status": 500 }]),
    );
    let run = bake_to(&work, &registry, "other", "refused", &limits);
    held(&run, &registry, None);
    failed(&run, &registry, "refused", "500", Duration::from_secs(60));
}

/// The tag list of `anchore/enterprise` on `main`, through the library (`sync` will page it).
fn tags(work: &Path, registry: &Hostile) -> Result<Vec<String>, String> {
    use trustbake_image::registry::{Access, CredentialSource, Credentials, Session, list_tags};
    let access = Access {
        credentials: CredentialSource::Given(Credentials::new(USER, SECRET)),
        cert_dir: Some(cert_dir(work)),
        ..Access::default()
    };
    let session = Session::new(access, Access::default());
    let reference = match trustbake_image::ImageRef::parse(&format!(
        "docker://{}/anchore/enterprise",
        registry.host("main")
    ))
    .unwrap()
    {
        trustbake_image::ImageRef::Registry(r) => r,
        other => panic!("{other:?}"),
    };
    list_tags(&session, &reference).map_err(|e| e.to_string())
}

#[test]
fn tag_lists_are_paged_within_bounds_and_links_elsewhere_get_no_credentials() {
    let work = scratch("lying-tags");
    let registry = hostile(&work, basic(), json!([]));
    assert_eq!(tags(&work, &registry).unwrap(), ["5.1.0"]);
    drop(registry);
    // A Link that pages for ever: bounded.
    let registry = hostile(
        &work,
        basic(),
        json!([{ "path": "/tags/list", "tags_forever": true }]),
    );
    let started = Instant::now();
    let err = tags(&work, &registry).unwrap_err();
    assert!(err.contains("pages"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(120));
    drop(registry);
    // A Link to another origin: followed without credentials; refused when it asks for them.
    let registry = hostile(
        &work,
        basic(),
        json!([{ "origin": "main", "path": "/tags/list", "link": "other", "times": 1 }]),
    );
    assert_eq!(tags(&work, &registry).unwrap(), ["5.1.0", "5.1.0"]);
    let run = Run {
        code: Some(0),
        stdout: String::new(),
        stderr: String::new(),
        rss_mib: 0,
        took: Duration::ZERO,
    };
    held(&run, &registry, None);
    assert!(registry.requests().iter().any(|r| r["origin"] == "other"));
    drop(registry);
    let registry = hostile(
        &work,
        basic(),
        json!([
            { "origin": "main", "path": "/tags/list", "link": "other" },
            { "origin": "other", "path": "/tags/list", "status": 401, "headers": { "WWW-Authenticate": "Basic realm=\"x\"" } }
        ]),
    );
    let err = tags(&work, &registry).unwrap_err();
    assert!(
        err.contains("asks for credentials") && err.contains(&registry.host("other")),
        "{err}"
    );
    held(&run, &registry, None);
}

/// `bake` from the hostile registry with `HOME` holding a Docker config (`config.json`) and
/// `PATH` led by `bin` (fake credential helpers).
fn bake_with_config(work: &Path, registry: &Hostile, config: &str, bin: &Path) -> Run {
    let docker = work.join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(docker.join("config.json"), config).unwrap();
    let certs = cert_dir(work);
    let host = registry.host("main");
    let args: Vec<String> = vec![
        "bake".into(),
        "--from".into(),
        format!("docker://{host}/anchore/enterprise:5.1.0"),
        "--to".into(),
        format!("oci:{}:x", work.join("out").display()),
        "--ca".into(),
        fixture("root-rsa.pem").display().to_string(),
        "--no-cache".into(),
        format!("--src-cert-dir={}", certs.display()),
        "-vvv".into(),
    ];
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    trustbake_env(work, &args, Duration::from_secs(90), &[("PATH", &path)])
}

/// A fake `docker-credential-NAME` running `script`.
fn helper(bin: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    let file = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&file, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn credential_helpers_are_bounded_and_never_quoted() {
    let work = scratch("lying-helpers");
    let registry = hostile(&work, basic(), json!([]));
    let bin = work.join("bin");
    let host = registry.host("main");
    // A helper that fails printing the secret on both streams: the status only.
    helper(
        &bin,
        "leaky",
        &format!(
            "echo '{{\"Username\":\"{USER}\",\"Secret\":\"{SECRET}\"}}'; echo 'Secret={SECRET}' >&2; exit 3"
        ),
    );
    let run = bake_with_config(
        &work,
        &registry,
        &format!(r#"{{"credHelpers":{{"{host}":"leaky"}}}}"#),
        &bin,
    );
    held(&run, &registry, None);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains("docker-credential-leaky: failed (exit status: 3)"),
        "{}",
        run.stderr
    );
    // A helper that never answers: killed after the deadline, said so.
    helper(&bin, "sleepy", "sleep 300");
    let run = bake_with_config(
        &work,
        &registry,
        &format!(r#"{{"credHelpers":{{"{host}":"sleepy"}}}}"#),
        &bin,
    );
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("killed after 30 s"), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(60), "{:?}", run.took);
    // A helper that floods: killed at 64 KiB, memory bounded.
    helper(
        &bin,
        "flood",
        "yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 400000000",
    );
    let run = bake_with_config(
        &work,
        &registry,
        &format!(r#"{{"credHelpers":{{"{host}":"flood"}}}}"#),
        &bin,
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("more than 65536 bytes"),
        "{}",
        run.stderr
    );
    assert!(run.rss_mib < 100, "{} MiB", run.rss_mib);
    // credsStore "" is no store (Docker's reading): anonymous, refused by the registry, no
    // program named `docker-credential-` run.
    helper(&bin, "", "echo ran > \"$0.ran\"; exit 1");
    let run = bake_with_config(&work, &registry, r#"{"credsStore":""}"#, &bin);
    assert!(
        run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!bin.join("docker-credential-.ran").exists());
    // An auth file with a string where an entry belongs: its position, never its text.
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{SECRET}"));
    let run = bake_with_config(
        &work,
        &registry,
        &format!(r#"{{"auths":{{"{host}":"{b64}"}}}}"#),
        &bin,
    );
    held(&run, &registry, None);
    assert!(
        run.stderr.contains("JSON error at line 1 column"),
        "{}",
        run.stderr
    );
}

#[test]
fn hosts_are_names_or_addresses_and_urls_lose_their_userinfo() {
    let work = scratch("lying-names");
    for reference in ["docker://../x", "docker://a..b/x", "docker://[::1x]:5000/x"] {
        let run = trustbake(
            &work,
            &["inspect".into(), reference.into()],
            Duration::from_secs(30),
        );
        assert_eq!(run.code, Some(2), "{reference}: {}", run.stderr);
        assert!(
            run.stderr.contains("bad registry host name"),
            "{}",
            run.stderr
        );
    }
    let run = trustbake(
        &work,
        &[
            "verify".into(),
            "/nonexistent".into(),
            "--url".into(),
            format!("https://alice:{SECRET}@127.0.0.1:1/"),
        ],
        Duration::from_secs(30),
    );
    assert_ne!(run.code, Some(0));
    assert!(
        !run.stderr.contains(SECRET) && !run.stdout.contains(SECRET),
        "{}",
        run.stderr
    );
}

#[test]
fn mutual_tls_without_verification_still_shows_the_client_certificate_to_its_registry_only() {
    let work = scratch("lying-mtls");
    // A client certificate issued by the test root (the registry asks for one, trusting it).
    let (key, csr, cert, ext) = (
        work.join("client.key"),
        work.join("client.csr"),
        work.join("client.cert"),
        work.join("client.ext"),
    );
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        tests::output(tool("openssl", "openssl").args(args));
    };
    openssl(&[
        "req".as_ref(),
        "-newkey".as_ref(),
        "rsa:2048".as_ref(),
        "-nodes".as_ref(),
        "-subj".as_ref(),
        "/CN=trustbake test client".as_ref(),
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        csr.as_os_str(),
    ]);
    let (root, root_key) = (fixture("root-rsa.pem"), fixture("root-rsa.key"));
    openssl(&[
        "x509".as_ref(),
        "-req".as_ref(),
        "-days".as_ref(),
        "2".as_ref(),
        "-in".as_ref(),
        csr.as_os_str(),
        "-CA".as_ref(),
        root.as_os_str(),
        "-CAkey".as_ref(),
        root_key.as_os_str(),
        "-CAcreateserial".as_ref(),
        "-extfile".as_ref(),
        ext.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    let dir = work.join("client-only");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&cert, dir.join("client.cert")).unwrap();
    std::fs::copy(&key, dir.join("client.key")).unwrap();
    // Blobs redirected to another origin: the certificate goes to the registry, not there.
    let layers = layers(&work);
    let registry = hostile(
        &work,
        basic(),
        json!([{ "method": "GET", "path": format!("/blobs/{}", layers[0]), "redirect": "other" }]),
    );
    let host = registry.host("main");
    let args: Vec<String> = vec![
        "bake".into(),
        "--from".into(),
        format!("docker://{host}/anchore/enterprise:5.1.0"),
        "--to".into(),
        format!("oci:{}:x", work.join("out").display()),
        "--ca".into(),
        fixture("root-rsa.pem").display().to_string(),
        "--no-cache".into(),
        format!("--src-creds={USER}:{SECRET}"),
        format!("--src-cert-dir={}", dir.display()),
        "--src-tls-verify=false".into(),
    ];
    let run = trustbake(&work, &args, Duration::from_secs(90));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    held(&run, &registry, None);
    let requests = registry.requests();
    assert!(
        requests
            .iter()
            .any(|r| r["origin"] == "main" && r["client_cert"] == true),
        "no client certificate reached the registry: {requests:?}"
    );
    assert!(requests.iter().any(|r| r["origin"] == "other"));
}

#[test]
fn hints_name_the_flags_of_the_command_at_hand() {
    let work = scratch("lying-hints");
    let registry = hostile(&work, basic(), json!([]));
    let host = registry.host("main");
    // inspect reaches one registry: --cert-dir and --tls-verify, never --src-….
    let run = trustbake(
        &work,
        &[
            "inspect".into(),
            format!("docker://{host}/anchore/enterprise:5.1.0"),
        ],
        Duration::from_secs(60),
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains("hint: give the registry's CA with --cert-dir DIR"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--tls-verify=false"), "{}", run.stderr);
    assert!(!run.stderr.contains("--src-"), "{}", run.stderr);
    // bake names the side: the destination's flags for the destination.
    let run = trustbake(
        &work,
        &[
            "bake".into(),
            "--from".into(),
            format!("docker://{host}/anchore/enterprise:5.1.0"),
            "--to".into(),
            format!("docker://{host}/corp/enterprise:x"),
            "--ca".into(),
            fixture("root-rsa.pem").display().to_string(),
            format!("--src-cert-dir={}", cert_dir(&work).display()),
            format!("--src-creds={USER}:{SECRET}"),
        ],
        Duration::from_secs(60),
    );
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("--dest-cert-dir DIR"), "{}", run.stderr);
}
