//! One parsed certificate and everything the trust stores need to know about it.

use std::borrow::Cow;
use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::{FromDer, X509Version};
use x509_parser::public_key::PublicKey;

use crate::fingerprint::{Md5Fingerprint, Sha1Fingerprint, Sha256Fingerprint};
use crate::name;
use crate::pem::render_pem;

/// A DER that is not an X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// A parsed X.509 certificate: its DER plus the facts computed from it once.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    sha256: Sha256Fingerprint,
    sha1: Sha1Fingerprint,
    md5: Md5Fingerprint,
    subject: String,
    issuer: String,
    label: String,
    serial: String,
    not_before: i64,
    not_after: i64,
    version: u8,
    self_issued: bool,
    basic_constraints_ca: Option<bool>,
    key: PublicKeyInfo,
    signature_algorithm: SignatureAlgorithm,
    subject_der: Vec<u8>,
}

impl Certificate {
    /// Parses a DER certificate; trailing bytes after it are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        let (cert, rest) = Self::from_der_prefix(der)?;
        if !rest.is_empty() {
            return Err(ParseError(format!(
                "{} bytes of trailing data after the certificate",
                rest.len()
            )));
        }
        Ok(cert)
    }

    /// Parses the certificate at the start of `der` and returns what follows it (OpenSSL's
    /// `TRUSTED CERTIFICATE` appends its trust settings there).
    pub fn from_der_prefix(der: &[u8]) -> Result<(Self, &[u8]), ParseError> {
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|err| ParseError(err.to_string()))?;
        let own = &der[..der.len() - rest.len()];
        let tbs = &x509.tbs_certificate;
        let basic_constraints_ca = x509
            .basic_constraints()
            .map_err(|err| ParseError(format!("bad BasicConstraints extension: {err}")))?
            .map(|bc| bc.value.ca);
        let version = match tbs.version() {
            X509Version::V1 => 1,
            X509Version::V2 => 2,
            X509Version::V3 => 3,
            X509Version(other) => {
                return Err(ParseError(format!(
                    "unknown certificate version {}",
                    other + 1
                )));
            }
        };
        let cert = Certificate {
            der: own.to_vec(),
            sha256: Sha256Fingerprint::of(own),
            sha1: Sha1Fingerprint::of(own),
            md5: Md5Fingerprint::of(own),
            subject: name::certifi_name(tbs.subject()),
            issuer: name::certifi_name(tbs.issuer()),
            label: name::label(tbs.subject()),
            serial: signed_decimal(x509.raw_serial()),
            not_before: tbs.validity().not_before.timestamp(),
            not_after: tbs.validity().not_after.timestamp(),
            version,
            self_issued: tbs.subject().as_raw() == tbs.issuer().as_raw(),
            basic_constraints_ca,
            key: PublicKeyInfo::of(&x509),
            signature_algorithm: SignatureAlgorithm::of(
                &x509.signature_algorithm.algorithm.to_id_string(),
            ),
            subject_der: tbs.subject().as_raw().to_vec(),
        };
        Ok((cert, rest))
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER: the certificate's identity.
    pub fn sha256(&self) -> Sha256Fingerprint {
        self.sha256
    }

    /// SHA-1 of the DER.
    pub fn sha1(&self) -> Sha1Fingerprint {
        self.sha1
    }

    /// MD5 of the DER.
    pub fn md5(&self) -> Md5Fingerprint {
        self.md5
    }

    /// The subject as certifi's `# Subject:` line renders it (`CN=… O=… OU=…`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer as certifi's `# Issuer:` line renders it.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The subject in Java's canonical form (`X500Principal.getName(CANONICAL)`: RFC 2253,
    /// lower-cased, normalised): the alias distroless' keystore gives a certificate. Empty when
    /// the subject does not parse.
    pub fn subject_canonical(&self) -> String {
        crate::canonical::java_canonical(&self.subject_der).unwrap_or_default()
    }

    /// The DER of the subject Name (for OpenSSL's subject hashes).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// OpenSSL's new-style subject hash (`openssl x509 -subject_hash`), the `XXXXXXXX` of hash
    /// links.
    pub fn subject_hash(&self) -> u32 {
        // The subject was parsed as a Name when the certificate was; a None here would mean
        // the two parsers disagree, and 0 then names no real link.
        crate::hash::subject_hash(&self.subject_der).unwrap_or(0)
    }

    /// The new-style subject hash as p11-kit's `pem-directory-hash` computes it; `None` when
    /// p11-kit cannot decode a value of the subject (it then writes no new-style link).
    pub fn subject_hash_p11_kit(&self) -> Option<u32> {
        crate::hash::subject_hash_p11_kit(&self.subject_der)
    }

    /// OpenSSL's old-style (MD5) subject hash (`openssl x509 -subject_hash_old`).
    pub fn subject_hash_old(&self) -> u32 {
        crate::hash::subject_hash_old(&self.subject_der)
    }

    /// p11-kit's label: subject CN, else OU, else O; empty if the subject has none of them.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The serial number in decimal, read as the signed DER INTEGER it is (a few old roots have
    /// negative serials, and certifi prints them with their sign).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Start of the validity window, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of the validity window, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `now` (Unix seconds) falls inside the validity window.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The X.509 version, 1 to 3.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.self_issued
    }

    /// Whether p11-kit puts this certificate into its `ca-anchors` outputs (the TLS bundles):
    /// BasicConstraints with cA=TRUE, or a version 1 self-issued certificate without
    /// BasicConstraints.
    pub fn is_authority(&self) -> bool {
        match self.basic_constraints_ca {
            Some(ca) => ca,
            None => self.version == 1 && self.self_issued,
        }
    }

    /// Why the certificate is or is not an authority, in words.
    pub fn authority_reason(&self) -> &'static str {
        match (self.basic_constraints_ca, self.version, self.self_issued) {
            (Some(true), ..) => "BasicConstraints cA is TRUE",
            (Some(false), ..) => "BasicConstraints cA is FALSE",
            (None, 1, true) => "version 1 self-signed certificate",
            (None, 1, false) => "version 1 certificate that is not self-signed",
            (None, ..) => "no BasicConstraints extension",
        }
    }

    /// The public key's algorithm and size.
    pub fn key(&self) -> &PublicKeyInfo {
        &self.key
    }

    /// The signature algorithm's name (OpenSSL's long name where known, else the OID).
    pub fn signature_algorithm(&self) -> &str {
        &self.signature_algorithm.name
    }

    /// The weak digest the signature uses, if any (SHA-1, MD5, MD2).
    pub fn weak_digest(&self) -> Option<WeakDigest> {
        self.signature_algorithm.weak
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    pub fn to_pem(&self) -> String {
        render_pem("CERTIFICATE", &self.der)
    }

    /// The certificate as an entry of certifi's `cacert.pem`: an empty line, the `# Issuer`,
    /// `# Subject`, `# Label`, `# Serial` and fingerprint comments, then the PEM block.
    pub fn certifi_entry(&self) -> String {
        format!(
            "\n# Issuer: {}\n# Subject: {}\n# Label: \"{}\"\n# Serial: {}\n# MD5 Fingerprint: {}\n# SHA1 Fingerprint: {}\n# SHA256 Fingerprint: {}\n{}",
            self.issuer,
            self.subject,
            name::python_unicode_escape(&self.label),
            self.serial,
            self.md5.colon_hex(),
            self.sha1.colon_hex(),
            self.sha256.colon_hex(),
            self.to_pem()
        )
    }

    /// A stable file name stem made of safe characters only: the label lower-cased with runs
    /// of anything but `a-z0-9` turned into `-` (at most 48 characters), then `-` and the first
    /// 8 hex digits of the SHA-256, e.g. `corp-root-ca-1a2b3c4d`. Unique per certificate and the
    /// same on every run; no tool mangles it.
    pub fn file_stem(&self) -> String {
        let mut stem = String::new();
        for c in self.label.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                stem.push(c);
            } else if !stem.ends_with('-') && !stem.is_empty() {
                stem.push('-');
            }
        }
        stem.truncate(48);
        let stem = stem.trim_end_matches('-');
        let stem = if stem.is_empty() { "ca" } else { stem };
        format!("{stem}-{}", &self.sha256.hex()[..8])
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("label", &self.label)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// The decimal of a big-endian two's-complement integer.
fn signed_decimal(raw: &[u8]) -> String {
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: Vec<u8> = if negative {
        // Two's complement: invert, then add one.
        let mut m: Vec<u8> = raw.iter().map(|b| !b).collect();
        for byte in m.iter_mut().rev() {
            let (sum, overflow) = byte.overflowing_add(1);
            *byte = sum;
            if !overflow {
                break;
            }
        }
        m
    } else {
        raw.to_vec()
    };
    // Base 10^9 limbs, least significant first.
    let mut limbs: Vec<u64> = vec![0];
    for &byte in &magnitude {
        let mut carry = u64::from(byte);
        for limb in &mut limbs {
            let v = *limb * 256 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut out = String::from(if negative { "-" } else { "" });
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

/// A signature digest old enough to warn about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WeakDigest {
    /// SHA-1.
    Sha1,
    /// MD5.
    Md5,
    /// MD2.
    Md2,
}

impl fmt::Display for WeakDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WeakDigest::Sha1 => "SHA-1",
            WeakDigest::Md5 => "MD5",
            WeakDigest::Md2 => "MD2",
        })
    }
}

#[derive(Clone, PartialEq, Eq)]
struct SignatureAlgorithm {
    /// A known algorithm's name, or an unknown one's OID (owned: never leaked, whatever a
    /// hostile input holds).
    name: Cow<'static, str>,
    weak: Option<WeakDigest>,
}

impl SignatureAlgorithm {
    fn of(oid: &str) -> Self {
        let (name, weak) = match oid {
            "1.2.840.113549.1.1.2" => ("md2WithRSAEncryption", Some(WeakDigest::Md2)),
            "1.2.840.113549.1.1.4" => ("md5WithRSAEncryption", Some(WeakDigest::Md5)),
            "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => {
                ("sha1WithRSAEncryption", Some(WeakDigest::Sha1))
            }
            "1.2.840.113549.1.1.10" => ("rsassaPss", None),
            "1.2.840.113549.1.1.11" => ("sha256WithRSAEncryption", None),
            "1.2.840.113549.1.1.12" => ("sha384WithRSAEncryption", None),
            "1.2.840.113549.1.1.13" => ("sha512WithRSAEncryption", None),
            "1.2.840.113549.1.1.14" => ("sha224WithRSAEncryption", None),
            "1.2.840.10045.4.1" => ("ecdsa-with-SHA1", Some(WeakDigest::Sha1)),
            "1.2.840.10045.4.3.1" => ("ecdsa-with-SHA224", None),
            "1.2.840.10045.4.3.2" => ("ecdsa-with-SHA256", None),
            "1.2.840.10045.4.3.3" => ("ecdsa-with-SHA384", None),
            "1.2.840.10045.4.3.4" => ("ecdsa-with-SHA512", None),
            "1.2.840.10040.4.3" => ("dsa-with-SHA1", Some(WeakDigest::Sha1)),
            "2.16.840.1.101.3.4.3.2" => ("dsa-with-SHA256", None),
            "1.3.101.112" => ("ED25519", None),
            "1.3.101.113" => ("ED448", None),
            other => {
                return SignatureAlgorithm {
                    name: Cow::Owned(other.to_owned()),
                    weak: None,
                };
            }
        };
        SignatureAlgorithm {
            name: Cow::Borrowed(name),
            weak,
        }
    }
}

/// The public key's algorithm and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// Size in bits (the modulus for RSA and DSA, the field for EC); 0 when unknown.
    pub bits: u32,
}

/// Public key algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA (including RSA-PSS keys).
    Rsa,
    /// Elliptic curve with its curve name (`P-256`, …) or OID.
    Ec(String),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// DSA.
    Dsa,
    /// Anything else, by OID.
    Other(String),
}

impl PublicKeyInfo {
    fn of(x509: &X509Certificate<'_>) -> Self {
        let spki = x509.public_key();
        let oid = spki.algorithm.algorithm.to_id_string();
        let parsed_bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
        let algorithm = match oid.as_str() {
            "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => KeyAlgorithm::Rsa,
            "1.2.840.10045.2.1" => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|c| c.to_id_string())
                    .unwrap_or_default();
                KeyAlgorithm::Ec(
                    match curve.as_str() {
                        "1.2.840.10045.3.1.7" => "P-256",
                        "1.3.132.0.34" => "P-384",
                        "1.3.132.0.35" => "P-521",
                        "1.3.132.0.10" => "secp256k1",
                        other => other,
                    }
                    .to_owned(),
                )
            }
            "1.3.101.112" => KeyAlgorithm::Ed25519,
            "1.3.101.113" => KeyAlgorithm::Ed448,
            "1.2.840.10040.4.1" => KeyAlgorithm::Dsa,
            _ => KeyAlgorithm::Other(oid.clone()),
        };
        let bits = match (&algorithm, spki.parsed()) {
            (KeyAlgorithm::Ed25519, _) => 256,
            (KeyAlgorithm::Ed448, _) => 456,
            (KeyAlgorithm::Ec(curve), _) if curve == "P-521" => 521,
            (KeyAlgorithm::Rsa, Ok(PublicKey::RSA(rsa))) => {
                u32::try_from(rsa.key_size()).unwrap_or(0)
            }
            _ => u32::try_from(parsed_bits).unwrap_or(0),
        };
        PublicKeyInfo { algorithm, bits }
    }
}

impl fmt::Display for PublicKeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.algorithm {
            KeyAlgorithm::Rsa => write!(f, "RSA {}", self.bits),
            KeyAlgorithm::Ec(curve) => write!(f, "EC {curve}"),
            KeyAlgorithm::Ed25519 => f.write_str("Ed25519"),
            KeyAlgorithm::Ed448 => f.write_str("Ed448"),
            KeyAlgorithm::Dsa => write!(f, "DSA {}", self.bits),
            KeyAlgorithm::Other(oid) => write!(f, "{oid} {}", self.bits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signed_decimal;

    fn check(raw: &[u8], expected: &str) {
        assert_eq!(signed_decimal(raw), expected, "{raw:02x?}");
    }

    #[test]
    fn serials_are_signed_der_integers() {
        check(&[0x01], "1");
        check(&[0x00, 0xff], "255");
        check(&[0xff], "-1");
        check(&[0x80], "-128");
        check(
            &[
                0xee, 0x2b, 0x3d, 0xeb, 0xd4, 0x21, 0xde, 0x14, 0xa8, 0x62, 0xac, 0x04, 0xf3, 0xdd,
                0xc4, 0x01,
            ],
            "-23701579247955709139626555126524820479",
        );
        check(
            &[
                0x04, 0x44, 0xaf, 0x5c, 0x6f, 0x6b, 0x36, 0xa4, 0xd9, 0x4d, 0x3b, 0x3a, 0xd3, 0xf5,
                0xb1, 0xf0,
            ],
            "5673544914674071326580958969166410224",
        );
        check(&[0x00], "0");
    }
}
