//! A registry image (`docker://…`) as an [`ImageSource`].

use std::io::Read;
use std::sync::Arc;

use super::{BlobRef, ImageSource, Resolved};
use crate::error::ImageError;
use crate::model::Descriptor;
use crate::reference::RegistryRef;
use crate::registry::Client;

/// An image in a registry.
#[derive(Debug)]
pub(crate) struct RegistrySource {
    reference: RegistryRef,
    client: Arc<Client>,
}

impl RegistrySource {
    pub(crate) fn new(reference: RegistryRef, client: Arc<Client>) -> Self {
        RegistrySource { reference, client }
    }
}

impl ImageSource for RegistrySource {
    fn name(&self) -> String {
        format!("docker://{}", self.reference.name())
    }

    fn resolve(&self) -> Result<Resolved, ImageError> {
        let (descriptor, bytes) = self.client.get_manifest(
            &self.reference,
            &self.reference.manifest_reference(),
            None,
        )?;
        Ok(Resolved {
            descriptor,
            bytes,
            member_layers: None,
        })
    }

    fn open_blob(&self, blob: &BlobRef) -> Result<Box<dyn Read + Send>, ImageError> {
        match blob {
            BlobRef::Digest(digest) => Ok(Box::new(self.client.blob_reader(
                &self.reference.repository,
                *digest,
                None,
            ))),
            BlobRef::Member(member) => Err(ImageError::MissingBlob {
                digest: member.clone(),
                image: self.name(),
            }),
        }
    }

    fn open_manifest(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>, ImageError> {
        let (_, bytes) = self.client.get_manifest(
            &self.reference,
            &descriptor.digest.to_string(),
            Some(descriptor),
        )?;
        Ok(Box::new(std::io::Cursor::new(bytes)))
    }

    fn registry(&self) -> Option<&RegistryRef> {
        Some(&self.reference)
    }
}
