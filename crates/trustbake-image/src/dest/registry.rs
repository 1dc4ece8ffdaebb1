//! A registry repository (`docker://…:TAG`) as an [`ImageDestination`]: blobs that are there
//! already are skipped (HEAD), blobs of the same registry are mounted, the rest uploaded in one
//! PUT each; manifests are pushed by digest as the exact bytes whose digest was computed, and
//! the tag is pushed last, so a failure never leaves the tag naming an incomplete image.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::ImageDestination;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{Descriptor, media_type};
use crate::reference::RegistryRef;
use crate::registry::{Action, Client};
use crate::source::ImageSource;

/// Blobs up to this size are uploaded from memory (retried whole on failure).
const IN_MEMORY: u64 = 64 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct RegistryDestination {
    reference: RegistryRef,
    client: Arc<Client>,
    /// Blobs and manifests known to be there.
    known: HashSet<Digest>,
    /// Manifests pushed, for the tag.
    pushed: HashMap<Digest, (String, Vec<u8>)>,
}

impl RegistryDestination {
    pub(crate) fn new(reference: RegistryRef, client: Arc<Client>) -> Result<Self, ImageError> {
        if reference.digest.is_some() {
            return Err(ImageError::BadReference {
                input: format!("docker://{}", reference.name()),
                reason: "a destination is named by a tag, not a digest",
            });
        }
        Ok(RegistryDestination {
            reference,
            client,
            known: HashSet::new(),
            pushed: HashMap::new(),
        })
    }

    fn repository(&self) -> &str {
        &self.reference.repository
    }
}

impl ImageDestination for RegistryDestination {
    fn name(&self) -> String {
        format!("docker://{}", self.reference.name())
    }

    fn has_blob(&mut self, blob: &Descriptor) -> Result<bool, ImageError> {
        if self.known.contains(&blob.digest) {
            return Ok(true);
        }
        let manifest =
            media_type::is_manifest(&blob.media_type) || media_type::is_index(&blob.media_type);
        let there = if manifest {
            self.client.has_manifest(self.repository(), &blob.digest)?
        } else {
            self.client.has_blob(self.repository(), &blob.digest)?
        };
        if there {
            self.known.insert(blob.digest);
            if !manifest {
                let t = &self.client.transfer;
                t.present.fetch_add(1, Ordering::Relaxed);
                t.present_bytes.fetch_add(blob.size, Ordering::Relaxed);
                self.client
                    .report(Action::Present, blob.digest, blob.size, Some(blob.size));
            }
        }
        Ok(there)
    }

    fn mount_blob(
        &mut self,
        blob: &Descriptor,
        from: &dyn ImageSource,
    ) -> Result<bool, ImageError> {
        let Some(source) = from.registry() else {
            return Ok(false);
        };
        if source.registry != self.reference.registry
            || source.repository == self.reference.repository
        {
            return Ok(false);
        }
        let mounted = self
            .client
            .mount(self.repository(), &blob.digest, &source.repository)?;
        if mounted {
            self.known.insert(blob.digest);
            let t = &self.client.transfer;
            t.mounted.fetch_add(1, Ordering::Relaxed);
            t.mounted_bytes.fetch_add(blob.size, Ordering::Relaxed);
            self.client
                .report(Action::Mount, blob.digest, blob.size, Some(blob.size));
        }
        Ok(mounted)
    }

    fn put_blob(&mut self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        if blob.size <= IN_MEMORY {
            let mut bytes = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
            content
                .read_to_end(&mut bytes)
                .map_err(|e| ImageError::BadBlob {
                    image: self.name(),
                    detail: format!("blob {}: {e}", blob.digest),
                })?;
            return self.put_blob_bytes(blob, &bytes);
        }
        self.client
            .upload_stream(self.repository(), blob, content)?;
        self.known.insert(blob.digest);
        Ok(())
    }

    fn put_blob_bytes(&mut self, blob: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        self.client.upload_bytes(self.repository(), blob, bytes)?;
        self.known.insert(blob.digest);
        Ok(())
    }

    fn sink(&self) -> Option<Arc<dyn crate::tee::BlobSink>> {
        Some(Arc::new(RegistrySink {
            client: Arc::clone(&self.client),
            repository: self.reference.repository.clone(),
        }))
    }

    fn mark_present(&mut self, digest: Digest) {
        self.known.insert(digest);
    }

    fn put_manifest(&mut self, manifest: &Descriptor, bytes: &[u8]) -> Result<(), ImageError> {
        let digest = Digest::of(bytes);
        if digest != manifest.digest {
            return Err(ImageError::BlobMismatch {
                digest: manifest.digest.to_string(),
                what: "digest",
                expected: manifest.digest.to_string(),
                found: digest.to_string(),
            });
        }
        self.client.put_manifest(
            self.repository(),
            &digest.to_string(),
            &manifest.media_type,
            bytes,
        )?;
        self.known.insert(digest);
        self.pushed
            .insert(digest, (manifest.media_type.clone(), bytes.to_vec()));
        Ok(())
    }

    fn commit(self: Box<Self>, top: &Descriptor) -> Result<(), ImageError> {
        let tag = self.reference.manifest_reference();
        let (media, bytes) = self
            .pushed
            .get(&top.digest)
            .ok_or_else(|| ImageError::BadBlob {
                image: self.name(),
                detail: format!("manifest {} was not pushed before the tag", top.digest),
            })?;
        self.client
            .put_manifest(self.repository(), &tag, media, bytes)?;
        Ok(())
    }
}

/// Uploads from other threads (one streamed PUT per blob).
struct RegistrySink {
    client: Arc<Client>,
    repository: String,
}

impl crate::tee::BlobSink for RegistrySink {
    fn put(&self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError> {
        Ok(self.client.upload_stream(&self.repository, blob, content)?)
    }
}
