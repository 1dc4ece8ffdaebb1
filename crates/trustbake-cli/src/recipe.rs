//! Image recipes (`images/NAME.toml`): what the command line left out, filled from the recipe,
//! its paths taken relative to it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::args::BakeArgs;

/// An image recipe (`images/NAME.toml`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Recipe {
    pub(crate) from: String,
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) cas: Vec<PathBuf>,
    /// CAs to distrust: fingerprints or files.
    #[serde(default)]
    pub(crate) remove: Vec<String>,
    pub(crate) product: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) platform: Option<String>,
    /// PEM bundles of the image to append to (`--bundle`).
    #[serde(default)]
    pub(crate) bundles: Vec<String>,
}

/// Fills what the command line left out from the recipe `file` (paths relative to it).
pub(crate) fn read_recipe(file: &Path, args: &mut BakeArgs) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the recipe {}", file.display()))?;
    let recipe: Recipe =
        toml::from_str(&text).with_context(|| format!("{}: not a valid recipe", file.display()))?;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    args.from = args.from.take().or(Some(rebase(&recipe.from, &dir)));
    args.to = args.to.take().or(Some(rebase(&recipe.to, &dir)));
    if args.ca.cas.is_empty() {
        args.ca.cas = recipe
            .cas
            .iter()
            .map(|c| -> PathBuf {
                if c.is_absolute() || c.as_os_str() == "-" {
                    c.clone()
                } else {
                    dir.join(c)
                }
            })
            .collect();
    }
    if args.write.remove.is_empty() {
        args.write.remove = recipe
            .remove
            .iter()
            .map(|r| {
                let fingerprint = r.len() >= 64
                    && r.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
                    || r.starts_with("sha256:");
                if fingerprint || Path::new(r).is_absolute() {
                    r.clone()
                } else {
                    dir.join(r).display().to_string()
                }
            })
            .collect();
    }
    args.write.product = args.write.product.take().or(recipe.product);
    args.write.version = args.write.version.take().or(recipe.version);
    args.platform = args.platform.take().or(recipe.platform);
    if args.write.bundle.is_empty() {
        args.write.bundle = recipe.bundles;
    }
    Ok(())
}

/// A recipe's image reference with a relative path made relative to the recipe's directory.
pub(crate) fn rebase(reference: &str, dir: &Path) -> String {
    match reference.split_once(':') {
        Some((transport, rest)) if !rest.starts_with('/') && !dir.as_os_str().is_empty() => {
            format!("{transport}:{}/{rest}", dir.display())
        }
        _ => reference.to_owned(),
    }
}

/// A sync file (`sync -f sync.toml`): defaults shared by every source, then one
/// `[sources.NAME]` table per upstream repository (which may set its own `cas`, `remove`,
/// `platform`). Paths are relative to the file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncFile {
    #[serde(default)]
    cas: Vec<PathBuf>,
    #[serde(default)]
    remove: Vec<String>,
    platform: Option<String>,
    #[serde(default)]
    bundles: Vec<String>,
    sources: std::collections::BTreeMap<String, SyncFileSource>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFileSource {
    from: String,
    to: String,
    tags: Option<String>,
    semver: Option<String>,
    cas: Option<Vec<PathBuf>>,
    remove: Option<Vec<String>>,
    platform: Option<String>,
    bundles: Option<Vec<String>>,
}

/// One source to sync, from the command line or a sync file.
#[derive(Debug, Clone)]
pub(crate) struct SyncSource {
    /// Its name in the sync file (`None` on the command line).
    pub(crate) name: Option<String>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) tags: Option<String>,
    pub(crate) semver: Option<String>,
    pub(crate) cas: Vec<PathBuf>,
    pub(crate) remove: Vec<String>,
    pub(crate) platform: Option<String>,
    /// PEM bundles of the images to append to (`--bundle`).
    pub(crate) bundles: Vec<String>,
}

/// The sources of the sync file `file`, in name order, each with the defaults filled in; an
/// empty file, or one without sources, is refused.
pub(crate) fn read_sync_file(file: &Path) -> Result<Vec<SyncSource>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the sync file {}", file.display()))?;
    let parsed: SyncFile = toml::from_str(&text).with_context(|| {
        format!(
            "{}: not a valid sync file (defaults cas, remove, platform, bundles; then [sources.NAME] tables with from, to, tags, semver, cas, remove, platform, bundles)",
            file.display()
        )
    })?;
    anyhow::ensure!(
        !parsed.sources.is_empty(),
        "{}: no [sources.NAME] table: nothing to sync",
        file.display()
    );
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let paths = |list: &[PathBuf]| -> Vec<PathBuf> {
        list.iter()
            .map(|c| {
                if c.is_absolute() || c.as_os_str() == "-" {
                    c.clone()
                } else {
                    dir.join(c)
                }
            })
            .collect()
    };
    let removals = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|r| {
                let fingerprint = r.starts_with("sha256:")
                    || (r.len() >= 64 && r.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'));
                if fingerprint || Path::new(r).is_absolute() {
                    r.clone()
                } else {
                    dir.join(r).display().to_string()
                }
            })
            .collect()
    };
    Ok(parsed
        .sources
        .into_iter()
        .map(|(name, s)| SyncSource {
            name: Some(name),
            from: s.from,
            to: s.to,
            tags: s.tags,
            semver: s.semver,
            cas: paths(s.cas.as_deref().unwrap_or(&parsed.cas)),
            remove: removals(s.remove.as_deref().unwrap_or(&parsed.remove)),
            platform: s.platform.or_else(|| parsed.platform.clone()),
            bundles: s.bundles.unwrap_or_else(|| parsed.bundles.clone()),
        })
        .collect())
}
