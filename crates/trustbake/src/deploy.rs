//! Deployment text for Anchore's Helm charts: `helm-values` (the image overrides that deploy a
//! baked image) and `secret` (the runtime CA mount, `certStoreSecretName`).

use base64::Engine as _;
use trustbake_certs::Intake;
use trustbake_image::ImageRef;

use crate::Error;

/// Which component an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// `anchore/enterprise`: every Enterprise service but the UI.
    Enterprise,
    /// `anchore/enterprise-ui`.
    Ui,
    /// `anchore/anchore-engine`.
    Engine,
}

impl std::str::FromStr for Component {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "enterprise" => Ok(Component::Enterprise),
            "ui" | "enterprise-ui" => Ok(Component::Ui),
            "engine" | "anchore-engine" => Ok(Component::Engine),
            other => Err(Error::BadArgument {
                what: "--component".into(),
                reason: format!("'{other}' is not one of enterprise, ui, engine"),
            }),
        }
    }
}

/// Which Helm chart the values are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// `anchore/enterprise` (Enterprise 4.x and later).
    Enterprise,
    /// `anchore/anchore-engine` (Engine, and Enterprise before 4.x).
    Engine,
}

impl std::str::FromStr for Chart {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "enterprise" => Ok(Chart::Enterprise),
            "engine" | "anchore-engine" => Ok(Chart::Engine),
            other => Err(Error::BadArgument {
                what: "--chart".into(),
                reason: format!("'{other}' is not one of enterprise, engine"),
            }),
        }
    }
}

/// The chart values that deploy `image` (a registry reference, `docker://` optional; a tag or
/// a digest) as `component`: one YAML document (`helm -f` reads the first document only), for
/// `chart` — or, when `None`, the chart the image's tag names (Engine → `anchore-engine`;
/// Enterprise and its UI 4.x and later → `anchore/enterprise`, earlier → `anchore-engine`; a
/// tag that names no version needs the chart given).
pub fn helm_values(
    image: &str,
    component: Component,
    chart: Option<Chart>,
) -> Result<String, Error> {
    let not_registry = || Error::BadArgument {
        what: "--image".into(),
        reason: format!(
            "'{image}' is not a registry image: the charts pull from a registry (push it with bake --to docker://…, then name it here)"
        ),
    };
    if ["oci:", "oci-archive:", "docker-archive:"]
        .iter()
        .any(|t| image.starts_with(t))
    {
        return Err(not_registry());
    }
    let reference = if image.starts_with("docker://") {
        image.to_owned()
    } else {
        format!("docker://{image}")
    };
    let ImageRef::Registry(r) = ImageRef::parse(&reference)? else {
        return Err(not_registry());
    };
    let value = r.name();
    let chart = match (chart, component) {
        (Some(chart), _) => chart,
        (None, Component::Engine) => Chart::Engine,
        (None, _) => match r.tag.as_deref().and_then(tag_major) {
            Some(major) if major >= 4 => Chart::Enterprise,
            Some(_) => Chart::Engine,
            None => {
                return Err(Error::BadArgument {
                    what: "--chart".into(),
                    reason: format!(
                        "the image's {} names no version, so the chart cannot be chosen: give --chart enterprise (Enterprise 4.x and later) or --chart engine",
                        r.tag
                            .as_deref()
                            .map_or_else(|| "digest".to_owned(), |t| format!("tag '{t}'"))
                    ),
                });
            }
        },
    };
    let body = match (chart, component) {
        (Chart::Enterprise, Component::Enterprise) => format!("image: {value}\n"),
        (Chart::Enterprise, Component::Ui) => format!("ui:\n  image: {value}\n"),
        (Chart::Enterprise, Component::Engine) => {
            return Err(Error::BadArgument {
                what: "--chart".into(),
                reason: "the anchore/enterprise chart deploys no Engine image: use --chart engine"
                    .into(),
            });
        }
        (Chart::Engine, Component::Enterprise) => {
            format!("anchoreEnterpriseGlobal:\n  image: {value}\n")
        }
        (Chart::Engine, Component::Ui) => format!("anchoreEnterpriseUi:\n  image: {value}\n"),
        (Chart::Engine, Component::Engine) => format!("anchoreGlobal:\n  image: {value}\n"),
    };
    let name = match chart {
        Chart::Enterprise => "anchore/enterprise (Enterprise 4.x and later)",
        Chart::Engine => "anchore/anchore-engine (Engine, and Enterprise before 4.x)",
    };
    Ok(format!(
        "# Helm values deploying {value}\n# chart {name}\n{body}"
    ))
}

/// The major version a tag names (`v5.1.0`, `5.23.0`, `4.9`, `5.17.0-amd64`).
fn tag_major(tag: &str) -> Option<u64> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let (major, rest) = t.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if minor.is_empty() {
        return None;
    }
    major.parse().ok()
}

/// A Kubernetes Secret for the charts' `certStoreSecretName` holding the CAs (one PEM file
/// each), with a comment on what that runtime path reaches and what it does not.
pub fn ca_secret(cas: &Intake, name: &str, namespace: Option<&str>) -> Result<String, Error> {
    if cas.cas().is_empty() {
        return Err(Error::NoCa);
    }
    let valid_name = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        return Err(Error::BadArgument {
            what: "--name".into(),
            reason: format!(
                "'{name}' is not a Kubernetes name (lower-case letters, digits, '-' and '.')"
            ),
        });
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::from(
        "# For the Anchore charts' certStoreSecretName: mounted at /home/anchore/certs, where the\n\
         # image's entrypoint appends every certificate to a copy of certifi's bundle\n\
         # (REQUESTS_CA_BUNDLE) and adds a bundle to a copy of /etc/pki/tls/certs (SSL_CERT_DIR).\n\
         # That reaches Python requests and Go programs only. It needs the entrypoint to run and a\n\
         # writable /home/anchore (Enterprise 6.1's chart sets readOnlyRootFilesystem), and it never\n\
         # reaches OpenSSL's hashed directory lookups, curl, Java's keystore or pip's certifi.\n\
         # A baked image (trustbake bake) reaches every store and needs none of this.\n",
    );
    out.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n");
    out.push_str(&format!("  name: {name}\n"));
    if let Some(ns) = namespace {
        let valid = !ns.is_empty()
            && ns.len() <= 63
            && ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !ns.starts_with('-')
            && !ns.ends_with('-');
        if !valid {
            return Err(Error::BadArgument {
                what: "--namespace".into(),
                reason: format!("'{ns}' is not a Kubernetes namespace"),
            });
        }
        out.push_str(&format!("  namespace: {ns}\n"));
    }
    out.push_str("type: Opaque\ndata:\n");
    for ca in cas.cas() {
        let cert = &ca.certificate;
        out.push_str(&format!(
            "  {}.pem: {}\n",
            cert.file_stem(),
            b64.encode(cert.to_pem())
        ));
    }
    Ok(out)
}
