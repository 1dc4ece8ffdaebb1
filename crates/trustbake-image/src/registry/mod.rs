//! The registry transport (`docker://`): a small, synchronous client of the OCI distribution
//! protocol — manifests by HEAD then GET, blobs by GET (resumed with `Range` after a dropped
//! connection), blob HEAD, cross-repository mount, monolithic upload, manifest PUT — with Bearer
//! tokens for the scopes each step needs, Basic and anonymous access, the host's trust store
//! plus certificate directories, and bounded retries of 429, 5xx and dropped connections.

mod access;
mod auth;

mod net;
mod proxy;
mod settings;
mod tls;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::{self, Response};

pub use crate::registry_error::{RegistryError, Role};
pub use access::Access;
use auth::{Challenge, parse_challenge};
pub use auth::{CredentialSource, Credentials};
pub use net::Limits;
use net::{Budget, Origin, Pace};

use crate::digest::Digest;
use crate::model::{Descriptor, media_type};
use crate::reference::RegistryRef;

/// Bytes moved to and from one registry.
#[derive(Debug, Default)]
pub struct Transfer {
    /// Blob bytes downloaded (layers and configs).
    pub downloaded: AtomicU64,
    /// Blob bytes uploaded.
    pub uploaded: AtomicU64,
    /// Blobs mounted from another repository, and their bytes.
    pub mounted: AtomicU64,
    /// Bytes of mounted blobs.
    pub mounted_bytes: AtomicU64,
    /// Blobs already there (not sent), and their bytes.
    pub present: AtomicU64,
    /// Bytes of blobs already there.
    pub present_bytes: AtomicU64,
    /// Manifest bytes downloaded.
    pub manifest_bytes: AtomicU64,
    /// Requests sent.
    pub requests: AtomicU64,
    /// Requests sent again (429, 408, 5xx, dropped connections, resumed downloads).
    pub retries: AtomicU64,
}

/// What is happening to one blob, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Being downloaded.
    Download,
    /// Being uploaded.
    Upload,
    /// Mounted from another repository (no bytes sent).
    Mount,
    /// Already at the destination (no bytes sent).
    Present,
}

/// One step of one blob's transfer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// The registry.
    pub registry: &'a str,
    /// What is happening.
    pub action: Action,
    /// The blob.
    pub digest: Digest,
    /// Bytes done so far.
    pub done: u64,
    /// The blob's size, when known.
    pub total: Option<u64>,
}

/// Told of every step of every blob's transfer (often: from several threads).
pub type ProgressFn = dyn Fn(&Progress<'_>) + Send + Sync;

/// A registry session for one run: one client per registry and side, the bytes moved, and
/// one retry budget shared by every request of the run.
pub struct Session {
    source: Access,
    destination: Access,
    progress: Option<Arc<ProgressFn>>,
    clients: Mutex<HashMap<(String, bool), Arc<Client>>>,
    transfers: Mutex<BTreeMap<String, Arc<Transfer>>>,
    budget: Arc<Budget>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Access::default(), Access::default())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("source", &self.source)
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session reaching sources with `source` and destinations with `destination`.
    pub fn new(source: Access, destination: Access) -> Self {
        Session {
            budget: Arc::new(Budget::new(source.limits.retries)),
            source,
            destination,
            progress: None,
            clients: Mutex::new(HashMap::new()),
            transfers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Retries used so far by the whole run.
    pub fn retries(&self) -> u32 {
        self.budget.used()
    }

    /// Reports every blob's transfer to `progress`.
    pub fn with_progress(mut self, progress: Arc<ProgressFn>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// What was moved, per registry.
    pub fn transfers(&self) -> Vec<(String, Arc<Transfer>)> {
        self.transfers
            .lock()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default()
    }

    /// The client for `registry` on `role`'s side (connected once per run).
    pub(crate) fn client(
        &self,
        reference: &RegistryRef,
        role: Role,
    ) -> Result<Arc<Client>, RegistryError> {
        let key = (reference.registry.clone(), role == Role::Destination);
        if let Some(found) = self.clients.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(found);
        }
        let transfer = {
            let mut all = self
                .transfers
                .lock()
                .map_err(|_| poisoned(&reference.registry))?;
            Arc::clone(all.entry(reference.registry.clone()).or_default())
        };
        let access = match role {
            Role::Source => &self.source,
            Role::Destination => &self.destination,
        };
        let mut client =
            Client::connect(reference, access, role, transfer, Arc::clone(&self.budget))?;
        client.progress = self.progress.clone();
        let client = Arc::new(client);
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, Arc::clone(&client));
        }
        Ok(client)
    }
}

fn poisoned(registry: &str) -> RegistryError {
    RegistryError::Protocol {
        registry: registry.to_owned(),
        what: "internal".into(),
        detail: "a worker thread failed".into(),
    }
}

/// The manifest media types asked for, all four.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// The largest chunk of a chunked upload (GHCR refuses request bodies over 4 MiB).
const CHUNK: usize = 4 * 1024 * 1024 - 64 * 1024;

/// How many times a request is sent before its failure is final.
const ATTEMPTS: u32 = 5;

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
    base: String,
    /// The origin of `base`: the only one credentials and the client certificate go to.
    origin: Origin,
    /// Requests to the registry's origin (with the client certificate, when there is one).
    agent: ureq::Agent,
    /// Requests to any other origin (a redirect, an upload `Location`, a token realm
    /// elsewhere): the same trust, no client certificate. Neither agent follows redirects:
    /// [`Client::send`] does, under the one origin rule.
    foreign: ureq::Agent,
    credentials: Option<Credentials>,
    challenge: Challenge,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    role: Role,
    pub(crate) transfer: Arc<Transfer>,
    progress: Option<Arc<ProgressFn>>,
    /// The registry refused a monolithic upload as too large (GHCR: bodies over 4 MiB):
    /// blobs then go up in chunks.
    chunked: std::sync::atomic::AtomicBool,
    pub(crate) limits: Limits,
    budget: Arc<Budget>,
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
fn transport_detail(e: &ureq::Error) -> String {
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
fn agent(tls: ureq::tls::TlsConfig, limits: &Limits) -> ureq::Agent {
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
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// How many redirects one request follows.
const MAX_REDIRECTS: u32 = 10;

impl Client {
    fn connect(
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

    fn plain_http(&self) -> bool {
        !self.origin.https()
    }

    /// Takes one retry from the run's budget (and counts it); `false` when none is left.
    fn retry(&self) -> bool {
        let ok = self.budget.take();
        if ok {
            self.transfer.retries.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Why a request is not retried once more, for the final error.
    fn no_more(&self, attempt: u32) -> String {
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
    fn route(
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

    /// The `Authorization` header for `scopes` at the registry's own origin, fetching a token
    /// when needed.
    fn authorization(
        &self,
        scopes: &[String],
        fresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        match &self.challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => match &self.credentials {
                None => Ok(None),
                Some(_) if self.plain_http() => Err(RegistryError::CredentialsOverHttp {
                    registry: self.registry.clone(),
                    url: self.base.clone(),
                }),
                Some(c) if c.identity_token => Err(RegistryError::Config {
                    registry: self.registry.clone(),
                    detail: "an identity token needs a token server, and this registry asks for Basic authentication".into(),
                }),
                Some(c) => Ok(Some(c.basic())),
            },
            Challenge::Bearer { realm, service } => {
                let key = scopes.join(" ");
                if !fresh
                    && let Some((token, until)) = self.tokens.lock().ok().and_then(|t| t.get(&key).cloned())
                    && Instant::now() < until
                {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let (token, lifetime) = self.fetch_token(realm, service.as_deref(), scopes)?;
                let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(10));
                if let Ok(mut tokens) = self.tokens.lock() {
                    tokens.insert(key, (token.clone(), until));
                }
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<(String, Duration), RegistryError> {
        let what = "getting a token".to_owned();
        let realm_origin = Origin::of(realm).ok_or_else(|| RegistryError::Protocol {
            registry: self.registry.clone(),
            what: what.clone(),
            detail: format!("the token realm {} is not an http(s) URL", shown_url(realm)),
        })?;
        // Credentials go to a realm only when the registry announced it over HTTPS, and only
        // over HTTPS.
        if self.credentials.is_some() && !(realm_origin.https() && self.origin.https()) {
            return Err(RegistryError::CredentialsOverHttp {
                registry: self.registry.clone(),
                url: if realm_origin.https() {
                    format!("{} (announced over plain HTTP)", shown_url(realm))
                } else {
                    shown_url(realm)
                },
            });
        }
        let agent = if realm_origin == self.origin {
            &self.agent
        } else {
            &self.foreign
        };
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = service {
            query.push(("service", service));
        }
        for scope in scopes {
            query.push(("scope", scope));
        }
        let deadline = Some(self.limits.request_timeout);
        let last;
        let mut attempt = 0;
        loop {
            self.transfer.requests.fetch_add(1, Ordering::Relaxed);
            let result = self.token_request(agent, realm, &realm_origin, &query, deadline);
            match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if retryable(status) && attempt + 1 < ATTEMPTS && self.retry() {
                        std::thread::sleep(self.wait(&response, attempt));
                        attempt += 1;
                        continue;
                    }
                    return self.token_answer(&mut response, status, what);
                }
                Err(e) => {
                    if attempt + 1 < ATTEMPTS && self.retry() {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    last = transport_detail(&e);
                    break;
                }
            }
        }
        Err(RegistryError::Connect {
            registry: self.registry.clone(),
            role: self.role,
            detail: format!(
                "token server {}: {} ({})",
                shown_url(realm),
                last,
                self.no_more(attempt)
            ),
        })
    }

    /// One request to the token server: a refresh-token form for an identity token, else a GET
    /// with Basic credentials or none.
    fn token_request(
        &self,
        agent: &ureq::Agent,
        realm: &str,
        realm_origin: &Origin,
        query: &[(&str, &str)],
        deadline: Option<Duration>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        match &self.credentials {
            Some(c) if c.identity_token => {
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", c.secret()),
                    ("client_id", "trustbake"),
                ];
                form.extend(query.iter().copied());
                agent
                    .post(realm)
                    .config()
                    .timeout_global(deadline)
                    .proxy(route_proxy(realm_origin))
                    .build()
                    .send_form(form)
            }
            Some(c) => agent
                .get(realm)
                .query_pairs(query.iter().copied())
                .header("Authorization", c.basic())
                .config()
                .timeout_global(deadline)
                .proxy(route_proxy(realm_origin))
                .build()
                .call(),
            None => agent
                .get(realm)
                .query_pairs(query.iter().copied())
                .config()
                .timeout_global(deadline)
                .proxy(route_proxy(realm_origin))
                .build()
                .call(),
        }
    }

    /// The token server's answer read (bounded) and judged: refused, failed, or a token and
    /// its lifetime.
    fn token_answer(
        &self,
        response: &mut Response<ureq::Body>,
        status: u16,
        what: String,
    ) -> Result<(String, Duration), RegistryError> {
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string();
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                return Err(self.protocol(
                    &what,
                    format!("the token server's answer: {}", transport_detail(&e)),
                ));
            }
        };
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized {
                registry: self.registry.clone(),
                what,
                detail: format!("{status} from the token server: {}", short(&body)),
            });
        }
        if !(200..300).contains(&status) {
            return Err(RegistryError::Protocol {
                registry: self.registry.clone(),
                what,
                detail: format!("{status} from the token server: {}", short(&body)),
            });
        }
        let (token, lifetime) = parse_token(&body).map_err(|detail| RegistryError::Protocol {
            registry: self.registry.clone(),
            what: what.clone(),
            detail,
        })?;
        Ok((token, lifetime))
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
    fn wait(&self, response: &Response<ureq::Body>, attempt: u32) -> Duration {
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

    /// Resolves a tag or digest: HEAD first (rate limits count GETs), then GET by digest;
    /// the bytes are verified against the digest.
    pub(crate) fn get_manifest(
        &self,
        reference: &RegistryRef,
        by: &str,
        expected: Option<&Descriptor>,
    ) -> Result<(Descriptor, Vec<u8>), RegistryError> {
        let repo = &reference.repository;
        let scopes = [pull_scope(repo)];
        let shown = format!("{}/{repo}:{by}", self.registry);
        let shown = if by.starts_with("sha256:") {
            shown.replacen(&format!(":{by}"), &format!("@{by}"), 1)
        } else {
            shown
        };
        let path = format!("/v2/{repo}/manifests/{by}");
        let mut digest = Digest::parse(by).ok();
        if digest.is_none() {
            let head = self.send(
                "HEAD",
                &path,
                &[("Accept", ACCEPT)],
                Body::Empty,
                &scopes,
                "reading the manifest",
            )?;
            if !head.status().is_success() {
                return Err(self.failure(head, "reading the manifest", &shown));
            }
            digest = head
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Digest::parse(v).ok());
        }
        let get_by = digest
            .map(|d| d.to_string())
            .unwrap_or_else(|| by.to_owned());
        let mut response = self.send(
            "GET",
            &format!("/v2/{repo}/manifests/{get_by}"),
            &[("Accept", ACCEPT)],
            Body::Empty,
            &scopes,
            "reading the manifest",
        )?;
        if !response.status().is_success() {
            return Err(self.failure(response, "reading the manifest", &shown));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(crate::limits::MAX_DOCUMENT)
            .read_to_vec()
            .map_err(|e| {
                self.protocol(
                    "reading the manifest",
                    format!("{shown}: {}", transport_detail(&e)),
                )
            })?;
        self.transfer
            .manifest_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let found = Digest::of(&bytes);
        if let Some(d) = digest
            && d != found
        {
            return Err(self.protocol(
                "reading the manifest",
                format!("{shown}: the registry sent bytes with digest {found}, not {d}"),
            ));
        }
        let media = match (expected, content_type, media_type_in(&bytes)) {
            (_, _, Some(inner)) => inner,
            (Some(e), _, None) => e.media_type.clone(),
            (None, Some(ct), None) => ct,
            (None, None, None) => {
                return Err(
                    self.protocol("reading the manifest", format!("{shown}: no media type"))
                );
            }
        };
        if media == "application/vnd.docker.distribution.manifest.v1+json"
            || media == "application/vnd.docker.distribution.manifest.v1+prettyjws"
        {
            return Err(self.protocol(
                "reading the manifest",
                format!("{shown}: a schema 1 manifest (obsolete, unsupported): push the image again with a current tool"),
            ));
        }
        let descriptor = Descriptor::new(&media, bytes.len() as u64, found);
        Ok((descriptor, bytes))
    }

    /// A reader over a blob: verified by the caller; a dropped connection is resumed with
    /// `Range` (or restarted when the registry ignores it).
    pub(crate) fn blob_reader(
        self: &Arc<Self>,
        repository: &str,
        digest: Digest,
        size: Option<u64>,
    ) -> BlobReader {
        BlobReader {
            client: Arc::clone(self),
            path: format!("/v2/{repository}/blobs/{digest}"),
            scopes: vec![pull_scope(repository)],
            digest,
            size,
            offset: 0,
            body: None,
            failures: 0,
            pace: Pace::new(&self.limits),
        }
    }

    /// Whether `repository` has the blob (HEAD).
    pub(crate) fn has_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.exists(repository, "blobs", digest)
    }

    /// Whether a manifest is in `repository` (HEAD by digest).
    pub(crate) fn has_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.exists(repository, "manifests", digest)
    }

    /// `HEAD /v2/REPO/{blobs|manifests}/DIGEST`: 2xx is there, 404 is not.
    fn exists(&self, repository: &str, kind: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let what = format!("checking for {} {digest}", kind.trim_end_matches('s'));
        let accept: &[(&str, &str)] = if kind == "manifests" {
            &[("Accept", ACCEPT)]
        } else {
            &[]
        };
        let response = self.send(
            "HEAD",
            &format!("/v2/{repository}/{kind}/{digest}"),
            accept,
            Body::Empty,
            &[push_scope(repository)],
            &what,
        )?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(response, &what, &format!("{}/{repository}", self.registry))),
        }
    }

    /// Mounts a blob from `from` (same registry); `false` when the registry did not (any answer
    /// but 201: an upload session it opened instead is cancelled).
    pub(crate) fn mount(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let what = format!("mounting blob {digest} from {from}");
        // The destination's scope first: some registries read only the first.
        let scopes = [push_scope(repository), pull_scope(from)];
        let response = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/?mount={digest}&from={from}"),
            &[("Content-Length", "0")],
            Body::Empty,
            &scopes,
            &what,
        );
        let response = match response {
            Ok(r) => r,
            // A registry refusing the token for the mount source: upload instead.
            Err(RegistryError::Unauthorized { .. } | RegistryError::Denied { .. }) => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        match response.status().as_u16() {
            201 => Ok(true),
            202 => {
                if let Some(location) = location(&response) {
                    self.cancel(repository, &location);
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Cancels an upload session (best effort).
    pub(crate) fn cancel(&self, repository: &str, location: &str) {
        let _ = self.send(
            "DELETE",
            location,
            &[],
            Body::Empty,
            &[push_scope(repository)],
            "cancelling an upload",
        );
    }

    /// Opens an upload session; returns its `Location`.
    fn start_upload(&self, repository: &str, what: &str) -> Result<String, RegistryError> {
        let response = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            &[("Content-Length", "0")],
            Body::Empty,
            &[push_scope(repository)],
            what,
        )?;
        if response.status().as_u16() != 202 {
            return Err(self.failure(response, what, &format!("{}/{repository}", self.registry)));
        }
        location(&response).ok_or_else(|| self.protocol(what, "202 without a Location".into()))
    }

    /// Uploads a blob in one PUT, from bytes in memory (retried whole on failure); in chunks
    /// when the registry refuses it in one.
    pub(crate) fn upload_bytes(
        &self,
        repository: &str,
        blob: &Descriptor,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        if self.chunked.load(Ordering::Relaxed) {
            return self.upload_chunked(repository, blob, &mut &bytes[..]);
        }
        let what = format!("uploading blob {}", blob.digest);
        let location = self.start_upload(repository, &what)?;
        let url = with_digest(&location, &blob.digest);
        let response = self.call(Call {
            kind: Kind::Blob,
            method: "PUT",
            path: &url,
            headers: &[],
            body: Body::Bytes(bytes, "application/octet-stream"),
            scopes: &[push_scope(repository)],
            what: &what,
        });
        match self.finish_upload(repository, &location, response, blob, &what) {
            Err(RegistryError::RestartInChunks { .. }) => {
                self.upload_chunked(repository, blob, &mut &bytes[..])
            }
            other => {
                if other.is_ok() {
                    self.transfer
                        .uploaded
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    self.report(Action::Upload, blob.digest, blob.size, Some(blob.size));
                }
                other
            }
        }
    }

    /// Uploads a blob in PATCHes of at most [`CHUNK`] bytes, then the closing PUT.
    fn upload_chunked(
        &self,
        repository: &str,
        blob: &Descriptor,
        content: &mut dyn Read,
    ) -> Result<(), RegistryError> {
        let what = format!("uploading blob {} in chunks", blob.digest);
        let scopes = [push_scope(repository)];
        let mut location = self.start_upload(repository, &what)?;
        let mut buf = vec![0u8; CHUNK];
        let mut offset = 0u64;
        loop {
            let mut n = 0;
            while n < buf.len() {
                match content.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => {
                        self.cancel(repository, &location);
                        return Err(self.protocol(&what, format!("reading the blob: {e}")));
                    }
                }
            }
            if n == 0 {
                break;
            }
            let range = format!("{offset}-{}", offset + n as u64 - 1);
            let response = self.call(Call {
                kind: Kind::Blob,
                method: "PATCH",
                path: &location,
                headers: &[("Content-Range", &range)],
                body: Body::Bytes(&buf[..n], "application/octet-stream"),
                scopes: &scopes,
                what: &what,
            });
            let response = match response {
                Ok(r) if r.status().as_u16() == 202 => r,
                other => {
                    let err = match other {
                        Ok(r) => self.failure(r, &what, &format!("{}/{repository}", self.registry)),
                        Err(e) => e,
                    };
                    self.cancel(repository, &location);
                    return Err(err);
                }
            };
            if let Some(next) = self::location(&response) {
                location = next;
            }
            offset += n as u64;
            self.transfer
                .uploaded
                .fetch_add(n as u64, Ordering::Relaxed);
            self.report(Action::Upload, blob.digest, offset, Some(blob.size));
        }
        let response = self.send(
            "PUT",
            &with_digest(&location, &blob.digest),
            &[],
            Body::Bytes(&[], "application/octet-stream"),
            &scopes,
            &what,
        );
        self.finish_upload(repository, &location, response, blob, &what)
    }

    /// Uploads a blob in one PUT, streaming `content` (exactly `blob.size` bytes). Not
    /// retried here: the caller opens the content again.
    pub(crate) fn upload_stream(
        &self,
        repository: &str,
        blob: &Descriptor,
        content: &mut dyn Read,
    ) -> Result<(), RegistryError> {
        if self.chunked.load(Ordering::Relaxed) {
            return self.upload_chunked(repository, blob, content);
        }
        let what = format!("uploading blob {}", blob.digest);
        let location = self.start_upload(repository, &what)?;
        let url = self.url(&with_digest(&location, &blob.digest));
        let (agent, authorization, target) =
            match self.route(&url, &[push_scope(repository)], false, &what) {
                Ok(routed) => routed,
                Err(e) => {
                    self.cancel(repository, &location);
                    return Err(e);
                }
            };
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(&url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", blob.size.to_string());
        if let Some(a) = &authorization {
            builder = builder.header("Authorization", a);
        }
        let mut counting = Counting {
            inner: content,
            client: self,
            blob,
            done: 0,
            pace: Pace::new(&self.limits),
        };
        let request = builder
            .body(ureq::SendBody::from_reader(&mut counting))
            .map_err(|e| self.protocol(&what, e.to_string()))?;
        let request = configure(agent, request, Kind::Blob, &self.limits);
        self.transfer.requests.fetch_add(1, Ordering::Relaxed);
        let response = match agent.run(request) {
            Ok(r) if r.status().as_u16() == 401 && target != self.origin => {
                Err(RegistryError::CrossOrigin {
                    registry: self.registry.clone(),
                    what: what.clone(),
                    from: self.origin.to_string(),
                    to: target.to_string(),
                })
            }
            Ok(r) if is_redirect(r.status().as_u16()) => Err(RegistryError::Redirect {
                registry: self.registry.clone(),
                what: what.clone(),
                from: target.to_string(),
                to: self::location(&r)
                    .map(|l| shown_url(&l))
                    .unwrap_or_default(),
                why: "a streamed upload is not sent twice".into(),
            }),
            Ok(r) => Ok(r),
            Err(e) => Err(RegistryError::Connect {
                registry: self.registry.clone(),
                role: self.role,
                detail: format!("{what}: {}", transport_detail(&e)),
            }),
        };
        self.finish_upload(repository, &location, response, blob, &what)
    }

    fn finish_upload(
        &self,
        repository: &str,
        location: &str,
        response: Result<Response<ureq::Body>, RegistryError>,
        blob: &Descriptor,
        what: &str,
    ) -> Result<(), RegistryError> {
        match response {
            Ok(r) if r.status().as_u16() == 201 => Ok(()),
            Ok(r) if r.status().as_u16() == 413 => {
                self.chunked.store(true, Ordering::Relaxed);
                self.cancel(repository, location);
                Err(RegistryError::RestartInChunks {
                    registry: self.registry.clone(),
                    what: what.to_owned(),
                })
            }
            Ok(r) => {
                let err = self.failure(
                    r,
                    what,
                    &format!("{}/{repository}@{}", self.registry, blob.digest),
                );
                self.cancel(repository, location);
                Err(err)
            }
            Err(e) => {
                self.cancel(repository, location);
                Err(e)
            }
        }
    }

    /// Puts a manifest or index under `reference` (a digest or a tag), as exactly `bytes`.
    pub(crate) fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let what = format!("pushing manifest {reference}");
        let response = self.send(
            "PUT",
            &format!("/v2/{repository}/manifests/{reference}"),
            &[],
            Body::Bytes(bytes, media),
            &[push_scope(repository)],
            &what,
        )?;
        if !response.status().is_success() {
            return Err(self.failure(response, &what, &format!("{}/{repository}", self.registry)));
        }
        if let Some(sent) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && sent != Digest::of(bytes).to_string()
        {
            return Err(self.protocol(
                &what,
                format!(
                    "the registry stored it as {sent}, not {}",
                    Digest::of(bytes)
                ),
            ));
        }
        Ok(())
    }
}

/// The most tags a listing gathers, and the most pages it reads for them.
const MAX_TAGS: usize = 100_000;
const MAX_TAG_PAGES: usize = 1_000;

impl Client {
    /// Every tag of `repository` (`GET /v2/REPO/tags/list`, paged by `Link` as the
    /// distribution spec says), each page a document under the origin rule: at most
    /// [`MAX_TAGS`] tags over [`MAX_TAG_PAGES`] pages.
    pub(crate) fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let what = format!("listing the tags of {repository}");
        let scopes = [pull_scope(repository)];
        let mut url = self.url(&format!("/v2/{repository}/tags/list"));
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let mut response = self.send(
                "GET",
                &url,
                &[("Accept", "application/json")],
                Body::Empty,
                &scopes,
                &what,
            )?;
            if !response.status().is_success() {
                return Err(self.failure(
                    response,
                    &what,
                    &format!("{}/{repository}", self.registry),
                ));
            }
            let link = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| net::next_link(&url, v));
            let bytes = response
                .body_mut()
                .with_config()
                .limit(crate::limits::MAX_DOCUMENT)
                .read_to_vec()
                .map_err(|e| self.protocol(&what, transport_detail(&e)))?;
            let page: Page = serde_json::from_slice(&bytes).map_err(|e| {
                self.protocol(
                    &what,
                    format!("not a tag list (line {} column {})", e.line(), e.column()),
                )
            })?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                return Err(self.protocol(&what, format!("more than {MAX_TAGS} tags")));
            }
            match link {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
        Err(self.protocol(
            &what,
            format!("more than {MAX_TAG_PAGES} pages (the registry's Link never ends)"),
        ))
    }
}

/// Every tag of the repository `reference` names, read through `session` (source access).
pub fn list_tags(session: &Session, reference: &RegistryRef) -> Result<Vec<String>, RegistryError> {
    session
        .client(reference, Role::Source)?
        .tags(&reference.repository)
}

/// Entry points for the fuzz targets (`fuzz/`): the parsers of what a registry answers. Not a
/// stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// A `WWW-Authenticate` challenge: `Some(realm)` for Bearer, `Some("")` for Basic.
    pub fn challenge(header: &str) -> Option<String> {
        match super::parse_challenge(header)? {
            super::Challenge::Bearer { realm, .. } => Some(realm),
            super::Challenge::Basic => Some(String::new()),
            super::Challenge::None => None,
        }
    }

    /// A token server's answer: the token and its lifetime in seconds.
    pub fn token(body: &str) -> Option<(String, u64)> {
        super::parse_token(body).ok().map(|(t, d)| (t, d.as_secs()))
    }

    /// A `Location` resolved against the request's URL.
    pub fn location(base: &str, location: &str) -> Option<String> {
        super::net::resolve(base, location)
    }

    /// A `Link` header's next page.
    pub fn next_link(base: &str, header: &str) -> Option<String> {
        super::net::next_link(base, header)
    }

    /// A `Content-Range` header.
    pub fn content_range(header: &str) -> Option<(u64, u64)> {
        super::net::content_range(header)
    }

    /// A URL as messages show it.
    pub fn shown_url(url: &str) -> String {
        super::shown_url(url)
    }

    /// Whether `url` is an http(s) URL with a host, and its origin as text.
    pub fn origin(url: &str) -> Option<String> {
        super::Origin::of(url).map(|o| o.to_string())
    }
}

pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

pub(crate) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

fn backoff(attempt: u32) -> Duration {
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

fn location(response: &Response<ureq::Body>) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `location` with `digest=` added to its query.
fn with_digest(location: &str, digest: &Digest) -> String {
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
fn configure<S: ureq::AsSendBody>(
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
fn route_proxy(origin: &Origin) -> Option<ureq::Proxy> {
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

/// A token server's answer: the token and its lifetime.
pub(crate) fn parse_token(body: &str) -> Result<(String, Duration), String> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    let parsed: TokenResponse = serde_json::from_str(body).map_err(|e| {
        format!(
            "the token server's answer is not a token (JSON error at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let token = parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the token server's answer holds no token".to_owned())?;
    if token.len() > 64 * 1024 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token server's token is not a usable header value (too long, or not printable ASCII)".into());
    }
    let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(60).clamp(20, 24 * 3600));
    Ok((token, lifetime))
}

/// The `mediaType` a manifest names itself.
fn media_type_in(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Typed>(bytes)
        .ok()
        .and_then(|t| t.media_type)
        .filter(|m| {
            media_type::is_manifest(m) || media_type::is_index(m) || m.contains("manifest.v1")
        })
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

fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        one.chars().take(200).collect::<String>() + "…"
    } else {
        one
    }
}

/// An upload's body, counted and reported as it is sent.
struct Counting<'a> {
    inner: &'a mut dyn Read,
    client: &'a Client,
    blob: &'a Descriptor,
    done: u64,
    pace: Pace,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.pace.check(self.done)?;
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.client
            .transfer
            .uploaded
            .fetch_add(n as u64, Ordering::Relaxed);
        self.client.report(
            Action::Upload,
            self.blob.digest,
            self.done,
            Some(self.blob.size),
        );
        Ok(n)
    }
}

/// A blob download that resumes after a dropped connection.
pub(crate) struct BlobReader {
    client: Arc<Client>,
    path: String,
    scopes: Vec<String>,
    digest: Digest,
    size: Option<u64>,
    offset: u64,
    body: Option<ureq::BodyReader<'static>>,
    failures: u32,
    pace: Pace,
}

impl BlobReader {
    fn open(&mut self) -> std::io::Result<()> {
        let range = format!("bytes={}-", self.offset);
        let headers: Vec<(&str, &str)> = if self.offset > 0 {
            vec![("Range", range.as_str())]
        } else {
            Vec::new()
        };
        let what = format!("downloading blob {}", self.digest);
        let response = self
            .client
            .call(Call {
                kind: Kind::Blob,
                method: "GET",
                path: &self.path,
                headers: &headers,
                body: Body::Empty,
                scopes: &self.scopes,
                what: &what,
            })
            .map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let resumed = status == 206;
        if !(status == 200 || resumed) {
            let reference = format!("{}{}", self.client.registry, self.path);
            return Err(std::io::Error::other(
                self.client.failure(response, &what, &reference),
            ));
        }
        if self.size.is_none() && status == 200 {
            self.size = response.body().content_length();
        }
        if resumed {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(net::content_range);
            if range.is_none_or(|(start, _)| start != self.offset) {
                return Err(std::io::Error::other(format!(
                    "{what}: a resumed download answered 206 for another range than bytes={}-",
                    self.offset
                )));
            }
        }
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        if self.offset > 0 && !resumed {
            // The registry ignored the range: skip what was already read.
            let skipped =
                std::io::copy(&mut (&mut reader).take(self.offset), &mut std::io::sink())?;
            if skipped != self.offset {
                return Err(std::io::Error::other(
                    "the blob ended before where it was resumed",
                ));
            }
        }
        self.body = Some(reader);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.size.is_some_and(|s| self.offset >= s) {
                // Read one byte past the end only to notice a longer blob.
                if self.body.is_none() {
                    return Ok(0);
                }
            }
            if self.body.is_none() {
                self.open()?;
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            let read = body.read(buf);
            self.pace.check(self.offset)?;
            match read {
                Ok(0) => {
                    let short = self.size.is_some_and(|s| self.offset < s);
                    if short && self.failures < ATTEMPTS && self.client.retry() {
                        // A connection closed early: resume.
                        self.failures += 1;
                        self.body = None;
                        std::thread::sleep(backoff(self.failures));
                        continue;
                    }
                    return Ok(0);
                }
                Ok(n) => {
                    self.offset += n as u64;
                    self.client
                        .transfer
                        .downloaded
                        .fetch_add(n as u64, Ordering::Relaxed);
                    self.client
                        .report(Action::Download, self.digest, self.offset, self.size);
                    return Ok(n);
                }
                Err(e)
                    if e.kind() != std::io::ErrorKind::TimedOut
                        && self.failures < ATTEMPTS
                        && self.client.retry() =>
                {
                    self.failures += 1;
                    self.body = None;
                    std::thread::sleep(backoff(self.failures));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
