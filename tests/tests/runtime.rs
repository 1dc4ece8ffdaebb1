//! The baked image at run time, with podman (runc, host network, user 1000 and an arbitrary UID
//! as OpenShift uses): Python `requests`
//! through the venv's certifi and `curl` through the OS store both reach a loopback server the
//! new CA issued; both fail on the base image. Then the image's own `update-ca-trust`, run in the
//! baked container, regenerates bundles holding the same certificates trustbake wrote.

use std::collections::BTreeSet;
use tests::podman::{load, podman};

use tests::realistic::realistic_enterprise;
use tests::{TlsServer, fixture, output, scratch, tool};
use trustbake_certs::read_bundle;

/// `podman run` of `image` as `user`.
fn run(image: &str, user: &str, command: &[&str]) -> std::process::Output {
    tests::podman::run(image, user, &[], command)
}

fn shas(pem: &[u8]) -> BTreeSet<String> {
    read_bundle(pem)
        .certificates
        .iter()
        .map(|c| c.sha256().hex())
        .collect()
}

#[test]
fn requests_and_curl_trust_the_new_ca_in_the_baked_image_only() {
    let base = realistic_enterprise();
    let work = scratch("runtime");
    let out = work.join("corp");
    let cas = trustbake::load_cas(
        &[fixture("root-rsa.pem")],
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap();
    let request = trustbake::BakeRequest::new(
        &format!("oci:{}:5.1.0", base.display()),
        &format!("oci:{}:5.1.0-corp", out.display()),
        &cas,
    )
    .unwrap()
    .target(trustbake::Target::parse("enterprise", "5.1").unwrap());
    let outcome = trustbake::bake(&request).unwrap();
    let report = &outcome.platforms[0];
    assert!(
        report
            .stores
            .iter()
            .any(|s| s.kind == trustbake::types::StoreKind::Certifi && s.added.len() == 1),
        "{:?}",
        report.stores
    );

    let base_image = load(&base, "5.1.0");
    let baked_image = load(&out, "5.1.0-corp");
    let server = TlsServer::start();
    let url = format!("https://localhost:{}/", server.port);
    let python = [
        "/home/anchore/venv/bin/python",
        "-c",
        "import requests,sys; print(requests.get(sys.argv[1], timeout=10).status_code)",
        url.as_str(),
    ];
    let curl = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url.as_str(),
    ];

    // The chart's uid 1000, and an arbitrary UID in group 0 as OpenShift runs images.
    for (image, trusted, user) in [
        (&base_image, false, "1000:1000"),
        (&baked_image, true, "1000:1000"),
        (&baked_image, true, "12345:0"),
    ] {
        let py = run(image, user, &python);
        let cu = run(image, user, &curl);
        let what = if trusted {
            format!("baked, user {user}")
        } else {
            "base".to_owned()
        };
        assert_eq!(
            py.status.success(),
            trusted,
            "{what}: requests: {}{}",
            String::from_utf8_lossy(&py.stdout),
            String::from_utf8_lossy(&py.stderr)
        );
        assert_eq!(
            cu.status.success(),
            trusted,
            "{what}: curl: {}{}",
            String::from_utf8_lossy(&cu.stdout),
            String::from_utf8_lossy(&cu.stderr)
        );
        if trusted {
            assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "200");
            assert_eq!(String::from_utf8_lossy(&cu.stdout).trim(), "200");
        }
    }

    // The image's own update-ca-trust, run in the baked container, agrees with what trustbake wrote.
    let bundles = [
        "pem/tls-ca-bundle.pem",
        "pem/email-ca-bundle.pem",
        "pem/objsign-ca-bundle.pem",
        "openssl/ca-bundle.trust.crt",
    ];
    let cat = |prefix: &str| {
        bundles
            .iter()
            .map(|b| format!("{prefix}cat /etc/pki/ca-trust/extracted/{b}; echo '=====';"))
            .collect::<String>()
    };
    // Run as root in the baked container; fails loudly when the command does.
    let in_container = |script: &str| {
        let out = run(&baked_image, "0", &["sh", "-c", script]);
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = in_container(&cat(""));
    let theirs = in_container(&format!("update-ca-trust && {}", cat("")));
    let ours: Vec<BTreeSet<String>> = ours.split("=====").map(|b| shas(b.as_bytes())).collect();
    let theirs: Vec<BTreeSet<String>> = theirs.split("=====").map(|b| shas(b.as_bytes())).collect();
    for (i, bundle) in bundles.iter().enumerate() {
        assert!(!ours[i].is_empty(), "{bundle}");
        assert_eq!(
            ours[i], theirs[i],
            "{bundle}: update-ca-trust in the container gives the same certificates"
        );
        assert!(
            ours[i].contains(&cas.cas()[0].certificate.sha256().hex()),
            "{bundle} holds the new CA"
        );
    }
}

/// Registry to registry, then pulled by podman from the registry: requests and curl in the
/// pushed image trust a loopback server issued by the baked CA.
#[test]
fn an_image_baked_in_a_registry_runs_from_it_with_podman() {
    let base = realistic_enterprise();
    let work = scratch("runtime-registry");
    let registry = tests::registry::Registry::start(
        &work.join("registry"),
        false,
        tests::registry::Auth::None,
    );
    let host = registry.host();
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:5.1.0", base.display()))
            .arg(format!("docker://{host}/anchore/enterprise:5.1.0")),
    );
    output(
        tests::trustbake()
            .args(["bake", "--from"])
            .arg(format!("docker://{host}/anchore/enterprise:5.1.0"))
            .arg("--to")
            .arg(format!("docker://{host}/corp/enterprise:5.1.0-corp"))
            .arg("--ca")
            .arg(fixture("root-rsa.pem"))
            .args([
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--no-cache",
            ]),
    );
    let image = format!("{host}/corp/enterprise:5.1.0-corp");
    output(podman().args(["pull", "--quiet", "--tls-verify=false", &image]));
    let server = TlsServer::start();
    let url = format!("https://localhost:{}/", server.port);
    let py = run(
        &image,
        "1000:1000",
        &[
            "/home/anchore/venv/bin/python",
            "-c",
            "import requests,sys; print(requests.get(sys.argv[1], timeout=10).status_code)",
            url.as_str(),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        "200",
        "requests: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let cu = run(
        &image,
        "1000:1000",
        &[
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            url.as_str(),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&cu.stdout).trim(),
        "200",
        "curl: {}",
        String::from_utf8_lossy(&cu.stderr)
    );
}
