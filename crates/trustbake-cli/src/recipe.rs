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
