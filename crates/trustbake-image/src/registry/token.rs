//! The token flow: which credentials go with a request, a Bearer token fetched from the
//! realm for the scopes it needs, cached until it expires.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ureq::http::Response;

use super::RegistryError;
use super::auth::Challenge;
use super::client::{
    ATTEMPTS, Client, backoff, retryable, route_proxy, short, shown_url, transport_detail,
};
use super::net::Origin;

impl Client {
    /// The `Authorization` header for `scopes` at the registry's own origin, fetching a token
    /// when needed.
    pub(super) fn authorization(
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
}

pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

pub(crate) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
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
