//! DSSE envelopes (secure-systems-lab/dsse `envelope.md`): a payload, its type, and signatures
//! over the pre-authentication encoding — what cosign pushes as an attestation.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::SignError;
use crate::key::{PublicKey, SigningKey};

/// The payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`, lengths
/// in ASCII decimal. The bytes a DSSE signature signs.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A DSSE envelope as JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The payload's type.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, base64.
    pub payload: String,
    /// The signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The key's id (cosign writes an empty one).
    #[serde(default)]
    pub keyid: String,
    /// The signature over the PAE, base64 (ASN.1 DER for ECDSA).
    pub sig: String,
}

/// The envelope of `body` (of `payload_type`) signed by `key`, as JSON bytes.
pub fn envelope(key: &SigningKey, payload_type: &str, body: &[u8]) -> Result<Vec<u8>, SignError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = key.sign(&pae(payload_type, body))?;
    let envelope = Envelope {
        payload_type: payload_type.to_owned(),
        payload: b64.encode(body),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: b64.encode(sig),
        }],
    };
    serde_json::to_vec(&envelope).map_err(|e| SignError::Malformed {
        what: "the DSSE envelope".to_owned(),
        reason: e.to_string(),
    })
}

impl Envelope {
    /// The envelope in `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, SignError> {
        serde_json::from_slice(bytes).map_err(|e| SignError::Malformed {
            what: "the DSSE envelope".to_owned(),
            reason: e.to_string(),
        })
    }

    /// The payload, when one of the signatures verifies with `key` over the PAE; else why not.
    pub fn open(&self, key: &PublicKey) -> Result<Vec<u8>, SignError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = b64
            .decode(&self.payload)
            .map_err(|e| SignError::Malformed {
                what: "the DSSE envelope's payload".to_owned(),
                reason: e.to_string(),
            })?;
        let message = pae(&self.payload_type, &body);
        let verified = self.signatures.iter().any(|s| {
            b64.decode(&s.sig)
                .is_ok_and(|sig| key.verifies(&message, &sig))
        });
        if verified {
            Ok(body)
        } else {
            Err(SignError::BadSignature {
                what: "the DSSE envelope".to_owned(),
                key: key.fingerprint(),
            })
        }
    }
}
