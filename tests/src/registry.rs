//! Real registries for the tests, on loopback: the CNCF distribution registry (Debian's
//! `docker-registry`) over plain HTTP or TLS, with htpasswd Basic auth or token auth (a token
//! server in `tests/fixtures/registry/token_server.py`), and a counting, fault-injecting proxy
//! in front of one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{fixture, output, root, tool};

/// How a registry authenticates.
pub enum Auth {
    /// Anonymous pull and push.
    None,
    /// htpasswd (bcrypt) with one user.
    Htpasswd {
        /// The user.
        user: &'static str,
        /// The password.
        password: &'static str,
    },
    /// Token auth: users as `USER:PASSWORD:ACTIONS` for the token server.
    Token(Vec<&'static str>),
}

/// A running `docker-registry` (and its token server), stopped when dropped.
pub struct Registry {
    child: Child,
    token_server: Option<Child>,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Its working directory (storage, config, log).
    pub dir: PathBuf,
    /// TLS (the test leaf, issued by the test intermediate and root-rsa.pem).
    pub tls: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16, what: &str) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start on port {port}");
}

/// The test leaf's certificate followed by its intermediate: what a TLS server presents.
pub fn server_chain(dir: &Path) -> PathBuf {
    let chain = dir.join("chain.pem");
    let mut pem = std::fs::read(fixture("leaf.pem")).unwrap();
    pem.extend(std::fs::read(fixture("intermediate.pem")).unwrap());
    std::fs::write(&chain, pem).unwrap();
    chain
}

/// A certificate directory trusting the test root (as /etc/containers/certs.d/HOST/ would).
pub fn cert_dir(dir: &Path) -> PathBuf {
    let certs = dir.join("certs.d");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(fixture("root-rsa.pem"), certs.join("ca.crt")).unwrap();
    certs
}

impl Registry {
    /// Starts a registry in `dir` (made afresh).
    pub fn start(dir: &Path, tls: bool, auth: Auth) -> Registry {
        Self::launch(dir, tls, auth, None)
    }

    /// Starts a TLS registry in `dir` that requires a client certificate issued by `client_ca`.
    pub fn start_requiring_client_certificates(dir: &Path, client_ca: &Path) -> Registry {
        Self::launch(dir, true, Auth::None, Some(client_ca))
    }

    fn launch(dir: &Path, tls: bool, auth: Auth, client_ca: Option<&Path>) -> Registry {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        if tls {
            config += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                server_chain(dir).display(),
                fixture("leaf.key").display()
            );
            if let Some(ca) = client_ca {
                config += &format!("    clientcas:\n      - {}\n", ca.display());
            }
        }
        let mut token_server = None;
        match auth {
            Auth::None => {}
            Auth::Htpasswd { user, password } => {
                let line = output(tool("htpasswd", "apache2-utils").args(["-Bbn", user, password]));
                let file = dir.join("htpasswd");
                std::fs::write(&file, line.trim()).unwrap();
                config += &format!(
                    "auth:\n  htpasswd:\n    realm: trustbake-test\n    path: {}\n",
                    file.display()
                );
            }
            Auth::Token(users) => {
                let key = dir.join("signing.key");
                let cert = dir.join("signing.crt");
                crate::pki::self_signed_ec(
                    dir,
                    key.to_str().unwrap(),
                    cert.to_str().unwrap(),
                    "/CN=trustbake test token signer",
                    2,
                    &[],
                );
                let mut child = tool("python3", "python3")
                    .arg(root().join("tests/fixtures/registry/token_server.py"))
                    .arg(server_chain(dir))
                    .arg(fixture("leaf.key"))
                    .arg(&cert)
                    .arg(&key)
                    .arg("trustbake-test-issuer")
                    .arg(dir.join("tokens.log"))
                    .args(users)
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                let token_port: u16 = line.trim().parse().expect("the token server's port");
                config += &format!(
                    "auth:\n  token:\n    realm: https://127.0.0.1:{token_port}/token\n    service: trustbake-test\n    issuer: trustbake-test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                );
                token_server = Some(child);
            }
        }
        let config_file = dir.join("config.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = tool("docker-registry", "docker-registry")
            .arg("serve")
            .arg(&config_file)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            token_server,
            port,
            dir: dir.to_path_buf(),
            tls,
        };
        wait_for(port, "docker-registry");
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log (access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// What the token server was asked (one JSON line per request).
    pub fn token_requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("tokens.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `skopeo` options reaching this registry (certificates, or plain HTTP).
    pub fn skopeo_tls(&self, side: &str) -> Vec<String> {
        if self.tls {
            vec![
                format!("--{side}cert-dir"),
                cert_dir(&self.dir).display().to_string(),
            ]
        } else {
            vec![format!("--{side}tls-verify=false")]
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.token_server.as_mut() {
            let _ = t.kill();
            let _ = t.wait();
        }
    }
}

/// What the proxy does to one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answers with this status (and `Retry-After: 1` for 429) without forwarding.
    Status(u16),
    /// Forwards, then closes the connection halfway through the body.
    Cut,
    /// Forwards, with one byte of the body changed.
    Corrupt,
}

/// A rule: the first `times` requests whose method is `method` and whose path contains
/// `path` get `fault`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The method.
    pub method: &'static str,
    /// A part of the path.
    pub path: String,
    /// What happens.
    pub fault: Fault,
    /// How many times.
    pub times: usize,
}

/// A plain-HTTP reverse proxy in front of a plain-HTTP registry: logs every request
/// (`METHOD PATH STATUS BYTES`) and injects faults.
pub struct Proxy {
    /// The port on 127.0.0.1.
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Proxy {
    /// Starts a proxy in front of `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::new(Mutex::new(Vec::new()));
        let (l, r) = (Arc::clone(&log), Arc::clone(&rules));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (l, r) = (Arc::clone(&l), Arc::clone(&r));
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, &l, &r);
                });
            }
        });
        Proxy { port, log, rules }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: Rule) {
        self.rules.lock().unwrap().push(rule);
    }

    /// The requests so far, and forgets them.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    log: &Mutex<Vec<String>>,
    rules: &Mutex<Vec<Rule>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let request_line = head[0].clone();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let length: usize = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    assert!(
        !head
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("transfer-encoding")),
        "the proxy handles Content-Length bodies only: {request_line}"
    );
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.times > 0 && r.method == method && path.contains(&r.path))
            .map(|r| {
                r.times -= 1;
                r.fault.clone()
            })
    };
    if let Some(Fault::Status(status)) = fault {
        log.lock()
            .unwrap()
            .push(format!("{method} {path} {status} 0 injected"));
        let retry = if status == 429 {
            "Retry-After: 1\r\n"
        } else {
            ""
        };
        write!(
            client,
            "HTTP/1.1 {status} Injected\r\n{retry}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return Ok(());
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(request_line.as_bytes())?;
    for h in &head[1..] {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            up.write_all(h.as_bytes())?;
        }
    }
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    let (head_bytes, body_bytes) = response.split_at(split);
    let status = String::from_utf8_lossy(head_bytes)
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let mut body_bytes = body_bytes.to_vec();
    log.lock().unwrap().push(format!(
        "{method} {path} {status} {}{}",
        if method == "GET" {
            body_bytes.len()
        } else {
            length
        },
        if fault.is_some() { " injected" } else { "" }
    ));
    // Every answer closes the connection: the client opens the next.
    let head_text = String::from_utf8_lossy(head_bytes)
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect::<String>();
    client.write_all(head_text.as_bytes())?;
    client.write_all(b"Connection: close\r\n\r\n")?;
    match fault {
        Some(Fault::Cut) => {
            client.write_all(&body_bytes[..body_bytes.len() / 2])?;
            client.flush()?;
            return Ok(());
        }
        Some(Fault::Corrupt) => {
            let middle = body_bytes.len() / 2;
            if let Some(b) = body_bytes.get_mut(middle) {
                *b ^= 0xff;
            }
        }
        _ => {}
    }
    client.write_all(&body_bytes)?;
    client.flush()?;
    Ok(())
}

/// The hostile registry (`tests/fixtures/registry/hostile_registry.py`): the distribution
/// protocol answered correctly until a rule makes it lie, on three origins of its own — `main`
/// (HTTPS), `other` (HTTPS on another port) and `plain` (HTTP) — logging which origin got
/// which `Authorization`. Stopped when dropped.
pub struct Hostile {
    child: Child,
    /// The port of each origin.
    pub ports: serde_json::Value,
    /// Its working directory (config, log).
    pub dir: PathBuf,
}

impl Hostile {
    /// Serves the layout at `layout` (its tags under `anchore/enterprise`) with `auth`
    /// (`null`, or `{"kind":"basic"|"bearer","user","password"}`) and `rules`.
    pub fn start(
        dir: &Path,
        layout: Option<&Path>,
        auth: serde_json::Value,
        rules: serde_json::Value,
    ) -> Hostile {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let config = serde_json::json!({
            "layout": layout.map(|l| l.display().to_string()),
            "chain": server_chain(dir).display().to_string(),
            "key": fixture("leaf.key").display().to_string(),
            "client_ca": fixture("root-rsa.pem").display().to_string(),
            "log": dir.join("requests.log").display().to_string(),
            "auth": auth,
            "rules": rules,
        });
        let file = dir.join("config.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let mut child = tool("python3", "python3")
            .arg(root().join("tests/fixtures/registry/hostile_registry.py"))
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!(
                "the hostile registry did not start ({e}): {}",
                std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
            )
        });
        Hostile {
            child,
            ports,
            dir: dir.to_path_buf(),
        }
    }

    /// `127.0.0.1:PORT` of an origin (`main`, `other`, `plain`).
    pub fn host(&self, origin: &str) -> String {
        format!("127.0.0.1:{}", self.ports[origin])
    }

    /// Every request so far: `origin`, `method`, `path`, `authorization`, `client_cert`.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("requests.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
