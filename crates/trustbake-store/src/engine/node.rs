//! Node.js: it trusts its own built-in roots, not the OS store, plus the PEM file
//! `NODE_EXTRA_CA_CERTS` names (read once, at start). When the image runs a `node`, the CAs go
//! into that file — the image's own, extended, when its environment names one; else
//! trustbake's [`paths::NODE_EXTRA_CA_CERTS`], and the variable is set.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, read_bundle, render_pem};

use crate::env::{Env, path_dirs, program, var};
use crate::error::StoreError;
use crate::kind::StoreKind;
use crate::paths;
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, parent, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

/// The variable Node reads.
pub(crate) const VARIABLE: &str = "NODE_EXTRA_CA_CERTS";

/// The files the engine reads because `env` names them, beyond [`paths::reads`]: a scan for
/// [`plan`](super::plan) with this environment keeps these bodies too.
pub fn env_reads(env: &Env) -> BTreeSet<String> {
    var(env, VARIABLE)
        .filter(|p| p.starts_with('/') && !paths::reads(p))
        .map(str::to_owned)
        .into_iter()
        .collect()
}

/// Node's extra-certificates file in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeExtra {
    /// The `node` found in `PATH`.
    pub program: String,
    /// The file: the one the environment names, else trustbake's own.
    pub path: String,
    /// Whether `NODE_EXTRA_CA_CERTS` must be set to [`NodeExtra::path`] (the image names none).
    pub set: bool,
}

/// Where the CAs for the image's Node go, when it has a `node` in `PATH`.
pub fn node_extra(view: &dyn RootView, env: &Env) -> Result<Option<NodeExtra>, StoreError> {
    let Some(program) = program(view, &path_dirs(env), "node")? else {
        return Ok(None);
    };
    let (path, set) = match var(env, VARIABLE) {
        Some(named) => (named.to_owned(), false),
        None => (paths::NODE_EXTRA_CA_CERTS.to_owned(), true),
    };
    Ok(Some(NodeExtra { program, path, set }))
}

impl Writer<'_> {
    pub(super) fn node(&mut self, cas: &[&Certificate]) -> Result<(), StoreError> {
        let Some(NodeExtra {
            program: node,
            path,
            set,
        }) = node_extra(self.view, &self.options.env)?
        else {
            return Ok(());
        };
        let mut report = StoreReport::new(&path, StoreKind::NodeExtra);
        if !path.starts_with('/') {
            self.notes.push(format!(
                "{VARIABLE}={path} is relative to the working directory of {node}; trustbake leaves it alone"
            ));
            for cert in cas {
                report.skip(cert, "the image names a relative path");
            }
            self.stores.push(report);
            return Ok(());
        }
        let (real, entry) = resolve(self.view, &path)?;
        let (meta, bytes) = match entry {
            Some(Entry::File { meta, .. }) => match self.current(&real) {
                Ok(bytes) => (meta, bytes.unwrap_or_default()),
                Err(err @ (StoreError::TooLarge { .. } | StoreError::Read { .. })) => {
                    self.notes
                        .push(format!("{path} ({VARIABLE}): not read: {err}; left alone"));
                    for cert in cas {
                        report.skip(cert, "the file could not be read");
                    }
                    self.stores.push(report);
                    return Ok(());
                }
                Err(err) => return Err(err),
            },
            None => {
                // A planned file (another store's output) counts as the file.
                let planned = self.current(&real)?;
                if planned.is_none() && !cas.is_empty() {
                    self.ensure_dir(parent(&real), 0o755)?;
                }
                (Meta::root(0o644, 0), planned.unwrap_or_default())
            }
            Some(_) => {
                self.notes.push(format!(
                    "{path} ({VARIABLE}) is not a regular file; left alone"
                ));
                for cert in cas {
                    report.skip(cert, "not a regular file");
                }
                self.stores.push(report);
                return Ok(());
            }
        };
        let found = read_bundle(&bytes);
        if found.certificates.is_empty() && !bytes.trim_ascii().is_empty() {
            // Whatever the config names, only a PEM bundle is extended.
            self.notes.push(format!(
                "{path} ({VARIABLE}) holds no certificate: not a PEM bundle, left alone"
            ));
            for cert in cas {
                report.skip(cert, "the file is not a PEM bundle");
            }
            self.stores.push(report);
            return Ok(());
        }
        report.unreadable_existing = found.skipped;
        let present = found.shas();
        let mut content = bytes.clone();
        for cert in cas {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
                continue;
            }
            if !content.is_empty() && !content.ends_with(b"\n") {
                content.push(b'\n');
            }
            content.extend_from_slice(format!("# {}\n", cert.label()).as_bytes());
            content.extend_from_slice(render_pem("CERTIFICATE", cert.der()).as_bytes());
            report.added.push(ca_ref(cert));
        }
        let exists = self.view.entry(&real)?.is_some() || self.items.contains_key(&real);
        if content != bytes || (!exists && !cas.is_empty()) {
            let meta = self.meta(meta);
            self.put(&real, meta, Content::File(content));
        }
        // Named only when there is a file to name (a bake that adds nothing names none).
        if set && (self.view.entry(&real)?.is_some() || self.items.contains_key(&real)) {
            self.env.insert(VARIABLE.to_owned(), path.clone());
        }
        self.stores.push(report);
        Ok(())
    }
}
