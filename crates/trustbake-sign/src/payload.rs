//! cosign's signature payload and where cosign attaches signatures and attestations.

use serde::{Deserialize, Serialize};

use crate::error::SignError;

/// The media type of the signature payload blob.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The layer annotation holding the base64 DER signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The media type of an attestation layer (a DSSE envelope).
pub const ATTESTATION_LAYER: &str = "application/vnd.dsse.envelope.v1+json";

/// The attestation layer's annotation naming its predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// The `type` of cosign's payload.
const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The tag cosign attaches to an image digest: `sha256-<hex>.<suffix>` (`sig`, `att`).
pub fn attached_tag(digest: &str, suffix: &str) -> String {
    format!("{}.{suffix}", digest.replacen(':', "-", 1))
}

/// The simple signing payload: which manifest digest is signed, under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`: the repository (cosign ignores it; containers/image
    /// checks it).
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    optional: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: ImageField,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct ImageField {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    /// The payload's bytes as cosign writes them (`"optional":null`): the bytes signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = Payload {
            critical: Critical {
                identity: Identity {
                    docker_reference: self.docker_reference.clone(),
                },
                image: ImageField {
                    docker_manifest_digest: self.manifest_digest.clone(),
                },
                kind: SIGNATURE_TYPE.to_owned(),
            },
            optional: None,
        };
        serde_json::to_vec(&payload).unwrap_or_default()
    }

    /// A payload read back (any `optional` annotations ignored); refused unless its `type` is
    /// cosign's.
    pub fn parse(bytes: &[u8]) -> Result<Self, SignError> {
        let bad = |reason: String| SignError::Malformed {
            what: "the signature payload".to_owned(),
            reason,
        };
        let payload: Payload =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("its JSON: {e}")))?;
        if payload.critical.kind != SIGNATURE_TYPE {
            return Err(bad(format!(
                "type '{}', not '{SIGNATURE_TYPE}'",
                payload.critical.kind
            )));
        }
        Ok(SimpleSigning {
            docker_reference: payload.critical.identity.docker_reference,
            manifest_digest: payload.critical.image.docker_manifest_digest,
        })
    }
}
