//! What went wrong talking to a registry, and which side of a copy it was on. Std only, so the
//! crate's own error can hold it.

/// Which side of a copy a registry is on (named in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Where the image is read from.
    Source,
    /// Where the image is written.
    Destination,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Source => "source",
            Role::Destination => "destination",
        })
    }
}

/// What went wrong talking to a registry. Never holds a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A setting (auth file, certificate directory, credential helper) that cannot be used.
    #[error("{registry}: {detail}")]
    Config {
        /// The registry.
        registry: String,
        /// What is wrong.
        detail: String,
    },
    /// The registry's certificate is not trusted, or its TLS failed.
    #[error("{registry} ({role}): TLS failed: {detail}")]
    Tls {
        /// The registry.
        registry: String,
        /// Source or destination.
        role: Role,
        /// The TLS error.
        detail: String,
    },
    /// The registry speaks plain HTTP and TLS verification was not turned off.
    #[error(
        "{registry} ({role}) does not speak HTTPS; refused (plain HTTP is used only where TLS verification is turned off for it)"
    )]
    PlainHttp {
        /// The registry.
        registry: String,
        /// Source or destination.
        role: Role,
    },
    /// Credentials would go over plain HTTP.
    #[error("{registry}: refused to send credentials over plain HTTP ({url})")]
    CredentialsOverHttp {
        /// The registry.
        registry: String,
        /// Where they would have gone (no query).
        url: String,
    },
    /// The registry cannot be reached.
    #[error("{registry} ({role}): cannot connect: {detail}")]
    Connect {
        /// The registry.
        registry: String,
        /// Source or destination.
        role: Role,
        /// The cause.
        detail: String,
    },
    /// The credentials were refused, or none were given where some are needed.
    #[error("{registry}: {what}: authentication failed ({detail})")]
    Unauthorized {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// What the registry said.
        detail: String,
    },
    /// The credentials do not allow what was asked (a push without push rights).
    #[error("{registry}: {what}: access denied ({detail})")]
    Denied {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// What the registry said.
        detail: String,
    },
    /// The manifest or tag is not there.
    #[error("{reference}: not found in the registry ({detail})")]
    NotFound {
        /// The reference.
        reference: String,
        /// What the registry said.
        detail: String,
    },
    /// Too many requests, still after waiting as told.
    #[error("{registry}: {what}: rate limited (429 Too Many Requests{limit}); try again later")]
    RateLimited {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// The `RateLimit-*` headers, when sent.
        limit: String,
    },
    /// The registry refused a blob in one PUT (413): the upload starts over, in chunks. The
    /// caller opens the content again.
    #[error("{registry}: {what}: refused in one request (413); to be sent again in chunks")]
    RestartInChunks {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
    },
    /// Another origin (a redirect, an upload `Location`) asked for credentials: they belong to
    /// the registry's origin only and were not sent.
    #[error(
        "{registry}: {what}: {to} asks for credentials, which belong to {from} only: not sent (the registry sent the request to another origin)"
    )]
    CrossOrigin {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// The registry's origin.
        from: String,
        /// The other origin.
        to: String,
    },
    /// A redirect or `Location` from HTTPS to plain HTTP, or one that cannot be followed.
    #[error("{registry}: {what}: refused to follow {from} to {to}: {why}")]
    Redirect {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// Where the request went.
        from: String,
        /// Where it was sent on to (no query).
        to: String,
        /// Why it is not followed.
        why: String,
    },
    /// Any other failure answer, after retries.
    #[error("{registry}: {what}: {detail}")]
    Protocol {
        /// The registry.
        registry: String,
        /// What was being done.
        what: String,
        /// The status and what the registry said.
        detail: String,
    },
}
