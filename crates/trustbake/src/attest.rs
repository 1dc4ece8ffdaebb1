//! What a bake attests: the predicate of trustbake's in-toto statement (its type URI and JSON
//! schema in `docs/attestation.md`) — the base, per platform the layer added (and its files) and
//! the config fields changed, the CAs added and removed, and trustbake's version — and the
//! statement around it. `verify-image` reads the same types back.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trustbake_image::{LayerFile, NewImage};

use crate::error::Error;

/// The predicate type of trustbake's attestation.
pub const PREDICATE_TYPE: &str = "https://trustbake.dev/attestation/bake/v1";

/// The in-toto Statement v1 `_type`.
pub(crate) const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The config fields a bake may change (JSON pointers); any other difference from the base is
/// not trustbake's.
/// (`/config/Env` only by the variables `bake` sets: `NODE_EXTRA_CA_CERTS`.)
pub(crate) const CHANGEABLE: &[&str] = &[
    "/created",
    "/rootfs/diff_ids",
    "/history",
    "/config/Labels/dev.trustbake.ca-certificates.sha256",
    "/config/Labels/dev.trustbake.removed.sha256",
    "/config/Env",
];

/// trustbake's predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BakePredicate {
    /// trustbake's version.
    pub trustbake: String,
    /// The base image.
    pub base: BaseRef,
    /// Per platform of the result.
    pub platforms: Vec<PlatformPredicate>,
    /// The CAs added.
    pub added: Vec<CaRef>,
    /// The CAs removed (distrusted).
    pub removed: Vec<CaRef>,
}

/// The base image: as it was named, and the digest read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseRef {
    /// The reference given (`docker://…`, `oci:…`).
    pub reference: String,
    /// The digest of what it named (index or manifest).
    pub digest: String,
}

/// One CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaRef {
    /// `sha256:` and the certificate's SHA-256 fingerprint.
    pub sha256: String,
    /// Its subject, when the certificate was given (a removal by fingerprint has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One platform of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformPredicate {
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// The new manifest's digest.
    pub manifest: String,
    /// The base manifest it was made from.
    #[serde(rename = "baseManifest")]
    pub base_manifest: String,
    /// trustbake's earlier top layer of the base, which this bake replaced.
    #[serde(
        rename = "replacedLayer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub replaced_layer: Option<String>,
    /// The layer added (`null`: the platform is the base's, unchanged).
    pub layer: Option<LayerRef>,
    /// Every entry of that layer.
    pub files: Vec<LayerFile>,
    /// The config fields that differ from the base's (JSON pointers).
    #[serde(rename = "configChanges")]
    pub config_changes: Vec<String>,
}

/// The layer added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The blob's digest.
    pub digest: String,
    /// The uncompressed tar's digest.
    #[serde(rename = "diffID")]
    pub diff_id: String,
    /// Its media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Its size.
    pub size: u64,
}

/// The predicate of a bake: `new` made from `base_reference`, adding `added`, removing `removed`,
/// replacing the layers `replaced` names (per platform, in order).
pub(crate) fn predicate(
    new: &NewImage<'_>,
    base_reference: &str,
    added: Vec<CaRef>,
    removed: Vec<CaRef>,
    replaced: &[Option<String>],
) -> Result<BakePredicate, Error> {
    let base = new.base();
    let base_digest = base
        .index
        .as_ref()
        .map(|i| i.descriptor.digest)
        .or_else(|| base.platforms.first().map(|p| p.descriptor.digest))
        .map(|d| d.to_string())
        .unwrap_or_default();
    let mut platforms = Vec::new();
    for (p, replaced) in new.platforms.iter().zip(replaced) {
        let base_platform = base
            .platforms
            .iter()
            .find(|b| b.descriptor.digest == p.base_digest);
        let layer = match (&p.layer, p.manifest.value().layers.last()) {
            (Some(layer), Some(descriptor)) if p.changed => Some((layer, descriptor)),
            _ => None,
        };
        platforms.push(PlatformPredicate {
            platform: p.platform.as_ref().map(ToString::to_string),
            manifest: p.descriptor.digest.to_string(),
            base_manifest: p.base_digest.to_string(),
            replaced_layer: replaced.clone(),
            layer: layer.map(|(l, d)| LayerRef {
                digest: l.digest.to_string(),
                diff_id: l.diff_id.to_string(),
                media_type: d.media_type.clone(),
                size: l.blob.len() as u64,
            }),
            files: match layer {
                Some((l, _)) => trustbake_image::layer_files(&l.blob)?,
                None => Vec::new(),
            },
            config_changes: match base_platform {
                Some(b) => changed_fields(b.config.bytes(), p.config.bytes())?,
                None => Vec::new(),
            },
        });
    }
    Ok(BakePredicate {
        trustbake: env!("CARGO_PKG_VERSION").to_owned(),
        base: BaseRef {
            reference: base_reference.to_owned(),
            digest: base_digest,
        },
        platforms,
        added,
        removed,
    })
}

/// The in-toto Statement v1 of `predicate` about the image `name` at `digest`.
pub(crate) fn statement(name: &str, digest: &str, predicate: &BakePredicate) -> Value {
    serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": name,
            "digest": { "sha256": digest.trim_start_matches("sha256:") },
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    })
}

/// The JSON pointers at which two config documents differ: every key added, removed or changed
/// (objects compared key by key; anything else as a whole).
pub(crate) fn changed_fields(before: &[u8], after: &[u8]) -> Result<Vec<String>, Error> {
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map_err(|e| Error::BadArgument {
            what: "image config".into(),
            reason: e.to_string(),
        })
    };
    let mut out = Vec::new();
    diff(&parse(before)?, &parse(after)?, "", &mut out);
    Ok(out)
}

/// A mapping missing (or `null`) on one side is compared as an empty one, so a label added to
/// a config without labels is named by its own key.
fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let as_map = |v: &'_ Value, other: &Value| match (v, other) {
        (Value::Object(m), _) => Some(m.clone()),
        (Value::Null, Value::Object(_)) => Some(empty.clone()),
        _ => None,
    };
    match (as_map(a, b), as_map(b, a)) {
        (Some(a), Some(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                diff(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    &path,
                    out,
                );
            }
        }
        _ if a != b => out.push(at.to_owned()),
        _ => {}
    }
}
