//! The image documents as types: [`Descriptor`], [`Manifest`], [`Index`], [`Config`] (with
//! [`History`] and the runtime [`ContainerConfig`]) and [`Platform`]. Each keeps the fields it
//! does not name in `rest`, so nothing is lost. [`Document`] pairs a parsed document with its
//! bytes: a document that was not changed keeps its bytes (and so its digest), and a changed
//! one is written with the key order of the original, new keys last.

use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::{DiffId, Digest};
use crate::error::ImageError;

/// Media types trustbake reads and writes.
pub mod media_type {
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image manifest (schema 2).
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI uncompressed layer.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker uncompressed layer.
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

    /// Every layer media type a base may use.
    pub const LAYERS: &[&str] = &[
        OCI_LAYER,
        OCI_LAYER_GZIP,
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        DOCKER_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        DOCKER_LAYER,
    ];

    /// An index or manifest list.
    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_LIST
    }

    /// A single-platform manifest.
    pub fn is_manifest(media_type: &str) -> bool {
        media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
    }
}

/// An `os/architecture[/variant]` platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `os.version`, `os.features` and anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Platform {
    /// Whether this platform is what `wanted` asks for (a variant not asked for matches any).
    pub fn matches(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }

    /// Not a runnable image: attestations and other `unknown/unknown` entries.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown"
    }
}

impl FromStr for Platform {
    type Err = ImageError;

    /// Parses `os/arch[/variant]`, each part non-empty, lower-case letters, digits, `.`, `_`
    /// and `-`.
    fn from_str(text: &str) -> Result<Self, ImageError> {
        let bad = |reason: &'static str| ImageError::BadPlatform {
            input: text.to_owned(),
            reason,
        };
        let parts: Vec<&str> = text.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad("write it as os/arch[/variant], e.g. linux/amd64"));
        }
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        };
        if !parts.iter().all(|p| ok(p)) {
            return Err(bad(
                "each part must be non-empty: lower-case letters, digits, '.', '_', '-'",
            ));
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
            rest: Map::new(),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A content descriptor: what a blob is, how large, and its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The media type.
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    /// The size in bytes.
    pub size: u64,
    /// The digest.
    pub digest: Digest,
    /// The platform, in an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations, in their order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<IndexMap<String, String>>,
    /// `urls`, `artifactType`, `data` and anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Descriptor {
    /// A descriptor of `bytes` with `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(media_type, bytes.len() as u64, Digest::of(bytes))
    }

    /// A bare descriptor.
    pub fn new(media_type: &str, size: u64, digest: Digest) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            size,
            digest,
            platform: None,
            annotations: None,
            rest: Map::new(),
        }
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// A single-platform image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// The manifest's own media type (optional in OCI).
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<IndexMap<String, String>>,
    /// `subject`, `artifactType` and anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A multi-platform index (OCI image index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// The index's own media type (optional in OCI).
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The entries.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<IndexMap<String, String>>,
    /// Anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An image config (OCI, or Docker's with its extra fields kept in `rest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// When the image was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// e.g. `amd64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// e.g. `linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The runtime defaults (`User`, `Env`, `Labels`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// The layers' diff IDs.
    pub rootfs: RootFs,
    /// One entry per step, `empty_layer` ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<History>>,
    /// Anything else (Docker's `container_config`, `docker_version`, vendor fields).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Config {
    /// The platform the config describes, when it names one.
    pub fn platform(&self) -> Option<Platform> {
        Some(Platform {
            os: self.os.clone()?,
            architecture: self.architecture.clone()?,
            variant: self.variant.clone(),
            rest: Map::new(),
        })
    }
}

/// The layers' diff IDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// One per layer, bottom first.
    pub diff_ids: Vec<DiffId>,
    /// Anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The step made no layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    /// `author` and anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl History {
    /// Whether this entry has a layer of its own.
    pub fn has_layer(&self) -> bool {
        !self.empty_layer.unwrap_or(false)
    }
}

/// The runtime defaults of a config, the fields trustbake reads or sets named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The user the container runs as.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `NAME=value` entries.
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Labels, in their order.
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<IndexMap<String, String>>,
    /// Everything else (`Entrypoint`, `Cmd`, `Healthcheck`, `OnBuild`, …).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ContainerConfig {
    /// The value of `name` in `Env`.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env.as_ref()?.iter().find_map(|e| {
            let (k, v) = e.split_once('=')?;
            (k == name).then_some(v)
        })
    }
}

/// A parsed document and the bytes it is stored as.
#[derive(Debug, Clone)]
pub struct Document<T> {
    value: T,
    bytes: Vec<u8>,
    digest: Digest,
    /// The document as parsed, in its key order: the template a changed document follows.
    shape: Value,
}

impl<T: Serialize + DeserializeOwned + PartialEq + Clone> Document<T> {
    /// Parses `bytes` (`what` names the document in errors).
    pub fn parse(bytes: Vec<u8>, what: &str) -> Result<Self, ImageError> {
        let bad = |e: serde_json::Error| ImageError::BadJson {
            what: what.to_owned(),
            detail: e.to_string(),
        };
        let shape: Value = serde_json::from_slice(&bytes).map_err(bad)?;
        let value = T::deserialize(&shape).map_err(bad)?;
        Ok(Document {
            digest: Digest::of(&bytes),
            value,
            bytes,
            shape,
        })
    }

    /// A new document, written compactly in the type's field order.
    pub fn new(value: T) -> Result<Self, ImageError> {
        let shape = to_value(&value)?;
        let bytes = to_bytes(&shape)?;
        Ok(Document {
            digest: Digest::of(&bytes),
            value,
            bytes,
            shape,
        })
    }

    /// This document with `edit` applied. An edit that changes nothing keeps the bytes; a
    /// change is written compactly, keys in the original's order and new keys last.
    pub fn edit(&self, edit: impl FnOnce(&mut T)) -> Result<Self, ImageError> {
        let mut value = self.value.clone();
        edit(&mut value);
        if value == self.value {
            return Ok(self.clone());
        }
        let shape = follow(to_value(&value)?, &self.shape);
        let bytes = to_bytes(&shape)?;
        Ok(Document {
            digest: Digest::of(&bytes),
            value,
            bytes,
            shape,
        })
    }

    /// The parsed document.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The bytes as stored.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The descriptor of this document with `media_type`.
    pub fn descriptor(&self, media_type: &str) -> Descriptor {
        Descriptor::new(media_type, self.bytes.len() as u64, self.digest)
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ImageError> {
    serde_json::to_value(value).map_err(|e| ImageError::BadJson {
        what: "a document being written".into(),
        detail: e.to_string(),
    })
}

fn to_bytes(value: &Value) -> Result<Vec<u8>, ImageError> {
    serde_json::to_vec(value).map_err(|e| ImageError::BadJson {
        what: "a document being written".into(),
        detail: e.to_string(),
    })
}

/// `new` with its keys in the order `shape` had them (recursively, arrays by position), keys
/// `shape` lacked last; a key that was `null` in `shape` and that the types dropped comes back.
fn follow(new: Value, shape: &Value) -> Value {
    match (new, shape) {
        (Value::Object(mut new), Value::Object(shape)) => {
            let mut out = Map::new();
            for (key, old) in shape {
                match new.remove(key) {
                    Some(v) => {
                        out.insert(key.clone(), follow(v, old));
                    }
                    None if old.is_null() => {
                        out.insert(key.clone(), Value::Null);
                    }
                    None => {}
                }
            }
            out.extend(new);
            Value::Object(out)
        }
        (Value::Array(new), Value::Array(shape)) => Value::Array(
            new.into_iter()
                .enumerate()
                .map(|(i, v)| match shape.get(i) {
                    Some(old) => follow(v, old),
                    None => v,
                })
                .collect(),
        ),
        (new, _) => new,
    }
}

/// A family of media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// OCI media types.
    Oci,
    /// Docker media types.
    Docker,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check_edit(original: &str, edit: impl FnOnce(&mut Config), expected: &str) {
        let doc = Document::<Config>::parse(original.as_bytes().to_vec(), "config").unwrap();
        let edited = doc.edit(edit).unwrap();
        assert_eq!(String::from_utf8_lossy(edited.bytes()), expected);
    }

    const CONFIG: &str = r#"{ "rootfs": {"diff_ids": [], "type": "layers"}, "x-vendor": {"b": 1, "a": null}, "config": {"Labels": {"z": "1", "a": "2"}, "Env": null}, "os": "linux" }"#;

    #[test]
    fn an_unchanged_document_keeps_its_bytes() {
        check_edit(CONFIG, |_| {}, CONFIG);
    }

    #[test]
    fn a_changed_document_keeps_key_order_and_every_field() {
        check_edit(
            CONFIG,
            |c| {
                let labels = c.config.as_mut().unwrap().labels.as_mut().unwrap();
                labels.insert("new".into(), "3".into());
                c.created = Some("2024-01-01T00:00:00Z".into());
            },
            r#"{"rootfs":{"diff_ids":[],"type":"layers"},"x-vendor":{"b":1,"a":null},"config":{"Labels":{"z":"1","a":"2","new":"3"},"Env":null},"os":"linux","created":"2024-01-01T00:00:00Z"}"#,
        );
    }

    #[test]
    fn numbers_in_unknown_fields_survive_an_edit() {
        // Found by fuzzing: without exact float parsing this value changed when written back.
        let text = r#"{"rootfs":{"type":"layers","diff_ids":[]},"x":{"f":3.777777777777778e+92,"i":30000000000}}"#;
        let doc = Document::<Config>::parse(text.as_bytes().to_vec(), "config").unwrap();
        let edited = doc.edit(|c| c.created = Some("now".into())).unwrap();
        let again = Document::<Config>::parse(edited.bytes().to_vec(), "again").unwrap();
        assert_eq!(again.value(), edited.value());
        assert_eq!(again.value().rest["x"], doc.value().rest["x"]);
    }

    #[test]
    fn platforms_parse_strictly() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(
            (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()),
            ("linux", "arm64", Some("v8"))
        );
        assert_eq!(p.to_string(), "linux/arm64/v8");
        for bad in [
            "linux",
            "linux/",
            "/amd64",
            "linux/amd64/v8/x",
            "Linux/amd64",
            "",
        ] {
            let err = bad.parse::<Platform>().unwrap_err().to_string();
            assert!(err.contains("platform"), "{bad}: {err}");
        }
        let amd: Platform = "linux/amd64".parse().unwrap();
        let v3 = Platform {
            variant: Some("v3".into()),
            ..amd.clone()
        };
        assert!(v3.matches(&amd) && !amd.matches(&v3));
    }

    #[test]
    fn descriptors_keep_unknown_fields() {
        let text = r#"{"mediaType":"m","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":3,"urls":["u"],"annotations":{"b":"1","a":"2"}}"#;
        let d: Descriptor = serde_json::from_str(text).unwrap();
        assert_eq!(d.rest["urls"], serde_json::json!(["u"]));
        assert_eq!(d.annotation("a"), Some("2"));
    }
}
