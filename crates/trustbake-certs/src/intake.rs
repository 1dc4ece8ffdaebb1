//! Strict intake of CA input: every block of every source is accounted for, and one refusal
//! anywhere means no certificate at all.

use std::fmt;

use crate::certificate::Certificate;
use crate::pem::{self, Block};
use crate::time::format_timestamp;

/// One input: a display name (the path, or `<stdin>`) and its bytes.
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name this input.
    pub name: String,
    /// The whole content.
    pub bytes: Vec<u8>,
}

impl Source {
    /// A source named `name` holding `bytes`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Source {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// What intake accepts beyond the strict default.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Accept certificates p11-kit would not treat as authorities.
    pub allow_non_ca: bool,
    /// Accept certificates outside their validity window.
    pub allow_expired: bool,
    /// The time validity is checked against, Unix seconds.
    pub now: i64,
}

impl Policy {
    /// The strict policy, checking validity at `now` (Unix seconds).
    pub fn at(now: i64) -> Self {
        Policy {
            allow_non_ca: false,
            allow_expired: false,
            now,
        }
    }
}

/// Where a certificate came from: the source and, for PEM, the block and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source's name.
    pub source: String,
    /// 1-based block number within a PEM source.
    pub block: Option<usize>,
    /// 1-based line of the block's BEGIN marker.
    pub line: Option<usize>,
}

impl Origin {
    fn whole(source: &Source) -> Self {
        Origin {
            source: source.name.clone(),
            block: None,
            line: None,
        }
    }

    fn block(source: &Source, block: &Block<'_>) -> Self {
        Origin {
            source: source.name.clone(),
            block: Some(block.index),
            line: Some(block.line),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        match (self.block, self.line) {
            (Some(block), Some(line)) => write!(f, " (block {block}, line {line})"),
            (Some(block), None) => write!(f, " (block {block})"),
            _ => Ok(()),
        }
    }
}

/// An accepted CA and every place it was found.
#[derive(Debug, Clone)]
pub struct Ca {
    /// The certificate.
    pub certificate: Certificate,
    /// Every origin it was read from (more than one when duplicates were merged).
    pub origins: Vec<Origin>,
}

/// The accepted CAs, in first-seen order, with notes and warnings for the operator.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    cas: Vec<Ca>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

impl Intake {
    /// The accepted CAs, duplicates merged, in the order first seen.
    pub fn cas(&self) -> &[Ca] {
        &self.cas
    }

    /// Facts worth telling (merged duplicates, trust settings not carried).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Accepted but doubtful: weak keys or signatures, and what an `--allow-…` let through.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Why an input was refused. Each message names the input and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No input at all.
    #[error("no CA certificate given; pass at least one file, directory, or - for stdin")]
    NoInput,
    /// A file or stdin could not be read.
    #[error("{input}: cannot be read: {reason}")]
    Unreadable {
        /// The input's name.
        input: String,
        /// The operating system's reason.
        reason: String,
    },
    /// An input larger than any CA input needs to be.
    #[error(
        "{input}: more than {limit} bytes; a CA input is a few kilobytes per certificate: pass the CA certificates only"
    )]
    TooLarge {
        /// The input's name.
        input: String,
        /// The limit, bytes.
        limit: u64,
    },
    /// A directory without any certificate file.
    #[error("{input}: the directory holds no *.pem, *.crt, *.cer or *.der file")]
    EmptyDirectory {
        /// The directory.
        input: String,
    },
    /// An empty input.
    #[error("{input}: is empty; pass a PEM or DER CA certificate")]
    Empty {
        /// The input's name.
        input: String,
    },
    /// Text without any PEM block, and not DER either.
    #[error(
        "{input}: holds no certificate (no PEM block, and not DER); pass a PEM or DER CA certificate"
    )]
    NoCertificate {
        /// The input's name.
        input: String,
    },
    /// A private key block.
    #[error(
        "{origin}: is a private key ({kind}); never bake a private key into an image: remove the key and pass only the CA certificate"
    )]
    PrivateKey {
        /// Where.
        origin: Origin,
        /// The block type, e.g. `RSA PRIVATE KEY`.
        kind: String,
    },
    /// A PEM block of another type (CRL, request, public key, …).
    #[error("{origin}: a '{kind}' block is not a certificate; pass only CERTIFICATE blocks")]
    NotACertificate {
        /// Where.
        origin: Origin,
        /// The block type.
        kind: String,
    },
    /// Broken PEM: bad base64, an empty or unterminated block.
    #[error(
        "{origin}: {detail}; the PEM text is damaged (truncated or edited?): export the certificate again"
    )]
    BadPem {
        /// Where.
        origin: Origin,
        /// What is wrong.
        detail: String,
    },
    /// Bytes that do not parse as an X.509 certificate.
    #[error(
        "{origin}: not a valid X.509 certificate ({detail}); export the certificate again as PEM or DER"
    )]
    BadDer {
        /// Where.
        origin: Origin,
        /// The parser's complaint.
        detail: String,
    },
    /// A certificate p11-kit would not treat as an authority.
    #[error(
        "{origin}: '{label}' is not a certificate authority ({reason}): update-ca-trust leaves it out of every TLS bundle, so adding it would do nothing for TLS; pass the CA that issued it, or allow non-authorities to add it anyway"
    )]
    NotAuthority {
        /// Where.
        origin: Origin,
        /// The certificate's label.
        label: String,
        /// Why it is not an authority.
        reason: &'static str,
    },
    /// A certificate past its notAfter.
    #[error(
        "{origin}: '{label}' expired on {not_after}; pass a current CA, or allow expired certificates to add it anyway"
    )]
    Expired {
        /// Where.
        origin: Origin,
        /// The certificate's label.
        label: String,
        /// notAfter, RFC 3339.
        not_after: String,
    },
    /// A certificate before its notBefore.
    #[error(
        "{origin}: '{label}' is not valid before {not_before}; pass a current CA, or allow expired certificates to add it anyway"
    )]
    NotYetValid {
        /// Where.
        origin: Origin,
        /// The certificate's label.
        label: String,
        /// notBefore, RFC 3339.
        not_before: String,
    },
}

/// The CA input was refused: every reason found, so the operator can fix them all at once.
#[derive(Debug)]
pub struct IntakeError {
    refusals: Vec<Refusal>,
}

impl IntakeError {
    /// An error made of `refusals` (at least one).
    pub fn new(refusals: Vec<Refusal>) -> Self {
        IntakeError { refusals }
    }

    /// Every reason, in input order.
    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }

    /// The reasons, by value.
    pub fn into_refusals(self) -> Vec<Refusal> {
        self.refusals
    }
}

/// How many refusals the message names; the rest are counted (all are in `refusals()`).
const SHOWN: usize = 10;

impl fmt::Display for IntakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.refusals.as_slice() {
            [one] => write!(f, "CA input refused: {one}"),
            many => {
                write!(f, "CA input refused, {} problems: ", many.len())?;
                for (i, refusal) in many.iter().take(SHOWN).enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{refusal}")?;
                }
                if many.len() > SHOWN {
                    write!(f, "; and {} more", many.len() - SHOWN)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for IntakeError {}

/// Reads every certificate of `sources` under `policy`. Any refusal fails the whole intake and
/// reports every refusal found; otherwise duplicates (same SHA-256) are merged with a note.
pub fn intake(sources: &[Source], policy: &Policy) -> Result<Intake, IntakeError> {
    if sources.is_empty() {
        return Err(IntakeError::new(vec![Refusal::NoInput]));
    }
    let mut out = Intake::default();
    let mut refusals = Vec::new();
    // Where each certificate is in `out.cas`: duplicates are found in log n, not by a scan.
    let mut seen: std::collections::BTreeMap<crate::fingerprint::Sha256Fingerprint, usize> =
        std::collections::BTreeMap::new();
    for source in sources {
        for (cert, origin) in read_source(source, &mut refusals, &mut out.notes) {
            check(&cert, &origin, policy, &mut refusals, &mut out.warnings);
            let known = seen.get(&cert.sha256()).copied();
            if known.is_none() {
                seen.insert(cert.sha256(), out.cas.len());
            }
            match known.and_then(|i| out.cas.get_mut(i)) {
                Some(ca) => {
                    out.notes.push(format!(
                        "'{}' ({}) is in both {} and {}; added once",
                        cert.label(),
                        &cert.sha256().hex()[..16],
                        ca.origins[0],
                        origin
                    ));
                    ca.origins.push(origin);
                }
                None => out.cas.push(Ca {
                    certificate: cert,
                    origins: vec![origin],
                }),
            }
        }
    }
    if refusals.is_empty() {
        Ok(out)
    } else {
        Err(IntakeError::new(refusals))
    }
}

/// Every certificate of one source; problems go to `refusals`.
fn read_source(
    source: &Source,
    refusals: &mut Vec<Refusal>,
    notes: &mut Vec<String>,
) -> Vec<(Certificate, Origin)> {
    if source.bytes.iter().all(u8::is_ascii_whitespace) {
        refusals.push(Refusal::Empty {
            input: source.name.clone(),
        });
        return Vec::new();
    }
    let blocks = match pem::scan(&source.bytes) {
        Ok(blocks) => blocks,
        Err(open) => {
            let origin = Origin {
                source: source.name.clone(),
                block: Some(open.index),
                line: Some(open.line),
            };
            let detail = format!("the '{}' block has no END line", open.label);
            refusals.push(Refusal::BadPem { origin, detail });
            return Vec::new();
        }
    };
    if blocks.is_empty() {
        // Not PEM: DER starts with a SEQUENCE tag.
        if source.bytes.first() == Some(&0x30) {
            return match Certificate::from_der(&source.bytes) {
                Ok(cert) => vec![(cert, Origin::whole(source))],
                Err(err) => {
                    refusals.push(Refusal::BadDer {
                        origin: Origin::whole(source),
                        detail: err.to_string(),
                    });
                    Vec::new()
                }
            };
        }
        refusals.push(Refusal::NoCertificate {
            input: source.name.clone(),
        });
        return Vec::new();
    }
    let mut certs = Vec::new();
    for block in &blocks {
        let origin = Origin::block(source, block);
        let trusted = match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => false,
            "TRUSTED CERTIFICATE" => true,
            kind if kind.contains("PRIVATE KEY") => {
                refusals.push(Refusal::PrivateKey {
                    origin,
                    kind: kind.to_owned(),
                });
                continue;
            }
            kind => {
                refusals.push(Refusal::NotACertificate {
                    origin,
                    kind: kind.to_owned(),
                });
                continue;
            }
        };
        let der = match block.decode() {
            Ok(der) => der,
            Err(detail) => {
                refusals.push(Refusal::BadPem { origin, detail });
                continue;
            }
        };
        let parsed = if trusted {
            // OpenSSL appends its CertAux trust settings after the certificate.
            Certificate::from_der_prefix(&der).map(|(cert, _aux)| cert)
        } else {
            Certificate::from_der(&der)
        };
        match parsed {
            Ok(cert) => {
                if trusted {
                    notes.push(format!(
                        "{origin}: TRUSTED CERTIFICATE block: the certificate '{}' is taken; OpenSSL's extra trust settings (purposes, alias) are not carried, the stores trust it as an anchor for every purpose",
                        cert.label()
                    ));
                }
                certs.push((cert, origin));
            }
            Err(err) => refusals.push(Refusal::BadDer {
                origin,
                detail: err.to_string(),
            }),
        }
    }
    certs
}

/// The policy checks of one certificate.
fn check(
    cert: &Certificate,
    origin: &Origin,
    policy: &Policy,
    refusals: &mut Vec<Refusal>,
    warnings: &mut Vec<String>,
) {
    let label = cert.label().to_owned();
    if !cert.is_authority() {
        if policy.allow_non_ca {
            warnings.push(format!(
                "{origin}: '{label}' is not a certificate authority ({}); added because non-authorities are allowed, but update-ca-trust leaves it out of the TLS bundles",
                cert.authority_reason()
            ));
        } else {
            refusals.push(Refusal::NotAuthority {
                origin: origin.clone(),
                label: label.clone(),
                reason: cert.authority_reason(),
            });
        }
    }
    if !cert.is_valid_at(policy.now) {
        let expired = cert.not_after() < policy.now;
        if policy.allow_expired {
            let when = if expired {
                format!("expired on {}", format_timestamp(cert.not_after()))
            } else {
                format!(
                    "is not valid before {}",
                    format_timestamp(cert.not_before())
                )
            };
            warnings.push(format!(
                "{origin}: '{label}' {when}; added because expired certificates are allowed"
            ));
        } else if expired {
            refusals.push(Refusal::Expired {
                origin: origin.clone(),
                label: label.clone(),
                not_after: format_timestamp(cert.not_after()),
            });
        } else {
            refusals.push(Refusal::NotYetValid {
                origin: origin.clone(),
                label: label.clone(),
                not_before: format_timestamp(cert.not_before()),
            });
        }
    }
    if cert.key().algorithm == crate::certificate::KeyAlgorithm::Rsa && cert.key().bits < 2048 {
        warnings.push(format!(
            "{origin}: '{label}' has a weak RSA key of {} bits (below 2048)",
            cert.key().bits
        ));
    }
    if let Some(digest) = cert.weak_digest() {
        warnings.push(format!(
            "{origin}: '{label}' is signed with {} ({}), which is weak",
            digest,
            cert.signature_algorithm()
        ));
    }
}
