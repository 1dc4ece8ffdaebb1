//! The interface every OS family implements, and the helpers the families share: reading a
//! store for inspection, a hashed directory's links, Java's keystore without some CAs.

use std::collections::{BTreeMap, BTreeSet};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};
use trustbake_targets::OsFamily;

use crate::error::StoreError;
use crate::formats::keystore::JavaStore;
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, file_name, read_resolved};
use crate::writer::{StoreReport, Writer, ca_ref};

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
        let (count, unreadable, shas) = match JavaStore::parse(&bytes) {
            Ok(ks) => {
                let shas: BTreeSet<_> = ks
                    .certificates()
                    .into_iter()
                    .map(Sha256Fingerprint::of)
                    .collect();
                (shas.len(), ks.unreadable(), shas)
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

/// Whether `name` is a hashed directory's certificate link (`HHHHHHHH.N`).
pub(crate) fn is_hash_link(name: &str) -> bool {
    name.split_once('.').is_some_and(|(hash, n)| {
        hash.len() == 8
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    })
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
        let Ok(mut ks) = JavaStore::parse(&bytes) else {
            return Ok(());
        };
        let held: BTreeSet<_> = ks
            .certificates()
            .into_iter()
            .map(Sha256Fingerprint::of)
            .collect();
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

/// The `HHHHHHHH.N` links of a hashed directory to change, and the report they go into.
pub(crate) struct Rehash<'c> {
    /// The directory (its real path).
    pub dir: &'c str,
    /// The certificates added, each with the name of the file in `dir` its link points to.
    pub added: Vec<(&'c Certificate, String)>,
    /// The certificates removed.
    pub removed: Vec<&'c Certificate>,
    /// Files of `dir` that are gone (their links go too).
    pub gone: &'c BTreeSet<String>,
    /// The report's store and kind.
    pub report: (&'c str, StoreKind),
}

impl Writer<'_> {
    /// `openssl rehash` (and Alpine's `c_rehash`) for the hashes of the certificates added and
    /// removed: under each, the `HHHHHHHH.N` links numbered in sorted file name order, a
    /// certificate identical to one already linked skipped; links to the `gone` files and to
    /// the removed certificates dropped, numbers past the new end removed.
    pub(crate) fn rehash(&mut self, r: Rehash<'_>) -> Result<(), StoreError> {
        let names: BTreeSet<String> = self.view.list(r.dir)?.into_iter().collect();
        let removed_shas: BTreeSet<_> = r.removed.iter().map(|c| c.sha256()).collect();
        let mut unlinked = BTreeSet::new();
        let mut by_hash: BTreeMap<String, Vec<&(&Certificate, String)>> = BTreeMap::new();
        for cert in r.added.iter().map(|(c, _)| c).chain(&r.removed) {
            by_hash
                .entry(format!("{:08x}", cert.subject_hash()))
                .or_default();
        }
        for added in &r.added {
            by_hash
                .entry(format!("{:08x}", added.0.subject_hash()))
                .or_default()
                .push(added);
        }
        let (store, kind) = r.report;
        for (hash, certs) in by_hash {
            // The bucket: files already linked under this hash, plus ours.
            let mut bucket: Vec<(String, Sha256Fingerprint)> = Vec::new();
            let existing: Vec<&String> = hash_links(&names, &hash).collect();
            for name in &existing {
                let path = format!("{}/{name}", r.dir);
                let Some(Entry::Symlink { target, .. }) = self.view.entry(&path)? else {
                    continue;
                };
                let Some((_, _, bytes)) = read_resolved(self.view, &path)? else {
                    continue;
                };
                if let Some(c) = read_bundle(&bytes).certificates.first() {
                    if removed_shas.contains(&c.sha256()) {
                        unlinked.insert(c.sha256());
                    } else if !r.gone.contains(file_name(&target)) {
                        bucket.push((file_name(&target).to_owned(), c.sha256()));
                    }
                }
            }
            for (cert, file) in &certs {
                bucket.push((file.clone(), cert.sha256()));
            }
            bucket.sort();
            let mut seen = BTreeSet::new();
            let mut n = 0;
            for (file, sha) in bucket {
                if !seen.insert(sha) {
                    continue;
                }
                let link = format!("{}/{hash}.{n}", r.dir);
                let meta = self.meta(Meta::root(0o777, 0));
                self.put(&link, meta, Content::Symlink(file));
                n += 1;
            }
            for name in existing {
                let k: usize = name
                    .split_once('.')
                    .and_then(|(_, k)| k.parse().ok())
                    .unwrap_or(0);
                if k >= n {
                    let meta = self.meta(Meta::root(0o777, 0));
                    self.put(&format!("{}/{name}", r.dir), meta, Content::Remove);
                }
            }
            for (cert, _) in certs {
                let added = ca_ref(cert);
                self.report(store, kind).added.push(added);
            }
        }
        for cert in r.removed.iter().filter(|c| unlinked.contains(&c.sha256())) {
            let gone = ca_ref(cert);
            self.report(store, kind).removed.push(gone);
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// A PEM bundle no tool rebuilds (Alpine's `ca-certificates-bundle` alone, distroless, a
    /// bundle the user names): the CAs it lacks appended in its own format — each followed by
    /// a blank line when its certificates are separated by one, else line after line — and
    /// its owner and mode kept. Nothing when the file is not there.
    pub(crate) fn append_in_format(
        &mut self,
        path: &str,
        kind: StoreKind,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = self.current_file(path)? else {
            return Ok(());
        };
        let held = read_bundle(&bytes).shas();
        let blank = blank_line_between(&bytes);
        let mut out = bytes;
        let mut report = StoreReport::new(path, kind);
        for cert in cas {
            if held.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
                continue;
            }
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(cert.to_pem().as_bytes());
            if blank {
                out.push(b'\n');
            }
            report.added.push(ca_ref(cert));
        }
        if !report.added.is_empty() {
            self.put(&real, meta, Content::File(out));
        }
        if !cas.is_empty() {
            self.stores.push(report);
        }
        Ok(())
    }
}

/// Whether a bundle's certificates are separated by a blank line (each source file followed
/// by a newline of its own, as Alpine's tool writes them).
pub(crate) fn blank_line_between(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----\n\n-----BEGIN".len())
        .any(|w| w == b"-----\n\n-----BEGIN")
        || bytes.ends_with(b"-----\n\n")
}
