//! Why a key could not be used or a signature did not verify.

/// A key that cannot be read, or a signed document that does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A key file trustbake cannot use.
    #[error("{what}: {reason}")]
    Key {
        /// Which key (a path, or what it is for).
        what: String,
        /// Why.
        reason: String,
    },
    /// An encrypted key file whose password is wrong (the seal does not open).
    #[error(
        "{what}: the password does not open this encrypted key (set COSIGN_PASSWORD or give --sign-passphrase-file)"
    )]
    WrongPassword {
        /// Which key.
        what: String,
    },
    /// A signed document that is not what it says (bad JSON, bad base64, a wrong type).
    #[error("{what}: {reason}")]
    Malformed {
        /// Which document.
        what: String,
        /// Why.
        reason: String,
    },
    /// A signature that does not verify with the key.
    #[error("{what}: the signature does not verify with the key {key}")]
    BadSignature {
        /// Which document.
        what: String,
        /// The key's fingerprint (`sha256:` of its SubjectPublicKeyInfo).
        key: String,
    },
    /// The system's random source failed while signing.
    #[error("signing failed: the system's random source is unavailable")]
    Random,
}
