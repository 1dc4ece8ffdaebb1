//! End-to-end tests of trustbake against the real tools and files it must agree with
//! (`openssl`, certifi wheels). The tests live in `tests/tests.rs`; this library holds their
//! shared helpers. Every outside tool is run for real: when one is missing, the test fails with
//! the command that installs it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

pub mod alpine;
pub mod bench_images;
pub mod distroless;
pub mod images;
pub mod ironbank;
pub mod java;
pub mod node;
pub mod pki;
pub mod podman;
pub mod realistic;
pub mod registry;
pub mod suse;
pub mod synthetic;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// What `/usr/bin/time -f trustbake-peak-rss-kib=%M` printed on stderr, split: the peak
/// resident set in MiB (0 when absent) and stderr without time's own lines.
pub fn peak_rss(stderr: &str) -> (u64, String) {
    const MARK: &str = "trustbake-peak-rss-kib=";
    let kib = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(MARK))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let rest = stderr
        .lines()
        .filter(|l| !l.starts_with(MARK) && !l.starts_with("Command "))
        .map(|l| format!("{l}\n"))
        .collect();
    (kib / 1024, rest)
}

/// An empty OCI layout at `dir` (whatever was there removed): `oci-layout` and `blobs/sha256/`.
pub fn empty_layout(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// `umoci unpack` of `layout:tag` into `bundle` (whatever was there removed): the root's path.
pub fn unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(bundle);
    output(
        tool("umoci", "umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(bundle),
    );
    bundle.join("rootfs")
}

/// `cmd` with no host credentials, CA or proxy variables in reach: `HOME` and the scan cache
/// (`XDG_CACHE_HOME`) under `home`, the auth-file, bundle, proxy and log variables removed.
pub fn isolated(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"));
    for var in [
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "DOCKER_CONFIG",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "TRUSTBAKE_LOG",
    ] {
        cmd.env_remove(var);
    }
}

/// A key path one level down: `k` under `prefix` (`a.b`), or `k` at the top.
pub fn key_path(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_owned()
    } else {
        format!("{prefix}.{k}")
    }
}

/// `trustbake COMMAND ARGS --json` for a command whose exit says a verdict (`verify`,
/// `verify-image`): its JSON outcome and exit code, which must be 0 or 1.
pub fn verdict(command: &str, args: &[&str]) -> (serde_json::Value, i32) {
    let out = trustbake()
        .arg(command)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{command} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), code)
}

/// A blob of the OCI layout `layout`, by digest.
pub fn layout_blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap_or_else(|e| panic!("{}: blob {digest}: {e}", layout.display()))
}

/// The document the OCI layout `layout` tags `tag` (its manifest), parsed.
pub fn layout_manifest(layout: &Path, tag: &str) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"))
        .clone();
    serde_json::from_slice(&layout_blob(layout, entry["digest"].as_str().unwrap())).unwrap()
}

/// The committed test CAs (`cargo xtask gen-test-cas` regenerates them).
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/cas").join(name)
}

/// A command for `tool`, with the host's CA-bundle variables cleared; panics with the install
/// command when the tool is not installed.
pub fn tool(tool: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; install it with: apt-get install -y {package}"
    );
    let mut cmd = Command::new(tool);
    for var in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The `trustbake` binary the tests drive (built by `cargo xtask test`), with
/// `SOURCE_DATE_EPOCH` cleared and its scan cache under `target/test-cache`; panics naming the build command when it is missing.
pub fn trustbake() -> Command {
    let bin = root().join("target/debug/trustbake");
    assert!(
        bin.is_file(),
        "{} is missing; build it with: cargo build -p trustbake-cli",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.env_remove("SOURCE_DATE_EPOCH");
    // Layer scans are kept under target/, never in the user's own cache.
    cmd.env("XDG_CACHE_HOME", root().join("target/test-cache"));
    cmd
}

/// Runs `cmd`, panicking with its stderr unless it succeeds; returns stdout.
pub fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The committed test leaf followed by its intermediate, written as `dir/chain.pem` (what a
/// server sends): its path.
pub fn leaf_chain(dir: &Path) -> PathBuf {
    let chain = dir.join("chain.pem");
    std::fs::write(
        &chain,
        std::fs::read_to_string(fixture("leaf.pem")).unwrap()
            + &std::fs::read_to_string(fixture("intermediate.pem")).unwrap(),
    )
    .unwrap();
    chain
}

/// The directory of fetched certifi releases (`<version>/cacert.pem`), from
/// `TRUSTBAKE_CERTIFI_FIXTURES` or `target/fixtures/certifi`; panics naming the command that
/// fetches them.
pub fn certifi_fixtures() -> Vec<(String, PathBuf)> {
    let dir = std::env::var_os("TRUSTBAKE_CERTIFI_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/fixtures/certifi"));
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().join("cacert.pem"),
            )
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    found.sort();
    assert!(
        found.len() >= 4,
        "the certifi wheels are missing from {}; fetch them with: cargo xtask fetch-fixtures",
        dir.display()
    );
    found
}

/// A fresh, empty scratch directory under `target/` for one test (removed first if left over).
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Runs p11-kit's `trust extract` the way EL9's `update-ca-trust extract` does, writing every
/// output under `<root>/etc/pki/ca-trust/extracted/`, with the trust module reading only
/// `sources` (a module file bind-mounted over the system's inside `unshare -m`).
pub fn p11_kit_extract(sources: &[&Path], root: &Path) {
    let d = root.join("etc/pki/ca-trust/extracted");
    for sub in ["pem", "openssl", "java", "edk2"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let d = d.display();
    p11_kit_run(
        sources,
        &root.join("../p11-kit-work"),
        &format!(
            "trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose server-auth {d}/pem/tls-ca-bundle.pem\n\
             trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose email {d}/pem/email-ca-bundle.pem\n\
             trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose code-signing {d}/pem/objsign-ca-bundle.pem\n\
             trust extract --format=java-cacerts --filter=ca-anchors --overwrite --purpose server-auth {d}/java/cacerts\n\
             trust extract --format=openssl-bundle --filter=certificates --overwrite --comment {d}/openssl/ca-bundle.trust.crt\n\
             trust extract --format=edk2-cacerts --filter=ca-anchors --overwrite --purpose=server-auth {d}/edk2/cacerts.bin\n\
             trust extract --format=pem-directory-hash --filter=ca-anchors --overwrite --purpose server-auth {d}/pem/directory-hash\n"
        ),
    );
}

/// Runs `commands` (`trust extract` lines, a bash script) with p11-kit's trust module reading
/// only `sources` (each a directory holding `anchors/` and perhaps `blocklist/`): a module file
/// written under `work` and bind-mounted over the system's inside `unshare -m`.
pub fn p11_kit_run(sources: &[&Path], work: &Path, commands: &str) {
    let _ = tool("trust", "p11-kit p11-kit-modules");
    let _ = tool("unshare", "util-linux");
    let module_path = Path::new("/usr/share/p11-kit/modules/p11-kit-trust.module");
    let system = std::fs::read_to_string(module_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; install with: apt-get install -y p11-kit-modules",
            module_path.display()
        )
    });
    let paths: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    let module: String = system
        .lines()
        .map(|l| {
            if l.starts_with("x-init-reserved:") {
                format!("x-init-reserved: paths={}", paths.join(":"))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::create_dir_all(work).unwrap();
    let module_file = work.join("trust.module");
    std::fs::write(&module_file, module + "\n").unwrap();
    let script = format!(
        "set -e\nmount --bind {module} {system}\n{commands}",
        module = module_file.display(),
        system = module_path.display(),
    );
    output(
        tool("unshare", "util-linux")
            .arg("-m")
            .arg("bash")
            .arg("-c")
            .arg(script),
    );
}

/// For a fixture cached under `dir` that is complete once `done` exists: `None` when it is;
/// else the lock on `dir.lock`, held while this process builds it (tests run as separate
/// processes: one builds, the others wait for it and then find it built).
pub fn build_lock(dir: &Path, done: &Path) -> Option<std::fs::File> {
    if done.exists() {
        return None;
    }
    std::fs::create_dir_all(dir).unwrap();
    let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    (!done.exists()).then_some(lock)
}

/// A real Debian bookworm root with `ca-certificates`, built once with debootstrap from the
/// machine's Debian mirror and cached under `target/fixtures/bookworm-root`.
pub fn bookworm_root() -> PathBuf {
    let dir = root().join("target/fixtures/bookworm-root");
    // Tests run as separate processes (or threads): one builds, the others wait for it.
    let Some(_lock) = build_lock(&dir, &dir.join("usr/sbin/update-ca-certificates")) else {
        return dir;
    };
    let _ = tool("debootstrap", "debootstrap");
    let mirror = debian_mirror();
    let partial = root().join("target/fixtures/bookworm-root.partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).unwrap();
    output(
        tool("debootstrap", "debootstrap")
            .args(["--variant=minbase", "--include=ca-certificates", "bookworm"])
            .arg(&partial)
            .arg(&mirror),
    );
    // build_lock made `dir` (empty): the built root takes its place.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::rename(&partial, &dir).unwrap();
    dir
}

/// `cp -a` of a directory tree (links, owners and modes kept).
pub fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    output(tool("cp", "coreutils").arg("-a").arg(from).arg(to));
}

/// The machine's Debian mirror (from its apt sources).
pub fn debian_mirror() -> String {
    std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("URIs:").map(|u| u.trim().to_owned()))
        })
        .or_else(|| {
            std::fs::read_to_string("/etc/apt/sources.list")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("deb "))
                        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
                })
        })
        .expect(
            "no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list",
        )
}

/// A loopback `openssl s_server` presenting the test leaf (issued by the test intermediate,
/// issued by the RSA test root); killed when dropped.
pub struct TlsServer {
    child: std::process::Child,
    /// The port on 127.0.0.1.
    pub port: u16,
}

impl TlsServer {
    /// Starts the server on a free port of 127.0.0.1 with the test leaf and its intermediate,
    /// and waits until it accepts.
    pub fn start() -> TlsServer {
        TlsServer::serve(
            "127.0.0.1",
            &fixture("leaf.pem"),
            &fixture("leaf.key"),
            Some(&fixture("intermediate.pem")),
        )
    }

    /// Starts `openssl s_server -www` on a free port of `host` (`0.0.0.0` for every loopback
    /// address) with `cert` and `key`, sending `chain` after the certificate when given, and
    /// waits until it accepts on 127.0.0.1.
    pub fn serve(host: &str, cert: &Path, key: &Path, chain: Option<&Path>) -> TlsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = tool("openssl", "openssl");
        cmd.args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("{host}:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key);
        if let Some(chain) = chain {
            cmd.arg("-cert_chain").arg(chain);
        }
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = TlsServer { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        drop(server);
        panic!("openssl s_server did not start on port {port}");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` distinct CA certificates as one PEM text: one real CA (`multi-rdn.pem`) with its serial
/// varied — one subject, so every subject hash and label collides (the worst case for the
/// numbering of hashed links and keystore aliases). Intake parses, it does not verify
/// signatures.
pub fn many_cas_pem(n: u32) -> String {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(fixture("multi-rdn.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let der = b64.decode(body).unwrap();
    let serial = [0x74u8, 0x41, 0x44, 0xB6, 0xC9, 0xBD, 0x2D, 0xA2];
    let at = der.windows(serial.len()).position(|w| w == serial).unwrap() + 17;
    let mut all = String::new();
    for i in 0..n {
        let mut d = der.clone();
        d[at..at + 3].copy_from_slice(&i.to_be_bytes()[1..]);
        all.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = b64.encode(&d);
        for chunk in text.as_bytes().chunks(64) {
            all.push_str(std::str::from_utf8(chunk).unwrap());
            all.push('\n');
        }
        all.push_str("-----END CERTIFICATE-----\n");
    }
    all
}

/// (alias, sha256) of a JKS, by our parser; and keytool's own listing must agree.
pub fn jks_entries(path: &Path) -> std::collections::BTreeSet<(String, String)> {
    let ks = trustbake_store::formats::jks::Keystore::parse(&std::fs::read(path).unwrap()).unwrap();
    let ours: std::collections::BTreeSet<(String, String)> = ks
        .entries
        .iter()
        .map(|e| match &e.body {
            trustbake_store::formats::jks::EntryBody::TrustedCert { der, .. } => (
                e.alias.clone(),
                trustbake_certs::Sha256Fingerprint::of(der).hex(),
            ),
            trustbake_store::formats::jks::EntryBody::PrivateKey(_) => {
                panic!("no key entries in cacerts")
            }
        })
        .collect();
    let listing = output(
        tool("keytool", "openjdk-17-jre-headless")
            .args(["-list", "-v", "-storepass", "changeit", "-keystore"])
            .arg(path),
    );
    let mut theirs = std::collections::BTreeSet::new();
    let mut alias = String::new();
    for line in listing.lines() {
        if let Some(a) = line.strip_prefix("Alias name: ") {
            alias = a.to_owned();
        }
        if let Some(fp) = line.trim().strip_prefix("SHA256: ") {
            theirs.insert((alias.clone(), fp.replace(':', "").to_ascii_lowercase()));
        }
    }
    assert_eq!(
        ours,
        theirs,
        "{}: keytool and trustbake read the keystore alike",
        path.display()
    );
    ours
}
