//! The `docker save` archive (`docker-archive:FILE[:REPO:TAG]`) as an [`ImageSource`]:
//! `manifest.json` names the config and the layer members. The archive has no manifest, so
//! one is made up for the config; its layers are known by member until they are read.

use std::io::Read;

use serde::{Deserialize, Serialize};

use super::store::{Member, Store};
use super::{BlobRef, ImageSource, MemberLayer, Resolved};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::limits::read_small;
use crate::model::{Descriptor, Document, Manifest, media_type};
use crate::reference::ImageRef;

/// One entry of a docker archive's `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArchiveEntry {
    /// The config member.
    #[serde(rename = "Config")]
    pub(crate) config: String,
    /// `repo:tag` names.
    #[serde(rename = "RepoTags", default, deserialize_with = "null_as_empty")]
    pub(crate) repo_tags: Vec<String>,
    /// The layer members, bottom first.
    #[serde(rename = "Layers")]
    pub(crate) layers: Vec<String>,
    /// Anything else (`LayerSources`).
    #[serde(flatten)]
    pub(crate) rest: serde_json::Map<String, serde_json::Value>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A docker archive, its entry chosen.
#[derive(Debug)]
pub(crate) struct DockerArchiveSource {
    reference: ImageRef,
    store: Store,
    entry: ArchiveEntry,
}

impl DockerArchiveSource {
    pub(crate) fn open(reference: &ImageRef) -> Result<DockerArchiveSource, ImageError> {
        let ImageRef::DockerArchive {
            file,
            reference: tag,
        } = reference
        else {
            return Err(ImageError::BadReference {
                input: reference.to_string(),
                reason: "not a docker archive",
            });
        };
        let name = reference.to_string();
        let store = Store::archive(file)?;
        let (reader, _) = store
            .open("manifest.json")?
            .ok_or_else(|| ImageError::MissingBlob {
                digest: "manifest.json".into(),
                image: name.clone(),
            })?;
        let bytes = read_small(reader, file.join("manifest.json"))?;
        let entries: Vec<ArchiveEntry> =
            serde_json::from_slice(&bytes).map_err(|e| ImageError::BadJson {
                what: format!("{name} manifest.json"),
                detail: e.to_string(),
            })?;
        let chosen = match tag {
            Some(tag) => entries
                .iter()
                .find(|e| e.repo_tags.iter().any(|t| t == tag)),
            None if entries.len() == 1 => entries.first(),
            None => None,
        };
        let Some(entry) = chosen.cloned() else {
            let all: Vec<String> = entries.iter().flat_map(|e| e.repo_tags.clone()).collect();
            return Err(ImageError::NoSuchTag {
                image: name,
                tag: tag.clone().unwrap_or_else(|| "(none given)".to_owned()),
                available: if all.is_empty() {
                    "none".to_owned()
                } else {
                    all.join(", ")
                },
            });
        };
        for member in entry.layers.iter().chain([&entry.config]) {
            check_member(member, &name)?;
        }
        Ok(DockerArchiveSource {
            reference: reference.clone(),
            store,
            entry,
        })
    }

    fn member(&self, member: &str) -> Result<Member, ImageError> {
        self.store
            .open(member)?
            .ok_or_else(|| ImageError::MissingBlob {
                digest: member.to_owned(),
                image: self.reference.to_string(),
            })
    }
}

impl ImageSource for DockerArchiveSource {
    fn name(&self) -> String {
        self.reference.to_string()
    }

    fn resolve(&self) -> Result<Resolved, ImageError> {
        let (reader, _) = self.member(&self.entry.config)?;
        let config = read_small(reader, self.store.path().join(&self.entry.config))?;
        let mut member_layers = Vec::new();
        for member in &self.entry.layers {
            let (mut reader, size) = self.member(member)?;
            let mut magic = [0u8; 2];
            let n = reader
                .read(&mut magic)
                .map_err(crate::error::io_err(self.store.path(), "reading a layer"))?;
            let media_type = if n == 2 && magic == [0x1f, 0x8b] {
                media_type::DOCKER_LAYER_GZIP
            } else {
                media_type::DOCKER_LAYER
            };
            member_layers.push(MemberLayer {
                member: member.clone(),
                size,
                media_type: media_type.to_owned(),
            });
        }
        let manifest = Document::new(Manifest {
            schema_version: 2,
            media_type: Some(media_type::DOCKER_MANIFEST.to_owned()),
            config: Descriptor::of(media_type::DOCKER_CONFIG, &config),
            layers: Vec::new(),
            annotations: None,
            rest: serde_json::Map::new(),
        })?;
        Ok(Resolved {
            descriptor: manifest.descriptor(media_type::DOCKER_MANIFEST),
            bytes: manifest.bytes().to_vec(),
            member_layers: Some(member_layers),
        })
    }

    fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, ImageError> {
        match blob {
            BlobRef::Member(m) => Ok(self.member(m)?.0),
            // The config is the one blob named by digest; its member name is not always
            // `<hex>.json`, so it is recognised by content.
            BlobRef::Digest(d) => {
                let (reader, _) = self.member(&self.entry.config)?;
                let bytes = read_small(reader, self.store.path().join(&self.entry.config))?;
                if Digest::of(&bytes) != *d {
                    return Err(ImageError::MissingBlob {
                        digest: d.to_string(),
                        image: self.name(),
                    });
                }
                Ok(Box::new(std::io::Cursor::new(bytes)))
            }
        }
    }
}

/// A member name from `manifest.json` must stay inside the archive.
pub(crate) fn check_member(member: &str, image: &str) -> Result<(), ImageError> {
    if member.starts_with('/') || member.split('/').any(|p| p == "..") || member.is_empty() {
        return Err(ImageError::BadJson {
            what: format!("{image} manifest.json"),
            detail: format!("member '{member}' escapes the archive"),
        });
    }
    Ok(())
}
