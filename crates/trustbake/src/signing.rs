//! Signed and attested results: a bake signs what it pushed as cosign signs it (a simple
//! signing payload at `sha256-<hex>.sig`, ECDSA P-256) and attests what it added (a DSSE
//! envelope of an in-toto statement at `sha256-<hex>.att`, predicate [`PREDICATE_TYPE`]);
//! [`verify_image`] checks both and that the image is its attested base plus exactly the
//! attested layer. Keys are ECDSA P-256 (cosign's default). No transparency log, no keyless
//! signing: both need a network service trustbake does not reach.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use indexmap::IndexMap;
use trustbake_image::artifact::{Attached, attach, sibling};
use trustbake_image::registry::Session;
use trustbake_image::{Descriptor, ImageRef, NewImage};
use trustbake_sign::{
    ATTESTATION_LAYER, Envelope, IN_TOTO_PAYLOAD_TYPE, PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION, SIMPLE_SIGNING, SimpleSigning, attached_tag,
};

pub use crate::attest::{
    BakePredicate, BaseRef, CaRef, LayerRef, PREDICATE_TYPE, PlatformPredicate,
};
pub use crate::verify_image::{VerifyImageRequest, verify_image};
pub use trustbake_sign::{PublicKey, SigningKey};

use crate::error::Error;
use crate::outcome::{AttestationOutcome, SignatureOutcome, SignedOutcome};

/// The largest key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// What a bake signs with, and what it signs.
#[derive(Debug, Clone)]
pub struct Signing {
    key: Arc<SigningKey>,
    attest: bool,
    platforms: bool,
}

impl Signing {
    /// Signs the digest the destination's tag names with `key`.
    pub fn new(key: SigningKey) -> Self {
        Signing {
            key: Arc::new(key),
            attest: false,
            platforms: false,
        }
    }

    /// Also attests what the bake added (an in-toto statement in a DSSE envelope).
    pub fn attest(mut self) -> Self {
        self.attest = true;
        self
    }

    /// For an index, also signs each platform's manifest.
    pub fn platforms(mut self) -> Self {
        self.platforms = true;
        self
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The base64 signature of a shared scan-cache entry.
    pub(crate) fn sign_entry(&self, bytes: &[u8]) -> Option<String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.key.sign(bytes).ok().map(|s| b64.encode(s))
    }

    /// Whether `signature` (base64) is this key's signature of a shared scan-cache entry.
    pub(crate) fn verifies_entry(&self, bytes: &[u8], signature: &str) -> bool {
        let b64 = base64::engine::general_purpose::STANDARD;
        b64.decode(signature)
            .is_ok_and(|sig| self.key.public_key().verifies(bytes, &sig))
    }

    /// Whether it attests.
    pub fn attests(&self) -> bool {
        self.attest
    }

    /// Whether it signs each platform's manifest too.
    pub fn signs_platforms(&self) -> bool {
        self.platforms
    }
}

/// The signing key in the file at `path` (PKCS#8 or SEC1 PEM, or cosign's encrypted key file
/// opened with `password`).
pub fn load_key(path: &Path, password: Option<&[u8]>) -> Result<SigningKey, Error> {
    let (bytes, what) = read_key_file(path)?;
    Ok(SigningKey::from_pem(&bytes, &what, password)?)
}

/// The public key in the `PUBLIC KEY` PEM at `path` (`cosign.pub`).
pub fn load_public_key(path: &Path) -> Result<PublicKey, Error> {
    let (bytes, what) = read_key_file(path)?;
    Ok(PublicKey::from_pem(&bytes, &what)?)
}

/// A key file's bytes (at most [`MAX_KEY_FILE`]) and its name for messages.
fn read_key_file(path: &Path) -> Result<(Vec<u8>, String), Error> {
    let what = path.display().to_string();
    match crate::load::read_limited(path, MAX_KEY_FILE) {
        Ok((bytes, _)) => Ok((bytes, what)),
        Err(reason) => Err(Error::BadArgument { what, reason }),
    }
}

/// The name a signature's payload and an attestation's subject give the image: the registry
/// repository (`HOST/REPO`, what cosign writes), or the layout's directory.
pub(crate) fn identity(to: &ImageRef) -> String {
    match to {
        ImageRef::Registry(r) => format!("{}/{}", r.registry, r.repository),
        ImageRef::OciLayout { dir, .. } | ImageRef::OciArchive { file: dir, .. } => {
            dir.display().to_string()
        }
        ImageRef::DockerArchive { file, .. } => file.display().to_string(),
    }
}

/// Signs (and attests) what a bake wrote at `to`: `top` (the tag's digest), each platform's
/// manifest when asked, the attestation of `predicate` when asked. Signatures and attestations
/// there already are kept; one by the same key over the same payload is not added again.
pub(crate) fn sign_baked(
    signing: &Signing,
    to: &ImageRef,
    session: &Session,
    new: &NewImage<'_>,
    top: &Descriptor,
    predicate: impl FnOnce() -> Result<BakePredicate, Error>,
) -> Result<SignedOutcome, Error> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = &signing.key;
    let name = identity(to);
    let mut digests = vec![top.digest];
    if signing.platforms && new.index.is_some() {
        digests.extend(new.platforms.iter().map(|p| p.descriptor.digest));
    }
    let same_signature = |there: &Attached, new: &Attached| {
        there.bytes == new.bytes
            && there
                .descriptor
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURE_ANNOTATION))
                .and_then(|s| b64.decode(s).ok())
                .is_some_and(|sig| key.public_key().verifies(&there.bytes, &sig))
    };
    let mut signatures = Vec::new();
    for digest in digests {
        let payload = SimpleSigning {
            docker_reference: name.clone(),
            manifest_digest: digest.to_string(),
        }
        .to_bytes();
        let sig = key.sign(&payload)?;
        let layer = Attached::new(
            SIMPLE_SIGNING,
            payload,
            IndexMap::from([(SIGNATURE_ANNOTATION.to_owned(), b64.encode(sig))]),
        );
        let tag = attached_tag(&digest.to_string(), "sig");
        let written = attach(
            &sibling(to, &tag)?,
            session,
            vec![layer],
            "dev.cosignproject.cosign/sigs",
            &same_signature,
        )?;
        signatures.push(SignatureOutcome {
            digest: digest.to_string(),
            tag,
            added: written.is_some(),
        });
    }
    let attestation = if signing.attest {
        let statement = crate::attest::statement(&name, &top.digest.to_string(), &predicate()?);
        let body = serde_json::to_vec(&statement).map_err(|e| Error::BadArgument {
            what: "attestation".into(),
            reason: e.to_string(),
        })?;
        let envelope = trustbake_sign::envelope(key, IN_TOTO_PAYLOAD_TYPE, &body)?;
        let layer = Attached::new(
            ATTESTATION_LAYER,
            envelope,
            IndexMap::from([
                (
                    PREDICATE_TYPE_ANNOTATION.to_owned(),
                    PREDICATE_TYPE.to_owned(),
                ),
                (SIGNATURE_ANNOTATION.to_owned(), String::new()),
            ]),
        );
        let same_statement = |there: &Attached, _: &Attached| {
            Envelope::parse(&there.bytes)
                .and_then(|e| e.open(key.public_key()))
                .is_ok_and(|payload| payload == body)
        };
        let tag = attached_tag(&top.digest.to_string(), "att");
        let written = attach(
            &sibling(to, &tag)?,
            session,
            vec![layer],
            "dev.cosignproject.cosign/atts",
            &same_statement,
        )?;
        Some(AttestationOutcome {
            digest: top.digest.to_string(),
            tag,
            predicate_type: PREDICATE_TYPE.to_owned(),
            added: written.is_some(),
        })
    } else {
        None
    };
    Ok(SignedOutcome {
        key: key.public_key().fingerprint(),
        signatures,
        attestation,
    })
}
