//! What an image reference's name says: the Anchore product, component and version, in Docker
//! Hub's naming or Iron Bank's (Registry1). A hint for the version map, the recipes and the
//! chart values; the image itself stays the judge of its layout ([`crate::target`] turns a name
//! into the version map's target).

use serde::Serialize;
use trustbake_image::ImageRef;
use trustbake_targets::ImageName;

/// What an image's name says, as the JSON outcomes carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NamedImage {
    /// `engine` or `enterprise` (the version map's product); `null` for the CLI.
    pub product: Option<String>,
    /// `enterprise`, `ui`, `engine` or `cli`.
    pub component: String,
    /// `docker-hub` or `iron-bank`: whose repository naming the name follows.
    pub naming: String,
    /// The release version the tag names (`5.23.0`), if it names one.
    pub version: Option<String>,
    /// What the tag holds after the version (`amd64`, `corp`), if anything.
    pub suffix: Option<String>,
}

impl From<&ImageName> for NamedImage {
    fn from(name: &ImageName) -> Self {
        NamedImage {
            product: name.product().map(|p| p.to_string()),
            component: name.component.to_string(),
            naming: name.naming.to_string(),
            version: name.version.as_ref().map(ToString::to_string),
            suffix: name.suffix.clone(),
        }
    }
}

/// What `reference` names: a registry image (`docker://` optional) by its repository and tag, a
/// `docker-archive:FILE:REPO:TAG` by its `REPO:TAG`; `None` for a layout, an archive without a
/// name, or a name that is not one of Anchore's images.
pub fn image_name(reference: &str) -> Option<ImageName> {
    name_of(&parse_named(reference).ok()?)
}

/// `reference` parsed, `docker://` optional; a reference that does not parse is refused with
/// the image crate's error (which never repeats credentials given in it).
pub(crate) fn parse_named(reference: &str) -> Result<ImageRef, trustbake_image::ImageError> {
    if reference.contains("://") || has_transport(reference) {
        ImageRef::parse(reference)
    } else {
        ImageRef::parse(&format!("docker://{reference}"))
    }
}

/// What a parsed reference names (see [`image_name`]).
pub(crate) fn name_of(reference: &ImageRef) -> Option<ImageName> {
    match reference {
        ImageRef::Registry(r) => ImageName::recognize(&r.repository, r.tag.as_deref()),
        ImageRef::DockerArchive {
            reference: Some(name),
            ..
        } => match ImageRef::parse(&format!("docker://{name}")).ok()? {
            ImageRef::Registry(r) => ImageName::recognize(&r.repository, r.tag.as_deref()),
            _ => None,
        },
        _ => None,
    }
}

fn has_transport(reference: &str) -> bool {
    ["oci:", "oci-archive:", "docker-archive:", "dir:"]
        .iter()
        .any(|t| reference.starts_with(t))
}
