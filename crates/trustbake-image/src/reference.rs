//! Image references in skopeo's transport syntax.

use std::fmt;
use std::path::PathBuf;

use crate::ImageError;

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
}

impl ImageRef {
    /// Parses `oci:…`, `oci-archive:…` or `docker-archive:…`.
    pub fn parse(input: &str) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadReference {
            input: input.to_owned(),
            reason,
        };
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
    pub fn family(&self) -> crate::Family {
        match self {
            ImageRef::OciLayout { .. } | ImageRef::OciArchive { .. } => crate::Family::Oci,
            ImageRef::DockerArchive { .. } => crate::Family::Docker,
        }
    }

    /// The file or directory.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ImageRef::OciLayout { dir, .. } => dir,
            ImageRef::OciArchive { file, .. } | ImageRef::DockerArchive { file, .. } => file,
        }
    }
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
    fn refuses_traversal_and_nonsense() {
        for bad in [
            "layout",
            "docker://x",
            "oci:",
            "oci:dir:../../x",
            "oci:dir:a/b",
            "docker-archive:f:/abs:t",
            "docker-archive:f:repo",
            "oci:dir:.hidden",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
