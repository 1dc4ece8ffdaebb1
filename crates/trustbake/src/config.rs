//! `check-config`: an Anchore `config.yaml` read as Anchore reads it (`${ANCHORE_…}` replaced in
//! the text, then YAML), and for every enabled service with `ssl_enable`: the certificate, the
//! key (proved by signing and verifying), the chain, the host name, the key usage — and, with
//! an image, whether every TLS client of the image trusts each service (the "all services trust
//! each other" rule).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use trustbake_certs::{Certificate, Chain, Check, Failure, Verdict};
use trustbake_image::Platform;
use trustbake_image::registry::Access;
use yaml_rust2::Yaml;

use crate::anchore_config::{bare_host, boolean, load, scalar};
use crate::consumers::{PlatformConsumers, consumer_verdict, image_consumers};
use crate::error::Error;
use crate::load::{MAX_FILE, read_limited};
use crate::outcome::{
    CheckConfigOutcome, CheckOutcome, ConfigFinding, PathOutcome, SCHEMA_VERSION, ServiceOutcome,
    rfc3339,
};

/// What to check. Build with [`CheckConfigRequest::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckConfigRequest {
    config: PathBuf,
    mounts: Vec<(String, PathBuf)>,
    vars: BTreeMap<String, String>,
    image: Option<String>,
    platform: Option<Platform>,
    access: Access,
    cas: Vec<Certificate>,
    at: i64,
    warn_days: i64,
}

impl CheckConfigRequest {
    /// Checks `config` at time `at` (Unix seconds). Container paths under `/config` are read
    /// from the config file's own directory until [`CheckConfigRequest::mount`] says otherwise.
    pub fn new(config: &Path, at: i64) -> Self {
        let dir = config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        CheckConfigRequest {
            config: config.to_path_buf(),
            mounts: vec![("/config".to_owned(), dir)],
            vars: BTreeMap::new(),
            image: None,
            platform: None,
            access: Access::default(),
            cas: Vec::new(),
            at,
            warn_days: 30,
        }
    }

    /// The host directory mounted at `container` (e.g. `/config`), replacing any earlier one.
    pub fn mount(mut self, container: &str, host: &Path) -> Self {
        let container = container.trim_end_matches('/');
        let container = if container.is_empty() { "/" } else { container };
        self.mounts.retain(|(c, _)| c != container);
        self.mounts.push((container.to_owned(), host.to_path_buf()));
        self
    }

    /// The variables Anchore substitutes (`ANCHORE_…`; others are ignored, as Anchore does).
    pub fn vars(mut self, vars: BTreeMap<String, String>) -> Self {
        self.vars = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("ANCHORE"))
            .collect();
        self
    }

    /// Also check that every TLS client of this image trusts each service.
    pub fn image(
        mut self,
        image: Option<String>,
        platform: Option<Platform>,
        access: Access,
    ) -> Self {
        self.image = image;
        self.platform = platform;
        self.access = access;
        self
    }

    /// CAs the deployment trusts (roots or intermediates), to judge chain completeness.
    pub fn cas(mut self, cas: Vec<Certificate>) -> Self {
        self.cas = cas;
        self
    }

    /// Warn when a certificate expires within this many days.
    pub fn warn_days(mut self, days: i64) -> Self {
        self.warn_days = days;
        self
    }
}

/// Checks the config (see the module documentation).
pub fn check_config(request: &CheckConfigRequest) -> Result<CheckConfigOutcome, Error> {
    let config_error = |reason: String| Error::Config {
        path: request.config.display().to_string(),
        reason,
    };
    let doc = load(&request.config, &request.vars)?;
    let services = doc["services"]
        .as_hash()
        .ok_or_else(|| config_error("no 'services' mapping".to_owned()))?;
    let internal_ssl_verify = match &doc["internal_ssl_verify"] {
        Yaml::BadValue | Yaml::Null => true,
        v => boolean(v).ok_or_else(|| {
            config_error(format!(
                "internal_ssl_verify: '{}' is not a boolean",
                scalar(v).unwrap_or_default()
            ))
        })?,
    };

    // Every certificate the config carries: the pool that tells an intermediate from a root.
    let mut parsed: Vec<Parsed> = Vec::new();
    for (name, svc) in services {
        let name = scalar(name).unwrap_or_default();
        parsed.push(Parsed::read(request, &name, svc));
    }
    let mut pool: Vec<Certificate> = request.cas.clone();
    for p in &parsed {
        for c in p.leaf.iter().chain(&p.given) {
            if !pool.iter().any(|x| x.der() == c.der()) {
                pool.push(c.clone());
            }
        }
    }
    let platforms: Vec<PlatformConsumers> = match &request.image {
        Some(image) => image_consumers(
            image,
            request.platform.as_ref(),
            &request.access,
            &trustbake_store::Env::new(),
            None,
        )?,
        None => Vec::new(),
    };
    for p in &platforms {
        for c in p.consumers.iter().filter(|c| c.required) {
            for a in &c.anchors {
                if !pool.iter().any(|x| x.der() == a.der()) {
                    pool.push(a.clone());
                }
            }
        }
    }

    let mut out_services = Vec::new();
    let mut tls = 0;
    for p in parsed {
        if p.enabled && p.ssl_enable {
            tls += 1;
        }
        out_services.push(p.check(request, &pool, &platforms));
    }
    let mut findings = Vec::new();
    if !internal_ssl_verify {
        findings.push(ConfigFinding {
            severity: "warning".into(),
            message: if tls > 0 {
                format!(
                    "internal_ssl_verify is off while {tls} service(s) serve TLS: services accept any certificate from each other (no chain, name or expiry check) — a man in the middle between them goes unnoticed"
                )
            } else {
                "internal_ssl_verify is off: services would not verify each other's certificates once TLS is enabled".to_owned()
            },
        });
    }
    if tls > 0 && tls < out_services.iter().filter(|s| s.enabled).count() {
        findings.push(ConfigFinding {
            severity: "note".into(),
            message: "some enabled services serve plain HTTP beside the TLS ones".to_owned(),
        });
    }
    let ok = out_services
        .iter()
        .all(|s| s.checks.iter().all(|c| c.status != "fail"));
    Ok(CheckConfigOutcome {
        schema_version: SCHEMA_VERSION,
        config: request.config.display().to_string(),
        at: rfc3339(request.at),
        warn_days: request.warn_days,
        image: request.image.clone(),
        internal_ssl_verify,
        ok,
        findings,
        services: out_services,
    })
}

/// One service as read from the config, its files read.
struct Parsed {
    name: String,
    enabled: bool,
    ssl_enable: bool,
    hostname: Option<String>,
    port: Option<String>,
    cert: Option<Located>,
    key: Option<Located>,
    chain: Option<Located>,
    /// Problems reading the service's settings.
    setting: Option<String>,
    leaf: Option<Certificate>,
    /// Certificates after the leaf in `ssl_cert`, then `ssl_chain`'s.
    given: Vec<Certificate>,
    cert_error: Option<String>,
    chain_error: Option<String>,
}

/// A container path and where it is on this host.
struct Located {
    container: String,
    host: Option<PathBuf>,
}

impl Located {
    fn outcome(&self) -> PathOutcome {
        PathOutcome {
            container: self.container.clone(),
            host: self.host.as_ref().map(|h| h.display().to_string()),
        }
    }
}

fn locate(request: &CheckConfigRequest, container: &str) -> Located {
    let path = if container.starts_with('/') {
        container.to_owned()
    } else {
        format!("/config/{container}")
    };
    let mut best: Option<(&str, &PathBuf)> = None;
    for (mount, host) in &request.mounts {
        let under = mount == "/" || path == *mount || path.starts_with(&format!("{mount}/"));
        if under && best.is_none_or(|(b, _)| mount.len() > b.len()) {
            best = Some((mount, host));
        }
    }
    Located {
        container: container.to_owned(),
        host: best.map(|(mount, host)| {
            let rest = path[mount.len()..].trim_start_matches('/');
            host.join(rest)
        }),
    }
}

/// The certificates of a PEM file, in order.
fn pem_certificates(path: &Path) -> Result<Vec<Certificate>, String> {
    let (bytes, _) = read_limited(path, MAX_FILE)?;
    let (chain, _) = Chain::from_pem(&bytes).map_err(|e| e.to_string())?;
    Ok(chain.certificates().to_vec())
}

impl Parsed {
    fn read(request: &CheckConfigRequest, name: &str, svc: &Yaml) -> Parsed {
        let mut p = Parsed {
            name: name.to_owned(),
            enabled: false,
            ssl_enable: false,
            hostname: scalar(&svc["endpoint_hostname"]),
            port: scalar(&svc["port"]),
            cert: scalar(&svc["ssl_cert"]).map(|c| locate(request, &c)),
            key: scalar(&svc["ssl_key"]).map(|c| locate(request, &c)),
            chain: scalar(&svc["ssl_chain"])
                .filter(|c| !c.is_empty())
                .map(|c| locate(request, &c)),
            setting: None,
            leaf: None,
            given: Vec::new(),
            cert_error: None,
            chain_error: None,
        };
        if svc.as_hash().is_none() {
            p.setting = Some(format!(
                "service '{name}' has no settings (Anchore needs at least 'enabled')"
            ));
            return p;
        }
        p.enabled = boolean(&svc["enabled"]).unwrap_or(false);
        p.ssl_enable = boolean(&svc["ssl_enable"]).unwrap_or(false);
        let present = ["ssl_enable", "ssl_cert", "ssl_key"]
            .iter()
            .filter(|k| !matches!(svc[**k], Yaml::BadValue))
            .count();
        if present != 0 && present != 3 {
            p.setting = Some(
                "ssl_enable, ssl_cert and ssl_key must be set together (Anchore refuses the service otherwise)"
                    .to_owned(),
            );
        }
        if !(p.enabled && p.ssl_enable) {
            return p;
        }
        match p.cert.as_ref().and_then(|c| c.host.clone()) {
            Some(host) => match pem_certificates(&host) {
                Ok(mut certs) => {
                    let leaf = certs.remove(0);
                    p.leaf = Some(leaf);
                    p.given = certs;
                }
                Err(e) => p.cert_error = Some(format!("{}: {e}", host.display())),
            },
            None => {
                p.cert_error = Some(match &p.cert {
                    Some(c) => not_mounted(&c.container),
                    None => "ssl_cert is not set".to_owned(),
                })
            }
        }
        if let Some(chain) = &p.chain {
            match &chain.host {
                Some(host) => match pem_certificates(host) {
                    Ok(certs) => p.given.extend(certs),
                    Err(e) => p.chain_error = Some(format!("{}: {e}", host.display())),
                },
                None => p.chain_error = Some(not_mounted(&chain.container)),
            }
        }
        p
    }

    fn check(
        self,
        request: &CheckConfigRequest,
        pool: &[Certificate],
        platforms: &[PlatformConsumers],
    ) -> ServiceOutcome {
        let mut checks = Vec::new();
        let mut add = |check: &str, status: &str, message: String| {
            checks.push(CheckOutcome {
                check: check.to_owned(),
                status: status.to_owned(),
                message,
            });
        };
        if let Some(problem) = &self.setting {
            add("settings", "fail", problem.clone());
        }
        if self.enabled && self.ssl_enable {
            if let Some(err) = &self.cert_error {
                add("certificate", "fail", err.clone());
            }
            if let Some(leaf) = &self.leaf {
                certificate_checks(request, &self, leaf, pool, platforms, &mut add);
            } else {
                for c in ["key", "chain", "hostname", "usage"] {
                    add(c, "skipped", "no certificate to check against".to_owned());
                }
            }
        }
        ServiceOutcome {
            name: self.name.clone(),
            enabled: self.enabled,
            ssl_enable: self.ssl_enable,
            endpoint_hostname: self.hostname.clone(),
            port: self.port.clone(),
            ssl_cert: self.cert.as_ref().map(Located::outcome),
            ssl_key: self.key.as_ref().map(Located::outcome),
            ssl_chain: self.chain.as_ref().map(Located::outcome),
            checks,
        }
    }
}

fn not_mounted(container: &str) -> String {
    let dir = container.rsplit_once('/').map_or("/", |(d, _)| d);
    let dir = if dir.is_empty() { "/" } else { dir };
    format!(
        "{container} is not under a directory given to trustbake: pass --mount HOST_DIR:{dir} (or --config-dir for /config)"
    )
}

fn day(unix: i64) -> String {
    rfc3339(unix).chars().take(10).collect()
}

fn certificate_checks(
    request: &CheckConfigRequest,
    svc: &Parsed,
    leaf: &Certificate,
    pool: &[Certificate],
    platforms: &[PlatformConsumers],
    add: &mut dyn FnMut(&str, &str, String),
) {
    let at = request.at;
    validity_check(leaf, at, request.warn_days, add);

    // The key: the certificate's, by a signature it makes verifying with the certificate.
    match svc.key.as_ref().map(|k| (k, k.host.clone())) {
        None => add("key", "fail", "ssl_key is not set".to_owned()),
        Some((k, None)) => add("key", "fail", not_mounted(&k.container)),
        Some((_, Some(host))) => {
            let (status, message) = key_check(&host, leaf);
            add("key", status, message);
        }
    }

    // The chain: complete up to a root, or to a CA the clients must hold.
    if let Some(err) = &svc.chain_error {
        add("chain", "fail", err.clone());
    } else {
        let (status, message) = chain_check(svc, leaf, pool, at);
        add("chain", status, message);
    }

    // The host name the other services connect to.
    match &svc.hostname {
        None => add(
            "hostname",
            "fail",
            "endpoint_hostname is not set".to_owned(),
        ),
        Some(host) => {
            let bare = bare_host(host);
            match trustbake_certs::name_failure(leaf, bare) {
                Some(f) => add("hostname", "fail", f.to_string()),
                None => add(
                    "hostname",
                    "ok",
                    format!("'{bare}' is among the certificate's names"),
                ),
            }
        }
    }

    // Extended key usage.
    match trustbake_certs::server_auth_failure(leaf) {
        Some(f) => add("usage", "fail", f.to_string()),
        None => add("usage", "ok", "allows server authentication".to_owned()),
    }

    if let (Some(image), false) = (&request.image, platforms.is_empty()) {
        image_trust_check(image, svc, leaf, platforms, at, add);
    }
}

/// The certificate's validity at `at`: not yet, expired, expiring within `warn_days`, or fine.
fn validity_check(
    leaf: &Certificate,
    at: i64,
    warn_days: i64,
    add: &mut dyn FnMut(&str, &str, String),
) {
    if at < leaf.not_before() {
        add(
            "certificate",
            "fail",
            format!(
                "'{}' is not valid until {}",
                leaf.subject(),
                day(leaf.not_before())
            ),
        );
    } else if at > leaf.not_after() {
        add(
            "certificate",
            "fail",
            format!("'{}' expired on {}", leaf.subject(), day(leaf.not_after())),
        );
    } else if leaf.not_after() < at + warn_days * 86_400 {
        let days = (leaf.not_after() - at) / 86_400;
        add(
            "certificate",
            "warn",
            format!(
                "'{}' expires on {} (in {days} days)",
                leaf.subject(),
                day(leaf.not_after())
            ),
        );
    } else {
        add(
            "certificate",
            "ok",
            format!("'{}' valid until {}", leaf.subject(), day(leaf.not_after())),
        );
    }
}

/// Every required client of `image` trusts the service's chain; those refusing for the same
/// reason are named together.
fn image_trust_check(
    image: &str,
    svc: &Parsed,
    leaf: &Certificate,
    platforms: &[PlatformConsumers],
    at: i64,
    add: &mut dyn FnMut(&str, &str, String),
) {
    let mut certs = vec![leaf.clone()];
    certs.extend(svc.given.iter().cloned());
    let Ok(chain) = Chain::new(certs) else {
        return;
    };
    let host = svc.hostname.as_deref();
    // Clients refusing for the same reason are named together.
    let mut failed: Vec<(String, Vec<String>)> = Vec::new();
    let (mut counted, mut refusing) = (0, 0);
    for p in platforms {
        for c in p.consumers.iter().filter(|c| c.required) {
            counted += 1;
            let v = consumer_verdict(c, &chain, host, at);
            if !v.trusted {
                refusing += 1;
                let who = match &p.platform {
                    Some(platform) => format!("{platform}: {}", c.name),
                    None => c.name.clone(),
                };
                let why = v.message.unwrap_or_default();
                match failed.iter_mut().find(|(m, _)| *m == why) {
                    Some((_, names)) => names.push(who),
                    None => failed.push((why, vec![who])),
                }
            }
        }
    }
    if failed.is_empty() {
        add(
            "image-trust",
            "ok",
            format!("trusted by all {counted} clients of {image}"),
        );
    } else {
        let reasons: Vec<String> = failed
            .iter()
            .map(|(why, names)| format!("{why} [{}]", names.join(", ")))
            .collect();
        add(
            "image-trust",
            "fail",
            format!(
                "not trusted by {refusing} of {counted} clients of {image}: {}",
                reasons.join("; ")
            ),
        );
    }
}

fn key_check(path: &Path, leaf: &Certificate) -> (&'static str, String) {
    let display = path.display();
    let (bytes, meta) = match read_limited(path, MAX_FILE) {
        Ok(read) => read,
        Err(e) => return ("fail", format!("{display}: {e}")),
    };
    if bytes.windows(9).any(|w| w == b"ENCRYPTED") {
        return (
            "fail",
            format!("{display}: an encrypted key: Anchore reads ssl_key without a passphrase"),
        );
    }
    let key = match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => k,
        Err(_) => {
            return (
                "fail",
                format!("{display}: no private key (PKCS#8, PKCS#1 or SEC1 PEM) found"),
            );
        }
    };
    let provider = rustls::crypto::ring::default_provider();
    let signing = match provider.key_provider.load_private_key(key) {
        Ok(k) => k,
        Err(e) => return ("fail", format!("{display}: the key cannot be used: {e}")),
    };
    let message = b"trustbake check-config: does this key belong to this certificate?";
    let mut tried = false;
    let mut matched = false;
    for (scheme, algorithms) in provider.signature_verification_algorithms.mapping {
        let Some(signer) = signing.choose_scheme(&[*scheme]) else {
            continue;
        };
        let Ok(signature) = signer.sign(message) else {
            continue;
        };
        tried = true;
        if algorithms
            .iter()
            .any(|alg| trustbake_certs::signature_verifies(leaf, *alg, message, &signature))
        {
            matched = true;
            break;
        }
    }
    if !tried {
        return (
            "fail",
            format!("{display}: a key type trustbake cannot sign with"),
        );
    }
    if !matched {
        return (
            "fail",
            format!(
                "{display} is not the key of '{}': a signature it makes does not verify with the certificate's public key",
                leaf.subject()
            ),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return (
                "warn",
                format!(
                    "the certificate's key (a signature verified), but {display} is readable by group or others (mode {mode:04o}): chmod 600"
                ),
            );
        }
    }
    (
        "ok",
        "the certificate's key (a signature made with it verified)".to_owned(),
    )
}

fn chain_check(
    svc: &Parsed,
    leaf: &Certificate,
    pool: &[Certificate],
    at: i64,
) -> (&'static str, String) {
    let mut certs = vec![leaf.clone()];
    certs.extend(svc.given.iter().cloned());
    let Ok(chain) = Chain::new(certs) else {
        return ("fail", "no certificate".to_owned());
    };
    // Roots known here (given or in the pool) end the path; the rest are links.
    let mut anchors: Vec<Certificate> = svc
        .given
        .iter()
        .chain(pool)
        .filter(|c| c.is_self_issued())
        .cloned()
        .collect();
    anchors.dedup_by(|a, b| a.der() == b.der());
    // The links are judged while the server certificate is valid: its own dates are the
    // certificate check's.
    let check = Check {
        hostname: None,
        at: at.clamp(leaf.not_before(), leaf.not_after()),
        partial_chain: false,
        server_auth: false,
    };
    let chain_name = svc
        .chain
        .as_ref()
        .map_or("no ssl_chain set".to_owned(), |c| {
            format!("ssl_chain {}", c.container)
        });
    match trustbake_certs::verify(&chain, &anchors, &check) {
        Verdict::Trusted { anchor, .. } => {
            let root = &anchors[anchor];
            let sent = svc.given.iter().any(|c| c.der() == root.der());
            (
                "ok",
                format!(
                    "complete: {} certificate(s) after the server's, up to the root '{}'{}",
                    svc.given.len(),
                    root.subject(),
                    if sent {
                        " (sent by the service itself: clients still need it in their stores)"
                    } else {
                        ""
                    }
                ),
            )
        }
        Verdict::Untrusted(Failure::MissingIssuer { issuer, of }) => {
            let intermediate = pool
                .iter()
                .any(|c| c.subject() == issuer && !c.is_self_issued());
            let top_is_ca = of != leaf.subject() || svc.given.iter().any(|c| c.subject() == of);
            if intermediate {
                (
                    "fail",
                    format!(
                        "missing intermediate: add the certificate of '{issuer}' to the chain ({chain_name}); clients will not find it"
                    ),
                )
            } else if top_is_ca {
                (
                    "ok",
                    format!("complete up to '{of}': clients must trust its issuer '{issuer}'"),
                )
            } else {
                (
                    "warn",
                    format!(
                        "only the server's certificate is sent ({chain_name}): clients must trust '{issuer}' itself; if it is an intermediate, add it (give --ca or --image to tell)"
                    ),
                )
            }
        }
        Verdict::Untrusted(failure) => ("fail", failure.to_string()),
    }
}
