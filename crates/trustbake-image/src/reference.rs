//! Image references in skopeo's transport syntax.

use std::fmt;
use std::path::PathBuf;

use crate::error::ImageError;

/// Where an image is read from or written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// `oci:DIR[:TAG]`, an OCI image layout directory.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name`, if given.
        tag: Option<String>,
    },
    /// `oci-archive:FILE[:TAG]`, a tar of an OCI image layout.
    OciArchive {
        /// The archive.
        file: PathBuf,
        /// The tag, if given.
        tag: Option<String>,
    },
    /// `docker-archive:FILE[:REPO:TAG]`, a `docker save` archive.
    DockerArchive {
        /// The archive.
        file: PathBuf,
        /// `repo:tag`, if given.
        reference: Option<String>,
    },
    /// `docker://[HOST[:PORT]/]REPO[:TAG|@sha256:…]`, an image in a registry, normalised as
    /// skopeo does (`docker://alpine` is `docker.io/library/alpine:latest`).
    Registry(RegistryRef),
}

/// An image in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryRef {
    /// The registry as users name it: `docker.io`, `harbor.corp`, `127.0.0.1:5000`.
    pub registry: String,
    /// The repository: `library/alpine`, `anchore/enterprise`.
    pub repository: String,
    /// The tag (`latest` when neither tag nor digest is given).
    pub tag: Option<String>,
    /// The manifest digest, when pinned.
    pub digest: Option<crate::digest::Digest>,
}

impl RegistryRef {
    /// Parses what follows `docker://`.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        if input.is_empty() {
            return Err("no image name");
        }
        let (name, digest) = match input.split_once('@') {
            Some((name, digest)) => (
                name,
                Some(
                    crate::digest::Digest::parse(digest)
                        .map_err(|_| "bad digest after '@' (sha256:…)")?,
                ),
            ),
            None => (input, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (
                &name[..last_slash + i],
                Some(name[last_slash + i + 1..].to_owned()),
            ),
            None => (name, None),
        };
        if let Some(tag) = &tag {
            check_tag(tag)?;
        }
        if tag.is_some() && digest.is_some() {
            return Err("give a tag or a digest, not both");
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
            _ => registry,
        };
        check_host(&registry)?;
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        check_repository(&repository)?;
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            _ => tag,
        };
        Ok(RegistryRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `HOST/REPO:TAG` or `HOST/REPO@DIGEST`, as the `org.opencontainers.image.base.name`
    /// annotation and other tools name it.
    pub fn name(&self) -> String {
        let mut name = format!("{}/{}", self.registry, self.repository);
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(&digest.to_string());
        } else if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        name
    }

    /// The tag or digest the manifest is asked for by.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }
}

/// `HOST[:PORT]`: a DNS name or an IPv4 address (IPv6 in brackets), with an optional port.
fn check_host(host: &str) -> Result<(), &'static str> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => (name, Some(port)),
        _ => (host, None),
    };
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err("bad registry port");
    }
    // Inside brackets only an IPv6 literal; otherwise labels of letters, digits and `-`,
    // none empty (no `.` or `..` labels: the name becomes a path under certs.d).
    let ipv6 = |inner: &str| inner.parse::<std::net::Ipv6Addr>().is_ok();
    let labels_ok = |name: &str| {
        name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let ok = !name.is_empty()
        && name.len() <= 253
        && match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(inner) => ipv6(inner),
            None => labels_ok(name),
        };
    if ok {
        Ok(())
    } else {
        Err("bad registry host name")
    }
}

/// Repository path components: lower-case letters and digits, separated by `.`, `_`, `__`
/// or `-`s (the distribution spec's grammar); 255 characters at most.
fn check_repository(repository: &str) -> Result<(), &'static str> {
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|x| {
                x.is_ascii_digit() || x.is_ascii_lowercase() || matches!(x, b'.' | b'_' | b'-')
            })
            && !c.contains("..")
            && !c.contains("___")
    };
    if repository.len() > 255 || !repository.split('/').all(component_ok) {
        return Err(
            "bad repository name: lower-case letters, digits and '.', '_', '-' between them",
        );
    }
    Ok(())
}

impl ImageRef {
    /// Parses `oci:…`, `oci-archive:…` or `docker-archive:…`.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadReference {
            input: input.to_owned(),
            reason,
        };
        if let Some(rest) = input.strip_prefix("docker://") {
            // `USER:PASSWORD@HOST/…` is not a reference; the message must not repeat it.
            let host = rest.split('/').next().unwrap_or_default();
            if rest.contains('/') && host.contains('@') {
                return Err(ImageError::BadReference {
                    input: format!(
                        "docker://<credentials>@{}{}",
                        host.rsplit_once('@').map_or("", |(_, h)| h),
                        &rest[host.len()..]
                    ),
                    reason: "credentials do not belong in an image reference: give them apart",
                });
            }
            return RegistryRef::parse(rest)
                .map(ImageRef::Registry)
                .map_err(bad);
        }
        for transport in ["oci", "oci-archive", "docker-archive"] {
            if let Some(rest) = input.strip_prefix(&format!("{transport}://")) {
                return Err(ImageError::DidYouMean {
                    input: input.to_owned(),
                    why: "a local transport takes no '//'",
                    suggestion: format!("{transport}:{rest}"),
                });
            }
        }
        steer(input)?;
        let (transport, rest) = input.split_once(':').ok_or_else(|| bad("no transport"))?;
        if rest.is_empty() {
            return Err(bad("no path"));
        }
        match transport {
            "oci" | "oci-archive" => {
                let (path, tag) = match rest.rsplit_once(':') {
                    Some((path, tag)) if !path.is_empty() => (path, Some(tag)),
                    _ => (rest, None),
                };
                if let Some(tag) = tag {
                    check_tag(tag).map_err(bad)?;
                }
                let tag = tag.map(str::to_owned);
                Ok(if transport == "oci" {
                    ImageRef::OciLayout {
                        dir: PathBuf::from(path),
                        tag,
                    }
                } else {
                    ImageRef::OciArchive {
                        file: PathBuf::from(path),
                        tag,
                    }
                })
            }
            "docker-archive" => {
                // FILE[:REPO:TAG]: the reference is everything after the first ':' that
                // follows the file name and contains a ':' of its own.
                let mut parts = rest.splitn(2, ':');
                let file = parts.next().unwrap_or_default();
                let reference = parts.next().map(str::to_owned);
                if let Some(r) = &reference {
                    let (repo, tag) = r
                        .rsplit_once(':')
                        .ok_or_else(|| bad("the reference must be REPO:TAG"))?;
                    if repo.is_empty() || repo.contains("..") || repo.starts_with('/') {
                        return Err(bad("bad repository name"));
                    }
                    check_tag(tag).map_err(bad)?;
                }
                Ok(ImageRef::DockerArchive {
                    file: PathBuf::from(file),
                    reference,
                })
            }
            _ => Err(bad("unknown transport")),
        }
    }

    /// The media-type family the transport itself uses (for a manifest made up by a source).
    pub fn family(&self) -> crate::model::Family {
        match self {
            ImageRef::OciLayout { .. } | ImageRef::OciArchive { .. } => crate::model::Family::Oci,
            ImageRef::DockerArchive { .. } | ImageRef::Registry(_) => crate::model::Family::Docker,
        }
    }

    /// The name the `org.opencontainers.image.base.name` annotation gives the base: a
    /// registry image's `HOST/REPO:TAG` (or `@DIGEST`, when pinned). A local image has none:
    /// the annotation is a fully qualified image reference, and a path of the build machine
    /// is neither that nor the same on any other machine (the digests would depend on how
    /// the path was typed); `base.digest` still names the base.
    pub fn base_name(&self) -> Option<String> {
        match self {
            ImageRef::Registry(r) => Some(r.name()),
            _ => None,
        }
    }

    /// The registry image, when the reference names one.
    pub fn registry(&self) -> Option<&RegistryRef> {
        match self {
            ImageRef::Registry(r) => Some(r),
            _ => None,
        }
    }

    /// The file or directory (`None` for a registry image).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            ImageRef::OciLayout { dir, .. } => Some(dir),
            ImageRef::OciArchive { file, .. } | ImageRef::DockerArchive { file, .. } => Some(file),
            ImageRef::Registry(_) => None,
        }
    }
}

/// A path or a registry name given without its transport: refused with the spelling that
/// works (a path that does not exist named as such).
fn steer(input: &str) -> Result<(), ImageError> {
    let known = ["oci", "oci-archive", "docker-archive"];
    let transport = input.split_once(':').map(|(t, _)| t);
    if transport.is_none_or(|t| !known.contains(&t)) {
        let path = std::path::Path::new(input);
        if input.starts_with(['.', '/', '~']) || path.exists() {
            if !path.exists() {
                return Err(ImageError::NoSuchPath {
                    input: input.to_owned(),
                });
            }
            let suggestion = if path.join("oci-layout").is_file() {
                format!("oci:{input}")
            } else if path.is_dir() {
                return Err(ImageError::BadReference {
                    input: input.to_owned(),
                    reason: "a directory is an image only as an OCI layout: oci:DIR",
                });
            } else {
                format!("docker-archive:{input} (what docker save writes) or oci-archive:{input}")
            };
            return Err(ImageError::DidYouMean {
                input: input.to_owned(),
                why: "a path needs its transport",
                suggestion,
            });
        }
        if RegistryRef::parse(input).is_ok() {
            return Err(ImageError::DidYouMean {
                input: input.to_owned(),
                why: "a registry image is named with docker://, as skopeo names it",
                suggestion: format!("docker://{input}"),
            });
        }
    }
    Ok(())
}

/// A tag: 1–128 characters of `[A-Za-z0-9_.-]`, not starting with `.` or `-` (OCI ref names
/// allow more, but a tag that is also safe in file and repository names is what users type).
fn check_tag(tag: &str) -> Result<(), &'static str> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err("bad tag: use letters, digits, '_', '.', '-' (no '/' or '..')")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::OciLayout { dir, tag } => write!(
                f,
                "oci:{}{}",
                dir.display(),
                tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()
            ),
            ImageRef::OciArchive { file, tag } => write!(
                f,
                "oci-archive:{}{}",
                file.display(),
                tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()
            ),
            ImageRef::DockerArchive { file, reference } => write!(
                f,
                "docker-archive:{}{}",
                file.display(),
                reference
                    .as_ref()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default()
            ),
            ImageRef::Registry(r) => write!(f, "docker://{}", r.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_skopeo_syntax() {
        assert_eq!(
            ImageRef::parse("oci:/tmp/layout:v5.1-corp").unwrap(),
            ImageRef::OciLayout {
                dir: "/tmp/layout".into(),
                tag: Some("v5.1-corp".into())
            }
        );
        assert_eq!(
            ImageRef::parse("oci:layout").unwrap(),
            ImageRef::OciLayout {
                dir: "layout".into(),
                tag: None
            }
        );
        assert_eq!(
            ImageRef::parse("oci-archive:a.tar:latest").unwrap(),
            ImageRef::OciArchive {
                file: "a.tar".into(),
                tag: Some("latest".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:out.tar:anchore/enterprise:v5.1.0-corp").unwrap(),
            ImageRef::DockerArchive {
                file: "out.tar".into(),
                reference: Some("anchore/enterprise:v5.1.0-corp".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:out.tar")
                .unwrap()
                .to_string(),
            "docker-archive:out.tar"
        );
    }

    #[test]
    fn registry_names_normalise_as_skopeo_does() {
        let name = |s: &str| ImageRef::parse(s).unwrap().to_string();
        assert_eq!(
            name("docker://alpine"),
            "docker://docker.io/library/alpine:latest"
        );
        assert_eq!(
            name("docker://anchore/enterprise:v5.1.0"),
            "docker://docker.io/anchore/enterprise:v5.1.0"
        );
        assert_eq!(
            name("docker://index.docker.io/anchore/engine"),
            "docker://docker.io/anchore/engine:latest"
        );
        assert_eq!(
            name("docker://127.0.0.1:5000/a/b:t"),
            "docker://127.0.0.1:5000/a/b:t"
        );
        assert_eq!(name("docker://localhost/x"), "docker://localhost/x:latest");
        let pinned = ImageRef::parse(
            "docker://harbor.corp/anchore/enterprise@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        )
        .unwrap();
        let r = pinned.registry().unwrap();
        assert_eq!(r.registry, "harbor.corp");
        assert_eq!(r.repository, "anchore/enterprise");
        assert_eq!(r.tag, None);
        assert!(r.manifest_reference().starts_with("sha256:1111"));
        assert_eq!(
            pinned.base_name().as_deref(),
            Some(
                "harbor.corp/anchore/enterprise@sha256:1111111111111111111111111111111111111111111111111111111111111111"
            )
        );
        assert_eq!(ImageRef::parse("oci:./x:t").unwrap().base_name(), None);
    }

    #[test]
    fn credentials_in_a_reference_are_refused_without_repeating_them() {
        let err = ImageRef::parse("docker://alice:hunter2@harbor.corp/anchore/enterprise:v1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2") && !err.contains("alice"), "{err}");
        assert!(err.contains("credentials"), "{err}");
    }

    #[test]
    fn refuses_traversal_and_nonsense() {
        for bad in [
            "layout",
            "oci:",
            "oci:dir:../../x",
            "oci:dir:a/b",
            "docker-archive:f:/abs:t",
            "docker-archive:f:repo",
            "oci:dir:.hidden",
            "docker://",
            "docker://Upper/case",
            "docker://alpine:tag@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "docker://host:99999/x",
            "docker://x@sha256:short",
            "docker://a//b",
            "docker://a/../b",
            "docker://../x",
            "docker://a..b/x",
            "docker://.host/x",
            "docker://host./x",
            "docker://[not-ipv6]/x",
            "docker://[::1]x/y",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
