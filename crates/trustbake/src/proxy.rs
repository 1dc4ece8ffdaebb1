//! `proxy-env`: the proxy settings Anchore reads (`https_proxy`, `http_proxy`, `no_proxy`) built
//! as its documentation requires — no quotes, credentials in the URL with every character that
//! is not unreserved percent-encoded (RFC 3986), every service endpoint in `no_proxy` — in the
//! forms operators deploy with: a `.env` file, a docker-compose `environment:` block, Helm
//! `extraEnv` entries (credentials from a Secret) and the Kubernetes Secret itself.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde::Serialize;

use crate::error::Error;

/// The output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyFormat {
    /// `KEY=value` lines (`docker run --env-file`, compose `env_file`).
    Env,
    /// A docker-compose `environment:` block.
    Compose,
    /// Helm `extraEnv` entries; the proxy URLs come from the Secret when they hold credentials.
    Helm,
    /// A Kubernetes Secret holding the three variables.
    K8s,
}

impl std::str::FromStr for ProxyFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "env" => Ok(ProxyFormat::Env),
            "compose" => Ok(ProxyFormat::Compose),
            "helm" => Ok(ProxyFormat::Helm),
            "k8s" | "secret" => Ok(ProxyFormat::K8s),
            other => Err(Error::BadArgument {
                what: "--format".into(),
                reason: format!("'{other}' is not one of env, compose, helm, k8s"),
            }),
        }
    }
}

/// What to build. Build with [`ProxyEnvRequest::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyEnvRequest {
    proxy: String,
    user: Option<String>,
    password: Option<String>,
    config: Option<std::path::PathBuf>,
    vars: BTreeMap<String, String>,
    no_proxy: Vec<String>,
    secret_name: String,
}

impl ProxyEnvRequest {
    /// The proxy `http[s]://HOST[:PORT]` (no credentials in it).
    pub fn new(proxy: &str) -> Self {
        ProxyEnvRequest {
            proxy: proxy.to_owned(),
            user: None,
            password: None,
            config: None,
            vars: BTreeMap::new(),
            no_proxy: Vec::new(),
            secret_name: "anchore-proxy".to_owned(),
        }
    }

    /// The proxy's user and password (read from a file or stdin by the caller).
    pub fn credentials(mut self, user: Option<String>, password: Option<String>) -> Self {
        self.user = user;
        self.password = password;
        self
    }

    /// An Anchore `config.yaml` whose enabled services' endpoints go into `no_proxy`, read with
    /// these `${ANCHORE_…}` variables.
    pub fn config(mut self, config: Option<&Path>, vars: BTreeMap<String, String>) -> Self {
        self.config = config.map(Path::to_path_buf);
        self.vars = vars;
        self
    }

    /// More hosts (or `host:port`, `.domain`, CIDR) that must not go through the proxy.
    pub fn no_proxy(mut self, hosts: Vec<String>) -> Self {
        self.no_proxy = hosts;
        self
    }

    /// The Secret's name for the `helm` and `k8s` forms.
    pub fn secret_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.secret_name);
        self
    }
}

/// The variables, built.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProxyEnv {
    /// The proxy URL with its encoded credentials (the value of both proxy variables).
    pub proxy_url: String,
    /// `no_proxy`, comma-separated.
    pub no_proxy: String,
    /// Whether the URL carries credentials.
    pub credentials: bool,
    /// The Secret's name (helm and k8s forms).
    pub secret_name: String,
}

/// Percent-encodes everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// byte by byte of the UTF-8: `F@oBar!` → `F%40oBar%21`.
pub fn encode_userinfo(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`encode_userinfo`] (any percent-encoding, as clients decode it).
pub fn decode_userinfo(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadArgument {
        what: "--proxy".into(),
        reason: reason.into(),
    }
}

/// `scheme://host[:port]` of the proxy, checked.
fn parse_proxy(url: &str) -> Result<(String, String), Error> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad(format!("'{url}' has no scheme: give http://HOST:PORT")))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad(format!(
            "'{scheme}://' is not a proxy scheme Anchore's clients share: use http:// (or https://)"
        )));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(bad(
            "credentials in --proxy would be kept in the shell history: give --user and --password-file",
        ));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(bad(format!(
            "'{url}': a proxy URL has no path, query or fragment"
        )));
    }
    if authority.is_empty() || authority.contains(char::is_whitespace) || authority.contains('"') {
        return Err(bad(format!("'{url}' has no usable host")));
    }
    let host_port = authority;
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in the host"))?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (host_port.to_owned(), None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
    {
        return Err(bad(format!("'{host}' is not a host name or address")));
    }
    let authority = match port {
        Some(p) => {
            let n: u16 = p
                .parse()
                .ok()
                .filter(|n| *n != 0)
                .ok_or_else(|| bad(format!("'{p}' is not a port")))?;
            format!("{host}:{n}")
        }
        None => host,
    };
    Ok((scheme, authority))
}

/// Builds the variables.
pub fn proxy_env(request: &ProxyEnvRequest) -> Result<ProxyEnv, Error> {
    let (scheme, authority) = parse_proxy(&request.proxy)?;
    let userinfo = match (&request.user, &request.password) {
        (Some(u), Some(p)) => format!("{}:{}@", encode_userinfo(u), encode_userinfo(p)),
        (Some(u), None) => format!("{}@", encode_userinfo(u)),
        (None, Some(_)) => {
            return Err(Error::BadArgument {
                what: "--password-file".into(),
                reason: "a password without --user".into(),
            });
        }
        (None, None) => String::new(),
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut push = |h: &str| {
        let h = h.trim();
        if !h.is_empty() && !hosts.iter().any(|x| x == h) {
            hosts.push(h.to_owned());
        }
    };
    push("localhost");
    push("127.0.0.1");
    if let Some(config) = &request.config {
        // Only the endpoints feed no_proxy: a variable elsewhere (host_id, a password) is not
        // this command's to resolve.
        let doc = crate::anchore_config::parse(config, &request.vars)?;
        if let Some((key, var)) = crate::anchore_config::endpoint_variables(&doc) {
            return Err(Error::Config {
                path: config.display().to_string(),
                reason: format!(
                    "{key} uses {var}, which is not set: set it in the environment or give --env-file"
                ),
            });
        }
        for (_, host, port) in crate::anchore_config::enabled_endpoints(&doc) {
            let Some(host) = host else { continue };
            let bare = crate::anchore_config::bare_host(&host).to_owned();
            push(&bare);
            if let Some(port) = port {
                push(&format!("{bare}:{port}"));
            }
        }
    }
    for extra in &request.no_proxy {
        for h in extra.split(',') {
            push(h);
        }
    }
    Ok(ProxyEnv {
        proxy_url: format!("{scheme}://{userinfo}{authority}"),
        no_proxy: hosts.join(","),
        credentials: !userinfo.is_empty(),
        secret_name: request.secret_name.clone(),
    })
}

impl ProxyEnv {
    /// The three variables, in order.
    pub fn variables(&self) -> [(&'static str, &str); 3] {
        [
            ("https_proxy", self.proxy_url.as_str()),
            ("http_proxy", self.proxy_url.as_str()),
            ("no_proxy", self.no_proxy.as_str()),
        ]
    }

    /// The text of one form.
    pub fn render(&self, format: ProxyFormat) -> String {
        let mut out = String::new();
        let vars = self.variables();
        match format {
            ProxyFormat::Env => {
                out.push_str(
                    "# Anchore proxy settings (no quotes: Anchore reads the values as written)\n",
                );
                for (k, v) in vars {
                    out.push_str(&format!("{k}={v}\n"));
                }
            }
            ProxyFormat::Compose => {
                out.push_str(
                    "    # each Anchore service's `environment:` (no quotes around the values)\n",
                );
                out.push_str("    environment:\n");
                for (k, v) in vars {
                    out.push_str(&format!("      - {k}={v}\n"));
                }
            }
            ProxyFormat::Helm => {
                out.push_str("# values.yaml: extraEnv for every Anchore component\n");
                out.push_str("extraEnv:\n");
                for (k, v) in vars {
                    if self.credentials && k != "no_proxy" {
                        out.push_str(&format!(
                            "  - name: {k}\n    valueFrom:\n      secretKeyRef:\n        name: {}\n        key: {k}\n",
                            self.secret_name
                        ));
                    } else {
                        out.push_str(&format!(
                            "  - name: {k}\n    value: '{}'\n",
                            v.replace('\'', "''")
                        ));
                    }
                }
                if self.credentials {
                    out.push_str(&format!(
                        "# the proxy URLs hold a password: create the Secret '{}' with `trustbake proxy-env … --format k8s`\n",
                        self.secret_name
                    ));
                }
            }
            ProxyFormat::K8s => {
                out.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
                out.push_str(&format!("  name: {}\n", self.secret_name));
                out.push_str("type: Opaque\ndata:\n");
                let b64 = base64::engine::general_purpose::STANDARD;
                for (k, v) in vars {
                    out.push_str(&format!("  {k}: {}\n", b64.encode(v)));
                }
            }
        }
        out
    }
}
