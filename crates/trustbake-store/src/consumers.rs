//! Consumers: the programs of an image that make TLS connections, each with the certificates
//! it would trust — read from the files it actually reads, honouring the environment the image
//! sets. Python `requests` (every certifi bundle, or `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`),
//! OpenSSL's defaults as Python's `ssl` uses them (`OPENSSLDIR` read from the image's
//! `libcrypto`, `SSL_CERT_FILE`/`SSL_CERT_DIR`), curl (its compiled-in bundle and directory,
//! read from `libcurl`), Go programs (Go's file list and directories), Java (the keystore its
//! JDK reads) and Node.js (its built-in roots plus `NODE_EXTRA_CA_CERTS`).
//!
//! [`runtime_overlay`] models the runtime mount of Anchore's Helm charts: the image's
//! entrypoint copies certifi and `/etc/pki/tls/certs` into `/home/anchore/certs_override`,
//! appends the mounted certificates and exports `REQUESTS_CA_BUNDLE` and `SSL_CERT_DIR`.

use std::collections::BTreeMap;

use serde::Serialize;
use trustbake_certs::{BundleContents, Certificate, read_bundle, read_pem_certificates};
use trustbake_targets::OsFamily;

use crate::layout::{CertifiStatus, Layout};

use crate::env::{Env, path_dirs, program, var};
use crate::error::StoreError;
use crate::formats::keystore::JavaStore;
use crate::paths::{MAX_READ, reads};
use crate::view::{Entry, Meta, RootView, file_name, list_dir, parent, read_resolved, resolve};

/// The environment variables that move where a consumer reads its CAs.
pub const TRUST_ENV: &[&str] = &[
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
];

/// Where shared libraries are looked for.
const LIB_DIRS: &[&str] = &[
    "/usr/lib64",
    "/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/s390x-linux-gnu",
    "/usr/lib/powerpc64le-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib",
];

/// Go's bundle files on Linux, first existing wins (`crypto/x509/root_linux.go`).
pub const GO_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Go's certificate directories on Linux, every file read.
pub const GO_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Go programs Anchore images ship.
const GO_PROGRAMS: &[&str] = &["skopeo", "syft", "grype", "anchorectl"];

/// The entrypoint that honours the runtime mount, and the paths it uses.
pub const ENTRYPOINT: &str = "/docker-entrypoint.sh";
/// The directory the Helm charts mount `certStoreSecretName` at.
pub const RUNTIME_CERTS: &str = "/home/anchore/certs";
const OVERRIDE_PYTHON: &str = "/home/anchore/certs_override/python/cacert.pem";
const OVERRIDE_OS: &str = "/home/anchore/certs_override/os";

/// A kind of TLS client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ConsumerKind {
    /// Python `requests` (certifi, or its environment variables).
    Requests,
    /// OpenSSL's default locations, as Python's `ssl` module uses them.
    Openssl,
    /// The `curl` command.
    Curl,
    /// Go programs (skopeo, syft, grype).
    Go,
    /// Java.
    Java,
    /// Node.js.
    Node,
}

/// One place a consumer reads certificates from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustSource {
    /// The path (or `built-in` for roots compiled into a program).
    pub path: String,
    /// How it is read: `file`, `hashed-dir` (OpenSSL's `<hash>.N` lookup), `dir` (every file),
    /// `keystore`, `built-in`.
    pub how: &'static str,
    /// Why this source (the default, or the variable that chose it).
    pub from: String,
    /// Certificates found there.
    pub certificates: usize,
    /// Whether the path exists.
    pub exists: bool,
}

/// A program of the image and what it trusts.
#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    /// Its kind.
    pub kind: ConsumerKind,
    /// A name for one line of output, e.g. `requests (/home/anchore/venv/…/cacert.pem)`.
    pub name: String,
    /// The programs found that this line stands for.
    pub programs: Vec<String>,
    /// What it reads, in order.
    pub sources: Vec<TrustSource>,
    /// What a reader should know (a variable from the image, an assumption).
    pub notes: Vec<String>,
    /// Whether the image's services depend on it: pip's vendored certifi serves only pip
    /// (which `bake` leaves alone unless asked), so it is reported but not required.
    pub required: bool,
    /// Whether a store certificate that is not a root may end the path (Go, Java, Node,
    /// Python 3.13+ set it; OpenSSL's own default and curl do not).
    pub partial_chain: bool,
    /// The certificates it trusts.
    #[serde(skip)]
    pub anchors: Vec<Certificate>,
}

/// Whether a scan must keep the body of `path` for [`consumers`] with `env`: everything the
/// engine reads, the files the trust variables name (and what is below them), the shared
/// libraries that say where OpenSSL and curl look, Java's keystores and the entrypoint.
pub fn consumer_reads(env: &Env) -> impl Fn(&str) -> bool + Send + Sync + use<> {
    let named: Vec<String> = TRUST_ENV
        .iter()
        .filter_map(|k| env.get(*k))
        .flat_map(|v| v.split(':').map(str::to_owned).collect::<Vec<_>>())
        .filter(|p| p.starts_with('/'))
        .map(|p| p.trim_end_matches('/').to_owned())
        .collect();
    move |path: &str| {
        let name = file_name(path);
        reads(path)
            || path == ENTRYPOINT
            || path.starts_with("/home/anchore/certs")
            || name.starts_with("libcrypto.so")
            || name.starts_with("libcurl.so")
            || path.ends_with("/lib/security/cacerts")
            || named
                .iter()
                .any(|p| path == p || path.starts_with(&format!("{p}/")))
    }
}

/// Every consumer found in the root seen through `view` with `env`.
pub fn consumers(
    view: &dyn RootView,
    layout: &Layout,
    env: &Env,
) -> Result<Vec<Consumer>, StoreError> {
    let mut out = Vec::new();
    requests(view, layout, env, &mut out)?;
    let openssl_dir = openssl_dir(view, layout)?;
    out.push(openssl(view, env, &openssl_dir)?);
    // Python 3.13 made VERIFY_X509_PARTIAL_CHAIN a default of ssl.create_default_context.
    let python_partial = layout.python.as_deref().is_some_and(|v| {
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (3, 13)
    });
    for c in &mut out {
        c.partial_chain = python_partial;
    }
    let path_dirs = path_dirs(env);
    if let Some(curl) = program(view, &path_dirs, "curl")? {
        out.push(curl_consumer(view, layout, env, curl)?);
    }
    let mut go = Vec::new();
    for name in GO_PROGRAMS {
        if let Some(found) = program(view, &path_dirs, name)? {
            go.push(found);
        }
    }
    if !go.is_empty() {
        out.push(go_consumer(view, env, go)?);
    }
    if let Some(java) = java_program(view, &path_dirs)? {
        out.push(java_consumer(view, &java)?);
    }
    if let Some(node) = program(view, &path_dirs, "node")? {
        out.push(node_consumer(view, env, &openssl_dir, node)?);
    }
    Ok(out)
}

/// The certificates read from one source, and how many.
struct Read {
    source: TrustSource,
    certs: Vec<Certificate>,
}

fn read_file(
    view: &dyn RootView,
    path: &str,
    from: &str,
    go: bool,
    notes: &mut Vec<String>,
) -> Result<Read, StoreError> {
    let (certs, exists) = match read_resolved(view, path) {
        Ok(Some((_, _, bytes))) => {
            let found: BundleContents = if go {
                read_pem_certificates(&bytes)
            } else {
                read_bundle(&bytes)
            };
            (found.certificates, true)
        }
        Ok(None) => (Vec::new(), false),
        Err(err @ (StoreError::TooLarge { .. } | StoreError::Read { .. })) => {
            notes.push(format!("{path}: not read: {err}"));
            (Vec::new(), true)
        }
        Err(err) => return Err(err),
    };
    Ok(Read {
        source: TrustSource {
            path: path.to_owned(),
            how: "file",
            from: from.to_owned(),
            certificates: certs.len(),
            exists,
        },
        certs,
    })
}

/// OpenSSL's `-CApath` lookup: only files named `<8 hex digits>.<n>` are ever opened.
fn read_hashed_dir(
    view: &dyn RootView,
    dir: &str,
    from: &str,
    notes: &mut Vec<String>,
) -> Result<Read, StoreError> {
    let (real, entry) = resolve(view, dir)?;
    let mut certs = Vec::new();
    if matches!(entry, Some(Entry::Dir { .. })) {
        for name in view.list(&real)? {
            if !is_hash_name(&name) {
                continue;
            }
            let read = read_file(view, &format!("{real}/{name}"), from, false, notes)?;
            certs.extend(read.certs);
        }
    }
    Ok(Read {
        source: TrustSource {
            path: dir.to_owned(),
            how: "hashed-dir",
            from: from.to_owned(),
            certificates: certs.len(),
            exists: matches!(entry, Some(Entry::Dir { .. })),
        },
        certs,
    })
}

fn is_hash_name(name: &str) -> bool {
    let Some((hash, n)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 8
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// Go's directory read: every file, skipping links to a file of the same directory.
fn read_go_dir(
    view: &dyn RootView,
    dir: &str,
    from: &str,
    notes: &mut Vec<String>,
) -> Result<Read, StoreError> {
    let (real, entry) = resolve(view, dir)?;
    let mut certs = Vec::new();
    if matches!(entry, Some(Entry::Dir { .. })) {
        for name in view.list(&real)? {
            let path = format!("{real}/{name}");
            match view.entry(&path)? {
                Some(Entry::Symlink { target, .. }) if !target.contains('/') => continue,
                Some(Entry::Dir { .. }) | None => continue,
                _ => {}
            }
            if matches!(resolve(view, &path)?.1, Some(Entry::Dir { .. })) {
                continue;
            }
            certs.extend(read_file(view, &path, from, true, notes)?.certs);
        }
    }
    Ok(Read {
        source: TrustSource {
            path: dir.to_owned(),
            how: "dir",
            from: from.to_owned(),
            certificates: certs.len(),
            exists: matches!(entry, Some(Entry::Dir { .. })),
        },
        certs,
    })
}

fn consumer(
    kind: ConsumerKind,
    name: String,
    programs: Vec<String>,
    reads: Vec<Read>,
    notes: Vec<String>,
) -> Consumer {
    let mut anchors: Vec<Certificate> = Vec::new();
    let mut sources = Vec::new();
    for read in reads {
        sources.push(read.source);
        for cert in read.certs {
            if !anchors.iter().any(|a| a.der() == cert.der()) {
                anchors.push(cert);
            }
        }
    }
    Consumer {
        kind,
        name,
        programs,
        sources,
        notes,
        required: true,
        partial_chain: matches!(
            kind,
            ConsumerKind::Go | ConsumerKind::Java | ConsumerKind::Node
        ),
        anchors,
    }
}

/// The directories `SSL_CERT_DIR` lists (colon-separated), with the variable as their origin.
fn cert_dirs(env: &Env) -> Option<(Vec<&str>, String)> {
    let dirs = var(env, "SSL_CERT_DIR")?;
    Some((
        dirs.split(':').filter(|d| !d.is_empty()).collect(),
        format!("SSL_CERT_DIR={dirs}"),
    ))
}

/// A CA file or directory named by a variable: a directory is read as OpenSSL's `capath`.
fn read_named(
    view: &dyn RootView,
    path: &str,
    from: &str,
    notes: &mut Vec<String>,
) -> Result<Read, StoreError> {
    if matches!(resolve(view, path)?.1, Some(Entry::Dir { .. })) {
        read_hashed_dir(view, path, from, notes)
    } else {
        read_file(view, path, from, false, notes)
    }
}

fn requests(
    view: &dyn RootView,
    layout: &Layout,
    env: &Env,
    out: &mut Vec<Consumer>,
) -> Result<(), StoreError> {
    let chosen = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
        .into_iter()
        .find_map(|k| var(env, k).map(|v| (k, v)));
    if let Some((key, path)) = chosen {
        let mut notes = vec![format!(
            "{key} is set in the image's environment: requests reads it instead of certifi"
        )];
        if key == "CURL_CA_BUNDLE" {
            notes.push("requests reads CURL_CA_BUNDLE when REQUESTS_CA_BUNDLE is unset".into());
        }
        let read = read_named(view, path, &format!("{key}={path}"), &mut notes)?;
        out.push(consumer(
            ConsumerKind::Requests,
            format!("requests ({key})"),
            Vec::new(),
            vec![read],
            notes,
        ));
        return Ok(());
    }
    for bundle in &layout.certifi {
        let mut notes = Vec::new();
        let (label, path, from) = match &bundle.status {
            CertifiStatus::Vendored => ("pip", bundle.path.clone(), "pip's vendored certifi"),
            CertifiStatus::DistroPatched => {
                notes.push("a distribution certifi: certifi.where() returns the OS bundle".into());
                let os = match layout.family {
                    OsFamily::Rhel => "/etc/pki/tls/certs/ca-bundle.crt",
                    OsFamily::Suse => "/etc/ssl/ca-bundle.pem",
                    _ => "/etc/ssl/certs/ca-certificates.crt",
                };
                ("requests", os.to_owned(), "certifi.where()")
            }
            _ => ("requests", bundle.path.clone(), "certifi.where()"),
        };
        let vendored = bundle.status == CertifiStatus::Vendored;
        if vendored {
            notes.push(
                "pip's own copy, used only by pip: reported, not required (bake --include-vendored patches it)"
                    .into(),
            );
        }
        let read = read_file(view, &path, from, false, &mut notes)?;
        let mut line = consumer(
            ConsumerKind::Requests,
            format!("{label} ({})", bundle.path),
            Vec::new(),
            vec![read],
            notes,
        );
        line.required = !vendored;
        out.push(line);
    }
    Ok(())
}

/// Where OpenSSL looks by default: the `OPENSSLDIR` compiled into the image's `libcrypto`, or
/// the family's usual one when no library says.
#[derive(Debug, Clone)]
struct OpensslDir {
    dir: String,
    from: String,
}

fn libraries(view: &dyn RootView, prefix: &str) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for dir in LIB_DIRS {
        let (real, entry) = resolve(view, dir)?;
        if !matches!(entry, Some(Entry::Dir { .. })) {
            continue;
        }
        for name in view.list(&real)? {
            let path = format!("{real}/{name}");
            if name.starts_with(prefix) && !found.contains(&path) {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// The file of a library that is a regular file (not its version links), read.
fn library_bytes(
    view: &dyn RootView,
    prefix: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    for path in libraries(view, prefix)? {
        if let Some(Entry::File { size, .. }) = view.entry(&path)? {
            if size <= MAX_READ {
                if let Ok(bytes) = view.read(&path) {
                    return Ok(Some((path, bytes)));
                }
            }
        }
    }
    Ok(None)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn openssl_dir(view: &dyn RootView, layout: &Layout) -> Result<OpensslDir, StoreError> {
    if let Some((path, bytes)) = library_bytes(view, "libcrypto.so")? {
        let marker = b"OPENSSLDIR: \"";
        if let Some(at) = find(&bytes, marker) {
            let rest = &bytes[at + marker.len()..];
            if let Some(end) = rest.iter().position(|&b| b == b'"') {
                if let Ok(dir) = std::str::from_utf8(&rest[..end]) {
                    return Ok(OpensslDir {
                        dir: dir.to_owned(),
                        from: format!("OPENSSLDIR of {path}"),
                    });
                }
            }
        }
    }
    let dir = match layout.family {
        OsFamily::Rhel => "/etc/pki/tls",
        OsFamily::Alpine | OsFamily::Suse => "/etc/ssl",
        OsFamily::Debian | OsFamily::Distroless | OsFamily::Unknown => "/usr/lib/ssl",
    };
    Ok(OpensslDir {
        dir: dir.to_owned(),
        from: "OPENSSLDIR assumed for this OS family (no libcrypto found)".to_owned(),
    })
}

fn openssl_reads(
    view: &dyn RootView,
    env: &Env,
    dir: &OpensslDir,
    notes: &mut Vec<String>,
) -> Result<Vec<Read>, StoreError> {
    let mut reads = Vec::new();
    let (file, from) = match var(env, "SSL_CERT_FILE") {
        Some(f) => (f.to_owned(), format!("SSL_CERT_FILE={f}")),
        None => (format!("{}/cert.pem", dir.dir), dir.from.clone()),
    };
    reads.push(read_file(view, &file, &from, false, notes)?);
    match cert_dirs(env) {
        Some((dirs, from)) => {
            for d in dirs {
                reads.push(read_hashed_dir(view, d, &from, notes)?);
            }
        }
        None => reads.push(read_hashed_dir(
            view,
            &format!("{}/certs", dir.dir),
            &dir.from,
            notes,
        )?),
    }
    Ok(reads)
}

fn openssl(view: &dyn RootView, env: &Env, dir: &OpensslDir) -> Result<Consumer, StoreError> {
    let mut notes = Vec::new();
    let reads = openssl_reads(view, env, dir, &mut notes)?;
    Ok(consumer(
        ConsumerKind::Openssl,
        "OpenSSL defaults (Python ssl)".to_owned(),
        Vec::new(),
        reads,
        notes,
    ))
}

fn curl_consumer(
    view: &dyn RootView,
    layout: &Layout,
    env: &Env,
    program: String,
) -> Result<Consumer, StoreError> {
    let mut notes = Vec::new();
    let lib = library_bytes(view, "libcurl.so")?;
    let compiled = |candidates: &[&'static str]| -> Option<(&'static str, String)> {
        let (path, bytes) = lib.as_ref()?;
        candidates.iter().find_map(|c| {
            let mut needle = vec![0u8];
            needle.extend_from_slice(c.as_bytes());
            needle.push(0);
            find(bytes, &needle).map(|_| (*c, format!("compiled into {path}")))
        })
    };
    let mut file_candidates: Vec<&'static str> = GO_FILES.to_vec();
    file_candidates.insert(0, "/etc/pki/tls/certs/ca-bundle.crt");
    let (file, file_from) = match ["CURL_CA_BUNDLE", "SSL_CERT_FILE"]
        .into_iter()
        .find_map(|k| var(env, k).map(|v| (k, v)))
    {
        Some((k, v)) => (Some(v.to_owned()), format!("{k}={v}")),
        None => match compiled(&file_candidates) {
            Some((f, from)) => (Some(f.to_owned()), from),
            None => {
                let f = match layout.family {
                    OsFamily::Rhel => "/etc/pki/tls/certs/ca-bundle.crt",
                    OsFamily::Suse => "/etc/ssl/ca-bundle.pem",
                    _ => "/etc/ssl/certs/ca-certificates.crt",
                };
                notes.push(format!("no libcurl read: assumed the {f} bundle"));
                (Some(f.to_owned()), "assumed".to_owned())
            }
        },
    };
    let mut reads = Vec::new();
    if let Some(f) = file {
        reads.push(read_file(view, &f, &file_from, false, &mut notes)?);
    }
    match cert_dirs(env) {
        Some((dirs, from)) => {
            for d in dirs {
                reads.push(read_hashed_dir(view, d, &from, &mut notes)?);
            }
        }
        None => {
            if let Some((d, from)) = compiled(&["/etc/ssl/certs"]) {
                reads.push(read_hashed_dir(view, d, &from, &mut notes)?);
            }
        }
    }
    Ok(consumer(
        ConsumerKind::Curl,
        "curl".to_owned(),
        vec![program],
        reads,
        notes,
    ))
}

fn go_consumer(
    view: &dyn RootView,
    env: &Env,
    programs: Vec<String>,
) -> Result<Consumer, StoreError> {
    let mut notes = Vec::new();
    let mut reads = Vec::new();
    match var(env, "SSL_CERT_FILE") {
        Some(f) => reads.push(read_file(
            view,
            f,
            &format!("SSL_CERT_FILE={f}"),
            true,
            &mut notes,
        )?),
        None => {
            for f in GO_FILES {
                if matches!(resolve(view, f)?.1, Some(Entry::File { .. })) {
                    reads.push(read_file(
                        view,
                        f,
                        "Go's first existing bundle",
                        true,
                        &mut notes,
                    )?);
                    break;
                }
            }
        }
    }
    match cert_dirs(env) {
        Some((dirs, from)) => {
            for d in dirs {
                reads.push(read_go_dir(view, d, &from, &mut notes)?);
            }
        }
        None => {
            for d in GO_DIRS {
                reads.push(read_go_dir(view, d, "Go's directories", &mut notes)?);
            }
        }
    }
    let names: Vec<&str> = programs.iter().map(|p| file_name(p)).collect();
    Ok(consumer(
        ConsumerKind::Go,
        format!("Go ({})", names.join(", ")),
        programs,
        reads,
        notes,
    ))
}

fn java_program(view: &dyn RootView, path_dirs: &[String]) -> Result<Option<String>, StoreError> {
    if let Some(java) = program(view, path_dirs, "java")? {
        return Ok(Some(java));
    }
    for name in list_dir(view, "/usr/lib/jvm")? {
        for bin in ["bin/java", "jre/bin/java"] {
            let path = format!("/usr/lib/jvm/{name}/{bin}");
            if matches!(resolve(view, &path)?.1, Some(Entry::File { .. })) {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

fn java_consumer(view: &dyn RootView, java: &str) -> Result<Consumer, StoreError> {
    let mut notes = Vec::new();
    // The JDK's own lib/security/cacerts (a link to the distribution's keystore on RHEL and
    // Debian), found from the real path of the java binary.
    let (real, _) = resolve(view, java)?;
    let home = parent(parent(&real)).to_owned();
    let mut keystore = None;
    for rel in ["lib/security/cacerts", "jre/lib/security/cacerts"] {
        let path = format!("{home}/{rel}");
        if matches!(resolve(view, &path)?.1, Some(Entry::File { .. })) {
            keystore = Some(path);
            break;
        }
    }
    let mut reads = Vec::new();
    if let Some(path) = keystore {
        let (certs, exists) = match read_resolved(view, &path) {
            Ok(Some((_, _, bytes))) => match JavaStore::parse(&bytes) {
                Ok(ks) => (
                    ks.certificates()
                        .into_iter()
                        .filter_map(|der| Certificate::from_der(der).ok())
                        .collect(),
                    true,
                ),
                Err(err) => {
                    notes.push(format!(
                        "{path}: not a Java keystore trustbake reads: {err}"
                    ));
                    (Vec::new(), true)
                }
            },
            Ok(None) => (Vec::new(), false),
            Err(err) => {
                notes.push(format!("{path}: not read: {err}"));
                (Vec::new(), true)
            }
        };
        reads.push(Read {
            source: TrustSource {
                path,
                how: "keystore",
                from: format!("the keystore of {home}"),
                certificates: certs.len(),
                exists,
            },
            certs,
        });
    } else {
        notes.push(format!("no lib/security/cacerts under {home}"));
    }
    Ok(consumer(
        ConsumerKind::Java,
        "Java".to_owned(),
        vec![real],
        reads,
        notes,
    ))
}

fn node_consumer(
    view: &dyn RootView,
    env: &Env,
    openssl_dir: &OpensslDir,
    program: String,
) -> Result<Consumer, StoreError> {
    let mut notes = Vec::new();
    let mut reads = Vec::new();
    let use_openssl = var(env, "NODE_OPTIONS").is_some_and(|o| {
        o.split_whitespace()
            .any(|a| a == "--use-openssl-ca" || a == "--use-system-ca")
    });
    if use_openssl {
        notes
            .push("NODE_OPTIONS selects the OpenSSL store instead of Node's built-in roots".into());
        reads = openssl_reads(view, env, openssl_dir, &mut notes)?;
    } else {
        let certs: Vec<Certificate> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| Certificate::from_der(der.as_ref()).ok())
            .collect();
        notes.push(
            "Node's built-in roots are Mozilla's set, modelled by the one trustbake carries; not read from the image".into(),
        );
        reads.push(Read {
            source: TrustSource {
                path: "built-in".to_owned(),
                how: "built-in",
                from: "node's bundled Mozilla roots".to_owned(),
                certificates: certs.len(),
                exists: true,
            },
            certs,
        });
    }
    match var(env, "NODE_EXTRA_CA_CERTS") {
        Some(f) => reads.push(read_file(
            view,
            f,
            &format!("NODE_EXTRA_CA_CERTS={f}"),
            false,
            &mut notes,
        )?),
        None => {
            notes.push("NODE_EXTRA_CA_CERTS is not set: Node trusts only its built-in roots".into())
        }
    }
    Ok(consumer(
        ConsumerKind::Node,
        "Node.js".to_owned(),
        vec![program],
        reads,
        notes,
    ))
}

/// A view with files laid over another: what the entrypoint writes at run time.
pub struct Overlay<'a> {
    base: &'a dyn RootView,
    entries: BTreeMap<String, (Entry, Vec<u8>)>,
}

impl RootView for Overlay<'_> {
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        match self.entries.get(path) {
            Some((entry, _)) => Ok(Some(entry.clone())),
            None => self.base.entry(path),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        match self.entries.get(path) {
            Some((_, body)) => Ok(body.clone()),
            None => self.base.read(path),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = if self.entries.contains_key(path) {
            Vec::new()
        } else {
            self.base.list(path)?
        };
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        for key in self.entries.keys() {
            if let Some(rest) = key.strip_prefix(&prefix) {
                if !rest.is_empty() && !rest.contains('/') && !names.iter().any(|n| n == rest) {
                    names.push(rest.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

/// The runtime mount modelled: what the image's entrypoint does when `certs` (the files of
/// the chart's `certStoreSecretName`) are mounted at `/home/anchore/certs` — the overlay view,
/// the environment it exports, and notes. When the entrypoint does not handle the mount, the
/// view and environment are unchanged and a note says so.
pub fn runtime_overlay<'a>(
    view: &'a dyn RootView,
    layout: &Layout,
    env: &Env,
    certs: &[Certificate],
) -> Result<(Overlay<'a>, Env, Vec<String>), StoreError> {
    let mut overlay = Overlay {
        base: view,
        entries: BTreeMap::new(),
    };
    let mut env = env.clone();
    let mut notes = Vec::new();
    let handles = match read_resolved(view, ENTRYPOINT) {
        Ok(Some((_, _, body))) => find(&body, b"certs_override").is_some(),
        _ => false,
    };
    if !handles {
        notes.push(format!(
            "{ENTRYPOINT} of this image does not copy {RUNTIME_CERTS}: the runtime mount changes nothing"
        ));
        return Ok((overlay, env, notes));
    }
    let meta = Meta::root(0o644, 0);
    let dir = |overlay: &mut Overlay<'_>, path: &str| {
        overlay.entries.insert(
            path.to_owned(),
            (
                Entry::Dir {
                    meta: Meta::root(0o755, 0),
                },
                Vec::new(),
            ),
        );
    };
    let pem: String = certs.iter().map(Certificate::to_pem).collect();
    // python: a copy of `python3 -m certifi`'s bundle with the certificates appended.
    let mut python = certifi_copy(view, layout, &mut notes)?;
    python.extend_from_slice(pem.as_bytes());
    dir(&mut overlay, "/home/anchore/certs_override");
    dir(&mut overlay, "/home/anchore/certs_override/python");
    dir(&mut overlay, OVERRIDE_OS);
    overlay.entries.insert(
        OVERRIDE_PYTHON.to_owned(),
        (
            Entry::File {
                meta,
                size: python.len() as u64,
            },
            python,
        ),
    );
    // os: `cp -a /etc/pki/tls/certs/*` (links stay links), then anchore.bundle.crt.
    overlay.copy_certs_dir(view)?;
    let bundle = pem.into_bytes();
    overlay.entries.insert(
        format!("{OVERRIDE_OS}/anchore.bundle.crt"),
        (
            Entry::File {
                meta,
                size: bundle.len() as u64,
            },
            bundle,
        ),
    );
    env.insert("REQUESTS_CA_BUNDLE".into(), OVERRIDE_PYTHON.into());
    env.insert("SSL_CERT_DIR".into(), format!("{OVERRIDE_OS}/"));
    notes.push(format!(
        "modelled the entrypoint with {} certificate(s) mounted at {RUNTIME_CERTS}: REQUESTS_CA_BUNDLE={OVERRIDE_PYTHON}, SSL_CERT_DIR={OVERRIDE_OS}/",
        certs.len()
    ));
    Ok((overlay, env, notes))
}

/// The certifi bundle `python3 -m certifi` finds (the primary one), which the entrypoint
/// copies; said in `notes`.
fn certifi_copy(
    view: &dyn RootView,
    layout: &Layout,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, StoreError> {
    let primary = layout
        .certifi
        .iter()
        .find(|b| b.status != CertifiStatus::Vendored);
    let python = match primary {
        Some(b) => read_resolved(view, &b.path)?
            .map(|(_, _, body)| body)
            .unwrap_or_default(),
        None => {
            notes.push("no certifi found: the entrypoint's `python3 -m certifi` fails".into());
            Vec::new()
        }
    };
    if let Some(b) = primary {
        notes.push(format!(
            "the entrypoint copies {} (python3 -m certifi)",
            b.path
        ));
    }
    Ok(python)
}

impl Overlay<'_> {
    /// `cp -a /etc/pki/tls/certs/*` into the override's `os` directory (links stay links).
    fn copy_certs_dir(&mut self, view: &dyn RootView) -> Result<(), StoreError> {
        let (certs_dir, entry) = resolve(view, "/etc/pki/tls/certs")?;
        if matches!(entry, Some(Entry::Dir { .. })) {
            for name in view.list(&certs_dir)? {
                let from = format!("{certs_dir}/{name}");
                let to = format!("{OVERRIDE_OS}/{name}");
                match view.entry(&from)? {
                    Some(Entry::Symlink { meta, target }) => {
                        self.entries
                            .insert(to, (Entry::Symlink { meta, target }, Vec::new()));
                    }
                    Some(Entry::File { meta, size }) => {
                        let body = view.read(&from).unwrap_or_default();
                        self.entries.insert(to, (Entry::File { meta, size }, body));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
