//! Credentials, found as skopeo and podman find them (containers-auth.json(5)), and the
//! registry's authentication challenge.
//!
//! Search order: `--authfile` / `REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`,
//! `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, `${DOCKER_CONFIG:-~/.docker}/config.json`,
//! `~/.dockercfg`. In each file the most specific key wins (`host/ns/repo`, `host/ns`, `host`);
//! `credHelpers[host]`, then `auths`, then `credsStore` (`docker-credential-NAME get`).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::registry_error::RegistryError;

/// A user name and its secret. The secret never appears in `Debug` output, messages or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (`<token>` with an identity token).
    pub username: String,
    secret: String,
    /// The secret is an OAuth2 refresh token (`identitytoken`), exchanged at the token realm.
    pub identity_token: bool,
}

impl Credentials {
    /// A user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            secret: password.into(),
            identity_token: false,
        }
    }

    /// An identity token (an OAuth2 refresh token).
    pub fn identity_token(token: impl Into<String>) -> Self {
        Credentials {
            username: "<token>".into(),
            secret: token.into(),
            identity_token: true,
        }
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// `Basic base64(user:password)`.
    pub(crate) fn basic(&self) -> String {
        let raw = format!("{}:{}", self.username, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Where a registry's credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// Looked up in the auth files (`authfile` first, when given).
    #[default]
    Lookup,
    /// Looked up in this file only (`--authfile`).
    AuthFile(PathBuf),
    /// Given on the command line.
    Given(Credentials),
    /// None: anonymous access.
    Anonymous,
}

/// The auth files searched, in order.
pub(crate) fn auth_files() -> Vec<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut files = Vec::new();
    if let Some(file) = env("REGISTRY_AUTH_FILE") {
        files.push(file);
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR") {
        files.push(dir.join("containers/auth.json"));
    }
    match (env("XDG_CONFIG_HOME"), &home) {
        (Some(dir), _) => files.push(dir.join("containers/auth.json")),
        (None, Some(home)) => files.push(home.join(".config/containers/auth.json")),
        _ => {}
    }
    match (env("DOCKER_CONFIG"), &home) {
        (Some(dir), _) => files.push(dir.join("config.json")),
        (None, Some(home)) => files.push(home.join(".docker/config.json")),
        _ => {}
    }
    if let Some(home) = &home {
        files.push(home.join(".dockercfg"));
    }
    files
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// A key of `auths` as the registry (and path) it names: scheme and Docker Hub's `/v1/`
/// dropped, Docker Hub's spellings made `docker.io`.
fn normalise_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let key = key.trim_end_matches('/');
    let key = key
        .strip_suffix("/v1")
        .or_else(|| key.strip_suffix("/v2"))
        .unwrap_or(key);
    match key.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", normalise_host(host)),
        None => normalise_host(key).to_owned(),
    }
}

fn normalise_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// The keys that may hold `registry/repository`'s credentials, most specific first.
fn candidate_keys(registry: &str, repository: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let parts: Vec<&str> = repository.split('/').collect();
    for n in (1..=parts.len()).rev() {
        keys.push(format!("{registry}/{}", parts[..n].join("/")));
    }
    keys.push(registry.to_owned());
    keys
}

/// The credentials for `registry/repository` from `source`; `None`: anonymous.
pub(crate) fn find(
    source: &CredentialSource,
    registry: &str,
    repository: &str,
) -> Result<Option<Credentials>, RegistryError> {
    match source {
        CredentialSource::Anonymous => Ok(None),
        CredentialSource::Given(c) => Ok(Some(c.clone())),
        CredentialSource::AuthFile(file) => {
            if !file.is_file() {
                return Err(RegistryError::Config {
                    registry: registry.to_owned(),
                    detail: format!("auth file {}: not found", file.display()),
                });
            }
            from_file(file, registry, repository)
        }
        CredentialSource::Lookup => {
            for file in auth_files() {
                if let Some(found) = from_file(&file, registry, repository)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
    }
}

fn from_file(
    file: &Path,
    registry: &str,
    repository: &str,
) -> Result<Option<Credentials>, RegistryError> {
    let bad = |detail: String| RegistryError::Config {
        registry: registry.to_owned(),
        detail: format!("auth file {}: {detail}", file.display()),
    };
    let bytes = match super::settings::read_setting(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    // serde's messages quote the offending value (here: a base64 `user:password`): only the
    // position is reported.
    let at = |e: serde_json::Error| {
        bad(format!(
            "not an auth file (JSON error at line {} column {}: {})",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Data => "a value of the wrong type",
                serde_json::error::Category::Eof => "it ends early",
            }
        ))
    };
    let parsed: AuthFile = if file.file_name().is_some_and(|n| n == ".dockercfg") {
        // The legacy format: the `auths` map at the top level.
        AuthFile {
            auths: serde_json::from_slice(&bytes).map_err(at)?,
            ..AuthFile::default()
        }
    } else {
        serde_json::from_slice(&bytes).map_err(at)?
    };
    // An empty helper name is none, as Docker reads it.
    if let Some((_, helper)) = parsed
        .cred_helpers
        .iter()
        .find(|(key, helper)| normalise_key(key) == registry && !helper.is_empty())
    {
        return helper_get(helper, registry);
    }
    let auths: Vec<(String, &AuthEntry)> = parsed
        .auths
        .iter()
        .map(|(k, v)| (normalise_key(k), v))
        .collect();
    for key in candidate_keys(registry, repository) {
        if let Some((_, entry)) = auths.iter().find(|(k, _)| *k == key) {
            if let Some(found) = entry_credentials(entry).map_err(bad)? {
                return Ok(Some(found));
            }
        }
    }
    if let Some(store) = parsed.creds_store.as_deref().filter(|s| !s.is_empty()) {
        return helper_get(store, registry);
    }
    Ok(None)
}

fn entry_credentials(entry: &AuthEntry) -> Result<Option<Credentials>, String> {
    if let Some(token) = entry.identity_token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::identity_token(token)));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| "an `auth` entry that is not base64".to_owned())?;
        let text = String::from_utf8(decoded)
            .map_err(|_| "an `auth` entry that is not UTF-8".to_owned())?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| "an `auth` entry without ':' between user and password".to_owned())?;
        return Ok(Some(Credentials::new(user, password)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials::new(u, p))),
        _ => Ok(None),
    }
}

/// The most a credential helper may print (on each stream), and how long it may take.
const HELPER_OUTPUT: u64 = 64 * 1024;
const HELPER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// A line that looks like it may hold a secret: JSON, a key=value or key: value pair, or a
/// long run of token characters.
fn secret_shaped(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["secret", "password", "token", "username", "auth"]
        .iter()
        .any(|w| lower.contains(w))
        || line.contains('{')
        || line
            .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-.".contains(c)))
            .any(|w| w.len() >= 20)
}

/// Waits for `child`, reading at most `limit` bytes of each of its outputs, killing it after
/// `deadline` (or when it prints more): a helper that hangs or floods cannot hold trustbake.
fn bounded_output(
    mut child: std::process::Child,
    limit: u64,
    deadline: std::time::Duration,
) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut over = false;
            if let Some(pipe) = pipe {
                let mut limited = pipe.take(limit + 1);
                let _ = limited.read_to_end(&mut out);
                over = out.len() as u64 > limit;
                out.truncate(limit as usize);
            }
            (out, over)
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let flooding = stdout.is_finished() || stderr.is_finished();
        if started.elapsed() > deadline || flooding {
            // Still running with an output closed or past its bound, or too slow: ended.
            if flooding && started.elapsed() < std::time::Duration::from_millis(500) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                if started.elapsed() > deadline {
                    format!("killed after {} s without an answer", deadline.as_secs())
                } else {
                    format!("killed: it printed more than {limit} bytes")
                },
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (stdout, over_out) = stdout.join().unwrap_or_default();
    let (stderr, over_err) = stderr.join().unwrap_or_default();
    if over_out || over_err {
        return Err(std::io::Error::other(format!(
            "it printed more than {limit} bytes"
        )));
    }
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// `docker-credential-NAME get` with the registry on stdin.
fn helper_get(helper: &str, registry: &str) -> Result<Option<Credentials>, RegistryError> {
    let program = format!("docker-credential-{helper}");
    let bad = |detail: String| RegistryError::Config {
        registry: registry.to_owned(),
        detail: format!("credential helper {program}: {detail}"),
    };
    if !helper
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(bad("not a helper name".into()));
    }
    // Docker Hub's credentials are stored under its historical key.
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    if server.chars().any(char::is_control) {
        return Err(bad("the registry name holds control characters".into()));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| bad(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is not an error here: its status says.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out =
        bounded_output(child, HELPER_OUTPUT, HELPER_DEADLINE).map_err(|e| bad(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stderr.contains("credentials not found") || stdout.contains("credentials not found") {
            return Ok(None);
        }
        // Its output is never repeated (a helper may print the secret it failed on): the
        // status, and a first stderr line with nothing secret-shaped in it.
        let said = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .filter(|l| !secret_shaped(l))
            .map(|l| {
                let l: String = l.chars().filter(|c| !c.is_control()).take(200).collect();
                format!(": {l}")
            })
            .unwrap_or_default();
        return Err(bad(format!("failed ({}){said}", out.status)));
    }
    #[derive(Deserialize)]
    struct HelperOutput {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let parsed: HelperOutput = serde_json::from_slice(&out.stdout)
        .map_err(|_| bad("its output is not {\"Username\",\"Secret\"} JSON".into()))?;
    Ok(Some(if parsed.username == "<token>" {
        Credentials::identity_token(parsed.secret)
    } else {
        Credentials::new(parsed.username, parsed.secret)
    }))
}

/// What `GET /v2/` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Nothing: anonymous access.
    None,
    /// HTTP Basic.
    Basic,
    /// A token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    let mut realm = None;
    let mut service = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], quoted[end + 1..].trim_start())
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        match name.as_str() {
            "realm" => realm = Some(value.to_owned()),
            "service" => service = Some(value.to_owned()),
            _ => {}
        }
        rest = next.trim_start_matches(',').trim_start();
    }
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: realm?,
            service,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn challenges_parse() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn keys_normalise_and_the_most_specific_wins() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("http://harbor.corp:8443"), "harbor.corp:8443");
        assert_eq!(normalise_key("quay.io/org"), "quay.io/org");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &file,
            serde_json::json!({ "auths": {
                "quay.io": { "auth": b64("host:wide") },
                "quay.io/org": { "auth": b64("org:scoped") },
                "https://index.docker.io/v1/": { "username": "hub", "password": "p" },
                "id.example": { "identitytoken": "refresh" },
            }})
            .to_string(),
        )
        .unwrap();
        let source = CredentialSource::AuthFile(file);
        let user = |registry: &str, repo: &str| {
            find(&source, registry, repo)
                .unwrap()
                .map(|c| (c.username.clone(), c.secret().to_owned(), c.identity_token))
        };
        assert_eq!(
            user("quay.io", "org/repo"),
            Some(("org".into(), "scoped".into(), false))
        );
        assert_eq!(
            user("quay.io", "other/repo"),
            Some(("host".into(), "wide".into(), false))
        );
        assert_eq!(
            user("docker.io", "library/alpine"),
            Some(("hub".into(), "p".into(), false))
        );
        assert_eq!(
            user("id.example", "x"),
            Some(("<token>".into(), "refresh".into(), true))
        );
        assert_eq!(user("ghcr.io", "x"), None);
        let debug = format!("{:?}", find(&source, "quay.io", "org/x").unwrap());
        assert!(!debug.contains("scoped"), "{debug}");
    }
}
