//! `sync` against a real docker-registry behind a logging proxy: the first run bakes exactly the
//! matching tags; a second reads manifests only (no blob GET, no write); a new and a moved
//! upstream tag are baked and untouched ones keep their digests; a changed CA set re-bakes all;
//! a dry run writes nothing; a failing tag stops the others unless --keep-going, and the exit
//! status says so; signing joins the recipe, and a signed tag is up to date only with its
//! signature.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use tests::images::enterprise_layout;
use tests::registry::{Auth, Proxy, Registry};
use tests::{fixture, output, scratch, tool, trustbake};
use trustbake_image::{Descriptor, LayerEntry, build_layer};

use crate::registry::{blob_gets, requests};

/// Pushes `layout:tag` to `registry` as `anchore/enterprise:as_tag`.
fn push(registry: &Registry, layout: &Path, tag: &str, as_tag: &str) {
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!(
                "docker://{}/anchore/enterprise:{as_tag}",
                registry.host()
            )),
    );
}

/// An image with no trust store at all (one file), as an OCI layout tagged `t`.
fn storeless(dir: &Path) {
    tests::empty_layout(dir);
    let layer =
        build_layer(&[LayerEntry::file("/etc/hostname", b"x\n".to_vec(), 0o644, 0)]).unwrap();
    let put = |bytes: &[u8]| -> String {
        let d = trustbake_image::Digest::of(bytes).to_string();
        std::fs::write(
            dir.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
        d
    };
    put(&layer.blob);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {}, "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", &layer.blob)],
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "t"}}],
        }))
        .unwrap(),
    )
    .unwrap();
}

/// Runs `trustbake sync` with `args` (and --json): its outcome and exit code.
fn sync(work: &Path, args: &[&str]) -> (Value, i32) {
    let mut cmd = trustbake();
    tests::isolated(&mut cmd, work);
    let out: Output = cmd
        .arg("sync")
        .args(args)
        .args([
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--json",
        ])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "sync {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), code)
}

/// The status of each tag.
fn statuses(outcome: &Value) -> Vec<(String, String)> {
    outcome["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn status_of<'a>(outcome: &'a Value, tag: &str) -> &'a Value {
    outcome["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tag"] == tag)
        .unwrap()
}

/// Requests that write (PUT, POST, PATCH, DELETE).
fn writes(log: &[String]) -> usize {
    requests(log, &["PUT", "POST", "PATCH", "DELETE"]).len()
}

#[test]
fn sync_bakes_the_matching_tags_then_reads_only_manifests_until_something_changes() {
    let work = scratch("sync");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let proxy = Proxy::start(registry.port);
    let one = work.join("one");
    let two = work.join("two");
    enterprise_layout(&one, "5.1.0", 1);
    enterprise_layout(&two, "5.1.0", 2);
    for tag in ["v5.1.0", "v5.2.0", "v6.0.0", "latest"] {
        push(&registry, &one, "5.1.0", tag);
    }
    let from = format!("docker://{}/anchore/enterprise", proxy.host());
    let to = format!("docker://{}/corp/enterprise:{{tag}}-corp", proxy.host());
    let demo = fixture("demo-root.pem");
    let rsa = fixture("root-rsa.pem");
    let base = [
        "--from",
        &from,
        "--to",
        &to,
        "--tags",
        r"^v5\.",
        "--no-cache",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };
    let run = |extra: &[&str]| {
        let args = with(extra);
        sync(&work, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let demo_args = ["--ca", demo.to_str().unwrap()];

    // First run: exactly the matching tags baked.
    let (first, code) = run(&demo_args);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(
        statuses(&first),
        [
            ("latest", "skipped"),
            ("v5.1.0", "baked"),
            ("v5.2.0", "baked"),
            ("v6.0.0", "skipped")
        ]
        .map(|(t, s)| (t.to_owned(), s.to_owned()))
    );
    let digest_51 = status_of(&first, "v5.1.0")["digest"].clone();
    proxy.take_log();

    // Second run: up to date, manifests only.
    let (second, code) = run(&demo_args);
    assert_eq!(code, 0);
    assert_eq!(second["summary"]["up_to_date"], 2, "{second:#}");
    let log = proxy.take_log();
    assert_eq!(writes(&log), 0, "{log:#?}");
    assert!(blob_gets(&log).is_empty(), "{log:#?}");

    // A new tag, and v5.2.0 moved to another image: those two baked, v5.1.0 untouched.
    push(&registry, &one, "5.1.0", "v5.3.0");
    push(&registry, &two, "5.1.0", "v5.2.0");
    let (third, code) = run(&demo_args);
    assert_eq!(code, 0, "{third:#}");
    assert_eq!(status_of(&third, "v5.3.0")["status"], "baked");
    assert_eq!(status_of(&third, "v5.3.0")["reason"], "a new tag");
    assert_eq!(status_of(&third, "v5.2.0")["status"], "baked");
    assert!(
        status_of(&third, "v5.2.0")["reason"]
            .as_str()
            .unwrap()
            .contains("moved")
    );
    assert_eq!(status_of(&third, "v5.1.0")["status"], "up-to-date");
    assert_eq!(status_of(&third, "v5.1.0")["digest"], digest_51);

    // A changed CA set re-bakes all; a dry run first writes nothing.
    let both = [
        "--ca",
        demo.to_str().unwrap(),
        "--ca",
        rsa.to_str().unwrap(),
    ];
    proxy.take_log();
    let (dry, code) = run(&[&both[..], &["--dry-run"]].concat());
    assert_eq!(code, 0);
    assert_eq!(dry["summary"]["would_bake"], 3, "{dry:#}");
    assert_eq!(writes(&proxy.take_log()), 0);
    let (fourth, _) = run(&both);
    assert_eq!(fourth["summary"]["baked"], 3, "{fourth:#}");
    assert!(
        status_of(&fourth, "v5.1.0")["reason"]
            .as_str()
            .unwrap()
            .contains("recipe changed")
    );
    assert_ne!(status_of(&fourth, "v5.1.0")["digest"], digest_51);

    // Signing joins the recipe: baked and signed once, then up to date on manifests alone.
    let (key, public) = tests::pki::p256_keypair(&work, "cosign");
    let signing = [
        &both[..],
        &["--sign-by-sigstore-private-key", key.to_str().unwrap()],
    ]
    .concat();
    let (signed, _) = run(&signing);
    assert_eq!(signed["summary"]["baked"], 3, "{signed:#}");
    proxy.take_log();
    let (again, _) = run(&signing);
    assert_eq!(again["summary"]["up_to_date"], 3, "{again:#}");
    let log = proxy.take_log();
    assert_eq!(writes(&log), 0, "{log:#?}");
    assert!(blob_gets(&log).is_empty(), "{log:#?}");
    let (verified, code) = tests::verdict(
        "verify-image",
        &[
            "--key",
            public.to_str().unwrap(),
            "--tls-verify=false",
            &format!("docker://{}/corp/enterprise:v5.3.0-corp", proxy.host()),
        ],
    );
    assert_eq!(verified["signatures"]["verified"], 1, "{verified:#}");
    assert_eq!(code, 1, "signed but not attested: {verified:#}");
}

#[test]
fn a_failing_tag_stops_the_rest_unless_keep_going_and_the_exit_says_so() {
    let work = scratch("sync-failing");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let good = work.join("good");
    enterprise_layout(&good, "5.1.0", 1);
    let broken = work.join("broken");
    storeless(&broken);
    push(&registry, &broken, "t", "v5.0.0");
    push(&registry, &good, "5.1.0", "v5.1.0");
    push(&registry, &good, "5.1.0", "v5.2.0");
    let from = format!("docker://{}/anchore/enterprise", registry.host());
    let to = format!(
        "docker://{}/corp/enterprise:{{major}}.{{minor}}-corp",
        registry.host()
    );
    let ca = fixture("demo-root.pem");
    let args = [
        "--from",
        &from,
        "--to",
        &to,
        "--semver",
        ">=5.0, <6",
        "--ca",
        ca.to_str().unwrap(),
        "--no-cache",
    ];
    let (stopped, code) = sync(&work, &args);
    assert_eq!(code, 1);
    assert_eq!(
        status_of(&stopped, "v5.0.0")["status"],
        "failed",
        "{stopped:#}"
    );
    assert!(
        status_of(&stopped, "v5.0.0")["reason"]
            .as_str()
            .unwrap()
            .contains("trust store"),
        "{stopped:#}"
    );
    assert_eq!(stopped["summary"]["not_attempted"], 2, "{stopped:#}");
    let (going, code) = sync(
        &work,
        &[&args[..], &["--keep-going", "--jobs", "2"]].concat(),
    );
    assert_eq!(code, 1);
    assert_eq!(going["summary"]["failed"], 1, "{going:#}");
    assert_eq!(going["summary"]["baked"], 2, "{going:#}");
    assert_eq!(
        status_of(&going, "v5.2.0")["destination"],
        format!("docker://{}/corp/enterprise:5.2-corp", registry.host())
    );

    // Usage errors are 2: a template naming no tag, a range that does not parse.
    for (bad, said) in [
        (
            vec!["--to", "docker://127.0.0.1:1/corp/enterprise:fixed"],
            "names no {tag}",
        ),
        (vec!["--semver", "not a range"], "--semver"),
    ] {
        let mut all: Vec<&str> = vec!["sync", "--from", &from, "--ca", ca.to_str().unwrap()];
        if bad[0] != "--to" {
            all.extend(["--to", &to]);
        }
        all.extend(bad.iter().copied());
        let out = trustbake().args(&all).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(said),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A sync file: defaults, then one table per source; its paths relative to it.
    let file = work.join("sync.toml");
    std::fs::copy(&ca, work.join("corp-root.pem")).unwrap();
    std::fs::write(
        &file,
        format!(
            "cas = [\"corp-root.pem\"]\n\n[sources.enterprise]\nfrom = \"{from}\"\nsemver = \">=5.1, <6\"\nto = \"docker://{host}/filed/enterprise:{{tag}}\"\n",
            host = registry.host()
        ),
    )
    .unwrap();
    let mut cmd = trustbake();
    tests::isolated(&mut cmd, &work);
    let out = cmd
        .args(["sync", "-f", file.to_str().unwrap(), "--no-cache", "--json"])
        .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(filed["schema_version"], 1);
    assert_eq!(filed["sources"][0]["name"], "enterprise");
    assert_eq!(
        filed["sources"][0]["outcome"]["summary"]["baked"], 2,
        "{filed:#}"
    );
    // A key the file format does not know is named.
    std::fs::write(&file, "cas = []\n[sources.x]\nfrom = \"docker://h/r\"\nto = \"docker://h/r:{tag}\"\ntag = \"typo\"\n").unwrap();
    let out = trustbake()
        .args(["sync", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field `tag`") && err.contains("sources.NAME"),
        "{err}"
    );
}

/// The layer digests of an OCI layout's image tagged `tag` (one platform).
fn layer_digests(layout: &Path, tag: &str) -> Vec<String> {
    tests::layout_manifest(layout, tag)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_shared_cache_repository_spares_a_fresh_runner_every_base_layer() {
    let work = scratch("sync-cache-repo");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let proxy = Proxy::start(registry.port);
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", 1);
    push(&registry, &layout, "5.1.0", "v5.1.0");
    let layers = layer_digests(&layout, "5.1.0");
    let host = proxy.host();
    let cache_repo = format!("docker://{host}/cache/trustbake");
    let (key, _) = tests::pki::p256_keypair(&work, "cosign");
    // A bake from the registry with a fresh local cache directory (a fresh runner): the base
    // layers it GETs.
    let base_gets = |to: &str, dir: &str, extra: &[&str]| -> usize {
        proxy.take_log();
        let mut cmd = trustbake();
        tests::isolated(&mut cmd, &work);
        let out = cmd
            .args([
                "bake",
                "--from",
                &format!("docker://{host}/anchore/enterprise:v5.1.0"),
            ])
            .args(["--to", &format!("docker://{host}/{to}")])
            .arg("--ca")
            .arg(fixture("demo-root.pem"))
            .arg("--cache-dir")
            .arg(work.join(dir))
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let gets = blob_gets(&proxy.take_log());
        layers.iter().filter(|l| gets.contains_key(*l)).count()
    };
    let shared = ["--cache-repo", cache_repo.as_str()];
    // The first runner reads the base layers and pushes their scans.
    assert_eq!(base_gets("corp/one:a", "cache-a", &shared), layers.len());
    // A fresh runner with the cache repository reads none of them.
    assert_eq!(base_gets("corp/two:b", "cache-b", &shared), 0);
    // Without it, a fresh runner reads them all again.
    assert_eq!(base_gets("corp/three:c", "cache-c", &[]), layers.len());
    // Signing: the unsigned entries are not trusted, so the base is read once more and its
    // scans pushed signed; then a fresh signing runner reads nothing.
    let signed = [
        &shared[..],
        &["--sign-by-sigstore-private-key", key.to_str().unwrap()],
    ]
    .concat();
    assert_eq!(base_gets("corp/four:d", "cache-d", &signed), layers.len());
    assert_eq!(base_gets("corp/five:e", "cache-e", &signed), 0);
    // sync shares it the same way.
    proxy.take_log();
    let (synced, code) = sync(
        &work,
        &[
            "--from",
            &format!("docker://{host}/anchore/enterprise"),
            "--to",
            &format!("docker://{host}/corp/synced:{{tag}}"),
            "--ca",
            fixture("demo-root.pem").to_str().unwrap(),
            "--cache-dir",
            work.join("cache-f").to_str().unwrap(),
            "--cache-repo",
            &cache_repo,
        ],
    );
    assert_eq!(code, 0, "{synced:#}");
    assert_eq!(synced["summary"]["baked"], 1);
    let gets = blob_gets(&proxy.take_log());
    assert!(layers.iter().all(|l| !gets.contains_key(l)), "{gets:#?}");
}
