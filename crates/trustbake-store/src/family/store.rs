//! The interface every OS family implements, and the helpers the families share: reading a
//! store for inspection, a hashed directory's links, Java's keystore without some CAs.

use std::collections::{BTreeMap, BTreeSet};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};
use trustbake_targets::OsFamily;

use crate::error::StoreError;
use crate::formats::jks;
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, file_name, read_resolved};
use crate::writer::Writer;

/// One OS family's trust store.
pub(crate) trait OsStore: Sync {
    /// The family, as the version map names it.
    fn family(&self) -> OsFamily;

    /// Whether the root holds this family's store; fills the family's part of `layout` (the
    /// outputs the base has).
    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError>;

    /// Whether the detected `layout` holds this family's store (a root may hold two: RHEL's
    /// `/etc/ssl/certs` is a link into its own store, Debian's is not).
    fn present(&self, layout: &Layout) -> bool;

    /// Plans what the family's update tool writes once `cas` are added.
    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError>;

    /// Plans what the tool leaves once `certs` are distrusted.
    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError>;

    /// The text files a CA to distrust by fingerprint may be read from.
    fn sources(&self, view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError>;

    /// The files the administrator added CAs as (what a build deletes to distrust one).
    fn local_files(
        &self,
        w: &Writer<'_>,
        layout: &Layout,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError>;

    /// The lines of the family's configuration that enable a packaged copy of `cert` (what a
    /// build disables to distrust it); none where the family has no such file.
    fn enabling_lines(
        &self,
        _view: &dyn RootView,
        _layout: &Layout,
        _cert: &Certificate,
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// What a CA to distrust that no store holds becomes, when this is the root's family.
    fn absent_note(&self, label: &str, sha256: &str) -> String {
        format!("{label} (sha256:{sha256}) is in no store of the image: nothing to remove")
    }

    /// Every store of the family with what it holds, and the CAs added locally (with the file
    /// each was added as).
    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError>;
}

/// A PEM bundle at `path`, as inspection lists it (nothing when absent).
pub(crate) fn bundle(
    view: &dyn RootView,
    path: &str,
    kind: StoreKind,
    certifi: Option<CertifiStatus>,
    stores: &mut Vec<StoreContents>,
) -> Result<(), StoreError> {
    if let Some((_, _, bytes)) = read_resolved(view, path)? {
        let found = read_bundle(&bytes);
        stores.push(StoreContents {
            path: path.to_owned(),
            kind,
            certifi,
            certificates: found.certificates.len(),
            unreadable: found.skipped,
            shas: found.shas(),
        });
    }
    Ok(())
}

/// Java's keystore at `path`, as inspection lists it (an unreadable one counts one unreadable).
pub(crate) fn keystore(
    view: &dyn RootView,
    path: &str,
    stores: &mut Vec<StoreContents>,
) -> Result<(), StoreError> {
    if let Some((_, _, bytes)) = read_resolved(view, path)? {
        let (count, unreadable, shas) = match jks::Keystore::parse(&bytes) {
            Ok(ks) => {
                let shas: BTreeSet<_> = ks.certificates().map(Sha256Fingerprint::of).collect();
                (shas.len(), 0, shas)
            }
            Err(_) => (0, 1, BTreeSet::new()),
        };
        stores.push(StoreContents {
            path: path.to_owned(),
            kind: StoreKind::JavaCacerts,
            certifi: None,
            certificates: count,
            unreadable,
            shas,
        });
    }
    Ok(())
}

/// The `HASH.N` names of a sorted set, found by range (not by a scan of the whole directory).
pub(crate) fn hash_links<'a>(
    names: &'a BTreeSet<String>,
    hash: &str,
) -> impl Iterator<Item = &'a String> {
    let prefix = format!("{hash}.");
    names
        .range(prefix.clone()..)
        .take_while(move |n| n.starts_with(&prefix))
        .filter(|n| {
            n.split_once('.')
                .is_some_and(|(_, k)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// After files of a hashed directory are gone: the links to them go, and under each hash the
/// links left are numbered from 0 again in their old order.
pub(crate) fn relink(
    eng: &mut Writer<'_>,
    dir: &str,
    names: &[String],
    gone: &BTreeSet<String>,
) -> Result<(), StoreError> {
    let mut buckets: BTreeMap<String, Vec<(u32, String, String)>> = BTreeMap::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for name in names {
        let Some((hash, n)) = name.split_once('.') else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Some(Entry::Symlink { target, .. }) = eng.view.entry(&format!("{dir}/{name}"))? else {
            continue;
        };
        if gone.contains(file_name(&target)) {
            touched.insert(hash.to_owned());
            let meta = eng.meta(Meta::root(0o777, 0));
            eng.put(&format!("{dir}/{name}"), meta, Content::Remove);
        } else {
            buckets
                .entry(hash.to_owned())
                .or_default()
                .push((n, name.clone(), target));
        }
    }
    for hash in touched {
        let mut left = buckets.remove(&hash).unwrap_or_default();
        left.sort();
        for (k, (_, old, target)) in left.into_iter().enumerate() {
            let new = format!("{hash}.{k}");
            if new != old {
                let meta = eng.meta(Meta::root(0o777, 0));
                eng.put(&format!("{dir}/{old}"), meta, Content::Remove);
                let meta = eng.meta(Meta::root(0o777, 0));
                eng.put(&format!("{dir}/{new}"), meta, Content::Symlink(target));
            }
        }
    }
    Ok(())
}

impl Writer<'_> {
    pub(crate) fn jks_remove(
        &mut self,
        path: &str,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = self.current_file(path)? else {
            return Ok(());
        };
        let Ok(mut ks) = jks::Keystore::parse(&bytes) else {
            return Ok(());
        };
        let held: BTreeSet<_> = ks.certificates().map(Sha256Fingerprint::of).collect();
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        if ks.remove_trusted(|der| shas.contains(&Sha256Fingerprint::of(der))) > 0 {
            for cert in certs.iter().filter(|c| held.contains(&c.sha256())) {
                self.removed(path, StoreKind::JavaCacerts, cert);
            }
            self.put(&real, meta, Content::File(ks.to_bytes()));
        }
        Ok(())
    }
}
