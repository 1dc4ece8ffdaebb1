//! How one side's registry is reached: credentials, certificates, TLS verification, limits.

use std::path::PathBuf;

use super::auth::CredentialSource;
use super::net::Limits;

/// How to reach one side's registry: credentials and TLS, as skopeo's `--src-*`/`--dest-*`
/// options set them.
#[derive(Debug, Clone)]
pub struct Access {
    /// Where credentials come from.
    pub credentials: CredentialSource,
    /// A directory of `*.crt` roots and `*.cert`/`*.key` client certificates; `None`: the
    /// system's `certs.d` directories for the registry.
    pub cert_dir: Option<PathBuf>,
    /// Verify the registry's certificate and require HTTPS (`false` also allows plain HTTP).
    pub tls_verify: bool,
    /// Extra trusted roots, DER (the CAs being baked, when asked).
    pub extra_roots: Vec<Vec<u8>>,
    /// Deadlines, the minimum blob rate and the retry budget. A session's retry budget is the
    /// source side's `retries` (one budget for the whole run).
    pub limits: Limits,
}

impl Access {
    /// This access with `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

impl Default for Access {
    fn default() -> Self {
        Access {
            credentials: CredentialSource::Lookup,
            cert_dir: None,
            tls_verify: true,
            extra_roots: Vec::new(),
            limits: Limits::default(),
        }
    }
}
