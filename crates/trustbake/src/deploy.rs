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

/// The chart values that deploy `image` (a registry reference, `docker://` optional; a tag or
/// a digest) as `component`: for the `anchore/enterprise` chart (Enterprise 4.x and later) and
/// for the older `anchore-engine` chart, each a YAML document.
pub fn helm_values(image: &str, component: Component) -> Result<String, Error> {
    let reference = if image.starts_with("docker://") {
        image.to_owned()
    } else {
        format!("docker://{image}")
    };
    let parsed = ImageRef::parse(&reference)?;
    let ImageRef::Registry(r) = parsed else {
        return Err(Error::BadArgument {
            what: "--image".into(),
            reason: format!("'{image}' is not a registry image: the charts pull from a registry"),
        });
    };
    let value = r.name();
    let mut out = String::new();
    out.push_str(&format!(
        "# Helm values deploying {value}\n# chart anchore/enterprise (Enterprise 4.x and later)\n"
    ));
    match component {
        Component::Enterprise => out.push_str(&format!("image: {value}\n")),
        Component::Ui => out.push_str(&format!("ui:\n  image: {value}\n")),
        Component::Engine => out.push_str(
            "# (the enterprise chart deploys no Engine image: use the anchore-engine chart below)\n",
        ),
    }
    out.push_str("---\n# chart anchore/anchore-engine (Engine, and Enterprise before 4.x)\n");
    match component {
        Component::Enterprise => {
            out.push_str(&format!("anchoreEnterpriseGlobal:\n  image: {value}\n"))
        }
        Component::Ui => out.push_str(&format!("anchoreEnterpriseUi:\n  image: {value}\n")),
        Component::Engine => out.push_str(&format!("anchoreGlobal:\n  image: {value}\n")),
    }
    Ok(out)
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
