//! What bounds the client's traffic, and the one rule for where credentials go.
//!
//! - [`Origin`]: scheme, host and port of a URL. Credentials (Basic, Bearer, identity tokens,
//!   the client certificate chosen for the registry) go only to the registry's own origin, and
//!   to the token realm the registry announced over HTTPS; a request to any other origin (an
//!   upload `Location`, a redirect, a `Link` to the next page) is sent without them, and a 401
//!   from there ends the run with both origins named. HTTPS is never followed to plain HTTP.
//! - [`Limits`]: a total deadline for every document request (manifests, indexes, configs,
//!   tokens, the `/v2/` ping), a minimum transfer rate for blobs (curl's `--speed-limit` /
//!   `--speed-time`), and one budget of retries for the whole run.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The scheme, host and port of a URL: where a request goes, as browsers, curl and Go's
/// `net/http` compare them before sending credentials on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL; `None` for anything else.
    pub(crate) fn of(url: &str) -> Option<Origin> {
        let uri: ureq::http::Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = uri.authority()?;
        // Userinfo in a URL a server sent is never used (nor shown).
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host,
            port: authority.port_u16().unwrap_or(default),
        })
    }

    pub(crate) fn https(&self) -> bool {
        self.scheme == "https"
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// `location` (absolute, or relative to `base`) as an absolute URL. A `Location` may be a path
/// (`/v2/…`), a path with a query, or a full URL; `None` when it is none of these.
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Origin::of(location).map(|_| location.to_owned());
    }
    if let Some(i) = location.find("://")
        && !location[..i].contains(['/', '?', '#'])
    {
        // Another scheme: never followed.
        return None;
    }
    if location.starts_with("//") {
        // Scheme-relative: the scheme of the base.
        let scheme = base.split_once("://")?.0;
        let url = format!("{scheme}:{location}");
        return Origin::of(&url).map(|_| url);
    }
    let origin = Origin::of(base)?;
    let authority =
        if (origin.https() && origin.port == 443) || (!origin.https() && origin.port == 80) {
            bracket(&origin.host)
        } else {
            format!("{}:{}", bracket(&origin.host), origin.port)
        };
    if location.starts_with('/') {
        return Some(format!("{}://{authority}{location}", origin.scheme));
    }
    // Relative to the base's directory (rare: registries send absolute paths).
    let path = base
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let dir = &path[..=path.rfind('/').unwrap_or(0)];
    Some(format!("{}://{authority}{dir}{location}", origin.scheme))
}

/// The `rel="next"` target of a `Link` header (RFC 8288, as registries page tag lists:
/// `</v2/x/tags/list?n=100&last=t>; rel="next"`), resolved against `base`.
pub(crate) fn next_link(base: &str, header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params_end = after[close..].find(',').map_or(after.len(), |i| close + i);
        let params = &after[close + 1..params_end];
        let next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"'))
                .is_some_and(|v| v.split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
        });
        if next {
            return resolve(base, target);
        }
        rest = &after[params_end.min(after.len())..];
    }
    None
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`): START and END, when well formed
/// (START ≤ END, END < TOTAL).
pub(crate) fn content_range(header: &str) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    if start > end {
        return None;
    }
    match total.trim() {
        "*" => Some((start, end)),
        t => (end < t.parse::<u64>().ok()?).then_some((start, end)),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The bounds on a run's registry traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole of one document request (manifest, index, config, token, the `/v2/` ping),
    /// from connecting to the last byte.
    pub request_timeout: Duration,
    /// A blob transfer slower than this many bytes a second for [`Limits::speed_time`] ends.
    pub speed_limit: u64,
    /// The window over which [`Limits::speed_limit`] is measured; also the longest a blob
    /// transfer may wait for any byte.
    pub speed_time: Duration,
    /// Retries of the whole run (429, 408, 5xx, dropped connections, resumed downloads),
    /// counted together: a registry that fails for ever ends the run after this many.
    pub retries: u32,
    /// The longest one wait before a retry (a `Retry-After` is honoured up to this).
    pub max_retry_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            speed_limit: 1024,
            speed_time: Duration::from_secs(30),
            retries: 20,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

/// The retries a run has left, shared by every client of a session.
#[derive(Debug)]
pub(crate) struct Budget {
    left: AtomicU32,
    used: AtomicU32,
}

impl Budget {
    pub(crate) fn new(retries: u32) -> Self {
        Budget {
            left: AtomicU32::new(retries),
            used: AtomicU32::new(0),
        }
    }

    /// Takes one retry; `false` when none is left.
    pub(crate) fn take(&self) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if taken {
            self.used.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Retries used so far.
    pub(crate) fn used(&self) -> u32 {
        self.used.load(Ordering::Relaxed)
    }
}

/// Measures a blob transfer's rate over windows of [`Limits::speed_time`].
#[derive(Debug)]
pub(crate) struct Pace {
    limit: u64,
    window: Duration,
    start: Instant,
    at_start: u64,
}

impl Pace {
    pub(crate) fn new(limits: &Limits) -> Self {
        Pace {
            limit: limits.speed_limit,
            window: limits.speed_time,
            start: Instant::now(),
            at_start: 0,
        }
    }

    /// Called with the bytes moved so far: an error when a whole window went by below the
    /// limit.
    pub(crate) fn check(&mut self, total: u64) -> std::io::Result<()> {
        let elapsed = self.start.elapsed();
        if elapsed < self.window {
            return Ok(());
        }
        let moved = total.saturating_sub(self.at_start);
        let wanted = self.limit.saturating_mul(elapsed.as_secs().max(1));
        if self.limit > 0 && moved < wanted {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "slower than {} bytes/s for {} s ({moved} bytes in {} s; --speed-limit and --speed-time allow slower links)",
                    self.limit,
                    self.window.as_secs(),
                    elapsed.as_secs()
                ),
            ));
        }
        self.start = Instant::now();
        self.at_start = total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::of("https://Registry.example:443/v2/").unwrap();
        assert_eq!(a, Origin::of("https://registry.example/v2/x").unwrap());
        assert_ne!(a, Origin::of("http://registry.example/v2/").unwrap());
        assert_ne!(a, Origin::of("https://registry.example:5000/").unwrap());
        assert_ne!(a, Origin::of("https://other.example/").unwrap());
        assert_eq!(
            Origin::of("https://user:pw@registry.example/")
                .unwrap()
                .host,
            "registry.example"
        );
        assert_eq!(Origin::of("ftp://x/"), None);
        assert_eq!(Origin::of("/v2/"), None);
        assert_eq!(Origin::of("[::1]:5000"), None);
        assert_eq!(
            Origin::of("https://[::1]:5000/v2/").unwrap().to_string(),
            "https://[::1]:5000"
        );
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = "https://127.0.0.1:5000/v2/a/blobs/uploads/";
        assert_eq!(
            resolve(base, "/v2/a/blobs/uploads/u?x=1").unwrap(),
            "https://127.0.0.1:5000/v2/a/blobs/uploads/u?x=1"
        );
        assert_eq!(
            resolve(base, "https://other:1/p").unwrap(),
            "https://other:1/p"
        );
        assert_eq!(
            resolve(base, "//cdn.example/p").unwrap(),
            "https://cdn.example/p"
        );
        assert_eq!(
            resolve("https://h/v2/a/b", "c").unwrap(),
            "https://h/v2/a/c"
        );
        assert_eq!(resolve(base, ""), None);
        assert_eq!(resolve(base, "/a\r\nX: y"), None);
        assert_eq!(resolve(base, "gopher://x/"), None);
    }

    #[test]
    fn next_links_and_content_ranges_parse() {
        let base = "https://r:5000/v2/a/tags/list";
        assert_eq!(
            next_link(base, r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).unwrap(),
            "https://r:5000/v2/a/tags/list?n=2&last=b"
        );
        assert_eq!(
            next_link(
                base,
                r#"<https://x/p>; rel="prev", <https://y/q>; rel=next"#
            )
            .unwrap(),
            "https://y/q"
        );
        assert_eq!(next_link(base, r#"<https://x/p>; rel="prev""#), None);
        assert_eq!(next_link(base, "garbage <"), None);
        assert_eq!(content_range("bytes 10-19/20"), Some((10, 19)));
        assert_eq!(content_range("bytes 10-19/*"), Some((10, 19)));
        assert_eq!(content_range("bytes 10-19/19"), None);
        assert_eq!(content_range("bytes 19-10/30"), None);
        assert_eq!(content_range("items 1-2/3"), None);
    }

    #[test]
    fn the_budget_is_shared_and_ends() {
        let b = Budget::new(2);
        assert!(b.take());
        assert!(b.take());
        assert!(!b.take());
        assert_eq!(b.used(), 2);
    }

    #[test]
    fn a_slow_window_ends_the_transfer() {
        let limits = Limits {
            speed_limit: 1000,
            speed_time: Duration::from_millis(0),
            ..Limits::default()
        };
        let mut pace = Pace::new(&limits);
        assert!(pace.check(10).is_err());
        let mut pace = Pace::new(&limits);
        assert!(pace.check(5000).is_ok());
    }
}
