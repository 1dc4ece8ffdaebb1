//! The Enterprise UI's runtime, Node.js, with podman: Debian's real `node` in a fixture image.
//! Node trusts its own roots (run with `--use-bundled-ca`, as upstream builds do by default) plus
//! the file `NODE_EXTRA_CA_CERTS` names. A bake writes the CA to trustbake's file and sets the
//! variable in the config; on an image that names its own file, that file is extended and the
//! variable kept. `https.get` to a loopback server the baked CA issued succeeds in the baked
//! image and fails in the base — as the chart's uid 1000 and as an arbitrary UID.

use std::path::Path;

use serde_json::Value;
use tests::node::node_image;
use tests::pki::Pki;
use tests::podman::{load, run};
use tests::{TlsServer, fixture, output, scratch, tool, trustbake};

const GET: &str = "require('https').get(process.argv[1], r => { console.log(r.statusCode); process.exit(0); })\
    .on('error', e => { console.error(e.message); process.exit(1); })";

fn buildah() -> std::process::Command {
    let mut cmd = tool("buildah", "buildah");
    cmd.args(["--storage-driver", "overlay"]);
    cmd
}

/// The Node image with its own `NODE_EXTRA_CA_CERTS` file holding `ca`, as `oci:OUT:theirs`.
fn with_own_extra_file(base: &str, ca: &Path, out: &Path) -> String {
    let container = output(buildah().args(["from", "--quiet", base]))
        .trim()
        .to_owned();
    output(
        buildah()
            .args(["copy", "--quiet", &container])
            .arg(ca)
            .arg("/opt/ui/extra-ca.pem"),
    );
    output(buildah().args([
        "config",
        "--env",
        "NODE_EXTRA_CA_CERTS=/opt/ui/extra-ca.pem",
        &container,
    ]));
    let reference = format!("oci:{}:theirs", out.display());
    output(buildah().args(["commit", "--quiet", &container, &reference]));
    let _ = buildah().args(["rm", &container]).output();
    reference
}

fn bake(from: &str, to: &str) -> Value {
    let text = output(
        trustbake()
            .args([
                "bake",
                "--no-cache",
                "--from",
                from,
                "--to",
                to,
                "--json",
                "--ca",
            ])
            .arg(fixture("root-rsa.pem")),
    );
    serde_json::from_str(&text).unwrap()
}

fn node_store(platform: &Value) -> &Value {
    platform["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "node-extra-ca-certs")
        .unwrap_or_else(|| panic!("no node store: {platform}"))
}

#[test]
fn node_trusts_the_baked_ca_through_node_extra_ca_certs() {
    let layout = node_image();
    let work = scratch("node");
    let pki = Pki::generate(&work.join("pki"));
    let base = format!("oci:{}:base", layout.display());
    let theirs = with_own_extra_file(&base, &pki.path("root.pem"), &work.join("theirs"));
    let baked = work.join("baked");

    // trustbake's own file, and the variable set in the config.
    let outcome = bake(&base, &format!("oci:{}:plain", baked.display()));
    let platform = &outcome["platforms"][0];
    let store = node_store(platform);
    assert_eq!(store["path"], "/etc/trustbake/node-extra-ca-certs.pem");
    assert_eq!(store["added"].as_array().unwrap().len(), 1);
    assert_eq!(
        platform["env"]["NODE_EXTRA_CA_CERTS"],
        "/etc/trustbake/node-extra-ca-certs.pem"
    );
    // Rotated: another CA onto the baked image replaces trustbake's layer, file and variable
    // included — the digest a bake of that CA onto the base gives.
    let ec = fixture("root-ec.pem");
    let bake_ec = |from: &str, to: &str, extra: &[&str]| -> Value {
        serde_json::from_str(&output(
            trustbake()
                .args(["bake", "--no-cache", "--from", from, "--to", to, "--json"])
                .args(extra),
        ))
        .unwrap()
    };
    let ca = ["--ca", ec.to_str().unwrap()];
    let rotated = bake_ec(
        &format!("oci:{}:plain", baked.display()),
        &format!("oci:{}:rotated", baked.display()),
        &ca,
    );
    let fresh = bake_ec(&base, &format!("oci:{}:fresh", baked.display()), &ca);
    assert_eq!(rotated["digest"], fresh["digest"]);
    assert!(rotated["platforms"][0]["replaced"].is_object());
    // Replaced by nothing (only a CA the base lacks distrusted): the base itself again.
    let unbaked = bake_ec(
        &format!("oci:{}:plain", baked.display()),
        &format!("oci:{}:unbaked", baked.display()),
        &["--remove", ec.to_str().unwrap()],
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        unbaked["digest"], index["manifests"][0]["digest"],
        "{unbaked}"
    );

    // The image's own file, extended; its variable kept.
    let outcome = bake(&theirs, &format!("oci:{}:theirs", baked.display()));
    let platform = &outcome["platforms"][0];
    assert_eq!(node_store(platform)["path"], "/opt/ui/extra-ca.pem");
    assert_eq!(platform["env"], serde_json::json!({}));

    // inspect reads the store back through the config's Env.
    let inspected: Value = serde_json::from_str(&output(trustbake().args([
        "inspect",
        &format!("oci:{}:theirs", baked.display()),
        "--json",
    ])))
    .unwrap();
    let store = node_store(&inspected["platforms"][0]);
    assert_eq!(store["path"], "/opt/ui/extra-ca.pem");
    assert_eq!(store["certificates"], 2, "{store}");

    let ours = TlsServer::start();
    let other = TlsServer::serve(
        "127.0.0.1",
        &pki.path("apiext.pem"),
        &pki.path("apiext.key"),
        Some(&pki.path("intermediate.pem")),
    );
    let ours_url = format!("https://localhost:{}/", ours.port);
    let other_url = format!("https://localhost:{}/", other.port);

    // verify models Node from the same Env: the baked image's Node trusts our server.
    let verdict: Value = serde_json::from_str(&output(
        trustbake()
            .args([
                "verify",
                &format!("oci:{}:plain", baked.display()),
                "--url",
                &ours_url,
                "--json",
            ])
            .env_remove("SSL_CERT_FILE"),
    ))
    .unwrap();
    let node = verdict["platforms"][0]["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "node")
        .unwrap_or_else(|| panic!("no node consumer: {verdict}"));
    assert_eq!(node["trusted"], true, "{node}");

    // The Containerfile does the same for a build: trustbake's file and the variable.
    let context = work.join("context");
    output(
        trustbake()
            .args(["dockerfile", "--from", &base, "-o"])
            .arg(&context)
            .arg("--ca")
            .arg(fixture("root-rsa.pem")),
    );
    let containerfile = std::fs::read_to_string(context.join("Containerfile")).unwrap();
    assert!(
        containerfile.contains("ENV NODE_EXTRA_CA_CERTS=/etc/trustbake/node-extra-ca-certs.pem"),
        "{containerfile}"
    );
    let built = "localhost/trustbake-node-dockerfile:latest";
    output(
        buildah()
            .args(["build", "--isolation", "chroot", "--quiet", "--build-arg"])
            .arg(format!("BASE={base}"))
            .args(["-t", built])
            .arg(&context),
    );

    let images = [
        ("base", load(&layout, "base"), false, false),
        (
            "built from the Containerfile",
            built.to_owned(),
            true,
            false,
        ),
        ("baked", load(&baked, "plain"), true, false),
        ("theirs", load(&work.join("theirs"), "theirs"), false, true),
        ("theirs baked", load(&baked, "theirs"), true, true),
    ];
    for (what, image, trusts_ours, trusts_other) in &images {
        for user in ["1000:1000", "12345:0"] {
            for (url, want) in [(&ours_url, *trusts_ours), (&other_url, *trusts_other)] {
                let got = run(
                    image,
                    user,
                    &[],
                    &["node", "--use-bundled-ca", "-e", GET, url.as_str()],
                );
                assert_eq!(
                    got.status.success(),
                    want,
                    "{what} as {user}, {url}: {}{}",
                    String::from_utf8_lossy(&got.stdout),
                    String::from_utf8_lossy(&got.stderr)
                );
                if want {
                    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "200");
                }
            }
        }
    }
}
