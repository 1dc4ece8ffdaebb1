//! A scan cache shared through a registry repository (`--cache-repo docker://HOST/REPO`): one
//! small artifact per scanned layer, tagged `scan-<key>` (the local cache's key: the layer's
//! digest, media type, the entry format and what the scan keeps), an OCI manifest with one layer
//! of media type [`ENTRY_MEDIA_TYPE`] holding the encoded scan. A fresh runner reads the entry
//! instead of the base layer.
//!
//! Trust: an entry is read by digest (the manifest's, then the blob's, both verified) and used
//! only when it decodes and names the digest, diff ID and media type the image expects — as the
//! local entries. But its file bodies become part of the new layer: whoever can write the cache
//! repository can choose them. Write access to it is as powerful as write access to the baked
//! images. With a verifier (a signing key given), an entry is used only when its signature
//! annotation verifies; entries pushed then carry one.

use std::io::Read;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::json;

use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{Descriptor, media_type};
use crate::reference::RegistryRef;
use crate::registry::{Client, Role, Session};

/// The media type of a cache entry's layer.
pub const ENTRY_MEDIA_TYPE: &str = "application/vnd.trustbake.scan-cache.entry.v1";

/// The media type of a cache entry's (empty) config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.trustbake.scan-cache.config.v1+json";

/// The annotation holding an entry's signature (base64), when signed.
pub const SIGNATURE_ANNOTATION: &str = "dev.trustbake.scan-cache.signature";

/// The largest entry read: a scan keeps small files only.
const MAX_ENTRY: u64 = 64 * 1024 * 1024;

/// Signs an entry's bytes: the base64 signature.
pub type SignEntry = dyn Fn(&[u8]) -> Option<String> + Send + Sync;

/// Whether a base64 signature of an entry's bytes verifies.
pub type VerifyEntry = dyn Fn(&[u8], &str) -> bool + Send + Sync;

/// The repository a scan cache is shared through.
pub struct RemoteCache {
    client: Arc<Client>,
    repository: RegistryRef,
    sign: Option<Box<SignEntry>>,
    verify: Option<Box<VerifyEntry>>,
}

impl std::fmt::Debug for RemoteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteCache")
            .field("repository", &self.repository.name())
            .field("signed", &self.sign.is_some())
            .finish_non_exhaustive()
    }
}

impl RemoteCache {
    /// The cache in `repository` (`HOST/REPO`, no tag), reached with the destination's access
    /// of `session` (it is read and written).
    pub fn new(session: &Session, repository: &RegistryRef) -> Result<Self, ImageError> {
        let repository = RegistryRef {
            tag: None,
            digest: None,
            ..repository.clone()
        };
        Ok(RemoteCache {
            client: session.client(&repository, Role::Destination)?,
            repository,
            sign: None,
            verify: None,
        })
    }

    /// Entries pushed are signed with `sign`; entries read are used only when `verify` accepts
    /// their signature.
    pub fn signed(mut self, sign: Box<SignEntry>, verify: Box<VerifyEntry>) -> Self {
        self.sign = Some(sign);
        self.verify = Some(verify);
        self
    }

    fn tag(key: &[u8; 32]) -> String {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        format!("scan-{hex}")
    }

    /// The entry under `key`, when the repository holds one (and, signed, its signature
    /// verifies). Any failure is a miss.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        let reference = RegistryRef {
            tag: Some(Self::tag(key)),
            ..self.repository.clone()
        };
        let (_, bytes) = self
            .client
            .get_manifest(&reference, &Self::tag(key), None)
            .ok()?;
        let manifest: crate::model::Manifest = serde_json::from_slice(&bytes).ok()?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == ENTRY_MEDIA_TYPE)?;
        if layer.size > MAX_ENTRY {
            return None;
        }
        let mut entry = Vec::new();
        self.client
            .blob_reader(&self.repository.repository, layer.digest, Some(layer.size))
            .take(layer.size + 1)
            .read_to_end(&mut entry)
            .ok()?;
        if Digest::of(&entry) != layer.digest {
            return None;
        }
        if let Some(verify) = &self.verify {
            let signature = layer
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURE_ANNOTATION))?;
            if !verify(&entry, signature) {
                return None;
            }
        }
        Some(entry)
    }

    /// Pushes `entry` under `key`. A failure only loses the sharing.
    pub(crate) fn put(&self, key: &[u8; 32], entry: &[u8]) {
        let _ = self.try_put(key, entry);
    }

    fn try_put(&self, key: &[u8; 32], entry: &[u8]) -> Result<(), ImageError> {
        let repo = &self.repository.repository;
        let mut layer = Descriptor::of(ENTRY_MEDIA_TYPE, entry);
        if let Some(sign) = &self.sign {
            let signature = sign(entry).ok_or_else(|| ImageError::BadBlob {
                image: self.repository.name(),
                detail: "the cache entry could not be signed".into(),
            })?;
            layer.annotations = Some(IndexMap::from([(
                SIGNATURE_ANNOTATION.to_owned(),
                signature,
            )]));
        }
        let config = b"{}".to_vec();
        let config_descriptor = Descriptor::of(CONFIG_MEDIA_TYPE, &config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "artifactType": ENTRY_MEDIA_TYPE,
            "config": config_descriptor,
            "layers": [layer],
        }))
        .map_err(|e| ImageError::BadJson {
            what: "a scan cache manifest".into(),
            detail: e.to_string(),
        })?;
        for (descriptor, bytes) in [(&config_descriptor, &config[..]), (&layer, entry)] {
            if !self.client.has_blob(repo, &descriptor.digest)? {
                self.client.upload_bytes(repo, descriptor, bytes)?;
            }
        }
        self.client
            .put_manifest(repo, &Self::tag(key), media_type::OCI_MANIFEST, &manifest)?;
        Ok(())
    }
}
