//! Artifacts attached to an image by tag, as cosign attaches them: signatures at
//! `sha256-<hex>.sig`, attestations at `sha256-<hex>.att`, in the image's own repository (or OCI
//! layout). Each is an OCI image manifest whose layers are the artifacts, each layer with its
//! annotations; adding one keeps the ones there (the same one is not added twice) and puts the
//! tag back — as cosign does, and as racy as cosign's spec says: two writers at once may lose
//! one's addition.

use indexmap::IndexMap;
use serde_json::json;

use crate::error::ImageError;
use crate::model::{Descriptor, Manifest, media_type};
use crate::reference::ImageRef;
use crate::registry::{RegistryError, Role, Session};
use crate::source::{ImageSource, read_blob};

/// One attached artifact: a layer's descriptor (media type, annotations) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The layer's descriptor.
    pub descriptor: Descriptor,
    /// Its bytes, verified against the descriptor.
    pub bytes: Vec<u8>,
}

impl Attached {
    /// An artifact of `media_type` holding `bytes`, with `annotations`.
    pub fn new(media_type: &str, bytes: Vec<u8>, annotations: IndexMap<String, String>) -> Self {
        Attached {
            descriptor: Descriptor {
                annotations: Some(annotations),
                ..Descriptor::of(media_type, &bytes)
            },
            bytes,
        }
    }
}

/// `reference`'s repository (or layout) at another tag. Archives hold one image and nothing
/// beside it: refused.
pub fn sibling(reference: &ImageRef, tag: &str) -> Result<ImageRef, ImageError> {
    match reference {
        ImageRef::Registry(r) => {
            let mut r = r.clone();
            r.tag = Some(tag.to_owned());
            r.digest = None;
            Ok(ImageRef::Registry(r))
        }
        ImageRef::OciLayout { dir, .. } => Ok(ImageRef::OciLayout {
            dir: dir.clone(),
            tag: Some(tag.to_owned()),
        }),
        ImageRef::OciArchive { .. } | ImageRef::DockerArchive { .. } => {
            Err(ImageError::BadReference {
                input: reference.to_string(),
                reason: "signatures and attestations go beside the image, in a registry repository or an OCI layout (oci:DIR:TAG); an archive holds one image",
            })
        }
    }
}

/// The artifacts attached at `at` (a [`sibling`] reference), read with `role`'s access; `None`
/// when nothing is tagged there.
pub fn read_attached(
    at: &ImageRef,
    session: &Session,
    role: Role,
) -> Result<Option<Vec<Attached>>, ImageError> {
    let source: Box<dyn ImageSource> = match at {
        ImageRef::Registry(r) => Box::new(crate::source::registry::RegistrySource::new(
            r.clone(),
            session.client(r, role)?,
        )),
        _ => Box::new(crate::source::layout::LayoutSource::open(at)?),
    };
    let resolved = match source.resolve() {
        Ok(resolved) => resolved,
        Err(ImageError::NoSuchTag { .. })
        | Err(ImageError::Registry(RegistryError::NotFound { .. })) => return Ok(None),
        Err(e) => return Err(e),
    };
    let what = format!("{at}");
    if !media_type::is_manifest(&resolved.descriptor.media_type) {
        return Err(ImageError::BadJson {
            what,
            detail: format!(
                "a {}, not the image manifest cosign attaches artifacts in",
                resolved.descriptor.media_type
            ),
        });
    }
    let manifest: Manifest =
        serde_json::from_slice(&resolved.bytes).map_err(|e| ImageError::BadJson {
            what: what.clone(),
            detail: e.to_string(),
        })?;
    let mut out = Vec::new();
    for layer in manifest.layers {
        let bytes = read_blob(source.as_ref(), &layer, &what)?;
        out.push(Attached {
            descriptor: layer,
            bytes,
        });
    }
    Ok(Some(out))
}

/// Attaches `new` at `at` (a [`sibling`] reference) with the destination's access: the
/// artifacts there are kept, a new one that `same` finds there already (or one of equal digest
/// and annotations) is not added, and the tag is put back. `kind` annotates an OCI layout's `index.json` entry as `cosign save`
/// does (`dev.cosignproject.cosign/sigs`, `…/atts`). Returns the new manifest's descriptor, or
/// `None` when every artifact was there already (nothing written).
pub fn attach(
    at: &ImageRef,
    session: &Session,
    new: Vec<Attached>,
    kind: &str,
    same: &dyn Fn(&Attached, &Attached) -> bool,
) -> Result<Option<Descriptor>, ImageError> {
    let mut all = read_attached(at, session, Role::Destination)?.unwrap_or_default();
    let mut added = 0usize;
    for artifact in new {
        let there = all.iter().any(|a| {
            (a.descriptor.digest == artifact.descriptor.digest
                && a.descriptor.annotations == artifact.descriptor.annotations)
                || same(a, &artifact)
        });
        if !there {
            all.push(artifact);
            added += 1;
        }
    }
    if added == 0 {
        // Nothing new: the tag already names what it would.
        return Ok(None);
    }
    // A config as cosign writes one: verifiers ignore it; it names the layers' digests.
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": all.iter().map(|_| json!({"created": "0001-01-01T00:00:00Z"})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {
            "type": "layers",
            "diff_ids": all.iter().map(|a| a.descriptor.digest.to_string()).collect::<Vec<_>>(),
        },
        "config": {},
    }))
    .map_err(|e| ImageError::BadJson {
        what: "an artifact config".into(),
        detail: e.to_string(),
    })?;
    let config_descriptor = Descriptor::of(media_type::OCI_CONFIG, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": config_descriptor,
        "layers": all.iter().map(|a| &a.descriptor).collect::<Vec<_>>(),
    }))
    .map_err(|e| ImageError::BadJson {
        what: "an artifact manifest".into(),
        detail: e.to_string(),
    })?;
    let mut top = Descriptor::of(media_type::OCI_MANIFEST, &manifest);
    let mut dest = crate::dest::open_destination(at, session)?;
    if !dest.has_blob(&config_descriptor)? {
        dest.put_blob_bytes(&config_descriptor, &config)?;
    }
    for artifact in &all {
        if !dest.has_blob(&artifact.descriptor)? {
            dest.put_blob_bytes(&artifact.descriptor, &artifact.bytes)?;
        }
    }
    dest.put_manifest(&top, &manifest)?;
    if matches!(at, ImageRef::OciLayout { .. }) {
        top.annotations = Some(IndexMap::from([("kind".to_owned(), kind.to_owned())]));
    }
    dest.commit(&top)?;
    top.annotations = None;
    Ok(Some(top))
}
