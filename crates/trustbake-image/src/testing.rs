//! Small images for the unit tests.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::digest::Digest;
use crate::layer::{LayerEntry, build_layer};
use crate::model::{Config, Descriptor, Document, History, Manifest, RootFs, media_type};

/// Writes a one-layer OCI layout at `dir`, tagged `tag`; returns the manifest's digest.
pub(crate) fn layout(dir: &Path, tag: &str) -> Digest {
    let layer = build_layer(&[LayerEntry::file("/etc/hello", b"hello\n", 0o644, 1)]).unwrap();
    let config = Document::new(Config {
        created: Some("2024-01-01T00:00:00Z".into()),
        architecture: Some("amd64".into()),
        os: Some("linux".into()),
        variant: None,
        config: None,
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![layer.diff_id],
            rest: Default::default(),
        },
        history: Some(vec![History {
            created: None,
            created_by: Some("test".into()),
            comment: None,
            empty_layer: None,
            rest: Default::default(),
        }]),
        rest: Default::default(),
    })
    .unwrap();
    let manifest = Document::new(Manifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        config: config.descriptor(media_type::OCI_CONFIG),
        layers: vec![Descriptor::of(media_type::OCI_LAYER_GZIP, &layer.blob)],
        annotations: None,
        rest: Default::default(),
    })
    .unwrap();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for bytes in [&layer.blob[..], config.bytes(), manifest.bytes()] {
        std::fs::write(blobs.join(Digest::of(bytes).hex()), bytes).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [{
        "mediaType": media_type::OCI_MANIFEST, "digest": manifest.digest().to_string(),
        "size": manifest.bytes().len(),
        "annotations": { "org.opencontainers.image.ref.name": tag } }] });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    manifest.digest()
}
