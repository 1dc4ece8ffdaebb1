//! `verify-image`: an image is accepted only when a signature by the key names its digest, an
//! attestation by the key of trustbake's predicate names its digest, and the image is its
//! attested base plus exactly the attested layer — the base manifest's layers byte for byte,
//! one more layer whose digest and files are the attested ones, and a config that differs from
//! the base's only in the fields a bake changes (and the attestation says it changed).

use std::io::Read;

use base64::Engine as _;
use serde_json::Value;
use trustbake_image::artifact::{Attached, read_attached, sibling};
use trustbake_image::registry::{Access, Role, Session};
use trustbake_image::{Descriptor, Image, ImageRef, PlatformImage};
use trustbake_sign::{
    ATTESTATION_LAYER, Envelope, PREDICATE_TYPE_ANNOTATION, PublicKey, SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING, SimpleSigning, attached_tag,
};

use crate::attest::{
    BakePredicate, CHANGEABLE, PREDICATE_TYPE, PlatformPredicate, STATEMENT_TYPE, changed_fields,
};
use crate::error::Error;
use crate::outcome::{CountOutcome, SCHEMA_VERSION, VerifyImageOutcome, VerifyImagePlatform};

/// The largest added layer read to compare its files (trustbake's layers are kilobytes).
const MAX_LAYER: u64 = 64 * 1024 * 1024;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyImageRequest {
    image: String,
    key: PublicKey,
    access: Access,
    base: Option<String>,
}

impl VerifyImageRequest {
    /// Verify `image` (an image reference) with `key`.
    pub fn new(image: &str, key: PublicKey) -> Self {
        VerifyImageRequest {
            image: image.to_owned(),
            key,
            access: Access::default(),
            base: None,
        }
    }

    /// Reach registries with `access` (the image's and the base's).
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Compare with the base at `base` (a mirror of the attested one) instead of the reference
    /// the attestation names; its digest must still be the attested one.
    pub fn base(mut self, base: Option<String>) -> Self {
        self.base = base;
        self
    }
}

/// Verifies the request's image: see the module's documentation. `Ok` with `verified: false`
/// and the reasons when it is not; `Err` when it cannot be read at all.
pub fn verify_image(request: &VerifyImageRequest) -> Result<VerifyImageOutcome, Error> {
    let reference = ImageRef::parse(&request.image)?;
    let session = Session::new(request.access.clone(), Access::default());
    let image = trustbake_image::open_in(&reference, &session)?;
    let digest = top_digest(&image).to_string();
    let key = &request.key;
    let mut problems = Vec::new();
    let sig_tag = attached_tag(&digest, "sig");
    let signatures =
        read_attached(&sibling(&reference, &sig_tag)?, &session, Role::Source)?.unwrap_or_default();
    let signature_count = count_signatures(&signatures, key, &digest);
    if signature_count.verified == 0 {
        problems.push(match signature_count.found {
            0 => format!("no signature at {sig_tag}"),
            n => format!(
                "{n} signature(s) at {sig_tag}, none by the key {} over this digest",
                key.fingerprint()
            ),
        });
    }
    let att_tag = attached_tag(&digest, "att");
    let attestations =
        read_attached(&sibling(&reference, &att_tag)?, &session, Role::Source)?.unwrap_or_default();
    let (attestation_count, predicate) = attested(&attestations, key, &digest);
    if predicate.is_none() {
        problems.push(match attestation_count.found {
            0 => format!("no attestation of {PREDICATE_TYPE} at {att_tag}"),
            n => format!(
                "{n} attestation(s) of {PREDICATE_TYPE} at {att_tag}, none by the key {} naming this digest",
                key.fingerprint()
            ),
        });
    }
    let mut platforms = Vec::new();
    if let Some(predicate) = &predicate {
        let base = open_base(request, predicate, &session)?;
        compare(&image, &base, predicate, &mut platforms, &mut problems)?;
    }
    Ok(VerifyImageOutcome {
        schema_version: SCHEMA_VERSION,
        image: request.image.clone(),
        digest,
        key: key.fingerprint(),
        verified: problems.is_empty(),
        signatures: signature_count,
        attestations: attestation_count,
        base: predicate.map(|p| p.base),
        platforms,
        problems,
    })
}

/// The digest an image's reference names: its index, or its one manifest.
fn top_digest(image: &Image) -> trustbake_image::Digest {
    image
        .index
        .as_ref()
        .map(|i| i.descriptor.digest)
        .or_else(|| image.platforms.first().map(|p| p.descriptor.digest))
        .unwrap_or_else(|| trustbake_image::Digest::of(b""))
}

/// Signatures found, and those that verify with `key` over a payload naming `digest`.
fn count_signatures(layers: &[Attached], key: &PublicKey, digest: &str) -> CountOutcome {
    let b64 = base64::engine::general_purpose::STANDARD;
    let signatures: Vec<&Attached> = layers
        .iter()
        .filter(|l| l.descriptor.media_type == SIMPLE_SIGNING)
        .collect();
    let verified = signatures
        .iter()
        .filter(|l| {
            let sig = l
                .descriptor
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURE_ANNOTATION))
                .and_then(|s| b64.decode(s).ok());
            sig.is_some_and(|sig| key.verifies(&l.bytes, &sig))
                && SimpleSigning::parse(&l.bytes).is_ok_and(|p| p.manifest_digest == digest)
        })
        .count();
    CountOutcome {
        found: signatures.len(),
        verified,
    }
}

/// Attestations of trustbake's predicate found, those that verify with `key` and name `digest`,
/// and the first one's predicate.
fn attested(
    layers: &[Attached],
    key: &PublicKey,
    digest: &str,
) -> (CountOutcome, Option<BakePredicate>) {
    let ours: Vec<&Attached> = layers
        .iter()
        .filter(|l| {
            l.descriptor.media_type == ATTESTATION_LAYER
                && l.descriptor
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(PREDICATE_TYPE_ANNOTATION))
                    .is_some_and(|t| t == PREDICATE_TYPE)
        })
        .collect();
    let hex = digest.trim_start_matches("sha256:");
    let predicates: Vec<BakePredicate> = ours
        .iter()
        .filter_map(|l| {
            let payload = Envelope::parse(&l.bytes).ok()?.open(key).ok()?;
            let statement: Value = serde_json::from_slice(&payload).ok()?;
            let names_digest = statement["subject"]
                .as_array()?
                .iter()
                .any(|s| s["digest"]["sha256"] == hex);
            (statement["_type"] == STATEMENT_TYPE
                && statement["predicateType"] == PREDICATE_TYPE
                && names_digest)
                .then(|| serde_json::from_value(statement["predicate"].clone()).ok())
                .flatten()
        })
        .collect();
    (
        CountOutcome {
            found: ours.len(),
            verified: predicates.len(),
        },
        predicates.into_iter().next(),
    )
}

/// The attested base, by its digest (or the request's `--base`, whose digest must be it).
fn open_base(
    request: &VerifyImageRequest,
    predicate: &BakePredicate,
    session: &Session,
) -> Result<Image, Error> {
    let given = request.base.as_deref().unwrap_or(&predicate.base.reference);
    let mut reference = ImageRef::parse(given)?;
    if let ImageRef::Registry(r) = &mut reference {
        r.digest = Some(trustbake_image::Digest::parse(&predicate.base.digest)?);
    }
    let base = trustbake_image::open_in(&reference, session)?;
    let found = top_digest(&base).to_string();
    if found != predicate.base.digest {
        return Err(Error::BadArgument {
            what: given.to_owned(),
            reason: format!(
                "names {found} now; the attested base is {} (give --base with a reference to it)",
                predicate.base.digest
            ),
        });
    }
    Ok(base)
}

/// Each platform of `image` against its attested entry and base platform.
fn compare(
    image: &Image,
    base: &Image,
    predicate: &BakePredicate,
    platforms: &mut Vec<VerifyImagePlatform>,
    problems: &mut Vec<String>,
) -> Result<(), Error> {
    for attested in &predicate.platforms {
        if !image
            .platforms
            .iter()
            .any(|p| p.descriptor.digest.to_string() == attested.manifest)
        {
            problems.push(format!(
                "the attested platform manifest {} is not in the image",
                attested.manifest
            ));
        }
    }
    for p in &image.platforms {
        let manifest = p.descriptor.digest.to_string();
        let label = p.platform.as_ref().map(ToString::to_string);
        let who = label.clone().unwrap_or_else(|| manifest.clone());
        let Some(attested) = predicate.platforms.iter().find(|a| a.manifest == manifest) else {
            problems.push(format!(
                "{who}: manifest {manifest} is not in the attestation"
            ));
            platforms.push(VerifyImagePlatform {
                platform: label,
                manifest,
                base_manifest: None,
                layer: None,
                matches: false,
            });
            continue;
        };
        let before = problems.len();
        match base
            .platforms
            .iter()
            .find(|b| b.descriptor.digest.to_string() == attested.base_manifest)
        {
            Some(b) => compare_platform(image, p, b, attested, &who, problems)?,
            None => problems.push(format!(
                "{who}: the attested base manifest {} is not in the base",
                attested.base_manifest
            )),
        }
        platforms.push(VerifyImagePlatform {
            platform: label,
            manifest,
            base_manifest: Some(attested.base_manifest.clone()),
            layer: attested.layer.as_ref().map(|l| l.digest.clone()),
            matches: problems.len() == before,
        });
    }
    Ok(())
}

/// One platform: the base's layers and one more, the attested one with the attested files; the
/// manifest otherwise the base's; the config changed only where a bake changes it.
fn compare_platform(
    image: &Image,
    p: &PlatformImage,
    base: &PlatformImage,
    attested: &PlatformPredicate,
    who: &str,
    problems: &mut Vec<String>,
) -> Result<(), Error> {
    let layers = &p.manifest.value().layers;
    let mut base_layers: &[Descriptor] = &base.manifest.value().layers;
    if let Some(replaced) = &attested.replaced_layer {
        match base_layers.split_last() {
            Some((last, rest)) if last.digest.to_string() == *replaced => base_layers = rest,
            _ => problems.push(format!(
                "{who}: the replaced layer {replaced} is not the base's top layer"
            )),
        }
    }
    let Some(layer) = &attested.layer else {
        if p.descriptor.digest != base.descriptor.digest {
            problems.push(format!(
                "{who}: attested as the base's manifest {}, but it is {}",
                base.descriptor.digest, p.descriptor.digest
            ));
        }
        return Ok(());
    };
    match layers.split_last() {
        Some((added, below)) if below == base_layers => {
            if added.digest.to_string() != layer.digest
                || added.media_type != layer.media_type
                || added.size != layer.size
            {
                problems.push(format!(
                    "{who}: the top layer is {} ({}, {} bytes), the attested one {} ({}, {} bytes)",
                    added.digest,
                    added.media_type,
                    added.size,
                    layer.digest,
                    layer.media_type,
                    layer.size
                ));
            } else {
                let files = layer_files(image, added)?;
                if files != attested.files {
                    problems.push(format!(
                        "{who}: the layer's files are not the attested ones"
                    ));
                }
            }
        }
        _ => problems.push(format!(
            "{who}: {} layers, not the base's {} and the attested one (base {})",
            layers.len(),
            base_layers.len(),
            base.descriptor.digest
        )),
    }
    manifest_rest(base, p, who, problems)?;
    config_changes(base, p, attested, who, problems)?;
    Ok(())
}

/// The manifest's fields besides its config and layers and the base annotations: the base's.
fn manifest_rest(
    base: &PlatformImage,
    p: &PlatformImage,
    who: &str,
    problems: &mut Vec<String>,
) -> Result<(), Error> {
    let allowed = [
        "/config",
        "/layers",
        "/annotations/org.opencontainers.image.base.name",
        "/annotations/org.opencontainers.image.base.digest",
    ];
    for field in changed_fields(base.manifest.bytes(), p.manifest.bytes())? {
        // trustbake's own annotations (`sync`'s record of what it was baked from) are allowed.
        let is_allowed = allowed
            .iter()
            .any(|a| field == *a || field.starts_with(&format!("{a}/")))
            || field.starts_with("/annotations/dev.trustbake.");
        if !is_allowed {
            problems.push(format!(
                "{who}: manifest field {field} differs from the base's"
            ));
        }
    }
    Ok(())
}

/// The config's differences from the base's: fields a bake changes and the attestation names;
/// the layers' diff IDs the base's and the attested layer's; only the variables a bake sets.
fn config_changes(
    base: &PlatformImage,
    p: &PlatformImage,
    attested: &PlatformPredicate,
    who: &str,
    problems: &mut Vec<String>,
) -> Result<(), Error> {
    for field in changed_fields(base.config.bytes(), p.config.bytes())? {
        let changeable = CHANGEABLE
            .iter()
            .any(|c| field == *c || field.starts_with(&format!("{c}/")));
        if !changeable {
            problems.push(format!(
                "{who}: config field {field} differs from the base's (a bake never changes it)"
            ));
        } else if !attested.config_changes.contains(&field) {
            problems.push(format!(
                "{who}: config field {field} differs from the base's, but the attestation does not say so"
            ));
        }
    }
    let config = p.config.value();
    let base_config = base.config.value();
    let mut expected = base_config.rootfs.diff_ids.clone();
    if attested.replaced_layer.is_some() {
        expected.pop();
    }
    if let Some(layer) = &attested.layer {
        expected.push(trustbake_image::Digest::parse(&layer.diff_id).map(trustbake_image::DiffId)?);
    }
    if config.rootfs.diff_ids != expected {
        problems.push(format!(
            "{who}: the config's diff IDs are not the base's and the attested layer's"
        ));
    }
    let env = |c: &trustbake_image::model::Config| -> Vec<String> {
        c.config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !v.starts_with("NODE_EXTRA_CA_CERTS="))
            .collect()
    };
    if env(config) != env(base_config) {
        problems.push(format!(
            "{who}: the config's Env differs from the base's in more than NODE_EXTRA_CA_CERTS"
        ));
    }
    Ok(())
}

/// The files of the layer `descriptor` of `image`, read and verified.
fn layer_files(
    image: &Image,
    descriptor: &Descriptor,
) -> Result<Vec<trustbake_image::LayerFile>, Error> {
    if descriptor.size > MAX_LAYER {
        return Err(Error::BadArgument {
            what: descriptor.digest.to_string(),
            reason: format!(
                "a layer of {} bytes: trustbake's layers are under {MAX_LAYER}",
                descriptor.size
            ),
        });
    }
    let mut bytes = Vec::new();
    trustbake_image::open_verified(image.source(), &descriptor.digest, descriptor.size)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::BadArgument {
            what: descriptor.digest.to_string(),
            reason: e.to_string(),
        })?;
    Ok(trustbake_image::layer_files(&bytes)?)
}
