//! The proxy for a registry, chosen from the environment as skopeo (Go's `net/http`) chooses
//! it: `HTTPS_PROXY` for `https://` registries and `HTTP_PROXY` for `http://` ones only (then
//! `ALL_PROXY`), lower-case names too; never for a host `NO_PROXY` names, nor for loopback.

/// The proxy URL for a request to `scheme://host:port`, if any.
pub(crate) fn for_target(scheme: &str, host: &str, port: u16) -> Option<String> {
    proxy_for(scheme, host, port, &|k| std::env::var(k).ok())
}

fn proxy_for(
    scheme: &str,
    host: &str,
    port: u16,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let get = |upper: &str| {
        env(upper)
            .or_else(|| env(&upper.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let value = match scheme {
        "https" => get("HTTPS_PROXY"),
        _ => get("HTTP_PROXY"),
    }
    .or_else(|| get("ALL_PROXY"))?;
    if loopback(host) || get("NO_PROXY").is_some_and(|list| bypassed(&list, host, port)) {
        return None;
    }
    Some(value.trim().to_owned())
}

fn loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `NO_PROXY` (`*`, or names, `.suffixes`, addresses, each with an optional port)
/// covers `host:port`, as Go's `httpproxy` reads it: `example.com` covers it and its
/// subdomains, `.example.com` the subdomains only.
fn bypassed(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => {
                    (n.to_owned(), p.parse().ok())
                }
                _ => (entry.clone(), None),
            };
            if entry_port.is_some_and(|p: u16| p != port) {
                return false;
            }
            let name = name.trim_start_matches('[').trim_end_matches(']');
            if let Some(suffix) = name.strip_prefix('.') {
                host.ends_with(&format!(".{suffix}"))
            } else if let Some(suffix) = name.strip_prefix("*.") {
                host.ends_with(&format!(".{suffix}"))
            } else {
                host == name || host.ends_with(&format!(".{name}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn http_proxy_is_for_http_only_and_no_proxy_is_honoured() {
        let env = with(&[("HTTP_PROXY", "http://p:3128")]);
        assert_eq!(proxy_for("https", "registry.corp", 443, &env), None);
        assert_eq!(
            proxy_for("http", "registry.corp", 80, &env).as_deref(),
            Some("http://p:3128")
        );
        let env = with(&[
            ("https_proxy", "http://p:3128"),
            ("NO_PROXY", "internal.corp,.svc, harbor.corp:8443"),
        ]);
        assert_eq!(
            proxy_for("https", "docker.io", 443, &env).as_deref(),
            Some("http://p:3128")
        );
        assert_eq!(proxy_for("https", "internal.corp", 443, &env), None);
        assert_eq!(proxy_for("https", "r.internal.corp", 443, &env), None);
        assert_eq!(proxy_for("https", "a.svc", 443, &env), None);
        assert!(proxy_for("https", "svc", 443, &env).is_some());
        assert_eq!(proxy_for("https", "harbor.corp", 8443, &env), None);
        assert!(proxy_for("https", "harbor.corp", 443, &env).is_some());
        assert_eq!(proxy_for("https", "127.0.0.1", 5000, &env), None);
        assert_eq!(proxy_for("https", "[::1]", 5000, &env), None);
        let env = with(&[("ALL_PROXY", "socks5://p:1080"), ("no_proxy", "*")]);
        assert_eq!(proxy_for("https", "docker.io", 443, &env), None);
    }
}
