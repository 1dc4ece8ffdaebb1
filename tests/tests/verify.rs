//! `verify` against the real clients: its verdicts agree with `openssl verify` over a generated
//! PKI (every broken variant, several stores, two times), and — in the realistic image before
//! and after a bake, run by podman — with what `requests` and `curl` do against a loopback
//! `openssl s_server` serving each case, whether the chain is fetched with `--url` or read
//! with `--chain`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::pki::{BROKEN, Pki, SERVICES};
use tests::podman::load;
use tests::realistic::realistic_enterprise;
use tests::{TlsServer, output, scratch, tool, trustbake};
use trustbake_certs::{Certificate, Chain, Check, read_bundle};

fn certs(path: &Path) -> Vec<Certificate> {
    read_bundle(&std::fs::read(path).unwrap()).certificates
}

/// Every chain case: the services' certificates (sent with the intermediate), each one sent
/// without it, and every broken variant.
fn cases(pki: &Pki) -> Vec<(String, PathBuf, String)> {
    let mut out = Vec::new();
    for (service, host, _) in SERVICES {
        out.push((
            service.to_string(),
            pki.full_chain(service),
            host.to_string(),
        ));
        out.push((
            format!("{service} without intermediate"),
            pki.path(&format!("{service}.pem")),
            host.to_string(),
        ));
    }
    for (name, _) in BROKEN {
        out.push((
            name.to_string(),
            pki.full_chain(name),
            "localhost".to_owned(),
        ));
    }
    out
}

#[test]
fn verdicts_agree_with_openssl_verify() {
    let work = scratch("verify-openssl");
    let pki = Pki::generate(&work.join("pki"));
    // Stores: the root; another root; both; only the intermediate (a partial chain, which
    // OpenSSL refuses by default); intermediate and root; the self-signed server certificate;
    // Mozilla's roots.
    let cat = |name: &str, parts: &[&str]| -> PathBuf {
        let path = work.join(format!("store-{name}.pem"));
        let text: String = parts.iter().map(|p| pki.pem(p)).collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    let mozilla = work.join("store-mozilla.pem");
    std::fs::write(
        &mozilla,
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|d| Certificate::from_der(d.as_ref()).ok())
            .map(|c| c.to_pem())
            .collect::<String>(),
    )
    .unwrap();
    let stores = [
        cat("root", &["root"]),
        cat("other", &["other-root"]),
        cat("both", &["root", "other-root"]),
        cat("intermediate", &["intermediate"]),
        cat("intermediate-root", &["intermediate", "root"]),
        cat("self-signed", &["self-signed"]),
        mozilla,
    ];
    let now = trustbake::process::now();
    let mid_2020 = 1_590_969_600; // 2020-06-01: the expired certificate was valid then
    let mut compared = 0;
    let mut trusted = 0;
    let mut disagreements = Vec::new();
    for (name, chain_file, host) in cases(&pki) {
        let (chain, _) = Chain::from_pem(&std::fs::read(&chain_file).unwrap()).unwrap();
        let rest = work.join("rest.pem");
        let rest_text: String = chain.certificates()[1..]
            .iter()
            .map(Certificate::to_pem)
            .collect();
        std::fs::write(&rest, &rest_text).unwrap();
        let leaf = work.join("leaf.pem");
        std::fs::write(&leaf, chain.leaf().to_pem()).unwrap();
        for store in &stores {
            let anchors = certs(store);
            for at in [now, mid_2020] {
                let ours = trustbake_certs::verify(
                    &chain,
                    &anchors,
                    &Check {
                        hostname: Some(&host),
                        at,
                        partial_chain: false,
                        server_auth: true,
                    },
                );
                let mut cmd = tool("openssl", "openssl");
                cmd.arg("verify")
                    .arg("-CAfile")
                    .arg(store)
                    .args(["-purpose", "sslserver", "-verify_hostname", &host])
                    .args(["-attime", &at.to_string()]);
                if !rest_text.is_empty() {
                    cmd.arg("-untrusted").arg(&rest);
                }
                let theirs = cmd.arg(&leaf).output().unwrap();
                compared += 1;
                if ours.is_trusted() {
                    trusted += 1;
                }
                if ours.is_trusted() != theirs.status.success() {
                    disagreements.push(format!(
                        "{name} / {} / at {at}: trustbake {ours:?}, openssl: {}",
                        store.file_name().unwrap().to_string_lossy(),
                        String::from_utf8_lossy(&theirs.stdout).trim().to_owned()
                            + String::from_utf8_lossy(&theirs.stderr).trim()
                    ));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The cases are not degenerate: both verdicts occur, many times.
    assert!(
        compared > 250 && trusted > 20 && compared - trusted > 100,
        "{compared} {trusted}"
    );
}

/// Each case's reason, as the operator reads it.
#[test]
fn each_failure_is_named() {
    let work = scratch("verify-reasons");
    let pki = Pki::generate(&work.join("pki"));
    let anchors = certs(&pki.path("root.pem"));
    let check = |name: &str, file: &Path, host: &str| {
        let (chain, _) = Chain::from_pem(&std::fs::read(file).unwrap()).unwrap();
        let verdict = trustbake_certs::verify(
            &chain,
            &anchors,
            &Check {
                hostname: Some(host),
                at: trustbake::process::now(),
                partial_chain: false,
                server_auth: true,
            },
        );
        match verdict {
            trustbake_certs::Verdict::Untrusted(f) => format!("{f}"),
            other => panic!("{name}: {other:?}"),
        }
    };
    let msg = check("missing", &pki.path("apiext.pem"), "anchore-api");
    assert!(
        msg.contains("'CN=Trustbake PKI Intermediate O=Trustbake PKI'")
            && msg.contains("missing intermediate"),
        "{msg}"
    );
    let msg = check("host", &pki.full_chain("wrong-host"), "localhost");
    assert!(
        msg.starts_with("name mismatch: 'localhost' is not one of other.example"),
        "{msg}"
    );
    let msg = check("expired", &pki.full_chain("expired"), "localhost");
    assert!(
        msg.starts_with("expired: 'CN=anchore-expired O=Trustbake PKI' on 2021-01-01"),
        "{msg}"
    );
    let msg = check("future", &pki.full_chain("not-yet-valid"), "localhost");
    assert!(msg.starts_with("not yet valid:"), "{msg}");
    let msg = check("eku", &pki.full_chain("client-only"), "localhost");
    assert!(msg.starts_with("not for server authentication"), "{msg}");
    let msg = check("root", &pki.full_chain("unknown-root"), "localhost");
    assert_eq!(
        msg,
        "unknown issuer: the root 'CN=Elsewhere Root O=Elsewhere' is not in this store"
    );
    let msg = check("self", &pki.full_chain("self-signed"), "localhost");
    assert!(
        msg.starts_with("unknown issuer: the root 'CN=anchore-self"),
        "{msg}"
    );
    // A store with the intermediate only: OpenSSL needs the root.
    let (chain, _) = Chain::from_pem(&std::fs::read(pki.full_chain("apiext")).unwrap()).unwrap();
    let partial = certs(&pki.path("intermediate.pem"));
    let at = trustbake::process::now();
    let strict = trustbake_certs::verify(
        &chain,
        &partial,
        &Check {
            hostname: Some("anchore-api"),
            at,
            partial_chain: false,
            server_auth: true,
        },
    );
    assert!(format!("{strict:?}").contains("PartialChain"), "{strict:?}");
    let lenient = trustbake_certs::verify(
        &chain,
        &partial,
        &Check {
            hostname: Some("anchore-api"),
            at,
            partial_chain: true,
            server_auth: true,
        },
    );
    assert!(lenient.is_trusted(), "{lenient:?}");
}

/// `openssl s_server` serving one case of the PKI until dropped: its certificate and key, and
/// when `send_chain`, what its server sends after it.
fn serve(pki: &Pki, name: &str, send_chain: bool) -> TlsServer {
    let chain = match name {
        "unknown-root" => "other-root.pem",
        _ => "intermediate.pem",
    };
    TlsServer::serve(
        "127.0.0.1",
        &pki.path(&format!("{name}.pem")),
        &pki.path(&format!("{name}.key")),
        send_chain.then(|| pki.path(chain)).as_deref(),
    )
}

fn podman_run(image: &str, command: &[&str]) -> bool {
    tests::podman::run(image, "1000:1000", &[], command)
        .status
        .success()
}

/// The requests (Anchore's venv certifi) and curl verdicts of a `verify --json` output.
fn verdicts(json: &Value) -> (bool, bool) {
    let consumers = json["platforms"][0]["consumers"].as_array().unwrap();
    let find = |pred: &dyn Fn(&Value) -> bool| {
        consumers
            .iter()
            .find(|c| pred(c))
            .unwrap_or_else(|| panic!("{json:#}"))["trusted"]
            .as_bool()
            .unwrap()
    };
    (
        find(&|c| {
            c["kind"] == "requests"
                && c["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("requests (/home/anchore/venv/")
        }),
        find(&|c| c["kind"] == "curl"),
    )
}

pub(crate) fn verify_json(args: &[&str]) -> (Value, i32) {
    tests::verdict("verify", args)
}

#[test]
fn verify_agrees_with_requests_and_curl_in_the_image_before_and_after_bake() {
    let base = realistic_enterprise();
    let work = scratch("verify-runtime");
    let pki = Pki::generate(&work.join("pki"));
    let out = work.join("corp");
    output(
        trustbake()
            .args(["bake", "--from"])
            .arg(format!("oci:{}:5.1.0", base.display()))
            .arg("--to")
            .arg(format!("oci:{}:corp", out.display()))
            .arg("--ca")
            .arg(pki.path("root.pem")),
    );
    let images = [
        (
            format!("oci:{}:5.1.0", base.display()),
            load(&base, "5.1.0"),
        ),
        (format!("oci:{}:corp", out.display()), load(&out, "corp")),
    ];
    // (certificate, whether the server sends its chain, expected verdict after the bake)
    let served: &[(&str, bool, bool)] = &[
        ("apiext", true, true),
        ("apiext", false, false),
        ("policy_engine", true, true),
        ("wrong-host", true, false),
        ("expired", true, false),
        ("client-only", true, false),
        ("unknown-root", true, false),
        ("self-signed", true, false),
    ];
    let mut checked = 0;
    for &(name, send_chain, after) in served {
        let server = serve(&pki, name, send_chain);
        let url = format!("https://localhost:{}/", server.port);
        let chain_file = if send_chain {
            pki.full_chain(name)
        } else {
            pki.path(&format!("{name}.pem"))
        };
        for (i, (reference, podman_image)) in images.iter().enumerate() {
            let what = format!("{name} (chain sent: {send_chain}) in {reference}");
            let (fetched, code) = verify_json(&[reference, "--url", &url]);
            let (read, _) = verify_json(&[
                reference,
                "--chain",
                chain_file.to_str().unwrap(),
                "--hostname",
                "localhost",
            ]);
            let (requests_ok, curl_ok) = verdicts(&fetched);
            assert_eq!(
                verdicts(&read),
                (requests_ok, curl_ok),
                "{what}: --url and --chain"
            );
            assert_eq!(fetched["hostname"], "localhost");
            assert_eq!(code == 0, fetched["trusted"].as_bool().unwrap(), "{what}");
            let expected = i == 1 && after;
            assert_eq!(requests_ok, expected, "{what}: {fetched:#}");
            let requests_real = podman_run(
                podman_image,
                &[
                    "/home/anchore/venv/bin/python",
                    "-c",
                    "import requests,sys; requests.get(sys.argv[1], timeout=10)",
                    &url,
                ],
            );
            let curl_real = podman_run(podman_image, &["curl", "-sS", "-o", "/dev/null", &url]);
            assert_eq!(requests_ok, requests_real, "{what}: requests in the image");
            assert_eq!(curl_ok, curl_real, "{what}: curl in the image");
            checked += 1;
        }
    }
    assert_eq!(checked, served.len() * 2);
}

#[test]
fn verify_exit_codes() {
    let work = scratch("verify-codes");
    let pki = Pki::generate(&work.join("pki"));
    let root = tests::bookworm_root();
    let run = |args: &[&str]| {
        let out = trustbake().arg("verify").args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let root_dir = root.to_str().unwrap();
    let chain = pki.full_chain("apiext");
    let chain = chain.to_str().unwrap();
    // A Debian root trusts Mozilla's roots only: not this chain.
    let (code, stdout, _) = run(&[root_dir, "--chain", chain]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✖ OpenSSL defaults (Python ssl)"),
        "{stdout}"
    );
    assert!(stdout.contains("no name check"), "{stdout}");
    // A deployment's variable laid over the root: OpenSSL reads the file it names.
    let out = trustbake()
        .args(["verify", root_dir, "--chain", chain, "--json", "--env"])
        .arg("SSL_CERT_FILE=/nonexistent/corp.pem")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let openssl = json["platforms"][0]["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "openssl")
        .unwrap()
        .clone();
    assert_eq!(
        openssl["sources"][0]["path"], "/nonexistent/corp.pem",
        "{json:#}"
    );
    assert_eq!(
        openssl["sources"][0]["from"],
        "SSL_CERT_FILE=/nonexistent/corp.pem"
    );
    assert_eq!(openssl["sources"][0]["exists"], false);
    // Unreadable chain: 3; bad --at: 2; a URL nobody serves: 1.
    let (code, _, stderr) = run(&[root_dir, "--chain", "/nonexistent/chain.pem"]);
    assert_eq!(code, 3, "{stderr}");
    let garbage = work.join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let (code, _, stderr) = run(&[root_dir, "--chain", garbage.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("never ends"), "{stderr}");
    let (code, _, stderr) = run(&[root_dir, "--chain", chain, "--at", "yesterday"]);
    assert_eq!(code, 2, "{stderr}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, stderr) = run(&[root_dir, "--url", &format!("https://127.0.0.1:{port}")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    let (code, _, stderr) = run(&[root_dir, "--url", "http://example.corp"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("only https://"), "{stderr}");
}

/// `verify docker://…`: the image is read from a registry (with credentials), and every
/// platform's consumers are judged.
#[test]
fn verify_reads_an_image_from_a_registry() {
    let work = scratch("verify-registry");
    let line = tests::synthetic::enterprise_5_1();
    let base = work.join("base");
    tests::synthetic::write_layout(&base, &line, 1);
    let registry = tests::registry::Registry::start(
        &work.join("registry"),
        false,
        tests::registry::Auth::None,
    );
    let image = format!("docker://{}/corp/enterprise:5.1.0-corp", registry.host());
    output(
        trustbake()
            .args(["bake", "--from"])
            .arg(format!("oci:{}:5.1.0", base.display()))
            .args(["--to", &image, "--dest-tls-verify=false", "--ca"])
            .arg(tests::fixture("root-rsa.pem")),
    );
    let chain = tests::leaf_chain(&work);
    let json: Value = serde_json::from_str(&output(
        trustbake()
            .args(["verify", &image, "--tls-verify=false", "--chain"])
            .arg(&chain)
            .args(["--hostname", "localhost", "--json"]),
    ))
    .unwrap();
    assert_eq!(json["trusted"], true, "{json:#}");
    let consumers = json["platforms"][0]["consumers"].as_array().unwrap();
    assert!(consumers.iter().any(|c| c["kind"] == "requests"));
    assert!(
        consumers.iter().all(|c| !c["required"].as_bool().unwrap()
            || c["anchor"]["label"] == "Trustbake Test Root RSA")
    );
}
