//! Big Bang's images: Iron Bank's (Registry1) Anchore Enterprise and UI, shaped as
//! `tests::ironbank` builds them, pushed under Registry1's repository paths to a loopback
//! registry and baked, inspected and verified like the Docker Hub ones — by a recipe that names
//! no product or version (the name gives them), keeping the CA the hardened base already trusts,
//! then run with podman as uid 1000 and as an arbitrary UID: Python requests and curl in the
//! Enterprise image, Node in the UI's.

use std::collections::BTreeSet;

use serde_json::Value;
use tests::ironbank::{VERSION, ironbank_images};
use tests::podman::{load, podman, run};
use tests::registry::{Auth, Registry};
use tests::{TlsServer, fixture, output, scratch, tool, trustbake};

const REQUESTS: &str =
    "import requests,sys; print(requests.get(sys.argv[1], timeout=10).status_code)";
const NODE_GET: &str = "require('https').get(process.argv[1], r => { console.log(r.statusCode); process.exit(0); })\
    .on('error', e => { console.error(e.message); process.exit(1); })";

fn sha256_of(pem: &std::path::Path) -> String {
    trustbake_certs::read_bundle(&std::fs::read(pem).unwrap()).certificates[0]
        .sha256()
        .hex()
}

fn json(cmd: &mut std::process::Command) -> Value {
    let text = output(cmd);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Pushes the layout's tag to `docker://HOST/PATH`.
fn push(layout: &std::path::Path, host: &str, path: &str) {
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{VERSION}", layout.display()))
            .arg(format!("docker://{host}/{path}")),
    );
}

#[test]
fn the_iron_bank_enterprise_image_bakes_from_a_recipe_naming_only_registry1_paths() {
    let images = ironbank_images();
    let work = scratch("ironbank-enterprise");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let host = registry.host();
    let repo = "ironbank/anchore/enterprise/enterprise";
    push(&images.enterprise, &host, &format!("{repo}:{VERSION}"));
    push(
        &images.enterprise,
        &host,
        &format!("{repo}:{VERSION}-amd64"),
    );

    // The base trusts its site CA in the OS store only: a bake of another CA says so, and how
    // to bake it everywhere. (Iron Bank's architecture-suffixed tag names the same version.)
    let preview = json(
        trustbake()
            .args([
                "bake",
                "--dry-run",
                "--json",
                "--src-tls-verify=false",
                "--from",
            ])
            .arg(format!("docker://{host}/{repo}:{VERSION}-amd64"))
            .arg("--to")
            .arg(format!("oci:{}:x", work.join("preview").display()))
            .arg("--ca")
            .arg(fixture("root-rsa.pem")),
    );
    assert_eq!(preview["anchore"]["version"], VERSION, "{preview:#}");
    assert_eq!(preview["anchore"]["suffix"], "amd64");
    let notes = preview["platforms"][0]["notes"].to_string();
    assert!(
        notes.contains("DoD Root CA 3") && notes.contains("certifi") && notes.contains("--ca"),
        "{notes}"
    );

    // A recipe as Big Bang sites write it: Registry1's path, the internal registry's copy, the
    // site's CA and the DoD roots; no product, no version.
    std::fs::copy(fixture("root-rsa.pem"), work.join("corp-root.pem")).unwrap();
    std::fs::copy(&images.site_root, work.join("dod-roots.pem")).unwrap();
    let recipe = work.join("enterprise.toml");
    std::fs::write(
        &recipe,
        format!(
            "from = \"docker://{host}/{repo}:{VERSION}\"\nto = \"docker://{host}/{repo}:{VERSION}-corp\"\ncas = [\"corp-root.pem\", \"dod-roots.pem\"]\n"
        ),
    )
    .unwrap();
    let baked = json(trustbake().args(["bake", "-f"]).arg(&recipe).args([
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--no-cache",
        "--json",
    ]));
    let named = &baked["anchore"];
    assert_eq!(named["naming"], "iron-bank", "{baked:#}");
    assert_eq!(named["component"], "enterprise");
    assert_eq!(named["product"], "enterprise");
    assert_eq!(named["version"], VERSION);
    assert!(
        baked["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("cannot place")),
        "the version map places 5.23.0: {baked:#}"
    );
    assert!(
        !baked["platforms"][0]["notes"]
            .to_string()
            .contains("the base trusts"),
        "the site CA was given: {baked:#}"
    );
    let platform = &baked["platforms"][0];
    assert_eq!(platform["detected"]["family"], "rhel", "{platform:#}");
    let added = |kind: &str| {
        platform["stores"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| s["added"].as_array().unwrap().len())
            .sum::<usize>()
    };
    for kind in [
        "anchors",
        "pem-bundle",
        "openssl-bundle",
        "java-cacerts",
        "certifi",
    ] {
        assert!(added(kind) >= 1, "{kind}: {platform:#}");
    }

    // inspect names the image and finds both the base's site CA and the added one.
    let corp = format!("docker://{host}/{repo}:{VERSION}-corp");
    let inspected = json(trustbake().args(["inspect", &corp, "--tls-verify=false", "--json"]));
    assert_eq!(inspected["anchore"]["naming"], "iron-bank");
    let text = output(trustbake().args(["inspect", &corp, "--tls-verify=false"]));
    assert!(
        text.contains("Anchore enterprise 5.23.0 (iron-bank naming)"),
        "{text}"
    );
    let local: BTreeSet<String> = inspected["platforms"][0]["local_cas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256"].as_str().unwrap().to_owned())
        .collect();
    for ca in [&images.site_root, &fixture("root-rsa.pem")] {
        assert!(
            local.contains(&sha256_of(ca)),
            "{}: {inspected:#}",
            ca.display()
        );
    }

    // verify: a chain of the added CA, and one of the site CA the base already trusted.
    let chain = tests::leaf_chain(&work);
    for chain in [&chain, &images.site_leaf.0] {
        let verdict = json(
            trustbake()
                .args(["verify", &corp, "--tls-verify=false", "--chain"])
                .arg(chain)
                .args(["--hostname", "localhost", "--json"]),
        );
        assert_eq!(verdict["trusted"], true, "{}: {verdict:#}", chain.display());
    }

    // Run from the registry, as the chart's uid 1000 and as an arbitrary UID in group 0: curl
    // trusts the site CA in the base and the baked image alike; requests only once baked;
    // neither trusts the added CA before.
    let base_image = format!("{host}/{repo}:{VERSION}");
    let baked_image = format!("{host}/{repo}:{VERSION}-corp");
    for image in [&base_image, &baked_image] {
        output(podman().args(["pull", "--quiet", "--tls-verify=false", image]));
    }
    let ours = TlsServer::start();
    let site = TlsServer::serve("127.0.0.1", &images.site_leaf.0, &images.site_leaf.1, None);
    let ours_url = format!("https://localhost:{}/", ours.port);
    let site_url = format!("https://localhost:{}/", site.port);
    let python = |url: &str| -> Vec<String> {
        ["/home/anchore/venv/bin/python", "-c", REQUESTS, url]
            .map(str::to_owned)
            .to_vec()
    };
    let curl = |url: &str| -> Vec<String> {
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url]
            .map(str::to_owned)
            .to_vec()
    };
    for (image, user, baked) in [
        (&base_image, "1000:1000", false),
        (&baked_image, "1000:1000", true),
        (&baked_image, "1000680000:0", true),
    ] {
        for (what, command, trusted) in [
            ("requests, added CA", python(&ours_url), baked),
            ("curl, added CA", curl(&ours_url), baked),
            ("requests, site CA", python(&site_url), baked),
            ("curl, site CA", curl(&site_url), true),
        ] {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let out = run(image, user, &[], &args);
            assert_eq!(
                out.status.success(),
                trusted,
                "{image} as {user}: {what}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if trusted {
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "200", "{what}");
            }
        }
    }
}

#[test]
fn the_iron_bank_ui_image_trusts_the_ca_in_node_and_the_os_store_as_any_uid() {
    let images = ironbank_images();
    let work = scratch("ironbank-ui");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let host = registry.host();
    let repo = "ironbank/anchore/enterpriseui/enterpriseui";
    push(&images.ui, &host, &format!("{repo}:{VERSION}"));
    let out_dir = work.join("baked");
    let baked = json(
        trustbake()
            .args([
                "bake",
                "--src-tls-verify=false",
                "--no-cache",
                "--json",
                "--from",
            ])
            .arg(format!("docker://{host}/{repo}:{VERSION}"))
            .arg("--to")
            .arg(format!("oci:{}:{VERSION}-corp", out_dir.display()))
            .arg("--ca")
            .arg(fixture("root-rsa.pem")),
    );
    assert_eq!(baked["anchore"]["component"], "ui", "{baked:#}");
    assert_eq!(baked["anchore"]["naming"], "iron-bank");
    let platform = &baked["platforms"][0];
    assert_eq!(platform["detected"]["family"], "rhel", "{platform:#}");
    let node = platform["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "node-extra-ca-certs")
        .unwrap_or_else(|| panic!("no node store: {platform:#}"));
    assert_eq!(node["added"].as_array().unwrap().len(), 1, "{node}");
    assert_eq!(
        platform["env"]["NODE_EXTRA_CA_CERTS"], node["path"],
        "{platform:#}"
    );

    let base_image = load(&images.ui, VERSION);
    let baked_image = load(&out_dir, &format!("{VERSION}-corp"));
    let server = TlsServer::start();
    let url = format!("https://localhost:{}/", server.port);
    let node_get = ["node", "--use-bundled-ca", "-e", NODE_GET, url.as_str()];
    let curl = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url.as_str(),
    ];
    for (image, user, trusted) in [
        (&base_image, "1000:1000", false),
        (&baked_image, "1000:1000", true),
        (&baked_image, "1000680000:0", true),
    ] {
        for (what, command) in [("node", &node_get[..]), ("curl", &curl[..])] {
            let out = run(image, user, &[], command);
            assert_eq!(
                out.status.success(),
                trusted,
                "{what} as {user} ({}): {}{}",
                if trusted { "baked" } else { "base" },
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if trusted {
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "200", "{what}");
            }
        }
    }
}

#[test]
fn plan_reads_product_and_version_from_registry1_and_docker_hub_names() {
    let plan = |args: &[&str]| json(trustbake().arg("plan").args(args).arg("--json"));
    let by_flags = plan(&["--product", "enterprise", "--version", "5.23.0"]);
    for (image, component, naming) in [
        (
            "registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0",
            "enterprise",
            "iron-bank",
        ),
        (
            "registry1.dso.mil/ironbank/anchore/enterpriseui/enterpriseui:5.23.0",
            "ui",
            "iron-bank",
        ),
        (
            "docker://registry1.dso.mil/ironbank/anchore/enterprise/enterpriseui:5.23.0",
            "ui",
            "iron-bank",
        ),
        (
            "docker.io/anchore/enterprise:v5.23.0",
            "enterprise",
            "docker-hub",
        ),
        (
            "harbor.corp/anchore/enterprise-ui:v5.23.0-corp",
            "ui",
            "docker-hub",
        ),
    ] {
        let mut by_name = plan(&["--image", image]);
        let named = by_name
            .as_object_mut()
            .unwrap()
            .remove("image")
            .unwrap_or_else(|| panic!("{image}: no image in the plan"));
        assert_eq!(named["component"], component, "{image}");
        assert_eq!(named["naming"], naming, "{image}");
        assert_eq!(named["product"], "enterprise", "{image}");
        assert_eq!(named["version"], "5.23.0", "{image}");
        assert_eq!(
            by_name, by_flags,
            "{image}: the same plan as --product/--version"
        );
    }
    let engine = plan(&[
        "--image",
        "registry1.dso.mil/ironbank/anchore/engine/engine:1.0.0",
    ]);
    assert_eq!(engine["product"], "engine", "{engine:#}");
    for (image, needle) in [
        ("registry1.dso.mil/ironbank/anchore/cli/cli:0.9.4", "CLI"),
        (
            "registry1.dso.mil/ironbank/anchore/enterprise/enterprise:latest",
            "--version",
        ),
        ("harbor.corp/corp/scanner:5.23.0", "--product"),
    ] {
        let out = trustbake()
            .args(["plan", "--image", image])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{image}: {err}");
        assert!(err.contains(needle), "{image}: {err}");
    }
}
