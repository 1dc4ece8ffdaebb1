//! The registry transport (`docker://`): a small, synchronous client of the OCI distribution
//! protocol — manifests by HEAD then GET, blobs by GET (resumed with `Range` after a dropped
//! connection), blob HEAD, cross-repository mount, monolithic upload, manifest PUT — with Bearer
//! tokens for the scopes each step needs, Basic and anonymous access, the host's trust store
//! plus certificate directories, and bounded retries of 429, 5xx and dropped connections.

mod access;
mod auth;
mod blob;
mod client;
mod endpoints;

mod net;
mod proxy;
mod session;
mod settings;
mod tls;
mod token;
mod transfer;

pub use crate::registry_error::{RegistryError, Role};
pub use access::Access;
use auth::{Challenge, parse_challenge};
pub use auth::{CredentialSource, Credentials};
pub use net::Limits;
use net::Origin;

pub(crate) use client::{Client, shown_url};
pub use endpoints::{list_tags, read_manifest};
pub use session::Session;
pub(crate) use token::parse_token;
pub use transfer::{Action, Progress, ProgressFn, Transfer};

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
