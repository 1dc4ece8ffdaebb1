//! ECDSA P-256 keys: a signing key from a PEM file (PKCS#8, SEC1, or cosign's encrypted file)
//! and a public key from its SubjectPublicKeyInfo PEM (what `cosign generate-key-pair` writes
//! as `cosign.pub` and `openssl pkey -pubout` prints).

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::SignError;
use crate::pem;

/// The DER of a P-256 SubjectPublicKeyInfo up to the 65-byte uncompressed point:
/// `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) … }`.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The PKCS#8 AlgorithmIdentifier of a P-256 key, with its `SEQUENCE` header.
const P256_ALGORITHM: [u8; 21] = [
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

/// What every key error says a key must be.
const P256_ONLY: &str = "trustbake signs with ECDSA P-256 keys (cosign's default): make one with `cosign generate-key-pair` or `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out cosign.key`";

/// A public key: ECDSA P-256.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The uncompressed point (`04 X Y`).
    point: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

impl PublicKey {
    /// The public key in a `PUBLIC KEY` PEM (SubjectPublicKeyInfo); `what` names it in errors.
    pub fn from_pem(text: &[u8], what: &str) -> Result<Self, SignError> {
        let key_error = |reason: String| SignError::Key {
            what: what.to_owned(),
            reason,
        };
        match pem::first_section(text) {
            Some((label, der)) if label == "PUBLIC KEY" => Self::from_spki(&der)
                .ok_or_else(|| key_error(format!("not an ECDSA P-256 public key. {P256_ONLY}"))),
            Some((label, _)) => Err(key_error(format!(
                "a PEM '{label}' section, not 'PUBLIC KEY' (cosign.pub, or `openssl pkey -pubout`)"
            ))),
            None => Err(key_error("no PEM 'PUBLIC KEY' section".to_owned())),
        }
    }

    /// A P-256 SubjectPublicKeyInfo's point (`None` for any other key).
    fn from_spki(der: &[u8]) -> Option<Self> {
        let point = der.strip_prefix(&SPKI_PREFIX[..])?;
        (point.len() == 65 && point[0] == 4).then(|| PublicKey {
            point: point.to_vec(),
        })
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn spki(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        der
    }

    /// The key as a `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        trustbake_certs::render_pem("PUBLIC KEY", &self.spki())
    }

    /// `sha256:` and the hex SHA-256 of the SubjectPublicKeyInfo DER: how messages name a key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.spki());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Whether `signature` (ASN.1 DER) is this key's ECDSA P-256 / SHA-256 signature of
    /// `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(message, signature)
            .is_ok()
    }
}

/// A signing key: ECDSA P-256.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public.fingerprint())
    }
}

impl SigningKey {
    /// The key in `text`: a `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1) PEM, or cosign's
    /// `ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE KEY` opened with
    /// `password`. `what` names the key in errors.
    pub fn from_pem(text: &[u8], what: &str, password: Option<&[u8]>) -> Result<Self, SignError> {
        let key_error = |reason: String| SignError::Key {
            what: what.to_owned(),
            reason,
        };
        let (label, der) = pem::first_section(text)
            .ok_or_else(|| key_error(format!("no PEM private key section. {P256_ONLY}")))?;
        let der = Zeroizing::new(der);
        let pkcs8: Zeroizing<Vec<u8>> = match label.as_str() {
            "PRIVATE KEY" => der,
            "EC PRIVATE KEY" => Zeroizing::new(sec1_to_pkcs8(&der)),
            "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                let password = password.ok_or_else(|| {
                    key_error(
                        "an encrypted cosign key: give its password (COSIGN_PASSWORD, or --sign-passphrase-file)"
                            .to_owned(),
                    )
                })?;
                crate::encrypted::open(&der, password, what)?
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(key_error(
                    "a password-protected PKCS#8 key: decrypt it (`openssl pkey -in KEY -out plain.pem`) or import it into cosign's format (`cosign import-key-pair --key KEY`)"
                        .to_owned(),
                ));
            }
            other => {
                return Err(key_error(format!(
                    "a PEM '{other}' section, not a private key. {P256_ONLY}"
                )));
            }
        };
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| key_error(format!("not a usable ECDSA P-256 key ({e}). {P256_ONLY}")))?;
        let public = PublicKey {
            point: pair.public_key().as_ref().to_vec(),
        };
        Ok(SigningKey { pair, public })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The ECDSA P-256 / SHA-256 signature of `message`, ASN.1 DER (what cosign writes).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| SignError::Random)
    }
}

/// A SEC1 `ECPrivateKey` wrapped as the PKCS#8 `PrivateKeyInfo` of a P-256 key.
fn sec1_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(&P256_ALGORITHM);
    body.push(0x04);
    der_length(sec1.len(), &mut body);
    body.extend_from_slice(sec1);
    let mut out = vec![0x30];
    der_length(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// A DER length.
fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}
