//! The engine: from a view of a root and validated CAs to a [`Plan`] and a [`Report`]. What
//! each family's tool would write lives in its own module: [`rhel`] (`update-ca-trust`),
//! [`debian`] (`update-ca-certificates`), [`certifi`] (the append to every `cacert.pem`),
//! [`node`] (the file `NODE_EXTRA_CA_CERTS` names, and the variable).

mod certifi;
mod debian;
mod node;
mod remove;

pub(crate) use node::VARIABLE as NODE_VARIABLE;
pub use node::{NodeExtra, env_reads, node_extra};
pub use remove::{Found, Removal, blocklist_dir, find_removals};
mod rhel;

use std::collections::BTreeMap;

use serde::Serialize;
use trustbake_certs::Certificate;
use trustbake_targets::{OsFamily, Resolved};

use crate::layout::{CertifiStatus, Layout};

use crate::detect::detect;
use crate::env::Env;
use crate::error::StoreError;
use crate::kind::StoreKind;
use crate::plan::{Content, Plan, PlanItem};
use crate::view::{Entry, Meta, RootView, parent, read_resolved, resolve};

/// Choices that are not facts of the image.
#[derive(Debug, Clone)]
pub struct Options {
    /// mtime of every written entry (`SOURCE_DATE_EPOCH`, or the base image's creation time).
    pub mtime: i64,
    /// Timestamp of new Java keystore entries, milliseconds; `None`: the keystore file's own
    /// mtime in the base (never the clock).
    pub jks_timestamp_ms: Option<i64>,
    /// Also patch pip's vendored certifi.
    pub include_vendored: bool,
    /// The image's environment (its config's `Env`; empty for a directory): `PATH` finds the
    /// runtimes, `NODE_EXTRA_CA_CERTS` names Node's extra file.
    pub env: Env,
    /// CAs to distrust in every store (the base's own as well as added ones).
    pub remove: Vec<Removal>,
}

/// A CA as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaRef {
    /// Its label.
    pub label: String,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// What happened in one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreReport {
    /// The store's path (logical, as the image's tools name it).
    pub store: String,
    /// Its kind.
    pub kind: StoreKind,
    /// CAs added.
    pub added: Vec<CaRef>,
    /// CAs already there.
    pub present: Vec<CaRef>,
    /// CAs not added, and why.
    pub skipped: Vec<Skipped>,
    /// CAs taken out.
    pub removed: Vec<CaRef>,
    /// Certificates of the existing file that could not be read (left as they are).
    pub unreadable_existing: usize,
}

/// A CA a store did not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The CA.
    pub ca: CaRef,
    /// Why it was not added.
    pub reason: String,
}

/// What was detected and done.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The detected layout.
    pub detected: Layout,
    /// Per store, per CA.
    pub stores: Vec<StoreReport>,
    /// Disagreements with the version map, and other facts worth telling.
    pub notes: Vec<String>,
}

/// Plans the CAs into the root seen through `view`. `target` (from the version map), when
/// given, is compared with what the image holds; the image wins.
pub fn plan(
    view: &dyn RootView,
    cas: &[Certificate],
    target: Option<&Resolved<'_>>,
    options: &Options,
) -> Result<(Plan, Report), StoreError> {
    let layout = detect(view)?;
    let mut cas: Vec<&Certificate> = cas.iter().collect();
    cas.sort_by_key(|c| c.sha256());
    cas.dedup_by_key(|c| c.sha256());
    let mut eng = Engine::new(view, options);
    if let Some(target) = target {
        eng.compare(&layout, target);
    }
    if layout.family == OsFamily::Rhel {
        eng.rhel(&layout, &cas)?;
    }
    if layout.debian {
        eng.debian(&layout, &cas)?;
    }
    eng.certifi(&layout, &cas)?;
    eng.node(&cas)?;
    eng.remove(&layout)?;
    let items = eng.changed_items()?;
    Ok((
        Plan {
            items,
            env: eng.env.into_iter().collect(),
        },
        Report {
            detected: layout,
            stores: eng.stores,
            notes: eng.notes,
        },
    ))
}

struct Engine<'a> {
    view: &'a dyn RootView,
    options: &'a Options,
    items: BTreeMap<String, PlanItem>,
    env: BTreeMap<String, String>,
    stores: Vec<StoreReport>,
    notes: Vec<String>,
}

fn ca_ref(cert: &Certificate) -> CaRef {
    CaRef {
        label: cert.label().to_owned(),
        sha256: cert.sha256().hex(),
    }
}

impl<'a> Engine<'a> {
    fn new(view: &'a dyn RootView, options: &'a Options) -> Self {
        Engine {
            view,
            options,
            items: BTreeMap::new(),
            env: BTreeMap::new(),
            stores: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn compare(&mut self, layout: &Layout, target: &Resolved<'_>) {
        let line = target.line;
        let what = format!("{} {} (line {})", line.product, target.version, line.line);
        if line.base_info.os_family != layout.family {
            self.notes.push(format!(
                "the version map says {what} is {}-family, the image has the {} layout; the image's is used",
                line.base_info.os_family, layout.family
            ));
        }
        for expected in &target.certifi_paths {
            if !layout.certifi.iter().any(|b| &b.path == expected) {
                let found: Vec<&str> = layout
                    .certifi
                    .iter()
                    .filter(|b| b.status != CertifiStatus::Vendored)
                    .map(|b| b.path.as_str())
                    .collect();
                self.notes.push(format!(
                    "the version map expects certifi at {expected} for {what}; the image has {}; the image's paths are used",
                    if found.is_empty() { "none".to_owned() } else { found.join(", ") }
                ));
            }
        }
        if let Some(python) = &layout.python {
            if python != &line.python {
                self.notes.push(format!(
                    "the version map says Python {} for {what}; the image has Python {python}",
                    line.python
                ));
            }
        }
    }

    /// Records an entry to write (the last word on a path wins).
    fn put(&mut self, path: &str, meta: Meta, content: Content) {
        self.items.insert(
            path.to_owned(),
            PlanItem {
                path: path.to_owned(),
                meta,
                content,
            },
        );
    }

    /// The metadata of an entry to write: `base`'s owner and mode at the plan's time, the mode
    /// widened so that any user can read it (OpenShift runs images under an arbitrary UID; a
    /// base file narrower than that is widened, never narrowed).
    fn meta(&self, base: Meta) -> Meta {
        Meta {
            mtime: self.options.mtime,
            mode: base.mode | 0o444,
            ..base
        }
    }

    /// Makes sure the directory `path` exists, planning missing ones with `mode`, root-owned.
    fn ensure_dir(&mut self, path: &str, mode: u32) -> Result<String, StoreError> {
        match resolve(self.view, path)? {
            (real, Some(Entry::Dir { .. })) => Ok(real),
            (_, Some(other)) => Err(StoreError::NotADirectory {
                path: path.to_owned(),
                found: if matches!(other, Entry::File { .. }) {
                    "a file"
                } else {
                    "a symlink"
                },
            }),
            (real, None) => {
                if !self.items.contains_key(&real) {
                    self.ensure_dir(parent(&real), 0o755)?;
                    let meta = self.meta(Meta::root(mode, 0));
                    self.put(&real, meta, Content::Dir);
                }
                Ok(real)
            }
        }
    }

    /// The report of the store `store` of `kind`, made (last in the list) on first use.
    fn report(&mut self, store: &str, kind: StoreKind) -> &mut StoreReport {
        let at = match self
            .stores
            .iter()
            .position(|s| s.store == store && s.kind == kind)
        {
            Some(at) => at,
            None => {
                self.stores.push(StoreReport::new(store, kind));
                self.stores.len() - 1
            }
        };
        &mut self.stores[at]
    }

    /// A file to rewrite: its real path, the metadata to write it with (a planned item's, else
    /// the root's, widened) and its current bytes (planned, else the root's); `None` when no
    /// file is there.
    fn current_file(&self, path: &str) -> Result<Option<(String, Meta, Vec<u8>)>, StoreError> {
        let (real, entry) = resolve(self.view, path)?;
        if let Some(item) = self.items.get(&real) {
            return Ok(match &item.content {
                Content::File(bytes) => Some((real.clone(), item.meta, bytes.clone())),
                _ => None,
            });
        }
        match entry {
            Some(Entry::File { meta, .. }) => {
                let bytes = self.view.read(&real)?;
                Ok(Some((real, self.meta(meta), bytes)))
            }
            _ => Ok(None),
        }
    }

    /// The current bytes of a file: planned content if any, else the view's.
    fn current(&self, real: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(item) = self.items.get(real) {
            return Ok(match &item.content {
                Content::File(bytes) => Some(bytes.clone()),
                _ => None,
            });
        }
        Ok(read_resolved(self.view, real)?.map(|(_, _, b)| b))
    }

    /// The planned items that change something in the root.
    fn changed_items(&self) -> Result<Vec<PlanItem>, StoreError> {
        let mut out = Vec::new();
        for item in self.items.values() {
            let same = match (&item.content, self.view.entry(&item.path)?) {
                (Content::File(bytes), Some(Entry::File { .. })) => {
                    self.view.read(&item.path)? == *bytes
                }
                (Content::Symlink(target), Some(Entry::Symlink { target: old, .. })) => {
                    *target == old
                }
                (Content::Dir, Some(Entry::Dir { .. })) => true,
                (Content::Remove, None) => true,
                _ => false,
            };
            if !same {
                out.push(item.clone());
            }
        }
        Ok(out)
    }
}

impl StoreReport {
    fn new(store: &str, kind: StoreKind) -> Self {
        StoreReport {
            store: store.to_owned(),
            kind,
            added: Vec::new(),
            present: Vec::new(),
            skipped: Vec::new(),
            removed: Vec::new(),
            unreadable_existing: 0,
        }
    }

    fn skip(&mut self, cert: &Certificate, reason: &str) {
        self.skipped.push(Skipped {
            ca: ca_ref(cert),
            reason: reason.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::view::MemRoot;

    /// A RHEL root with an empty anchors directory and one extracted bundle.
    fn rhel_root() -> MemRoot {
        let mut root = MemRoot::default();
        for dir in [
            "/etc",
            "/etc/pki",
            "/etc/pki/ca-trust",
            "/etc/pki/ca-trust/source",
            "/etc/pki/ca-trust/extracted",
            "/etc/pki/ca-trust/extracted/pem",
        ] {
            root.dir(dir, Meta::root(0o755, 0));
        }
        root.file(
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            b"".to_vec(),
            Meta::root(0o444, 0),
        );
        root
    }

    fn ca() -> Certificate {
        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
        Certificate::from_der(der).unwrap()
    }

    #[test]
    fn missing_directories_are_planned_and_a_second_plan_is_empty() {
        let mut root = rhel_root();
        let options = Options {
            mtime: 7,
            jks_timestamp_ms: None,
            include_vendored: false,
            env: Env::new(),
            remove: Vec::new(),
        };
        let (plan, report) = super::plan(&root, &[ca()], None, &options).unwrap();
        let anchors = plan
            .items
            .iter()
            .find(|i| i.path == "/etc/pki/ca-trust/source/anchors")
            .unwrap();
        assert_eq!(anchors.content, Content::Dir);
        assert!(plan.items.iter().all(|i| i.meta.mtime == 7));
        let kinds: Vec<StoreKind> = report.stores.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StoreKind::Anchors, StoreKind::PemBundle]);
        root.apply(&plan);
        let (again, report) = super::plan(&root, &[ca()], None, &options).unwrap();
        assert!(again.is_empty(), "{again:?}");
        assert!(report.stores.iter().all(|s| s.present.len() == 1));
    }
}
