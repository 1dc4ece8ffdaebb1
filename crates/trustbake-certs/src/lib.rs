//! Certificate intake for trustbake.
//!
//! This crate turns the operator's CA input (PEM bundles with commentary, DER files,
//! `TRUSTED CERTIFICATE` blocks) into validated [`Certificate`]s, strictly: a private key, any
//! other kind of block, broken base64 or DER, an empty input, a certificate that is not an
//! authority by p11-kit's rule or that is outside its validity window — each is refused with a
//! message that names the input, the block and what to do ([`Refusal`]). Nothing is partial: one
//! refusal and [`intake`] returns no certificate at all.
//!
//! For each certificate it computes what the trust stores need: SHA-256/SHA-1/MD5 fingerprints,
//! the subject and issuer rendered as certifi renders them, p11-kit's label, the decimal serial,
//! the validity window, whether p11-kit treats it as an authority, the key and the signature
//! algorithm; and it renders the PEM text and certifi's `cacert.pem` entry.
//!
//! The crate does no I/O: inputs arrive as bytes in [`Source`]s (reading files is the caller's
//! edge), and the time used for validity checks is part of the [`Policy`].
//!
//! ```
//! use trustbake_certs::{intake, Policy, Source};
//!
//! let pem = std::fs::read("../../tests/fixtures/cas/root-rsa.pem").unwrap();
//! let cas = intake(&[Source::new("root-rsa.pem", pem)], &Policy::at(1_800_000_000)).unwrap();
//! let ca = &cas.cas()[0].certificate;
//! assert_eq!(ca.label(), "Trustbake Test Root RSA");
//! assert!(ca.is_authority());
//! ```

mod bundle;
mod canonical;
mod certificate;
pub mod der;
mod fingerprint;
mod hash;
mod intake;
mod name;
mod pem;
mod time;
mod verify;

pub use bundle::{
    BundleContents, BundleEntry, read_bundle, read_bundle_entries, read_pem_certificates,
};
pub use certificate::{Certificate, KeyAlgorithm, ParseError, PublicKeyInfo, WeakDigest};
pub use fingerprint::{Md5Fingerprint, Sha1Fingerprint, Sha256Fingerprint};
pub use hash::{subject_hash, subject_hash_old, subject_hash_p11_kit};
pub use intake::{Ca, Intake, IntakeError, Origin, Policy, Refusal, Source, intake};
pub use name::python_unicode_escape;
pub use pem::render_pem;
pub use time::{format_timestamp, parse_timestamp};
pub use verify::{
    Chain, ChainError, Check, Failure, Verdict, name_failure, server_auth_failure,
    signature_verifies, subject_alt_names, verify,
};
