//! Deployment text for Anchore's Helm charts: `helm-values` (the image overrides that deploy a
//! baked image) and `secret` (the runtime CA mount, `certStoreSecretName`).

use base64::Engine as _;
use trustbake_certs::Intake;
use trustbake_image::ImageRef;
use trustbake_targets::Component;

use crate::error::Error;

/// Which Helm chart the values are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// `anchore/enterprise` (Enterprise 4.x and later).
    Enterprise,
    /// `anchore/anchore-engine` (Engine, and Enterprise before 4.x).
    Engine,
    /// Big Bang's umbrella chart, whose Anchore package wraps one of the two (see [`BigBang`]).
    BigBang,
}

impl std::str::FromStr for Chart {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "enterprise" => Ok(Chart::Enterprise),
            "engine" | "anchore-engine" => Ok(Chart::Engine),
            "bigbang" | "big-bang" => Ok(Chart::BigBang),
            other => Err(Error::BadArgument {
                what: "--chart".into(),
                reason: format!("'{other}' is not one of enterprise, engine, bigbang"),
            }),
        }
    }
}

/// A Big Bang package version (`3.25.1-bb.1`): the vendor chart's version and Big Bang's
/// revision of it, compared as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PackageVersion([u64; 4]);

impl PackageVersion {
    fn parse(text: &str) -> Option<Self> {
        let (chart, bb) = text.split_once("-bb.")?;
        let mut n = [0u64; 4];
        let parts: Vec<&str> = chart.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        for (slot, part) in n.iter_mut().zip(parts.iter().chain([&bb])) {
            *slot = part.parse().ok()?;
        }
        Some(PackageVersion(n))
    }
}

impl std::fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}-bb.{d}")
    }
}

/// Every Big Bang release since 1.1.0 that changed the Anchore package it pins: the release,
/// the umbrella's key (`addons.<key>`) and the package version. From Big Bang's
/// `chart/values.yaml` at each release tag (github.com/DoD-Platform-One/bigbang); a release
/// pins the package of the last row at or before it.
const BIGBANG_RELEASES: &[(&str, &str, &str)] = &[
    ("1.1.0", "anchore", "1.9.5-bb.2"),
    ("1.12.0", "anchore", "1.13.0-bb.3"),
    ("1.24.0", "anchore", "1.15.0-bb.0"),
    ("1.41.0", "anchore", "1.19.2-bb.0"),
    ("2.0.0", "anchore", "1.23.0-bb.0"),
    ("2.18.0", "anchore", "1.27.4-bb.7"),
    ("2.23.0", "anchore", "2.0.2-bb.1"),
    ("2.25.0", "anchore", "2.4.2-bb.8"),
    ("2.31.0", "anchore", "2.4.2-bb.18"),
    ("2.32.0", "anchore", "2.7.0-bb.6"),
    ("2.36.0", "anchore", "2.10.0-bb.0"),
    ("2.40.0", "anchore", "3.0.0-bb.2"),
    ("2.43.0", "anchore", "3.2.0-bb.1"),
    ("2.49.0", "anchore", "3.5.0-bb.1"),
    ("2.53.0", "anchore", "3.7.0-bb.0"),
    ("3.0.0", "anchoreEnterprise", "3.7.0-bb.0"),
    ("3.3.0", "anchoreEnterprise", "3.10.0-bb.0"),
    ("3.5.0", "anchoreEnterprise", "3.13.0-bb.0"),
    ("3.7.0", "anchoreEnterprise", "3.14.2-bb.0"),
    ("3.10.0", "anchoreEnterprise", "3.14.2-bb.4"),
    ("3.17.0", "anchoreEnterprise", "3.19.2-bb.0"),
    ("3.19.0", "anchoreEnterprise", "3.21.0-bb.0"),
    ("3.21.0", "anchoreEnterprise", "3.21.3-bb.1"),
    ("3.23.0", "anchoreEnterprise", "3.23.0-bb.0"),
    ("3.26.0", "anchoreEnterprise", "3.25.0-bb.0"),
    ("3.30.0", "anchoreEnterprise", "3.25.1-bb.1"),
];

/// The first package that wraps the vendor chart under the alias `upstream`
/// (repo1 big-bang/product/packages/anchore-enterprise, 2026-01).
const FIRST_UPSTREAM: PackageVersion = PackageVersion([3, 14, 2, 5]);
/// The first package built on the `anchore/enterprise` chart (values at the root); earlier ones
/// are the `anchore-engine` chart's shape.
const FIRST_ENTERPRISE_CHART: PackageVersion = PackageVersion([2, 0, 0, 0]);

/// Which Big Bang the values are for: the umbrella's release, or the Anchore package's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BigBang {
    /// The newest form trustbake knows (Big Bang 3.30.0, package 3.25.1-bb.1).
    Current,
    /// A Big Bang release (`3.18.0`): its package and umbrella key from Big Bang's history.
    Release(String),
    /// An Anchore package version (`3.14.2-bb.4`).
    Package(String),
}

/// The shape Big Bang's values take for one package.
struct BigBangForm {
    /// `anchore` (Big Bang 2.x and earlier) or `anchoreEnterprise` (3.x).
    addon: &'static str,
    package: PackageVersion,
    /// Where the umbrella is said to come from in the output's comment.
    said: String,
}

impl BigBang {
    fn form(&self) -> Result<BigBangForm, Error> {
        let bad = |what: &str, reason: String| Error::BadArgument {
            what: what.into(),
            reason,
        };
        match self {
            BigBang::Current => {
                let (release, addon, package) = BIGBANG_RELEASES[BIGBANG_RELEASES.len() - 1];
                Ok(BigBangForm {
                    addon,
                    package: PackageVersion::parse(package).unwrap_or(FIRST_UPSTREAM),
                    said: format!("Big Bang {release} and later"),
                })
            }
            BigBang::Release(text) => {
                let v: trustbake_targets::Version = text.parse().map_err(|_| {
                    bad(
                        "--bigbang-version",
                        format!("'{text}' is not a Big Bang release (3.18.0)"),
                    )
                })?;
                let row = BIGBANG_RELEASES
                    .iter()
                    .rev()
                    .find(|(r, _, _)| r.parse::<trustbake_targets::Version>().is_ok_and(|r| r.core() <= v.core()))
                    .ok_or_else(|| {
                        bad(
                            "--bigbang-version",
                            format!("Big Bang {text} has no Anchore package trustbake knows (the first is 1.1.0)"),
                        )
                    })?;
                Ok(BigBangForm {
                    addon: row.1,
                    package: PackageVersion::parse(row.2).unwrap_or(FIRST_UPSTREAM),
                    said: format!("Big Bang {v}"),
                })
            }
            BigBang::Package(text) => {
                let package = PackageVersion::parse(text).ok_or_else(|| {
                    bad(
                        "--package-version",
                        format!("'{text}' is not a Big Bang package version (3.25.1-bb.1)"),
                    )
                })?;
                // 3.7.0-bb.0 was pinned by Big Bang 2.53 (addons.anchore) and 3.0 (addons.anchoreEnterprise).
                let renamed = PackageVersion([3, 7, 0, 0]);
                let addon = match package.cmp(&renamed) {
                    std::cmp::Ordering::Less => "anchore",
                    std::cmp::Ordering::Greater => "anchoreEnterprise",
                    std::cmp::Ordering::Equal => {
                        return Err(bad(
                            "--package-version",
                            "package 3.7.0-bb.0 is under addons.anchore in Big Bang 2.53 and under addons.anchoreEnterprise in 3.0: give --bigbang-version instead".into(),
                        ));
                    }
                };
                Ok(BigBangForm {
                    addon,
                    package,
                    said: "Big Bang".into(),
                })
            }
        }
    }
}

/// What `helm-values` prints. Build it with [`HelmValuesRequest::new`] and the methods that
/// follow it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HelmValuesRequest {
    images: Vec<String>,
    component: Option<Component>,
    chart: Option<Chart>,
    bigbang: BigBang,
    cert_store_secret: Option<String>,
}

impl HelmValuesRequest {
    /// Values deploying `images` (registry references, `docker://` optional; a tag or a digest),
    /// each as the component its name gives (Docker Hub's or Iron Bank's naming).
    pub fn new(images: Vec<String>) -> Self {
        HelmValuesRequest {
            images,
            component: None,
            chart: None,
            bigbang: BigBang::Current,
            cert_store_secret: None,
        }
    }

    /// The component of the one image, whatever its name says.
    pub fn component(mut self, component: Component) -> Self {
        self.component = Some(component);
        self
    }

    /// The chart (else the one the images' tags name).
    pub fn chart(mut self, chart: Chart) -> Self {
        self.chart = Some(chart);
        self
    }

    /// For [`Chart::BigBang`]: which release or package the values are for.
    pub fn bigbang(mut self, bigbang: BigBang) -> Self {
        self.bigbang = bigbang;
        self
    }

    /// Also point the chart's `certStoreSecretName` at this Secret (see [`ca_secret`]).
    pub fn cert_store_secret(mut self, name: impl Into<String>) -> Self {
        self.cert_store_secret = Some(name.into());
        self
    }
}

/// A YAML mapping built key by key, printed in insertion order.
#[derive(Default)]
struct Tree(Vec<(String, Node)>);

enum Node {
    Value(String),
    Map(Tree),
}

impl Tree {
    /// Sets the value at the dotted `path`; a path set twice is an error naming it.
    fn set(&mut self, path: &[&str], value: String) -> Result<(), String> {
        let (first, rest) = path.split_first().ok_or_else(String::new)?;
        let at = self.0.iter().position(|(k, _)| k == first);
        if rest.is_empty() {
            if at.is_some() {
                return Err((*first).to_owned());
            }
            self.0.push(((*first).to_owned(), Node::Value(value)));
            return Ok(());
        }
        let at = match at {
            Some(at) => at,
            None => {
                self.0
                    .push(((*first).to_owned(), Node::Map(Tree::default())));
                self.0.len() - 1
            }
        };
        match &mut self.0[at].1 {
            Node::Map(tree) => tree.set(rest, value).map_err(|e| format!("{first}.{e}")),
            Node::Value(_) => Err((*first).to_owned()),
        }
    }

    fn render(&self, indent: usize, out: &mut String) {
        for (key, node) in &self.0 {
            out.push_str(&" ".repeat(indent));
            out.push_str(key);
            match node {
                Node::Value(v) => {
                    out.push_str(": ");
                    out.push_str(v);
                    out.push('\n');
                }
                Node::Map(tree) => {
                    out.push_str(":\n");
                    tree.render(indent + 2, out);
                }
            }
        }
    }
}

/// The chart values that deploy the request's images: one YAML document (`helm -f` reads the
/// first document only), for the chart given — or, when none is, the chart the images' tags
/// name (Engine → `anchore-engine`; Enterprise and its UI 4.x and later → `anchore/enterprise`,
/// earlier → `anchore-engine`; a tag that names no version needs the chart given). For
/// [`Chart::BigBang`], the umbrella's `addons.<key>.values` in the package's shape: the vendor
/// chart under `upstream` (package 3.14.2-bb.5 and later), at the root (2.x to 3.14.2-bb.4), or
/// the `anchore-engine` chart's keys (1.x).
pub fn helm_values(request: &HelmValuesRequest) -> Result<String, Error> {
    if request.images.is_empty() {
        return Err(Error::BadArgument {
            what: "--image".into(),
            reason: "no image given".into(),
        });
    }
    if let Some(name) = &request.cert_store_secret {
        kubernetes_name(name, "--cert-store-secret")?;
    }
    if request.component.is_some() && request.images.len() > 1 {
        return Err(Error::BadArgument {
            what: "--component".into(),
            reason: "--component names the component of one image; with several, each image's name says which it is".into(),
        });
    }
    let mut images = Vec::new();
    for image in &request.images {
        images.push(deployed(image, request.component)?);
    }
    let chart = match request.chart {
        Some(chart) => chart,
        None => chart_named(&images)?,
    };
    let mut tree = Tree::default();
    let mut header = String::new();
    for image in &images {
        header.push_str(&format!(
            "# Helm values deploying {} ({})\n",
            image.value, image.said
        ));
    }
    let duplicate = |path: String| Error::BadArgument {
        what: "--image".into(),
        reason: format!("two images set {path}: give each component once"),
    };
    match chart {
        Chart::Enterprise | Chart::Engine => {
            let form = if chart == Chart::Enterprise {
                Form::EnterpriseChart
            } else {
                Form::EngineChart
            };
            for image in &images {
                for path in form.image_paths(image.component)? {
                    tree.set(&path, image.value.clone()).map_err(duplicate)?;
                }
            }
            if let Some(name) = &request.cert_store_secret {
                tree.set(&form.cert_store_path(), name.clone())
                    .map_err(duplicate)?;
            }
            header.push_str(match chart {
                Chart::Enterprise => "# chart anchore/enterprise (Enterprise 4.x and later)\n",
                _ => "# chart anchore/anchore-engine (Engine, and Enterprise before 4.x)\n",
            });
        }
        Chart::BigBang => {
            let bb = request.bigbang.form()?;
            let form = Form::of_package(bb.package);
            let prefix = ["addons", bb.addon];
            tree.set(&[prefix[0], prefix[1], "enabled"], "true".into())
                .map_err(duplicate)?;
            let values = |path: Vec<&'static str>| -> Vec<&str> {
                prefix
                    .iter()
                    .copied()
                    .chain(["values"])
                    .chain(path)
                    .collect()
            };
            for image in &images {
                for path in form.image_paths(image.component)? {
                    tree.set(&values(path), image.value.clone())
                        .map_err(duplicate)?;
                }
            }
            if let Some(name) = &request.cert_store_secret {
                tree.set(&values(form.cert_store_path()), name.clone())
                    .map_err(duplicate)?;
            }
            header.push_str(&format!(
                "# chart Big Bang ({}, Anchore package {}: {})\n",
                bb.said,
                bb.package,
                form.describe()
            ));
        }
    }
    let mut out = header;
    tree.render(0, &mut out);
    Ok(out)
}

/// One image to deploy: its value and component.
struct Deployed {
    value: String,
    component: Component,
    /// How the component was decided, for the header.
    said: String,
    /// Its tag, if it has one.
    tag: Option<String>,
}

fn deployed(image: &str, given: Option<Component>) -> Result<Deployed, Error> {
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
    let name = crate::names::name_of(&ImageRef::Registry(r.clone()));
    let (component, said) = match (given, &name) {
        (Some(c), _) => (c, format!("{c}, as given")),
        (None, Some(n)) => (
            n.component,
            format!("{}, from its {} name", n.component, n.naming),
        ),
        (None, None) => (
            Component::Enterprise,
            "enterprise: its name names no component; give --component for another".into(),
        ),
    };
    Ok(Deployed {
        value: r.name(),
        component,
        said,
        tag: r.tag.clone(),
    })
}

/// The chart the images' tags name (the first image whose tag names a version decides).
fn chart_named(images: &[Deployed]) -> Result<Chart, Error> {
    if images.iter().all(|i| i.component == Component::Engine) {
        return Ok(Chart::Engine);
    }
    match images
        .iter()
        .find_map(|i| i.tag.as_deref().and_then(tag_major))
    {
        Some(major) if major >= 4 => Ok(Chart::Enterprise),
        Some(_) => Ok(Chart::Engine),
        None => Err(Error::BadArgument {
            what: "--chart".into(),
            reason: format!(
                "the image's {} names no version, so the chart cannot be chosen: give --chart enterprise (Enterprise 4.x and later), --chart engine or --chart bigbang",
                images
                    .first()
                    .and_then(|i| i.tag.as_deref())
                    .map_or_else(|| "digest".to_owned(), |t| format!("tag '{t}'"))
            ),
        }),
    }
}

/// The shape of the values for one chart (or package).
#[derive(Clone, Copy)]
enum Form {
    /// `anchore/enterprise`: `image`, `ui.image`, `certStoreSecretName` at the root.
    EnterpriseChart,
    /// `anchore-engine`: `anchoreGlobal`, `anchoreEnterpriseGlobal`, `anchoreEnterpriseUi`.
    EngineChart,
    /// Big Bang's package wrapping `anchore/enterprise` under the alias `upstream`.
    Upstream,
}

impl Form {
    /// The shape of a Big Bang package's values.
    fn of_package(package: PackageVersion) -> Form {
        if package >= FIRST_UPSTREAM {
            Form::Upstream
        } else if package >= FIRST_ENTERPRISE_CHART {
            Form::EnterpriseChart
        } else {
            Form::EngineChart
        }
    }

    fn image_paths(self, component: Component) -> Result<Vec<Vec<&'static str>>, Error> {
        let no = |reason: &str| Error::BadArgument {
            what: "--chart".into(),
            reason: reason.into(),
        };
        let paths: Vec<Vec<&str>> = match (self, component) {
            (Form::EnterpriseChart | Form::Upstream | Form::EngineChart, Component::Cli) => {
                return Err(no(
                    "the charts deploy no CLI image (Big Bang's tests name it under bbtests.scripts.image)",
                ));
            }
            (Form::EnterpriseChart | Form::Upstream, Component::Engine) => {
                return Err(no(
                    "the anchore/enterprise chart deploys no Engine image: use --chart engine",
                ));
            }
            (Form::EnterpriseChart, Component::Enterprise) => vec![vec!["image"]],
            (Form::EnterpriseChart, Component::Ui) => vec![vec!["ui", "image"]],
            (Form::Upstream, Component::Enterprise) => vec![vec!["upstream", "image"]],
            (Form::Upstream, Component::Ui) => vec![vec!["upstream", "ui", "image"]],
            (Form::EngineChart, Component::Enterprise) => {
                vec![vec!["anchoreEnterpriseGlobal", "image"]]
            }
            (Form::EngineChart, Component::Ui) => vec![vec!["anchoreEnterpriseUi", "image"]],
            (Form::EngineChart, Component::Engine) => vec![vec!["anchoreGlobal", "image"]],
            (_, other) => {
                return Err(no(&format!("the charts deploy no {other} image")));
            }
        };
        Ok(paths)
    }

    fn cert_store_path(self) -> Vec<&'static str> {
        match self {
            Form::EnterpriseChart => vec!["certStoreSecretName"],
            Form::Upstream => vec!["upstream", "certStoreSecretName"],
            Form::EngineChart => vec!["anchoreGlobal", "certStoreSecretName"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Form::Upstream => "the anchore/enterprise chart under `upstream`",
            Form::EnterpriseChart => "the anchore/enterprise chart's keys at the root",
            Form::EngineChart => "the anchore-engine chart's keys",
        }
    }
}

/// `name` as a Kubernetes object name (lower-case letters, digits, '-' and '.'; at most 253),
/// which the values and the Secret write as they are: anything else is refused, naming `what`.
fn kubernetes_name(name: &str, what: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        return Ok(());
    }
    Err(Error::BadArgument {
        what: what.into(),
        reason: format!(
            "'{name}' is not a Kubernetes name (lower-case letters, digits, '-' and '.')"
        ),
    })
}

/// The dotted values key of `certStoreSecretName` in `chart`'s values.
fn cert_store_key(chart: Chart, bigbang: &BigBang) -> Result<String, Error> {
    Ok(match chart {
        Chart::Enterprise => Form::EnterpriseChart.cert_store_path().join("."),
        Chart::Engine => Form::EngineChart.cert_store_path().join("."),
        Chart::BigBang => {
            let bb = bigbang.form()?;
            format!(
                "addons.{}.values.{}",
                bb.addon,
                Form::of_package(bb.package).cert_store_path().join(".")
            )
        }
    })
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
/// With `chart`, the comment names the values key that points that chart at the Secret (Big
/// Bang's in the package shape `bigbang` gives), and for Big Bang the namespace defaults to
/// `anchore`, where its package deploys.
pub fn ca_secret(
    cas: &Intake,
    name: &str,
    namespace: Option<&str>,
    chart: Option<(Chart, &BigBang)>,
) -> Result<String, Error> {
    if cas.cas().is_empty() {
        return Err(Error::NoCa);
    }
    kubernetes_name(name, "--name")?;
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
    let namespace = match (namespace, chart) {
        (None, Some((Chart::BigBang, _))) => Some("anchore"),
        (ns, _) => ns,
    };
    if let Some((chart, bigbang)) = chart {
        out.push_str(&format!(
            "# Point the chart at it: {}: {name}\n# (trustbake helm-values --cert-store-secret {name} prints those values).\n",
            cert_store_key(chart, bigbang)?
        ));
    }
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
