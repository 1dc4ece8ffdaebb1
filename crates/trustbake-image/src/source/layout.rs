//! The OCI image layout (`oci:DIR[:TAG]`) and its tar, the OCI archive (`oci-archive:FILE[:TAG]`),
//! as an [`ImageSource`]: `index.json` picks the image by its `org.opencontainers.image.ref.name`,
//! blobs are `blobs/sha256/<hex>`.

use std::io::Read;
use std::path::PathBuf;

use serde::Deserialize;

use super::store::{Member, Store};
use super::{BlobRef, ImageSource, Resolved, read_blob};
use crate::error::ImageError;
use crate::limits::read_small;
use crate::model::Descriptor;
use crate::reference::ImageRef;

/// The annotation that tags an entry of a layout's `index.json`.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI layout or OCI archive.
#[derive(Debug)]
pub(crate) struct LayoutSource {
    reference: ImageRef,
    tag: Option<String>,
    store: Store,
}

/// The `oci-layout` marker.
#[derive(Deserialize)]
struct LayoutMarker {
    #[serde(rename = "imageLayoutVersion", default)]
    image_layout_version: String,
}

/// `index.json`: only its entries matter here.
#[derive(Deserialize)]
struct IndexJson {
    manifests: Vec<Descriptor>,
}

impl LayoutSource {
    pub(crate) fn open(reference: &ImageRef) -> Result<LayoutSource, ImageError> {
        let (store, tag) = match reference {
            ImageRef::OciLayout { dir, tag } => (Store::Dir(dir.clone()), tag),
            ImageRef::OciArchive { file, tag } => (Store::archive(file)?, tag),
            ImageRef::DockerArchive { .. } | ImageRef::Registry(_) => {
                return Err(ImageError::BadReference {
                    input: reference.to_string(),
                    reason: "not an OCI layout or archive",
                });
            }
        };
        let Some((marker, _)) = store.open("oci-layout")? else {
            return Err(ImageError::NotALayout {
                path: store.path().to_path_buf(),
            });
        };
        let marker = read_small(marker, store.path().join("oci-layout"))?;
        let version = serde_json::from_slice::<LayoutMarker>(&marker)
            .map(|m| m.image_layout_version)
            .unwrap_or_default();
        // Version 1.x is the layout this reads; another major version may mean anything.
        if !version.starts_with("1.") {
            return Err(ImageError::BadJson {
                what: store.path().join("oci-layout").display().to_string(),
                detail: format!("imageLayoutVersion '{version}': only 1.x layouts are read"),
            });
        }
        Ok(LayoutSource {
            reference: reference.clone(),
            tag: tag.clone(),
            store,
        })
    }

    /// Every entry of `index.json`: its descriptor, and the entry as written (annotations
    /// and all).
    pub(crate) fn index_entries(&self) -> Result<Vec<(Descriptor, serde_json::Value)>, ImageError> {
        let (reader, _) = self.member("index.json")?;
        let path = self.store.path().join("index.json");
        let bytes = read_small(reader, &path)?;
        let bad = |detail: String| ImageError::BadJson {
            what: path.display().to_string(),
            detail,
        };
        let index: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let entries = index
            .get("manifests")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| bad("no manifests".into()))?;
        entries
            .iter()
            .map(|value| {
                serde_json::from_value::<Descriptor>(value.clone())
                    .map(|d| (d, value.clone()))
                    .map_err(|e| bad(e.to_string()))
            })
            .collect()
    }

    fn member(&self, name: &str) -> Result<Member, ImageError> {
        self.store
            .open(name)?
            .ok_or_else(|| ImageError::MissingBlob {
                digest: name.to_owned(),
                image: self.reference.to_string(),
            })
    }
}

impl ImageSource for LayoutSource {
    fn name(&self) -> String {
        self.reference.to_string()
    }

    fn resolve(&self) -> Result<Resolved, ImageError> {
        let (reader, _) = self.member("index.json")?;
        let path = self.store.path().join("index.json");
        let bytes = read_small(reader, &path)?;
        let index: IndexJson = serde_json::from_slice(&bytes).map_err(|e| ImageError::BadJson {
            what: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let entries = index.manifests;
        let tag_of = |d: &Descriptor| d.annotation(REF_NAME).map(str::to_owned);
        let chosen = match &self.tag {
            Some(tag) => entries
                .iter()
                .find(|d| tag_of(d).as_deref() == Some(tag.as_str())),
            None if entries.len() == 1 => entries.first(),
            None => None,
        };
        let Some(chosen) = chosen.cloned() else {
            let tags: Vec<String> = entries.iter().filter_map(tag_of).collect();
            if self.tag.is_none() {
                return Err(ImageError::NameOne {
                    image: self.name(),
                    count: entries.len(),
                    tags: if tags.is_empty() {
                        "none".to_owned()
                    } else {
                        tags.join(", ")
                    },
                });
            }
            return Err(ImageError::NoSuchTag {
                image: self.name(),
                tag: self
                    .tag
                    .clone()
                    .unwrap_or_else(|| "(none given)".to_owned()),
                available: if tags.is_empty() {
                    "none".to_owned()
                } else {
                    tags.join(", ")
                },
            });
        };
        let bytes = read_blob(self, &chosen, "what index.json names")?;
        Ok(Resolved {
            descriptor: chosen,
            bytes,
            member_layers: None,
        })
    }

    fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, ImageError> {
        let name = match blob {
            BlobRef::Digest(d) => format!("blobs/sha256/{}", d.hex()),
            BlobRef::Member(m) => m.clone(),
        };
        self.store
            .open(&name)?
            .map(|(reader, _)| reader)
            .ok_or_else(|| ImageError::MissingBlob {
                digest: blob.to_string(),
                image: self.name(),
            })
    }

    fn blob_file(&self, blob: &BlobRef) -> Option<PathBuf> {
        match blob {
            BlobRef::Digest(d) => self.store.file(&format!("blobs/sha256/{}", d.hex())),
            BlobRef::Member(_) => None,
        }
    }
}
