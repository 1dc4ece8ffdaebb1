//! Path validation: would a client holding these trust anchors accept this server chain, for
//! this host name, at this time?
//!
//! The path is built by `rustls-webpki` (RFC 5280 path building: signatures, validity,
//! basic constraints, path length, name constraints, extended key usage for server
//! authentication), then the host name is matched against the leaf's subject alternative names
//! (never the common name, as modern clients do). Where it fails, [`Failure`] says why in the
//! terms an operator acts on — which issuer is missing, which certificate expired — rather than
//! the path builder's own error. Two cases are decided the way OpenSSL and Go decide them, not
//! the way `webpki` would: a server certificate that is itself in the store is trusted (a
//! self-signed registry certificate added as a CA), and an expired trust anchor is refused.

use std::cell::Cell;
use std::fmt;

use rustls_pki_types::TrustAnchor;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use serde::Serialize;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::certificate::Certificate;
use crate::pem;

/// A server's chain: the leaf first, then what the server sends after it.
#[derive(Debug, Clone)]
pub struct Chain {
    certs: Vec<Certificate>,
}

/// Why a chain could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Not one certificate.
    #[error("no certificate found (a PEM file with the server certificate first is expected)")]
    Empty,
    /// A block that starts and never ends.
    #[error("PEM block {index} ({label}) starting at line {line} never ends")]
    Unterminated {
        /// Its type.
        label: String,
        /// 1-based block number.
        index: usize,
        /// 1-based line.
        line: usize,
    },
    /// A certificate that does not parse.
    #[error("certificate {index} (line {line}) does not parse: {reason}")]
    Unparsable {
        /// 1-based block number.
        index: usize,
        /// 1-based line (0 for DER input).
        line: usize,
        /// Why.
        reason: String,
    },
}

impl Chain {
    /// The chain made of `certs`, leaf first.
    pub fn new(certs: Vec<Certificate>) -> Result<Self, ChainError> {
        if certs.is_empty() {
            return Err(ChainError::Empty);
        }
        Ok(Chain { certs })
    }

    /// Reads a chain from PEM text (every `CERTIFICATE` block, in order; a private key or any
    /// other block beside them is not read, and said so in the second value) or from one DER
    /// certificate.
    pub fn from_pem(bytes: &[u8]) -> Result<(Self, Vec<String>), ChainError> {
        let blocks = pem::scan(bytes).map_err(|u| ChainError::Unterminated {
            label: u.label,
            index: u.index,
            line: u.line,
        })?;
        if blocks.is_empty() && bytes.first() == Some(&0x30) {
            let cert = Certificate::from_der(bytes).map_err(|e| ChainError::Unparsable {
                index: 1,
                line: 0,
                reason: e.to_string(),
            })?;
            return Ok((Chain::new(vec![cert])?, Vec::new()));
        }
        let mut certs = Vec::new();
        let mut notes = Vec::new();
        for block in blocks {
            if block.label != "CERTIFICATE" {
                notes.push(format!(
                    "block {} ({}) at line {} is not a certificate: not read",
                    block.index, block.label, block.line
                ));
                continue;
            }
            let der = block.decode().map_err(|reason| ChainError::Unparsable {
                index: block.index,
                line: block.line,
                reason,
            })?;
            certs.push(
                Certificate::from_der(&der).map_err(|e| ChainError::Unparsable {
                    index: block.index,
                    line: block.line,
                    reason: e.to_string(),
                })?,
            );
        }
        Ok((Chain::new(certs)?, notes))
    }

    /// The server's own certificate.
    pub fn leaf(&self) -> &Certificate {
        &self.certs[0]
    }

    /// Every certificate, leaf first.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certs
    }
}

/// What a path must satisfy besides chaining to an anchor.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The name the client connects to (DNS name or IP address); `None` skips the name check.
    pub hostname: Option<&'a str>,
    /// The time of validation, Unix seconds.
    pub at: i64,
    /// Whether a certificate of the store that is not a self-signed root may end the path
    /// (Go, Java, Node, Python 3.13+); OpenSSL's default needs the root itself.
    pub partial_chain: bool,
    /// Whether the extended key usage must allow server authentication (a TLS client's
    /// check); `false` checks the path alone.
    pub server_auth: bool,
}

/// Accepts any extended key usage: the path alone is checked.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// Whether `signature` over `message` verifies with the public key of `cert` under `algorithm`
/// (the proof that a private key belongs to a certificate).
pub fn signature_verifies(
    cert: &Certificate,
    algorithm: &dyn rustls_pki_types::SignatureVerificationAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let der = CertificateDer::from(cert.der());
    EndEntityCert::try_from(&der)
        .and_then(|ee| ee.verify_signature(algorithm, message, signature))
        .is_ok()
}

/// The outcome of one validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A path was found.
    Trusted {
        /// Index into the anchors of the one the path ends at.
        anchor: usize,
        /// Indices into the chain of the intermediates on the path, leaf side first.
        intermediates: Vec<usize>,
    },
    /// No acceptable path.
    Untrusted(Failure),
}

impl Verdict {
    /// Whether a path was found.
    pub fn is_trusted(&self) -> bool {
        matches!(self, Verdict::Trusted { .. })
    }
}

/// Why a chain is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Failure {
    /// The chain ends at a root certificate the store does not hold.
    UnknownRoot {
        /// The root's subject.
        root: String,
    },
    /// A certificate's issuer was neither sent nor is in the store: a missing intermediate, or
    /// a CA the store does not trust.
    MissingIssuer {
        /// The subject of the certificate that is missing.
        issuer: String,
        /// The subject of the certificate it would have signed.
        of: String,
    },
    /// The store holds a CA of that name, but a different one (another key).
    WrongIssuerKey {
        /// The issuer's name.
        issuer: String,
    },
    /// A certificate on the path is past its validity.
    Expired {
        /// Its subject.
        subject: String,
        /// Its notAfter, Unix seconds.
        not_after: i64,
    },
    /// A certificate on the path is not valid yet.
    NotYetValid {
        /// Its subject.
        subject: String,
        /// Its notBefore, Unix seconds.
        not_before: i64,
    },
    /// The host name is not among the leaf's subject alternative names.
    NameMismatch {
        /// The name checked.
        hostname: String,
        /// The DNS names and IP addresses the leaf is valid for.
        names: Vec<String>,
    },
    /// The extended key usage of a certificate on the path excludes server authentication.
    NotForServerAuth {
        /// The leaf's subject.
        subject: String,
    },
    /// A signature uses an algorithm clients refuse (SHA-1, MD5, RSA keys under 2048 bits) or
    /// do not know.
    WeakSignature {
        /// The subject of the certificate with that signature.
        subject: String,
        /// The algorithm.
        algorithm: String,
    },
    /// The store holds an intermediate of the path but not its root, and this client needs
    /// the root (OpenSSL without `X509_V_FLAG_PARTIAL_CHAIN`).
    PartialChain {
        /// The intermediate the store holds.
        anchor: String,
        /// Its issuer, the root that is missing.
        root: String,
    },
    /// Anything else the path builder refused (basic constraints, path length, name
    /// constraints, malformed extensions).
    Invalid {
        /// The path builder's reason.
        detail: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::UnknownRoot { root } => {
                write!(f, "unknown issuer: the root '{root}' is not in this store")
            }
            Failure::MissingIssuer { issuer, of } => write!(
                f,
                "unknown issuer: '{issuer}' (issuer of '{of}') was not sent and is not in this store — a missing intermediate, or a CA this store does not trust"
            ),
            Failure::WrongIssuerKey { issuer } => write!(
                f,
                "unknown issuer: this store holds a CA named '{issuer}', but not the one that signed (another key)"
            ),
            Failure::Expired { subject, not_after } => {
                write!(f, "expired: '{subject}' on {}", date(*not_after))
            }
            Failure::NotYetValid {
                subject,
                not_before,
            } => write!(f, "not yet valid: '{subject}' from {}", date(*not_before)),
            Failure::NameMismatch { hostname, names } if names.is_empty() => write!(
                f,
                "name mismatch: '{hostname}' — the certificate has no subject alternative name (a common name alone is not enough)"
            ),
            Failure::NameMismatch { hostname, names } => write!(
                f,
                "name mismatch: '{hostname}' is not one of {}",
                names.join(", ")
            ),
            Failure::NotForServerAuth { subject } => write!(
                f,
                "not for server authentication: the extended key usage of '{subject}' excludes serverAuth"
            ),
            Failure::WeakSignature { subject, algorithm } => write!(
                f,
                "weak or unsupported signature: '{subject}' is signed with {algorithm}"
            ),
            Failure::PartialChain { anchor, root } => write!(
                f,
                "partial chain: this store holds '{anchor}' but not its root '{root}', and this client needs the root"
            ),
            Failure::Invalid { detail } => write!(f, "invalid path: {detail}"),
        }
    }
}

/// An RFC 3339 date for messages.
fn date(unix: i64) -> String {
    crate::time::format_timestamp(unix)
}

/// Validates `chain` against `anchors` (a store's certificates) as a TLS client would.
pub fn verify(chain: &Chain, anchors: &[Certificate], check: &Check<'_>) -> Verdict {
    let leaf = chain.leaf();
    if let Some(verdict) = direct(leaf, anchors, check) {
        return verdict;
    }
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|a| CertificateDer::from(a.der()))
        .collect();
    let (trust, index, intermediates) = trust_set(chain, anchors, &anchor_ders, check);
    let leaf_der = CertificateDer::from(leaf.der());
    let end_entity = match EndEntityCert::try_from(&leaf_der) {
        Ok(ee) => ee,
        Err(err) => {
            return Verdict::Untrusted(Failure::Invalid {
                detail: format!("the server certificate: {err}"),
            });
        }
    };
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(check.at).unwrap_or(0),
    ));
    // An expired anchor: OpenSSL and Go check the root's validity too; webpki does not.
    let expired_anchor: Cell<Option<usize>> = Cell::new(None);
    let anchor_of = |path: &webpki::VerifiedPath<'_>| {
        trust
            .iter()
            .position(|t| std::ptr::eq(t, path.anchor()))
            .map(|p| index[p])
    };
    let reject_expired_anchor = |path: &webpki::VerifiedPath<'_>| {
        if let Some(i) = anchor_of(path) {
            if !anchors[i].is_valid_at(check.at) {
                expired_anchor.set(Some(i));
                return Err(webpki::Error::CertExpired {
                    time: at,
                    not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                        u64::try_from(anchors[i].not_after()).unwrap_or(0),
                    )),
                });
            }
        }
        Ok(())
    };
    let result = path_for(
        &end_entity,
        &trust,
        &intermediates,
        at,
        check.server_auth,
        &reject_expired_anchor,
    );
    match result {
        Ok(path) => {
            let anchor = anchor_of(&path).unwrap_or(0);
            let used: Vec<usize> = path
                .intermediate_certificates()
                .filter_map(|cert| {
                    chain.certs[1..]
                        .iter()
                        .position(|c| c.der() == cert.der().as_ref())
                        .map(|p| p + 1)
                })
                .collect();
            if let Some(h) = check.hostname {
                if let Some(failure) = name_failure(leaf, h) {
                    return Verdict::Untrusted(failure);
                }
            }
            Verdict::Trusted {
                anchor,
                intermediates: used,
            }
        }
        Err(webpki::Error::UnknownIssuer) if !check.partial_chain => {
            // Would a client that accepts partial chains trust it? Then the root is missing.
            let lenient = Check {
                partial_chain: true,
                ..*check
            };
            match verify(chain, anchors, &lenient) {
                Verdict::Trusted { anchor, .. } if !anchors[anchor].is_self_issued() => {
                    Verdict::Untrusted(Failure::PartialChain {
                        anchor: anchors[anchor].subject().to_owned(),
                        root: anchors[anchor].issuer().to_owned(),
                    })
                }
                _ => Verdict::Untrusted(unknown_issuer(chain, anchors)),
            }
        }
        Err(err) => Verdict::Untrusted(explain(&err, chain, anchors, check, expired_anchor.get())),
    }
}

/// The server's certificate itself in the store: OpenSSL, Go and Java trust it directly (when
/// self-issued, or with partial chains), checked for validity, usage and name.
fn direct(leaf: &Certificate, anchors: &[Certificate], check: &Check<'_>) -> Option<Verdict> {
    let direct = anchors
        .iter()
        .position(|a| a.der() == leaf.der())
        .filter(|_| check.partial_chain || leaf.is_self_issued());
    if let Some(anchor) = direct {
        if let Some(failure) = validity(leaf, check.at)
            .or_else(|| {
                check
                    .server_auth
                    .then(|| server_auth_failure(leaf))
                    .flatten()
            })
            .or_else(|| check.hostname.and_then(|h| name_failure(leaf, h)))
        {
            return Some(Verdict::Untrusted(failure));
        }
        return Some(Verdict::Trusted {
            anchor,
            intermediates: Vec::new(),
        });
    }
    None
}

/// The trust anchors webpki is given (with each one's index in `anchors`) and the
/// intermediates: the chain's own after the leaf, and — without partial chains — the store's
/// certificates that are not roots.
fn trust_set<'a>(
    chain: &'a Chain,
    anchors: &[Certificate],
    anchor_ders: &'a [CertificateDer<'a>],
    check: &Check<'_>,
) -> (Vec<TrustAnchor<'a>>, Vec<usize>, Vec<CertificateDer<'a>>) {
    // Anchors webpki cannot parse are left out (and indexed as such). Without partial chains
    // (OpenSSL's default) only roots end a path; the store's other certificates still serve
    // as links towards them, as OpenSSL looks issuers up in its store.
    let mut index = Vec::new();
    let mut trust: Vec<TrustAnchor<'_>> = Vec::new();
    let mut intermediates: Vec<CertificateDer<'_>> = chain.certs[1..]
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    for (i, der) in anchor_ders.iter().enumerate() {
        if !check.partial_chain && !anchors[i].is_self_issued() {
            intermediates.push(der.clone());
            continue;
        }
        if let Ok(anchor) = webpki::anchor_from_trusted_cert(der) {
            trust.push(anchor);
            index.push(i);
        }
    }
    (trust, index, intermediates)
}

/// The path webpki builds from the leaf to an anchor, for server authentication or any usage.
fn path_for<'p>(
    end_entity: &'p EndEntityCert<'p>,
    trust: &'p [TrustAnchor<'p>],
    intermediates: &'p [CertificateDer<'p>],
    at: UnixTime,
    server_auth: bool,
    verify_path: &dyn Fn(&webpki::VerifiedPath<'_>) -> Result<(), webpki::Error>,
) -> Result<webpki::VerifiedPath<'p>, webpki::Error> {
    if server_auth {
        end_entity.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            trust,
            intermediates,
            at,
            KeyUsage::server_auth(),
            None,
            Some(verify_path),
        )
    } else {
        end_entity.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            trust,
            intermediates,
            at,
            AnyUsage,
            None,
            Some(verify_path),
        )
    }
}

/// The path builder's error in the operator's terms.
fn explain(
    err: &webpki::Error,
    chain: &Chain,
    anchors: &[Certificate],
    check: &Check<'_>,
    expired_anchor: Option<usize>,
) -> Failure {
    use webpki::Error as E;
    match err {
        E::CertExpired { .. } | E::CertNotValidYet { .. } => {
            let on_path = chain
                .certs
                .iter()
                .chain(expired_anchor.map(|i| &anchors[i]))
                .find_map(|c| validity(c, check.at));
            on_path.unwrap_or_else(|| Failure::Invalid {
                detail: format!("{err:?}"),
            })
        }
        E::UnknownIssuer => unknown_issuer(chain, anchors),
        E::InvalidSignatureForPublicKey => {
            let top = top_of(chain);
            Failure::WrongIssuerKey {
                issuer: top.issuer().to_owned(),
            }
        }
        #[allow(deprecated)]
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => Failure::NotForServerAuth {
            subject: chain.leaf().subject().to_owned(),
        },
        #[allow(deprecated)]
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            let weak = chain
                .certs
                .iter()
                .find(|c| c.weak_digest().is_some())
                .or_else(|| chain.certs.iter().find(|c| !modern(c.signature_algorithm())))
                .unwrap_or(chain.leaf());
            let algorithm = if modern(weak.signature_algorithm()) {
                format!("{} with a {} key", weak.signature_algorithm(), weak.key())
            } else {
                weak.signature_algorithm().to_owned()
            };
            Failure::WeakSignature {
                subject: weak.subject().to_owned(),
                algorithm,
            }
        }
        E::CaUsedAsEndEntity => Failure::Invalid {
            detail: "the server certificate is a CA certificate (basicConstraints cA=TRUE) that is not itself in this store".to_owned(),
        },
        E::EndEntityUsedAsCa => Failure::Invalid {
            detail: "a certificate the server sent as an intermediate is not a CA (basicConstraints)".to_owned(),
        },
        other => Failure::Invalid {
            detail: format!("{other}"),
        },
    }
}

/// Signature algorithms clients accept.
fn modern(algorithm: &str) -> bool {
    matches!(
        algorithm,
        "sha256WithRSAEncryption"
            | "sha384WithRSAEncryption"
            | "sha512WithRSAEncryption"
            | "rsassaPss"
            | "ecdsa-with-SHA256"
            | "ecdsa-with-SHA384"
            | "ED25519"
    )
}

/// The last certificate reached from the leaf by following issuer names through the chain.
fn top_of(chain: &Chain) -> &Certificate {
    let mut top = chain.leaf();
    let mut seen = 1;
    while seen < chain.certs.len() && !top.is_self_issued() {
        match chain
            .certs
            .iter()
            .find(|c| c.subject() == top.issuer() && c.der() != top.der())
        {
            Some(next) => {
                top = next;
                seen += 1;
            }
            None => break,
        }
    }
    top
}

fn unknown_issuer(chain: &Chain, anchors: &[Certificate]) -> Failure {
    let top = top_of(chain);
    if top.is_self_issued() {
        if anchors.iter().any(|a| a.subject() == top.subject()) {
            return Failure::WrongIssuerKey {
                issuer: top.subject().to_owned(),
            };
        }
        return Failure::UnknownRoot {
            root: top.subject().to_owned(),
        };
    }
    if anchors.iter().any(|a| a.subject() == top.issuer()) {
        return Failure::WrongIssuerKey {
            issuer: top.issuer().to_owned(),
        };
    }
    Failure::MissingIssuer {
        issuer: top.issuer().to_owned(),
        of: top.subject().to_owned(),
    }
}

fn validity(cert: &Certificate, at: i64) -> Option<Failure> {
    if at < cert.not_before() {
        Some(Failure::NotYetValid {
            subject: cert.subject().to_owned(),
            not_before: cert.not_before(),
        })
    } else if at > cert.not_after() {
        Some(Failure::Expired {
            subject: cert.subject().to_owned(),
            not_after: cert.not_after(),
        })
    } else {
        None
    }
}

/// Why the extended key usage of `cert`, when present, does not allow server authentication.
pub fn server_auth_failure(cert: &Certificate) -> Option<Failure> {
    let (_, x509) = X509Certificate::from_der(cert.der()).ok()?;
    let eku = x509.extended_key_usage().ok()??;
    (!(eku.value.server_auth || eku.value.any)).then(|| Failure::NotForServerAuth {
        subject: cert.subject().to_owned(),
    })
}

/// The DNS names and IP addresses of a certificate's subject alternative names.
pub fn subject_alt_names(cert: &Certificate) -> Vec<String> {
    let Ok((_, x509)) = X509Certificate::from_der(cert.der()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(
                    std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                ),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Why `cert` is not valid for `hostname` by its subject alternative names, if it is not.
pub fn name_failure(cert: &Certificate, hostname: &str) -> Option<Failure> {
    let mismatch = || Failure::NameMismatch {
        hostname: hostname.to_owned(),
        names: subject_alt_names(cert),
    };
    let Ok(server) = ServerName::try_from(hostname) else {
        return Some(mismatch());
    };
    let der = CertificateDer::from(cert.der());
    let Ok(ee) = EndEntityCert::try_from(&der) else {
        return Some(mismatch());
    };
    ee.verify_is_valid_for_subject_name(&server)
        .err()
        .map(|_| mismatch())
}
