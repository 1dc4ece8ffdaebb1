//! Signatures for trustbake's images, in the formats admission controllers accept at their
//! defaults: cosign's key-based signature (the simple signing payload, ECDSA P-256 over its
//! exact bytes) and cosign's attestation (a DSSE envelope of an in-toto Statement v1, signed
//! over the DSSE pre-authentication encoding).
//!
//! Keys are ECDSA P-256, cosign's default: a PKCS#8 or SEC1 PEM (`openssl genpkey -algorithm
//! EC -pkeyopt ec_paramgen_curve:P-256`), or cosign's own encrypted key file
//! (`cosign generate-key-pair`: `ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt and NaCl secretbox).
//! There is no transparency log and no keyless flow here: both need a network service.
//!
//! This crate knows bytes only: which registry or layout the signatures go to is the image
//! crate's, what a trustbake attestation says is the facade's.

mod dsse;
mod encrypted;
mod error;
mod key;
mod payload;
mod pem;

pub use dsse::{Envelope, EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE, envelope, pae};
pub use error::SignError;
pub use key::{PublicKey, SigningKey};
pub use payload::{
    ATTESTATION_LAYER, PREDICATE_TYPE_ANNOTATION, SIGNATURE_ANNOTATION, SIMPLE_SIGNING,
    SimpleSigning, attached_tag,
};
