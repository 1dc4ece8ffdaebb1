//! The version map: the table of release lines, typed, and the lookup of a product version.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::version::Version;

/// The table, compiled in.
const TABLE: &str = include_str!("../data/versions.toml");

/// An Anchore product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Product {
    /// Anchore Engine, the open-source edition.
    Engine,
    /// Anchore Enterprise.
    Enterprise,
}

impl Product {
    /// Both products, in table order.
    pub const ALL: [Product; 2] = [Product::Engine, Product::Enterprise];

    /// The lower-case name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Engine => "engine",
            Product::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Product {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "engine" | "anchore-engine" => Ok(Product::Engine),
            "enterprise" | "anchore-enterprise" => Ok(Product::Enterprise),
            _ => Err(TargetError::UnknownProduct {
                input: s.to_owned(),
            }),
        }
    }
}

/// The base image of a release line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// CentOS 7.
    Centos7,
    /// Ubuntu 18.04.
    Ubuntu1804,
    /// Red Hat Universal Base Image 7.
    Ubi7,
    /// Red Hat Universal Base Image 8.
    Ubi8,
    /// Red Hat Universal Base Image 9.
    Ubi9,
}

impl Base {
    /// The name used in the table and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Base::Centos7 => "centos7",
            Base::Ubuntu1804 => "ubuntu1804",
            Base::Ubi7 => "ubi7",
            Base::Ubi8 => "ubi8",
            Base::Ubi9 => "ubi9",
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The family of OS trust-store tooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsFamily {
    /// Red Hat family: p11-kit and `update-ca-trust`.
    Rhel,
    /// Debian family: `update-ca-certificates`.
    Debian,
    /// Alpine family (Alpine, Wolfi): Alpine's own `update-ca-certificates`, or the bundle
    /// alone.
    Alpine,
    /// distroless: no tool; the bundle and Java's keystore as its build rules make them.
    Distroless,
    /// SUSE family (openSUSE, SLES, BCI): p11-kit behind SUSE's `update-ca-certificates`.
    Suse,
    /// No OS store trustbake knows: only the bundles the user names (`--bundle`) are written.
    Unknown,
}

impl OsFamily {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Rhel => "rhel",
            OsFamily::Debian => "debian",
            OsFamily::Alpine => "alpine",
            OsFamily::Distroless => "distroless",
            OsFamily::Suse => "suse",
            OsFamily::Unknown => "unknown",
        }
    }

    /// Where trustbake puts a CA whose file stem is `stem`, below the anchors directory:
    /// RHEL's `update-ca-trust` reads any file in `anchors/`; Debian's
    /// `update-ca-certificates` reads only `*.crt`, recursively, so trustbake keeps its own
    /// sub-directory there; Alpine's reads every file of the directory, but not below it.
    pub fn anchor_file(self, anchors_dir: &str, stem: &str) -> String {
        let dir = anchors_dir.trim_end_matches('/');
        match self {
            OsFamily::Rhel | OsFamily::Suse => format!("{dir}/{stem}.pem"),
            OsFamily::Debian => format!("{dir}/trustbake/{stem}.crt"),
            OsFamily::Alpine | OsFamily::Distroless | OsFamily::Unknown => {
                format!("{dir}/{stem}.crt")
            }
        }
    }
}

impl fmt::Display for OsFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the map is of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Every fact of the row has a public source.
    Confirmed,
    /// Some fact of the row rests on one source or on reasoning; detect in the image.
    Inferred,
}

impl Confidence {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Inferred => "inferred",
        }
    }
}

/// What a base image implies for the OS trust store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BaseInfo {
    /// Human name, e.g. `Red Hat UBI 9`.
    pub description: String,
    /// The OS family.
    pub os_family: OsFamily,
    /// The directory the update tool reads local CAs from.
    pub anchors_dir: String,
    /// The command that regenerates the OS store.
    pub update_command: String,
    /// The files that command regenerates (`<…>` marks a name pattern).
    pub os_outputs: Vec<String>,
    /// What to keep in mind for this base.
    #[serde(default)]
    pub note: Option<String>,
}

/// One place certifi's `cacert.pem` may live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CertifiPath {
    /// Absolute path inside the image.
    pub path: String,
    /// Present only from this version on.
    #[serde(default, deserialize_with = "de_version_opt")]
    pub since: Option<Version>,
    /// No public source states this path.
    #[serde(default)]
    pub inferred: bool,
}

/// One release line of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseLine {
    /// The product.
    pub product: Product,
    /// The line's name, e.g. `5.1.x+` or `0.4.x-0.6.x`.
    pub line: String,
    /// The first version of the line.
    pub first: Version,
    /// The newest minor release (major, minor) the sources cover, on a product's newest line.
    pub verified_through: Option<(u64, u64)>,
    /// The base image.
    pub base: Base,
    /// What the base implies for the OS store.
    pub base_info: BaseInfo,
    /// The Python version the line runs, e.g. `3.11`.
    pub python: String,
    /// Where certifi's `cacert.pem` lives, primary first.
    pub certifi: Vec<CertifiPath>,
    /// The user the containers run as.
    pub user: String,
    /// How sure the map is.
    pub confidence: Confidence,
    /// Where the facts come from.
    pub source: String,
}

/// The release lines of both products.
#[derive(Debug, Clone)]
pub struct VersionMap {
    lines: Vec<ReleaseLine>,
}

/// A product version mapped to its release line.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The line the version belongs to.
    pub line: &'a ReleaseLine,
    /// The version as asked.
    pub version: Version,
    /// The certifi paths that apply to this version, primary first.
    pub certifi_paths: Vec<String>,
    /// What the operator should know about this answer.
    pub notes: Vec<String>,
}

/// A lookup that has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Neither `engine` nor `enterprise`.
    #[error("unknown product '{input}'; use engine or enterprise")]
    UnknownProduct {
        /// What was given.
        input: String,
    },
    /// Not one of Anchore's images.
    #[error("unknown component '{input}'; use enterprise, ui, engine or cli")]
    UnknownComponent {
        /// What was given.
        input: String,
    },
    /// Older than the first line the map knows.
    #[error(
        "{product} {version} is not in the version map (its first known line is {first_line}, from {first}); trustbake does not guess: bake detects the layout from the image itself"
    )]
    NotInMap {
        /// The product.
        product: Product,
        /// The version asked for.
        version: String,
        /// The product's first known line.
        first_line: String,
        /// Its first version.
        first: String,
    },
    /// The compiled-in table is malformed (caught by the crate's tests).
    #[error("the built-in version map is malformed: {0}")]
    Table(String),
}

impl VersionMap {
    /// The compiled-in map, parsed once.
    pub fn builtin() -> &'static VersionMap {
        static MAP: OnceLock<VersionMap> = OnceLock::new();
        MAP.get_or_init(|| match VersionMap::parse(TABLE) {
            Ok(map) => map,
            // The table is part of the source and `builtin_table_parses` tests it.
            Err(err) => panic!("{err}"),
        })
    }

    /// Parses a table in the format of `data/versions.toml`.
    pub fn parse(text: &str) -> Result<VersionMap, TargetError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| TargetError::Table(e.to_string()))?;
        let mut lines = Vec::new();
        for row in raw.line {
            let base_info = raw.base.get(row.base.as_str()).cloned().ok_or_else(|| {
                TargetError::Table(format!(
                    "line {} names base {} which has no [base.{}]",
                    row.line, row.base, row.base
                ))
            })?;
            let verified_through = match row.verified_through {
                Some(v) => Some(
                    v.parse::<Version>()
                        .map(|v| (v.major, v.minor))
                        .map_err(|e| TargetError::Table(e.to_string()))?,
                ),
                None => None,
            };
            if row.certifi.is_empty() {
                return Err(TargetError::Table(format!(
                    "line {} has no certifi path",
                    row.line
                )));
            }
            lines.push(ReleaseLine {
                product: row.product,
                line: row.line,
                first: row.first,
                verified_through,
                base: row.base,
                base_info,
                python: row.python,
                certifi: row.certifi,
                user: row.user,
                confidence: row.confidence,
                source: row.source,
            });
        }
        lines.sort_by(|a, b| (a.product, &a.first).cmp(&(b.product, &b.first)));
        Ok(VersionMap { lines })
    }

    /// Every line, by product then first version.
    pub fn lines(&self) -> &[ReleaseLine] {
        &self.lines
    }

    /// The lines of one product, oldest first.
    pub fn lines_of(&self, product: Product) -> impl Iterator<Item = &ReleaseLine> {
        self.lines.iter().filter(move |l| l.product == product)
    }

    /// Maps `version` of `product` to its release line. Pre-release tags are ignored for the
    /// choice; a version newer than what the map's sources cover maps to the newest line with a
    /// note; a version older than the first line is an error, never a guess.
    pub fn resolve(
        &self,
        product: Product,
        version: &Version,
    ) -> Result<Resolved<'_>, TargetError> {
        let lines: Vec<&ReleaseLine> = self.lines_of(product).collect();
        let Some(line) = lines
            .iter()
            .rev()
            .find(|l| l.first.core() <= version.core())
            .copied()
        else {
            let first = lines
                .first()
                .ok_or_else(|| TargetError::Table(format!("no line for {product}")))?;
            return Err(TargetError::NotInMap {
                product,
                version: version.to_string(),
                first_line: first.line.clone(),
                first: first.first.to_string(),
            });
        };
        let mut notes = Vec::new();
        if let Some(pre) = &version.pre {
            notes.push(format!(
                "'{pre}' is a pre-release tag; it is read as a {}.{}.{} build",
                version.major, version.minor, version.patch
            ));
        }
        if let Some((major, minor)) = line.verified_through {
            if (version.major, version.minor) > (major, minor) {
                notes.push(format!(
                    "{product} {version} is newer than the newest release the map has facts for ({major}.{minor}.x); the {} layout is assumed, and bake confirms it by looking inside the image",
                    line.line
                ));
            }
        }
        if line.confidence == Confidence::Inferred {
            notes.push(format!(
                "this line's facts are partly inferred: {}; bake confirms them by looking inside the image",
                line.source
            ));
        }
        if let Some(note) = &line.base_info.note {
            notes.push(note.clone());
        }
        let mut certifi_paths = Vec::new();
        for path in &line.certifi {
            if path
                .since
                .as_ref()
                .is_some_and(|since| version.core() < since.core())
            {
                continue;
            }
            if path.inferred {
                notes.push(format!(
                    "{} is inferred, not stated by a source; bake looks for it",
                    path.path
                ));
            }
            certifi_paths.push(path.path.clone());
        }
        Ok(Resolved {
            line,
            version: version.clone(),
            certifi_paths,
            notes,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    base: BTreeMap<String, BaseInfo>,
    line: Vec<RawLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    product: Product,
    line: String,
    #[serde(deserialize_with = "de_version")]
    first: Version,
    #[serde(default)]
    verified_through: Option<String>,
    base: Base,
    python: String,
    certifi: Vec<CertifiPath>,
    user: String,
    confidence: Confidence,
    source: String,
}

fn de_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn de_version_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Version>, D::Error> {
    de_version(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses() {
        let map = VersionMap::parse(TABLE).unwrap();
        assert_eq!(map.lines_of(Product::Engine).count(), 5);
        assert_eq!(map.lines_of(Product::Enterprise).count(), 7);
    }

    #[test]
    fn a_line_naming_a_missing_base_is_refused() {
        let table = TABLE
            .replace("base = \"ubi9\"", "base = \"ubi7\"")
            .replace("[base.ubi7]", "[base.other]");
        assert!(matches!(
            VersionMap::parse(&table),
            Err(TargetError::Table(_))
        ));
    }

    #[test]
    fn anchor_files_follow_the_update_tool() {
        assert_eq!(
            OsFamily::Rhel.anchor_file("/etc/pki/ca-trust/source/anchors", "corp-1a2b3c4d"),
            "/etc/pki/ca-trust/source/anchors/corp-1a2b3c4d.pem"
        );
        assert_eq!(
            OsFamily::Debian.anchor_file("/usr/local/share/ca-certificates/", "corp-1a2b3c4d"),
            "/usr/local/share/ca-certificates/trustbake/corp-1a2b3c4d.crt"
        );
    }
}
