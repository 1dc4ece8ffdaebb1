//! What an image's name says about it: which Anchore product and component, which version, and
//! whose naming it follows — Docker Hub's (`anchore/enterprise:v5.23.0`) or Iron Bank's
//! (`registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0`), wherever the image was
//! mirrored or baked to (`harbor.corp/ironbank/anchore/enterpriseui/enterpriseui:5.23.0-corp`).
//!
//! A name is a hint for the version map, the recipes and the chart values, never the judge of an
//! image's layout: that is detected inside the image.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::map::{Product, TargetError};
use crate::version::Version;

/// Which Anchore image an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Component {
    /// Every Enterprise service but the UI: `anchore/enterprise`, Iron Bank's
    /// `anchore/enterprise/enterprise`.
    Enterprise,
    /// The Enterprise UI: `anchore/enterprise-ui`, Iron Bank's `anchore/enterpriseui/enterpriseui`
    /// (earlier `anchore/enterprise/enterpriseui`).
    Ui,
    /// Anchore Engine: `anchore/anchore-engine`, Iron Bank's `anchore/engine/engine`.
    Engine,
    /// The command-line client: `anchore/engine-cli`, Iron Bank's `anchore/cli/cli`.
    Cli,
}

impl Component {
    /// The lower-case name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Enterprise => "enterprise",
            Component::Ui => "ui",
            Component::Engine => "engine",
            Component::Cli => "cli",
        }
    }

    /// The product whose version map covers this component's images (the CLI has none).
    pub fn product(self) -> Option<Product> {
        match self {
            Component::Enterprise | Component::Ui => Some(Product::Enterprise),
            Component::Engine => Some(Product::Engine),
            Component::Cli => None,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Component {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "enterprise" => Ok(Component::Enterprise),
            "ui" | "enterprise-ui" | "enterpriseui" => Ok(Component::Ui),
            "engine" | "anchore-engine" => Ok(Component::Engine),
            "cli" | "engine-cli" | "anchore-cli" => Ok(Component::Cli),
            _ => Err(TargetError::UnknownComponent {
                input: s.to_owned(),
            }),
        }
    }
}

/// Whose naming an image name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Naming {
    /// Anchore's Docker Hub repositories (`anchore/enterprise`, tags `v5.23.0`).
    DockerHub,
    /// Iron Bank's (Registry1) repositories (`ironbank/anchore/enterprise/enterprise`, tags
    /// `5.23.0`, sometimes `5.17.0-amd64`).
    IronBank,
}

impl Naming {
    /// The name used in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            Naming::DockerHub => "docker-hub",
            Naming::IronBank => "iron-bank",
        }
    }
}

impl fmt::Display for Naming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an image's repository path and tag name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImageName {
    /// The component the repository path names.
    pub component: Component,
    /// Whose naming the path follows.
    pub naming: Naming,
    /// The release version the tag names (`5.23.0` from `5.23.0`, `v5.23.0`, `5.17.0-amd64`
    /// or `v5.23.0-corp`); a pre-release tag (`-rc1`, `-beta.2`) is kept in it.
    #[serde(serialize_with = "display")]
    pub version: Option<Version>,
    /// What the tag holds after the version that is not a pre-release: an architecture
    /// (`amd64`) or a site's suffix (`corp`).
    pub suffix: Option<String>,
}

fn display<S: serde::Serializer>(v: &Option<Version>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

impl ImageName {
    /// The product whose version map covers the image (`None` for the CLI).
    pub fn product(&self) -> Option<Product> {
        self.component.product()
    }

    /// What `repository` (the path after the registry host: `ironbank/anchore/enterprise/
    /// enterprise`, `anchore/enterprise-ui`, `mirror/anchore/anchore-engine`) and `tag` (if
    /// any) name; `None` when the path is not one of Anchore's images in either naming.
    ///
    /// ```
    /// use trustbake_targets::{Component, ImageName, Naming};
    ///
    /// let name = ImageName::recognize("ironbank/anchore/enterpriseui/enterpriseui", Some("5.23.0")).unwrap();
    /// assert_eq!((name.component, name.naming), (Component::Ui, Naming::IronBank));
    /// assert_eq!(name.version.unwrap().to_string(), "5.23.0");
    /// let name = ImageName::recognize("harbor.corp/anchore/enterprise", Some("v5.1.0-corp")).unwrap();
    /// assert_eq!(name.suffix.as_deref(), Some("corp"));
    /// ```
    pub fn recognize(repository: &str, tag: Option<&str>) -> Option<ImageName> {
        let parts: Vec<String> = repository
            .trim_matches('/')
            .split('/')
            .map(str::to_ascii_lowercase)
            .collect();
        let (component, naming) = component_of(&parts)?;
        let (version, suffix) = match tag.map(version_of) {
            Some(Some((version, suffix))) => (Some(version), suffix),
            _ => (None, None),
        };
        Some(ImageName {
            component,
            naming,
            version,
            suffix,
        })
    }
}

/// The component a repository path (lower-cased parts) names, and whose naming it follows.
fn component_of(parts: &[String]) -> Option<(Component, Naming)> {
    let n = parts.len();
    let last = parts.last()?.as_str();
    let parent = |k: usize| (n > k).then(|| parts[n - 1 - k].as_str());
    // Iron Bank: …/anchore/<group>/<image>, as published under ironbank/ and as mirrored.
    if parent(2) == Some("anchore") {
        let group = parent(1).unwrap_or_default();
        let iron = match (group, last) {
            ("enterprise", "enterprise") => Some(Component::Enterprise),
            ("enterpriseui", "enterpriseui") | ("enterprise", "enterpriseui") => {
                Some(Component::Ui)
            }
            ("engine", "engine") => Some(Component::Engine),
            ("cli", "cli") => Some(Component::Cli),
            _ => None,
        };
        if let Some(component) = iron {
            return Some((component, Naming::IronBank));
        }
    }
    // Docker Hub: anchore/<image>, as published and as mirrored under any prefix.
    if parent(1) == Some("anchore") {
        let hub = match last {
            "enterprise" => Some(Component::Enterprise),
            "enterprise-ui" => Some(Component::Ui),
            "anchore-engine" => Some(Component::Engine),
            "engine-cli" => Some(Component::Cli),
            _ => None,
        };
        if let Some(component) = hub {
            return Some((component, Naming::DockerHub));
        }
    }
    None
}

/// The version a tag names and what follows it that is not a pre-release (`5.17.0-amd64` →
/// 5.17.0 and `amd64`; `v5.1.0-rc1` → 5.1.0-rc1); `None` when the tag names no version
/// (`latest`, a digest-like tag).
fn version_of(tag: &str) -> Option<(Version, Option<String>)> {
    let text = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let core_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let core = text[..core_len].trim_end_matches('.');
    // At least MAJOR.MINOR: a bare number is a build number, not a release.
    if core.split('.').count() < 2 {
        return None;
    }
    let mut version: Version = core.parse().ok()?;
    let rest = &text[core_len..];
    let rest = rest.strip_prefix(['-', '_', '+']).unwrap_or(rest);
    if rest.is_empty() {
        return Some((version, None));
    }
    let lower = rest.to_ascii_lowercase();
    let pre = ["rc", "alpha", "beta", "pre", "dev"]
        .iter()
        .any(|p| lower.starts_with(p));
    if pre {
        version.pre = Some(rest.to_owned());
        Some((version, None))
    } else {
        Some((version, Some(rest.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(repo: &str, tag: &str) -> Option<(Component, Naming, Option<String>, Option<String>)> {
        ImageName::recognize(repo, Some(tag)).map(|n| {
            (
                n.component,
                n.naming,
                n.version.map(|v| v.to_string()),
                n.suffix,
            )
        })
    }

    #[test]
    fn iron_bank_names() {
        let s = |x: &str| Some(x.to_owned());
        for (repo, tag, want) in [
            (
                "ironbank/anchore/enterprise/enterprise",
                "5.23.0",
                (Component::Enterprise, s("5.23.0"), None),
            ),
            (
                "ironbank/anchore/enterpriseui/enterpriseui",
                "5.24.0",
                (Component::Ui, s("5.24.0"), None),
            ),
            (
                "ironbank/anchore/enterprise/enterpriseui",
                "5.8.0",
                (Component::Ui, s("5.8.0"), None),
            ),
            (
                "ironbank/anchore/enterprise/enterprise",
                "5.17.0-amd64",
                (Component::Enterprise, s("5.17.0"), s("amd64")),
            ),
            (
                "ironbank/anchore/engine/engine",
                "1.0.0",
                (Component::Engine, s("1.0.0"), None),
            ),
            (
                "ironbank/anchore/cli/cli",
                "0.9.4",
                (Component::Cli, s("0.9.4"), None),
            ),
            // Mirrored into a site's registry, baked with a suffix.
            (
                "mirror/IronBank/anchore/enterprise/enterprise",
                "5.23.0-corp",
                (Component::Enterprise, s("5.23.0"), s("corp")),
            ),
        ] {
            let (component, version, suffix) = want;
            assert_eq!(
                name(repo, tag),
                Some((component, Naming::IronBank, version, suffix)),
                "{repo}:{tag}"
            );
        }
    }

    #[test]
    fn docker_hub_names() {
        let s = |x: &str| Some(x.to_owned());
        for (repo, tag, want) in [
            (
                "anchore/enterprise",
                "v5.1.0",
                (Component::Enterprise, s("5.1.0"), None),
            ),
            (
                "anchore/enterprise-ui",
                "v5.1.0-corp",
                (Component::Ui, s("5.1.0"), s("corp")),
            ),
            (
                "library/mirror/anchore/anchore-engine",
                "v0.9.4",
                (Component::Engine, s("0.9.4"), None),
            ),
            (
                "anchore/enterprise",
                "v5.1.0-rc1",
                (Component::Enterprise, s("5.1.0-rc1"), None),
            ),
            (
                "anchore/engine-cli",
                "v0.9.4",
                (Component::Cli, s("0.9.4"), None),
            ),
            (
                "anchore/enterprise",
                "latest",
                (Component::Enterprise, None, None),
            ),
            (
                "anchore/enterprise",
                "5",
                (Component::Enterprise, None, None),
            ),
        ] {
            let (component, version, suffix) = want;
            assert_eq!(
                name(repo, tag),
                Some((component, Naming::DockerHub, version, suffix)),
                "{repo}:{tag}"
            );
        }
    }

    #[test]
    fn other_names_are_not_anchore() {
        for repo in [
            "enterprise",
            "corp/enterprise",
            "anchore/grype",
            "ironbank/anchore/enterprise/grype",
            "ironbank/redhat/ubi/ubi9",
            "anchore/enterprise/extra",
        ] {
            assert_eq!(ImageName::recognize(repo, Some("5.23.0")), None, "{repo}");
        }
        assert_eq!(
            ImageName::recognize("ironbank/anchore/enterprise/enterprise", None).map(|n| n.version),
            Some(None)
        );
    }

    #[test]
    fn components_parse_and_name_their_product() {
        for (text, component, product) in [
            (
                "enterprise",
                Component::Enterprise,
                Some(Product::Enterprise),
            ),
            ("UI", Component::Ui, Some(Product::Enterprise)),
            ("enterpriseui", Component::Ui, Some(Product::Enterprise)),
            ("anchore-engine", Component::Engine, Some(Product::Engine)),
            ("cli", Component::Cli, None),
        ] {
            let parsed: Component = text.parse().unwrap();
            assert_eq!(parsed, component);
            assert_eq!(parsed.product(), product);
        }
        assert!("db".parse::<Component>().is_err());
    }
}
