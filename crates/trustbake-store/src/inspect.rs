//! Inspection: every trust store and certifi bundle of a root with its certificate count, and
//! for each locally added CA (each OS family's local certificates) the stores that hold it
//! and those that lack it — so an image whose stores disagree shows at a glance.

use std::collections::BTreeSet;

use serde::Serialize;
use trustbake_certs::{Certificate, Sha256Fingerprint};

use crate::detect::detect;
use crate::engine::NODE_VARIABLE;
use crate::env::{Env, path_dirs, program, var};
use crate::error::StoreError;
use crate::family::{FAMILIES, bundle, keystore};
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout, StoreContents};
use crate::paths;
use crate::view::{Entry, RootView, resolve};

/// A locally added CA and where it is.
#[derive(Debug, Clone, Serialize)]
pub struct LocalCa {
    /// Its label.
    pub label: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The file it was added as.
    pub source: String,
    /// Stores that hold it.
    pub present_in: Vec<String>,
    /// Stores that lack it.
    pub missing_from: Vec<String>,
}

/// What a root trusts.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The detected layout.
    pub detected: Layout,
    /// Every store found.
    pub stores: Vec<StoreContents>,
    /// The locally added CAs.
    pub local_cas: Vec<LocalCa>,
    /// Stores some user cannot read (a container under an arbitrary UID, as OpenShift runs it).
    pub warnings: Vec<String>,
}

/// Why a user that is neither the owner nor in the group cannot read the store at `path`.
fn unreadable_by_others(view: &dyn RootView, path: &str) -> Result<Option<String>, StoreError> {
    let (real, entry) = resolve(view, path)?;
    let Some(entry) = entry else {
        return Ok(None);
    };
    let meta = entry.meta();
    let (need, what) = match entry {
        Entry::Dir { .. } => (0o005, "read and search"),
        _ => (0o004, "read"),
    };
    if meta.mode & need != need {
        return Ok(Some(format!(
            "{path}: mode {:04o}, owner {}:{} — a user other than those cannot {what} it (OpenShift runs images under an arbitrary UID)",
            meta.mode, meta.uid, meta.gid
        )));
    }
    let mut dir = crate::view::parent(&real);
    loop {
        if let Some(Entry::Dir { meta }) = view.entry(dir)? {
            if meta.mode & 0o001 == 0 {
                return Ok(Some(format!(
                    "{path}: its directory {dir} has mode {:04o}, owner {}:{} — other users cannot reach the store (OpenShift runs images under an arbitrary UID)",
                    meta.mode, meta.uid, meta.gid
                )));
            }
        }
        if dir == "/" {
            return Ok(None);
        }
        dir = crate::view::parent(dir);
    }
}

/// Inspects the trust stores of the root seen through `view`, whose processes run with `env`
/// (an image's config `Env`; empty for a directory).
pub fn inspect(view: &dyn RootView, env: &Env) -> Result<Inspection, StoreError> {
    let detected = detect(view)?;
    let mut stores = Vec::new();
    let mut local: Vec<(Certificate, String)> = Vec::new();
    for family in FAMILIES {
        family.inspect(view, &detected, &mut stores, &mut local)?;
    }
    for b in &detected.certifi {
        if let CertifiStatus::Unusable { .. } = b.status {
            // Nothing to read (a dangling link, not a bundle, too large): listed, empty.
            stores.push(StoreContents {
                path: b.path.clone(),
                kind: StoreKind::Certifi,
                certifi: Some(b.status.clone()),
                certificates: 0,
                unreadable: 0,
                shas: BTreeSet::new(),
            });
            continue;
        }
        bundle(
            view,
            &b.path,
            StoreKind::Certifi,
            Some(b.status.clone()),
            &mut stores,
        )?;
    }
    // Every Java runtime's own store (one an OS family writes is listed as that family's).
    let os_java = crate::engine::os_java_stores(view, &detected)?;
    for runtime in crate::engine::java_runtimes(view, env)? {
        if !os_java.contains(&runtime.real) {
            keystore(view, &runtime.store, &mut stores)?;
        }
    }
    for (_, path) in crate::engine::conda_prefixes(view, env)? {
        bundle(view, &path, StoreKind::Conda, None, &mut stores)?;
    }
    let mut warnings = node_store(view, env, !local.is_empty(), &mut stores)?;
    let local_cas = local_cas(local, &stores);
    for ca in &local_cas {
        let sha = Sha256Fingerprint::from_hex(&ca.sha256);
        if let Some(list) = stores
            .iter()
            .find(|s| s.kind == StoreKind::Blocklist && sha.is_some_and(|f| s.shas.contains(&f)))
        {
            warnings.push(format!(
                "{} ({}) is an anchor and in {}: update-ca-trust distrusts it",
                ca.label, ca.source, list.path
            ));
        }
    }
    for store in &stores {
        if let Some(w) = unreadable_by_others(view, &store.path)? {
            warnings.push(w);
        }
    }
    Ok(Inspection {
        detected,
        stores,
        local_cas,
        warnings,
    })
}

/// Node's extra file (the one `env` names, else trustbake's when present) as a store, and the
/// warnings about it: a missing or relative file, or none while CAs were added locally.
fn node_store(
    view: &dyn RootView,
    env: &Env,
    local_added: bool,
    stores: &mut Vec<StoreContents>,
) -> Result<Vec<String>, StoreError> {
    let mut warnings = Vec::new();
    if let Some(node) = program(view, &path_dirs(env), "node")? {
        let named = var(env, NODE_VARIABLE);
        // A directory has no environment: trustbake's own file stands for it when present.
        let path = named.or_else(|| {
            matches!(
                resolve(view, paths::NODE_EXTRA_CA_CERTS).ok()?.1,
                Some(Entry::File { .. })
            )
            .then_some(paths::NODE_EXTRA_CA_CERTS)
        });
        match path {
            Some(path) if path.starts_with('/') => {
                bundle(view, path, StoreKind::NodeExtra, None, stores)?;
                if !stores.iter().any(|s| s.path == path) {
                    warnings.push(format!(
                        "{NODE_VARIABLE}={path}: no such file — {node} starts with a warning and trusts only its built-in roots"
                    ));
                }
            }
            Some(path) => warnings.push(format!(
                "{NODE_VARIABLE}={path} is relative: what {node} reads depends on its working directory"
            )),
            None if local_added => warnings.push(format!(
                "{node} trusts only its built-in roots ({NODE_VARIABLE} is not set): the locally added CAs do not reach it"
            )),
            None => {}
        }
    }
    Ok(warnings)
}

/// Each locally added CA (once) with the stores that hold it and those that should and do not.
fn local_cas(local: Vec<(Certificate, String)>, stores: &[StoreContents]) -> Vec<LocalCa> {
    let mut seen = BTreeSet::new();
    local
        .into_iter()
        .filter(|(c, _)| seen.insert(c.sha256()))
        .map(|(cert, source)| {
            let sha = cert.sha256();
            // Leaves never reach the ca-anchors outputs: judge authorities only by those. The
            // blocklist is no store a CA should be in.
            let relevant = |s: &&StoreContents| {
                s.kind != StoreKind::Blocklist
                    && (cert.is_authority() || s.kind == StoreKind::OpensslBundle)
            };
            // A certifi bundle trustbake leaves alone (linked, distribution, vendored) is not
            // expected to hold the CA.
            let expected = |s: &&StoreContents| {
                s.certifi
                    .as_ref()
                    .is_none_or(|status| *status == CertifiStatus::Own)
            };
            LocalCa {
                label: cert.label().to_owned(),
                sha256: sha.hex(),
                source,
                present_in: stores
                    .iter()
                    .filter(relevant)
                    .filter(|s| s.shas.contains(&sha))
                    .map(|s| s.path.clone())
                    .collect(),
                missing_from: stores
                    .iter()
                    .filter(relevant)
                    .filter(expected)
                    .filter(|s| !s.shas.contains(&sha))
                    .map(|s| s.path.clone())
                    .collect(),
            }
        })
        .collect()
}
