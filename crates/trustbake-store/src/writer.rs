//! The plan being written: a [`Writer`] holds the entries planned so far over a view of the
//! root (the last word on a path wins), reads a file as planned or as the root has it, and keeps
//! the report of every store. The engine, each OS family and the consumer stores write through
//! it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use crate::env::Env;
use crate::error::StoreError;
use crate::formats;
use crate::kind::StoreKind;
use crate::plan::{Content, PlanItem};
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
    /// PEM bundles the user names (`--bundle`, absolute paths in the root): the CAs appended
    /// to each in its own format, distrusted ones taken out. With one, a root with no OS store
    /// trustbake knows is accepted (family `unknown`).
    pub bundles: Vec<String>,
}

/// A CA as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaRef {
    /// Its label.
    pub label: String,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// A CA to distrust.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removal {
    /// A certificate (from a file): also blocklisted where the image does not hold it, so a
    /// later `update-ca-trust` keeps it out.
    Certificate(Box<Certificate>),
    /// A SHA-256 fingerprint: the certificate is looked for in the image's stores.
    Fingerprint(Sha256Fingerprint),
}

impl Removal {
    /// The fingerprint.
    pub fn sha256(&self) -> Sha256Fingerprint {
        match self {
            Removal::Certificate(c) => c.sha256(),
            Removal::Fingerprint(f) => *f,
        }
    }
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

/// The plan being written over a view of the root.
pub(crate) struct Writer<'a> {
    /// The root as it is.
    pub(crate) view: &'a dyn RootView,
    /// The choices of this plan.
    pub(crate) options: &'a Options,
    /// The entries planned, by real path.
    pub(crate) items: BTreeMap<String, PlanItem>,
    /// Variables the image must set.
    pub(crate) env: BTreeMap<String, String>,
    /// Per store, per CA.
    pub(crate) stores: Vec<StoreReport>,
    /// Facts worth telling.
    pub(crate) notes: Vec<String>,
}

/// A CA as the report names it.
pub(crate) fn ca_ref(cert: &Certificate) -> CaRef {
    CaRef {
        label: cert.label().to_owned(),
        sha256: cert.sha256().hex(),
    }
}

impl<'a> Writer<'a> {
    pub(crate) fn new(view: &'a dyn RootView, options: &'a Options) -> Self {
        Writer {
            view,
            options,
            items: BTreeMap::new(),
            env: BTreeMap::new(),
            stores: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records an entry to write (the last word on a path wins).
    pub(crate) fn put(&mut self, path: &str, meta: Meta, content: Content) {
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
    pub(crate) fn meta(&self, base: Meta) -> Meta {
        Meta {
            mtime: self.options.mtime,
            mode: base.mode | 0o444,
            ..base
        }
    }

    /// Makes sure the directory `path` exists, planning missing ones with `mode`, root-owned.
    pub(crate) fn ensure_dir(&mut self, path: &str, mode: u32) -> Result<String, StoreError> {
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
    pub(crate) fn report(&mut self, store: &str, kind: StoreKind) -> &mut StoreReport {
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
    pub(crate) fn current_file(
        &self,
        path: &str,
    ) -> Result<Option<(String, Meta, Vec<u8>)>, StoreError> {
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
    pub(crate) fn current(&self, real: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(item) = self.items.get(real) {
            return Ok(match &item.content {
                Content::File(bytes) => Some(bytes.clone()),
                _ => None,
            });
        }
        Ok(read_resolved(self.view, real)?.map(|(_, _, b)| b))
    }

    /// The planned items that change something in the root.
    pub(crate) fn changed_items(&self) -> Result<Vec<PlanItem>, StoreError> {
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

    /// Records that `cert` was removed from the store `store`.
    pub(crate) fn removed(&mut self, store: &str, kind: StoreKind, cert: &Certificate) {
        let r = ca_ref(cert);
        let report = self.report(store, kind);
        if !report.removed.contains(&r) {
            report.removed.push(r);
        }
    }

    /// Writes `path` (resolved) without the entries of `certs`; records what was removed.
    pub(crate) fn remove_from_text(
        &mut self,
        path: &str,
        kind: StoreKind,
        certs: &[Certificate],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((real, meta, bytes)) = self.current_file(path)? else {
            return Ok(None);
        };
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let held = read_bundle(&bytes).shas();
        let Some(new) = formats::remove_entries(&bytes, |c| shas.contains(&c.sha256())) else {
            return Ok(None);
        };
        for cert in certs.iter().filter(|c| held.contains(&c.sha256())) {
            self.removed(path, kind, cert);
        }
        self.put(&real, meta, Content::File(new.clone()));
        Ok(Some(new))
    }
}

impl StoreReport {
    pub(crate) fn new(store: &str, kind: StoreKind) -> Self {
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

    pub(crate) fn skip(&mut self, cert: &Certificate, reason: &str) {
        self.skipped.push(Skipped {
            ca: ca_ref(cert),
            reason: reason.to_owned(),
        });
    }
}
