//! conda and mamba prefixes: a prefix (a directory holding `conda-meta/`) brings its own
//! OpenSSL, whose default bundle is `PREFIX/ssl/cacert.pem` (conda-forge's ca-certificates
//! package; `ssl/cert.pem` links to it) — Python's `ssl`, `requests` through conda's certifi,
//! curl and git of the prefix read it, not the OS store. Every prefix found (the environment's
//! `CONDA_PREFIX`, `CONDA_DIR`, `MAMBA_ROOT_PREFIX`; `/opt/*`, `/usr/local`, `/root/*`,
//! `/home/*/*`; and each one's `envs/*`) gets the CAs in its bundle's own format.

use trustbake_certs::Certificate;

use crate::env::{Env, var};
use crate::error::StoreError;
use crate::kind::StoreKind;
use crate::view::{Entry, RootView, list_dir, resolve};
use crate::writer::Writer;

/// The bundle of a prefix, relative to it.
pub(crate) const BUNDLE: &str = "ssl/cacert.pem";
/// Variables that name a prefix.
const VARIABLES: &[&str] = &["CONDA_PREFIX", "CONDA_DIR", "MAMBA_ROOT_PREFIX"];
/// Directories whose entries may be prefixes.
const PARENTS: &[&str] = &["/opt", "/root"];

/// Every conda prefix of the root with `env` whose bundle is a file: (prefix, bundle path).
pub fn conda_prefixes(view: &dyn RootView, env: &Env) -> Result<Vec<(String, String)>, StoreError> {
    let mut candidates: Vec<String> = VARIABLES
        .iter()
        .filter_map(|v| var(env, v))
        .filter(|p| p.starts_with('/'))
        .map(|p| p.trim_end_matches('/').to_owned())
        .collect();
    candidates.push("/usr/local".to_owned());
    for parent in PARENTS {
        candidates.extend(
            list_dir(view, parent)?
                .into_iter()
                .map(|n| format!("{parent}/{n}")),
        );
    }
    for home in list_dir(view, "/home")? {
        let dir = format!("/home/{home}");
        candidates.extend(
            list_dir(view, &dir)?
                .into_iter()
                .map(|n| format!("{dir}/{n}")),
        );
    }
    let mut prefixes: Vec<String> = Vec::new();
    for candidate in candidates {
        if is_prefix(view, &candidate)? {
            let envs = format!("{candidate}/envs");
            let nested = list_dir(view, &envs)?;
            prefixes.push(candidate);
            for name in nested {
                let env_prefix = format!("{envs}/{name}");
                if is_prefix(view, &env_prefix)? {
                    prefixes.push(env_prefix);
                }
            }
        }
    }
    let mut out: Vec<(String, String, String)> = Vec::new();
    for prefix in prefixes {
        let bundle = format!("{prefix}/{BUNDLE}");
        let (real, entry) = resolve(view, &bundle)?;
        if matches!(entry, Some(Entry::File { .. })) && !out.iter().any(|(_, _, r)| *r == real) {
            out.push((prefix, bundle, real));
        }
    }
    Ok(out.into_iter().map(|(p, b, _)| (p, b)).collect())
}

fn is_prefix(view: &dyn RootView, dir: &str) -> Result<bool, StoreError> {
    Ok(matches!(
        resolve(view, &format!("{dir}/conda-meta"))?.1,
        Some(Entry::Dir { .. })
    ))
}

impl Writer<'_> {
    /// Each prefix's bundle with the CAs it lacks, in its own format.
    pub(super) fn conda(&mut self, cas: &[&Certificate]) -> Result<(), StoreError> {
        for (_, bundle) in conda_prefixes(self.view, &self.options.env)? {
            self.append_in_format(&bundle, StoreKind::Conda, cas)?;
        }
        Ok(())
    }

    /// Each prefix's bundle without the distrusted CAs.
    pub(super) fn conda_remove(&mut self, certs: &[Certificate]) -> Result<(), StoreError> {
        for (_, bundle) in conda_prefixes(self.view, &self.options.env)? {
            self.remove_from_text(&bundle, StoreKind::Conda, certs)?;
        }
        Ok(())
    }
}
