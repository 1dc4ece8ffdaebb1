//! A connected registry: its agents under the one-origin rule, sending a request with
//! redirects followed, authorization added and bounded retries, and its failures said in one line.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::{self, Response};

use super::auth;
use super::auth::{Challenge, Credentials, parse_challenge};
use super::net;
use super::net::{Budget, Limits, Origin};
use super::proxy;
use super::tls;
use super::transfer::{Action, Progress, ProgressFn, Transfer};
use super::{Access, RegistryError, Role};
use crate::digest::Digest;
use crate::reference::RegistryRef;

/// The manifest media types asked for, all four.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// How many times a request is sent before its failure is final.
pub(super) const ATTEMPTS: u32 = 5;

/// A body that can be sent again on a retry.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8], &'a str),
}

/// A connected registry.
pub(crate) struct Client {
    /// The registry as users name it.
    pub(crate) registry: String,
    /// `https://HOST` or `http://HOST` (Docker Hub's API host for `docker.io`).
    pub(super) base: String,
    /// The origin of `base`: the only one credentials and the client certificate go to.
    pub(super) origin: Origin,
    /// Requests to the registry's origin (with the client certificate, when there is one).
    pub(super) agent: ureq::Agent,
    /// Requests to any other origin (a redirect, an upload `Location`, a token realm
    /// elsewhere): the same trust, no client certificate. Neither agent follows redirects:
    /// [`Client::send`] does, under the one origin rule.
    pub(super) foreign: ureq::Agent,
    pub(super) credentials: Option<Credentials>,
    pub(super) challenge: Challenge,
    pub(super) tokens: Mutex<HashMap<String, (String, Instant)>>,
    pub(super) role: Role,
    pub(crate) transfer: Arc<Transfer>,
    pub(super) progress: Option<Arc<ProgressFn>>,
    /// The registry refused a monolithic upload as too large (GHCR: bodies over 4 MiB):
    /// blobs then go up in chunks.
    pub(super) chunked: std::sync::atomic::AtomicBool,
    pub(crate) limits: Limits,
    pub(super) budget: Arc<Budget>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.registry)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a request fetches: a document has a total deadline, a blob a minimum rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A manifest, index, config, token or ping: [`Limits::request_timeout`] in all.
    Document,
    /// A blob (download or upload): its answer within the request timeout, then at least
    /// [`Limits::speed_limit`] bytes a second over every [`Limits::speed_time`].
    Blob,
}

/// One request as the client sends it (under the origin rule, with retries).
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    /// Its deadline kind.
    pub(crate) kind: Kind,
    pub(crate) method: &'a str,
    /// An API path (`/v2/…`) or an absolute URL (a `Location`).
    pub(crate) path: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: Body<'a>,
    /// The token scopes it needs at the registry's origin.
    pub(crate) scopes: &'a [String],
    /// What it is for, in messages.
    pub(crate) what: &'a str,
}

/// A transport failure, as one line (ureq's own error, with its TLS cause).
pub(super) fn transport_detail(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        e => e.to_string(),
    }
}

fn is_tls_error(e: &ureq::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    matches!(e, ureq::Error::Rustls(_) | ureq::Error::Tls(_))
        || ["tls", "certificate", "handshake"]
            .iter()
            .any(|w| text.contains(w))
}

/// The error text of a plain-HTTP server answering a TLS handshake.
fn looks_like_plain_http(e: &ureq::Error) -> bool {
    let text = e.to_string();
    text.contains("InvalidContentType")
        || text.contains("CorruptMessage")
        || text.contains("invalid content type")
        || text.contains("corrupt message")
}

/// What `/v2/` answered: the challenge to follow (none for a 2xx), or why this is no registry.
fn challenge_of(
    response: &Response<ureq::Body>,
    registry: &str,
) -> Result<Challenge, RegistryError> {
    Ok(match response.status().as_u16() {
        401 => response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_challenge)
            .ok_or_else(|| RegistryError::Protocol {
                registry: registry.to_owned(),
                what: "GET /v2/".into(),
                detail: "401 without a Basic or Bearer challenge trustbake can use".into(),
            })?,
        s if (200..300).contains(&s) => Challenge::None,
        s => {
            return Err(RegistryError::Protocol {
                registry: registry.to_owned(),
                what: "GET /v2/".into(),
                detail: format!("{s}: not a registry (the /v2/ endpoint answers {s})"),
            });
        }
    })
}

/// An agent that follows no redirect and applies `limits`' per-read bound.
pub(super) fn agent(tls: ureq::tls::TlsConfig, limits: &Limits) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .user_agent(concat!("trustbake/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(limits.request_timeout))
        .timeout_recv_response(Some(limits.request_timeout))
        .timeout_per_read(Some(limits.speed_time))
        .timeout_per_write(Some(limits.speed_time))
        // Redirects are followed by `Client::send`, under the origin rule.
        .max_redirects(0)
        // The proxy is chosen per request, for its target (`route_proxy`).
        .proxy(None)
        .build();
    ureq::Agent::new_with_config(config)
}

/// A redirect status.
pub(super) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// How many redirects one request follows.
const MAX_REDIRECTS: u32 = 10;

impl Client {
    pub(super) fn connect(
        reference: &RegistryRef,
        access: &Access,
        role: Role,
        transfer: Arc<Transfer>,
        budget: Arc<Budget>,
    ) -> Result<Client, RegistryError> {
        let registry = reference.registry.clone();
        let credentials = auth::find(&access.credentials, &registry, &reference.repository)?;
        let limits = access.limits;
        let (own_tls, foreign_tls) = tls::config(&registry, access)?;
        let own = agent(own_tls, &limits);
        let foreign = agent(foreign_tls, &limits);
        let host = if registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            registry.as_str()
        };
        let mut base = format!("https://{host}");
        let ping = |base: &str| {
            let request = http::Request::get(format!("{base}/v2/"))
                .header("Accept", "application/json")
                .body(())
                .map_err(|e| ureq::Error::BadUri(e.to_string()))?;
            let request = configure(&own, request, Kind::Document, &limits);
            transfer.requests.fetch_add(1, Ordering::Relaxed);
            let mut response = own.run(request)?;
            // Only the status and the challenge matter: the body is read within bounds.
            let _ = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            Ok::<_, ureq::Error>(response)
        };
        let response = match ping(&base) {
            Ok(r) => r,
            Err(e) if !access.tls_verify && !matches!(e, ureq::Error::Timeout(_)) => {
                // As skopeo: a registry whose TLS is not verified may be plain HTTP.
                base = format!("http://{host}");
                ping(&base).map_err(|e2| RegistryError::Connect {
                    registry: registry.clone(),
                    role,
                    detail: format!(
                        "HTTPS: {}; HTTP: {}",
                        transport_detail(&e),
                        transport_detail(&e2)
                    ),
                })?
            }
            Err(e) if looks_like_plain_http(&e) => {
                return Err(RegistryError::PlainHttp { registry, role });
            }
            Err(e) if is_tls_error(&e) => {
                return Err(RegistryError::Tls {
                    registry,
                    role,
                    detail: transport_detail(&e),
                });
            }
            Err(e) => {
                return Err(RegistryError::Connect {
                    registry,
                    role,
                    detail: transport_detail(&e),
                });
            }
        };
        let challenge = challenge_of(&response, &registry)?;
        let origin = Origin::of(&base).ok_or_else(|| RegistryError::Config {
            registry: registry.clone(),
            detail: "not a host name trustbake can reach".into(),
        })?;
        Ok(Client {
            registry,
            base,
            origin,
            agent: own,
            foreign,
            credentials,
            challenge,
            tokens: Mutex::new(HashMap::new()),
            role,
            transfer,
            progress: None,
            chunked: std::sync::atomic::AtomicBool::new(false),
            limits,
            budget,
        })
    }

    /// Tells the progress display, if any.
    pub(crate) fn report(&self, action: Action, digest: Digest, done: u64, total: Option<u64>) {
        if let Some(progress) = &self.progress {
            progress(&Progress {
                registry: &self.registry,
                action,
                digest,
                done,
                total,
            });
        }
    }

    /// The URL of an API path (`/v2/…`), or `location` made absolute.
    pub(crate) fn url(&self, path: &str) -> String {
        net::resolve(&format!("{}/", self.base), path)
            .unwrap_or_else(|| format!("{}{path}", self.base))
    }

    pub(super) fn plain_http(&self) -> bool {
        !self.origin.https()
    }

    /// Takes one retry from the run's budget (and counts it); `false` when none is left.
    pub(super) fn retry(&self) -> bool {
        let ok = self.budget.take();
        if ok {
            self.transfer.retries.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Why a request is not retried once more, for the final error.
    pub(super) fn no_more(&self, attempt: u32) -> String {
        if attempt + 1 >= ATTEMPTS {
            format!("after {ATTEMPTS} attempts")
        } else {
            format!(
                "the run's retry budget ({} retries, --retry-times) is used up",
                self.limits.retries
            )
        }
    }

    /// The origin rule, in one place: where `url` may be sent, with what. Returns the agent
    /// to use and the `Authorization` header — only for the registry's own origin. A request
    /// that would leave HTTPS for plain HTTP is refused.
    pub(super) fn route(
        &self,
        url: &str,
        scopes: &[String],
        fresh: bool,
        what: &str,
    ) -> Result<(&ureq::Agent, Option<String>, Origin), RegistryError> {
        let target = Origin::of(url).ok_or_else(|| RegistryError::Redirect {
            registry: self.registry.clone(),
            what: what.to_owned(),
            from: self.origin.to_string(),
            to: shown_url(url),
            why: "not an http(s) URL".into(),
        })?;
        if target == self.origin {
            return Ok((&self.agent, self.authorization(scopes, fresh)?, target));
        }
        if self.origin.https() && !target.https() {
            return Err(RegistryError::Redirect {
                registry: self.registry.clone(),
                what: what.to_owned(),
                from: self.origin.to_string(),
                to: target.to_string(),
                why: "HTTPS is never given up for plain HTTP".into(),
            });
        }
        Ok((&self.foreign, None, target))
    }

    /// Sends a request with `body`, authorised for `scopes` under the origin rule
    /// ([`Client::route`]), following redirects (each hop under the same rule), retrying 429,
    /// 408, 5xx and dropped connections within the run's budget; a 401 from the registry
    /// fetches a fresh token once. Returns the final answer, whatever its status — but a 401
    /// from another origin is an error: credentials are never sent there.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
        scopes: &[String],
        what: &str,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        self.call(Call {
            kind: Kind::Document,
            method,
            path,
            headers,
            body,
            scopes,
            what,
        })
    }

    /// [`Client::send`] for any [`Call`].
    pub(crate) fn call(&self, call: Call<'_>) -> Result<Response<ureq::Body>, RegistryError> {
        let what = call.what;
        let mut fresh = false;
        let last;
        let mut attempt = 0;
        loop {
            match self.call_once(&call, fresh) {
                Ok((response, own)) => {
                    let status = response.status().as_u16();
                    if status == 401
                        && own
                        && !fresh
                        && matches!(self.challenge, Challenge::Bearer { .. })
                    {
                        // The token may have expired: one fresh one.
                        fresh = true;
                        continue;
                    }
                    if retryable(status) && attempt + 1 < ATTEMPTS && self.retry() {
                        std::thread::sleep(self.wait(&response, attempt));
                        attempt += 1;
                        continue;
                    }
                    return Ok(response);
                }
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Transport(detail)) => {
                    if attempt + 1 < ATTEMPTS && self.retry() {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    last = detail;
                    break;
                }
            }
        }
        Err(RegistryError::Connect {
            registry: self.registry.clone(),
            role: self.role,
            detail: format!("{what}: {last} ({})", self.no_more(attempt)),
        })
    }

    /// One attempt: the request and the redirects it is sent on, each hop under the origin
    /// rule. Returns the answer and whether it came from the registry's own origin.
    fn call_once(
        &self,
        call: &Call<'_>,
        fresh: bool,
    ) -> Result<(Response<ureq::Body>, bool), Attempt> {
        let Call {
            kind,
            method,
            path,
            headers,
            body,
            scopes,
            what,
        } = *call;
        let mut url = self.url(path);
        let mut method = method.to_owned();
        let mut body = body;
        let mut hops = 0;
        loop {
            let (agent, authorization, target) = self
                .route(&url, scopes, fresh, what)
                .map_err(Attempt::Final)?;
            let own = target == self.origin;
            let mut builder = http::Request::builder().method(method.as_str()).uri(&url);
            for (k, v) in headers {
                builder = builder.header(*k, *v);
            }
            if let Some(a) = &authorization {
                builder = builder.header("Authorization", a);
            }
            self.transfer.requests.fetch_add(1, Ordering::Relaxed);
            let bad = |e: http::Error| Attempt::Final(self.protocol(what, e.to_string()));
            let result = match body {
                Body::Empty => {
                    let request = builder.body(()).map_err(bad)?;
                    agent.run(configure(agent, request, kind, &self.limits))
                }
                Body::Bytes(bytes, content_type) => {
                    let request = builder
                        .header("Content-Type", content_type)
                        .header("Content-Length", bytes.len().to_string())
                        .body(bytes)
                        .map_err(bad)?;
                    agent.run(configure(agent, request, kind, &self.limits))
                }
            };
            let response = result.map_err(|e| Attempt::Transport(transport_detail(&e)))?;
            let status = response.status().as_u16();
            if is_redirect(status) {
                let Some(next) = location(&response).and_then(|l| net::resolve(&url, &l)) else {
                    return Ok((response, own));
                };
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(Attempt::Final(RegistryError::Redirect {
                        registry: self.registry.clone(),
                        what: what.to_owned(),
                        from: target.to_string(),
                        to: shown_url(&next),
                        why: format!("more than {MAX_REDIRECTS} redirects"),
                    }));
                }
                if status == 303 && method != "HEAD" {
                    method = "GET".into();
                    body = Body::Empty;
                }
                url = next;
                continue;
            }
            if status == 401 && !own {
                return Err(Attempt::Final(RegistryError::CrossOrigin {
                    registry: self.registry.clone(),
                    what: what.to_owned(),
                    from: self.origin.to_string(),
                    to: target.to_string(),
                }));
            }
            return Ok((response, own));
        }
    }

    /// How long to wait before the next attempt: `Retry-After` (seconds) when given, up to
    /// [`Limits::max_retry_wait`].
    pub(super) fn wait(&self, response: &Response<ureq::Body>, attempt: u32) -> Duration {
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or_else(|| backoff(attempt))
            .min(self.limits.max_retry_wait)
    }

    pub(crate) fn protocol(&self, what: &str, detail: String) -> RegistryError {
        RegistryError::Protocol {
            registry: self.registry.clone(),
            what: what.to_owned(),
            detail,
        }
    }

    /// The error for a failure answer: its status and the registry's own error text.
    pub(crate) fn failure(
        &self,
        mut response: Response<ureq::Body>,
        what: &str,
        reference: &str,
    ) -> RegistryError {
        let status = response.status().as_u16();
        let limit = rate_limit(&response);
        // A valid token without the scope asked for (a push with pull rights only).
        let insufficient = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("insufficient_scope"));
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let detail = format!("{status}: {}", registry_message(&body));
        match status {
            401 if insufficient => RegistryError::Denied {
                registry: self.registry.clone(),
                what: what.to_owned(),
                detail: format!("{detail}; the credentials do not grant this"),
            },
            401 => RegistryError::Unauthorized {
                registry: self.registry.clone(),
                what: what.to_owned(),
                detail: if self.credentials.is_none() {
                    format!("{detail}; no credentials were found for {}", self.registry)
                } else {
                    detail
                },
            },
            403 => RegistryError::Denied {
                registry: self.registry.clone(),
                what: what.to_owned(),
                detail,
            },
            404 => RegistryError::NotFound {
                reference: reference.to_owned(),
                detail,
            },
            429 => RegistryError::RateLimited {
                registry: self.registry.clone(),
                what: what.to_owned(),
                limit,
            },
            _ => RegistryError::Protocol {
                registry: self.registry.clone(),
                what: what.to_owned(),
                detail,
            },
        }
    }
}

pub(super) fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(5))
}

fn rate_limit(response: &Response<ureq::Body>) -> String {
    let headers: Vec<String> = ["ratelimit-limit", "ratelimit-remaining", "retry-after"]
        .iter()
        .filter_map(|h| {
            response
                .headers()
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!("{h}: {v}"))
        })
        .collect();
    if headers.is_empty() {
        String::new()
    } else {
        format!("; {}", headers.join(", "))
    }
}

pub(super) fn location(response: &Response<ureq::Body>) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `location` with `digest=` added to its query.
pub(super) fn with_digest(location: &str, digest: &Digest) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

/// One attempt's failure: final (the origin rule, a bad request), or a transport failure
/// worth another attempt.
enum Attempt {
    Final(RegistryError),
    Transport(String),
}

/// `request` with the deadlines of its kind and the proxy for where it goes.
pub(super) fn configure<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    request: http::Request<S>,
    kind: Kind,
    limits: &Limits,
) -> http::Request<S> {
    let proxy = Origin::of(&request.uri().to_string()).and_then(|o| route_proxy(&o));
    let config = agent.configure_request(request).proxy(proxy);
    match kind {
        Kind::Document => config.timeout_global(Some(limits.request_timeout)).build(),
        Kind::Blob => config.build(),
    }
}

/// The proxy for a request to `origin`, from the environment (see `proxy.rs`); one that is
/// not a proxy URL is said and not used.
pub(super) fn route_proxy(origin: &Origin) -> Option<ureq::Proxy> {
    let url = proxy::for_target(&origin.scheme, &origin.host, origin.port)?;
    match ureq::Proxy::new(&url) {
        Ok(proxy) => {
            tracing::info!("{origin}: through the proxy {}", shown_url(&url));
            Some(proxy)
        }
        Err(e) => {
            tracing::warn!(
                "the proxy {} is not usable ({e}): not used",
                shown_url(&url)
            );
            None
        }
    }
}

/// A URL as it may be shown: no userinfo, no query (signed URLs carry secrets there).
pub(crate) fn shown_url(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let short: String = match no_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => no_query.to_owned(),
    };
    short
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// The registry's error message (`{"errors":[{"code","message"}]}`), else the body, short.
fn registry_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.code.as_deref().unwrap_or(""),
                    e.message.as_deref().unwrap_or("")
                )
                .trim()
                .to_owned()
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => short(body),
    }
}

pub(super) fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        one.chars().take(200).collect::<String>() + "…"
    } else {
        one
    }
}
