//! `proxy-env` against the real consumers: a loopback CONNECT proxy with Basic authentication
//! (`tests/fixtures/proxy/connect_proxy.py`), a password full of reserved characters and a
//! non-ASCII one, and an HTTPS server on two loopback addresses. `curl` (on this host) and
//! Python `requests` (in the realistic Anchore-shaped image, run by podman with the generated
//! file as `--env-file`) reach the server through the proxy with the generated settings, and go
//! direct for a `no_proxy` host. The YAML forms parse, and the Secret round-trips.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use tests::TlsServer;

use tests::realistic::realistic_enterprise;
use tests::{output, root, scratch, tool, trustbake};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(addr: &str) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on {addr}");
}

/// A self-signed server certificate for 127.0.0.2 and 127.0.0.3, and `openssl s_server` on
/// every address.
fn https_server(work: &Path) -> (TlsServer, u16, PathBuf) {
    let cert = work.join("server.pem");
    let key = work.join("server.key");
    output(
        tool("openssl", "openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=proxy-test",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.2,IP:127.0.0.3"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let server = TlsServer::serve("0.0.0.0", &cert, &key, None);
    let port = server.port;
    wait_for(&format!("127.0.0.2:{port}"));
    (server, port, cert)
}

fn proxy(work: &Path, user: &str, password_file: &Path) -> (Running, u16, PathBuf) {
    let port = free_port();
    let log = work.join("proxy.log");
    std::fs::write(&log, "").unwrap();
    let mut child = tool("python3", "python3")
        .arg(root().join("tests/fixtures/proxy/connect_proxy.py"))
        .arg(port.to_string())
        .arg(user)
        .arg(password_file)
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    (Running(child), port, log)
}

/// The variables of a generated `.env` file.
fn env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn curl(env: &[(String, String)], cert: &Path, url: &str) -> std::process::Output {
    let mut cmd = tool("curl", "curl");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["-sS", "-o", "/dev/null", "--max-time", "10", "--cacert"])
        .arg(cert)
        .arg(url);
    cmd.output().unwrap()
}

#[test]
fn requests_and_curl_go_through_the_proxy_with_the_generated_settings() {
    let work = scratch("proxy-env");
    let (_server, port, cert) = https_server(&work);
    for (case, password) in [
        ("reserved", "F@oBar!:/?#%[]&=+$, x"),
        ("non-ascii", "pässwörd@ünïcode"),
    ] {
        let password_file = work.join(format!("{case}.pass"));
        std::fs::write(&password_file, format!("{password}\n")).unwrap();
        let (_proxy, proxy_port, log) = proxy(&work, "svc-anchore", &password_file);
        let generated = output(
            trustbake()
                .args(["proxy-env", "--proxy"])
                .arg(format!("http://127.0.0.1:{proxy_port}"))
                .args(["--user", "svc-anchore", "--password-file"])
                .arg(&password_file)
                .args(["--no-proxy", "127.0.0.3"]),
        );
        assert!(!generated.contains('"'), "no quotes: {generated}");
        let env = env_file(&generated);
        let proxy_url = &env.iter().find(|(k, _)| k == "https_proxy").unwrap().1;
        let userinfo = proxy_url
            .strip_prefix("http://")
            .unwrap()
            .rsplit_once('@')
            .unwrap()
            .0;
        let (_, encoded) = userinfo.split_once(':').unwrap();
        assert_eq!(
            trustbake::proxy::decode_userinfo(encoded).as_deref(),
            Some(password),
            "round trip"
        );
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
        );
        let no_proxy = &env.iter().find(|(k, _)| k == "no_proxy").unwrap().1;
        assert_eq!(no_proxy, "localhost,127.0.0.1,127.0.0.3");

        // curl: through the proxy for 127.0.0.2, direct for 127.0.0.3 (in no_proxy).
        let via = format!("https://127.0.0.2:{port}/");
        let direct = format!("https://127.0.0.3:{port}/");
        let out = curl(&env, &cert, &via);
        assert!(
            out.status.success(),
            "{case}: curl via the proxy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = curl(&env, &cert, &direct);
        assert!(
            out.status.success(),
            "{case}: curl direct: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            logged,
            format!("CONNECT 127.0.0.2:{port} ok\n"),
            "{case}: curl"
        );

        // A wrong password is refused by the proxy (the test proxy does check).
        let mut wrong = env.clone();
        for (k, v) in &mut wrong {
            if k.ends_with("_proxy") && k != "no_proxy" {
                *v = v.replace(encoded, "wrong");
            }
        }
        assert!(!curl(&wrong, &cert, &via).status.success());
        std::fs::write(&log, "").unwrap();

        // requests, in the Anchore-shaped image, with the file as podman's --env-file.
        let env_path = work.join(format!("{case}.env"));
        std::fs::write(&env_path, &generated).unwrap();
        let image = podman_image();
        let script = "import requests,sys; [requests.get(u, timeout=10, verify='/tmp/server.pem') for u in sys.argv[1:]]";
        let mount = format!("{}:/tmp/server.pem:ro", cert.display());
        let out = tests::podman::run(
            &image,
            "1000:1000",
            &["--env-file", env_path.to_str().unwrap(), "-v", &mount],
            &["/home/anchore/venv/bin/python", "-c", script, &via, &direct],
        );
        assert!(
            out.status.success(),
            "{case}: requests: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            logged,
            format!("CONNECT 127.0.0.2:{port} ok\n"),
            "{case}: requests"
        );
    }
}

fn podman_image() -> String {
    tests::podman::load(&realistic_enterprise(), "5.1.0")
}

#[test]
fn the_yaml_forms_parse_and_the_secret_round_trips() {
    let work = scratch("proxy-env-forms");
    let password_file = work.join("pass");
    std::fs::write(&password_file, "F@oBar!\n").unwrap();
    let config = work.join("config.yaml");
    std::fs::write(
        &config,
        "host_id: \"${ANCHORE_HOST_ID}\"\ncredentials:\n  database:\n    db_pass: ${ANCHORE_DB_PASSWORD}\nservices:\n  apiext:\n    enabled: true\n    endpoint_hostname: ${ANCHORE_API_HOST}\n    port: 8228\n  catalog:\n    enabled: true\n    endpoint_hostname: anchore-catalog\n    port: 8082\n  analyzer:\n    enabled: false\n    endpoint_hostname: anchore-analyzer\n    port: 8084\n",
    )
    .unwrap();
    let run = |format: &str| {
        output(
            trustbake()
                .args([
                    "proxy-env",
                    "--proxy",
                    "http://proxy.corp:3128",
                    "--user",
                    "svc",
                    "--password-file",
                ])
                .arg(&password_file)
                .arg("--config")
                .arg(&config)
                .args([
                    "--no-proxy",
                    "registry.corp",
                    "--no-proxy",
                    "anchore-catalog,.svc.cluster.local",
                    "--format",
                    format,
                ])
                .env("ANCHORE_API_HOST", "anchore-api"),
        )
    };
    let env = run("env");
    assert!(
        env.contains("https_proxy=http://svc:F%40oBar%21@proxy.corp:3128\n"),
        "{env}"
    );
    // host_id and the database password are unset: not this command's to resolve. An unset
    // variable in an enabled endpoint is, and is named.
    let out = trustbake()
        .args(["proxy-env", "--proxy", "http://proxy.corp:3128", "--config"])
        .arg(&config)
        .env_remove("ANCHORE_API_HOST")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "services.apiext.endpoint_hostname uses ${ANCHORE_API_HOST}, which is not set"
        ) && err.contains("--env-file"),
        "{err}"
    );
    assert!(
        env.contains("no_proxy=localhost,127.0.0.1,anchore-api,anchore-api:8228,anchore-catalog,anchore-catalog:8082,registry.corp,.svc.cluster.local\n"),
        "{env}"
    );
    // YAML forms: parsed by Python's YAML (PyYAML, as Anchore and compose read YAML).
    let yaml = tool("python3", "python3")
        .args(["-c", "import yaml"])
        .output()
        .unwrap();
    assert!(
        yaml.status.success(),
        "Python's yaml module is missing; install it with: apt-get install -y python3-yaml"
    );
    let parse = |text: &str, expr: &str| -> String {
        let file = work.join("form.yaml");
        std::fs::write(&file, text).unwrap();
        output(
            tool("python3", "python3")
                .arg("-c")
                .arg(format!("import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(json.dumps({expr}))"))
                .arg(&file),
        )
    };
    let compose = run("compose");
    let list: Vec<String> = serde_json::from_str(&parse(
        &format!("services:\n  api:\n{compose}"),
        "d['services']['api']['environment']",
    ))
    .unwrap();
    assert_eq!(
        list[0],
        "https_proxy=http://svc:F%40oBar%21@proxy.corp:3128"
    );
    assert_eq!(list.len(), 3);
    let helm = run("helm");
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&parse(&helm, "d['extraEnv']")).unwrap();
    assert_eq!(
        entries[0]["valueFrom"]["secretKeyRef"]["name"],
        "anchore-proxy"
    );
    assert_eq!(entries[2]["name"], "no_proxy");
    assert!(
        !helm.contains("F%40oBar"),
        "the credential is not in plain values"
    );
    let secret = run("k8s");
    let doc: serde_json::Value = serde_json::from_str(&parse(&secret, "d")).unwrap();
    assert_eq!(
        (doc["apiVersion"].as_str(), doc["kind"].as_str()),
        (Some("v1"), Some("Secret"))
    );
    let decoded = output(
        tool("python3", "python3")
            .arg("-c")
            .arg("import base64,sys; print(base64.b64decode(sys.argv[1]).decode())")
            .arg(doc["data"]["https_proxy"].as_str().unwrap()),
    );
    assert_eq!(decoded.trim(), "http://svc:F%40oBar%21@proxy.corp:3128");
}

#[test]
fn malformed_proxies_and_passwords_in_arguments_are_refused() {
    for (proxy, message) in [
        ("http://user:secret@proxy:3128", "credentials in --proxy"),
        ("socks5://proxy:1080", "not a proxy scheme"),
        ("proxy.corp:3128", "has no scheme"),
        ("http://proxy.corp:99999", "is not a port"),
        ("http://proxy.corp:3128/path", "no path"),
        ("http://", "no usable host"),
    ] {
        let out = trustbake()
            .args(["proxy-env", "--proxy", proxy])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{proxy}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{proxy}: {stderr}");
        assert!(
            !stderr.contains("secret"),
            "the password is not echoed: {stderr}"
        );
    }
    assert_eq!(trustbake::proxy::encode_userinfo("F@oBar!"), "F%40oBar%21");
}
