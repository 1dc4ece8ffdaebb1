//! What every p11-kit-based family shares (RHEL's `update-ca-trust`, SUSE's
//! `update-ca-certificates`): the CAs as files of an anchors directory, each extracted output
//! in its own format (PEM and OpenSSL bundles, Java keystore, EFI signature lists, hashed
//! directories), and, to distrust, a blocklist and every output without them. Each family names
//! its directories and the outputs it found; the writing is here, once.

use std::collections::{BTreeSet, HashMap};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use super::store::{hash_links, relink};
use crate::error::StoreError;
use crate::formats::{self, jks, keystore::JavaStore};
use crate::kind::StoreKind;
use crate::layout::{RhelOutput, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, list_dir, read_resolved, resolve, shas_in_dir};
use crate::writer::{StoreReport, Writer, ca_ref};

/// Why a non-authority stays out of a `ca-anchors` output.
const NOT_AN_AUTHORITY: &str =
    "not a certificate authority: p11-kit leaves it out of the ca-anchors outputs";

impl Writer<'_> {
    /// The CAs into a p11-kit anchors directory (`<stem>.pem`), so a later `trust extract` in
    /// the image keeps them.
    pub(crate) fn p11_anchors(
        &mut self,
        dir: &str,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let anchors = self.ensure_dir(dir, 0o755)?;
        let existing = shas_in_dir(self.view, &anchors, |_| true)?;
        let mut report = StoreReport::new(dir, StoreKind::Anchors);
        for cert in cas {
            if existing.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else {
                let meta = self.meta(Meta::root(0o644, 0));
                self.put(
                    &format!("{anchors}/{}.pem", cert.file_stem()),
                    meta,
                    Content::File(cert.to_pem().into_bytes()),
                );
                report.added.push(ca_ref(cert));
            }
        }
        self.stores.push(report);
        Ok(())
    }

    /// One extracted output, in its own format: the CAs it lacks added as `trust extract`
    /// writes them.
    pub(crate) fn p11_output(
        &mut self,
        path: &str,
        kind: StoreKind,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, path)? else {
            return Ok(());
        };
        let mut report = StoreReport::new(path, kind);
        let (present, unreadable): (BTreeSet<_>, usize) = match kind {
            StoreKind::JavaCacerts => match JavaStore::parse(&bytes) {
                Ok(ks) => (
                    ks.certificates()
                        .into_iter()
                        .map(Sha256Fingerprint::of)
                        .collect(),
                    ks.unreadable(),
                ),
                Err(err) => {
                    self.notes.push(format!("{path}: {err}; left as it is"));
                    return Ok(());
                }
            },
            StoreKind::Edk2 => match formats::edk2_certificates(&bytes) {
                Some(ders) => (ders.iter().map(|d| Sha256Fingerprint::of(d)).collect(), 0),
                None => {
                    self.notes.push(format!(
                        "{path}: not a list of EFI signature lists; left as it is"
                    ));
                    return Ok(());
                }
            },
            // The PEM and OpenSSL bundles.
            _ => {
                let found = read_bundle(&bytes);
                (found.shas(), found.skipped)
            }
        };
        report.unreadable_existing = unreadable;
        let mut new = Vec::new();
        for cert in cas {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else if !cert.is_authority() && kind.authorities_only() {
                report.skip(cert, NOT_AN_AUTHORITY);
            } else {
                new.push(*cert);
                report.added.push(ca_ref(cert));
            }
        }
        if !new.is_empty() {
            let content = match kind {
                StoreKind::OpensslBundle => formats::openssl_bundle_append(&bytes, &new),
                StoreKind::Edk2 => formats::edk2_append(&bytes, &new),
                StoreKind::JavaCacerts => {
                    let mut ks =
                        JavaStore::parse(&bytes).unwrap_or(JavaStore::Jks(jks::Keystore {
                            entries: Vec::new(),
                        }));
                    let ts = self
                        .options
                        .jks_timestamp_ms
                        .unwrap_or(meta.mtime.saturating_mul(1000));
                    ks.add_trusted_all(
                        new.iter()
                            .map(|cert| (jks::p11_kit_alias(cert.label()), cert.der())),
                        ts,
                    );
                    ks.to_bytes()
                }
                _ if formats::commented(&bytes) => formats::pem_bundle_append(&bytes, &new),
                _ => formats::pem_bundle_append_plain(&bytes, &new),
            };
            let meta = self.meta(meta);
            self.put(&real, meta, Content::File(content));
        }
        self.stores.push(report);
        Ok(())
    }

    /// A p11-kit hashed directory (`pem-directory-hash`, or `openssl-directory` when
    /// `trusted`): a file per CA named after its label, with its new- and old-style hash links.
    pub(crate) fn hashed_dir(
        &mut self,
        at: &str,
        kind: StoreKind,
        trusted: bool,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let (dir, _) = resolve(self.view, at)?;
        let names = self.view.list(&dir)?;
        let file_mode = names
            .iter()
            .find_map(|n| match self.view.entry(&format!("{dir}/{n}")) {
                Ok(Some(Entry::File { meta, .. })) => Some(meta),
                _ => None,
            })
            .unwrap_or(Meta::root(0o444, 0));
        let base: BTreeSet<String> = names.iter().cloned().collect();
        let mut taken = base.clone();
        // The certificates the base links under each hash, read once per hash.
        let mut linked: HashMap<String, BTreeSet<Sha256Fingerprint>> = HashMap::new();
        // Where the search for a free number starts, per name: many certificates with one
        // label or one subject hash are numbered in linear time.
        let mut next: HashMap<String, usize> = HashMap::new();
        let mut report = StoreReport::new(at, kind);
        for cert in cas {
            if !cert.is_authority() {
                report.skip(cert, NOT_AN_AUTHORITY);
                continue;
            }
            // p11-kit writes no new-style link for a subject its decoder rejects.
            let new_hash = cert.subject_hash_p11_kit().map(|h| format!("{h:08x}"));
            let old_hash = format!("{:08x}", cert.subject_hash_old());
            if !linked.contains_key(&old_hash) {
                let found = self.linked_under(&dir, &base, &old_hash)?;
                linked.insert(old_hash.clone(), found);
            }
            if linked
                .get(&old_hash)
                .is_some_and(|shas| shas.contains(&cert.sha256()))
            {
                report.present.push(ca_ref(cert));
                continue;
            }
            let name = first_free(
                &mut taken,
                &mut next,
                &format!("file:{}", cert.label()),
                |n| formats::directory_hash_file_name(cert.label(), n),
            );
            let meta = self.meta(file_mode);
            self.put(
                &format!("{dir}/{name}"),
                meta,
                Content::File(
                    if trusted {
                        formats::openssl_trusted_pem(cert)
                    } else {
                        cert.to_pem()
                    }
                    .into_bytes(),
                ),
            );
            for hash in new_hash.into_iter().chain([old_hash]) {
                let link = first_free(&mut taken, &mut next, &format!("link:{hash}"), |n| {
                    format!("{hash}.{n}")
                });
                let meta = self.meta(Meta::root(0o777, 0));
                self.put(
                    &format!("{dir}/{link}"),
                    meta,
                    Content::Symlink(name.clone()),
                );
            }
            report.added.push(ca_ref(cert));
        }
        self.stores.push(report);
        Ok(())
    }

    /// The certificates the `hash.N` links of `dir` lead to.
    fn linked_under(
        &self,
        dir: &str,
        names: &BTreeSet<String>,
        hash: &str,
    ) -> Result<BTreeSet<Sha256Fingerprint>, StoreError> {
        let mut found = BTreeSet::new();
        for name in hash_links(names, hash) {
            if let Some((_, _, bytes)) = read_resolved(self.view, &format!("{dir}/{name}"))? {
                found.extend(read_bundle(&bytes).certificates.iter().map(|c| c.sha256()));
            }
        }
        Ok(found)
    }

    pub(crate) fn p11_anchors_remove(
        &mut self,
        at: &str,
        shas: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
    ) -> Result<BTreeSet<Sha256Fingerprint>, StoreError> {
        let (anchors, _) = resolve(self.view, at)?;
        let mut in_etc_anchors = BTreeSet::new();
        for name in list_dir(self.view, at)? {
            let path = format!("{anchors}/{name}");
            let Some(bytes) = self.current(&path)? else {
                continue;
            };
            let found = read_bundle(&bytes).certificates;
            in_etc_anchors.extend(found.iter().map(Certificate::sha256));
            let ours: Vec<&Certificate> = found
                .iter()
                .filter(|c| shas.contains(&c.sha256()))
                .collect();
            if ours.is_empty() {
                continue;
            }
            if ours.len() == found.len() {
                let meta = self.meta(Meta::root(0o644, 0));
                self.put(&path, meta, Content::Remove);
                for cert in certs
                    .iter()
                    .filter(|c| ours.iter().any(|o| o.sha256() == c.sha256()))
                {
                    self.removed(at, StoreKind::Anchors, cert);
                }
            } else {
                self.remove_from_text(&path, StoreKind::Anchors, certs)?;
                for s in &mut self.stores {
                    if s.store == path && s.kind == StoreKind::Anchors {
                        s.store = at.to_owned();
                    }
                }
            }
        }
        Ok(in_etc_anchors)
    }

    /// Into the blocklist, so that a later `update-ca-trust` keeps them out.
    pub(crate) fn p11_blocklist_add(
        &mut self,
        dir: &str,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let real_dir = self.ensure_dir(dir, 0o755)?;
        let listed = shas_in_dir(self.view, dir, |_| true)?;
        let mut report = StoreReport::new(dir, StoreKind::Blocklist);
        for cert in certs {
            if listed.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else {
                let meta = self.meta(Meta::root(0o644, 0));
                self.put(
                    &format!("{real_dir}/{}.pem", cert.file_stem()),
                    meta,
                    Content::File(cert.to_pem().into_bytes()),
                );
                report.added.push(ca_ref(cert));
            }
        }
        self.stores.push(report);
        Ok(())
    }

    /// One extracted output as p11-kit writes it with the CAs distrusted: out of every
    /// ca-anchors output. The OpenSSL bundle (filter `certificates`) lists every certificate
    /// p11-kit knows: one a shipped source still holds keeps its entry as it is; one only the
    /// blocklist names is written rejecting every purpose.
    pub(crate) fn p11_output_remove(
        &mut self,
        output: &RhelOutput,
        shas: &BTreeSet<Sha256Fingerprint>,
        in_etc_anchors: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let path = output.path.clone();
        match output.kind {
            StoreKind::OpensslBundle => {
                let Some((real, meta, bytes)) = self.current_file(&path)? else {
                    return Ok(());
                };
                let held = read_bundle(&bytes).shas();
                // Shipped: in the bundle, and not (only) from the anchors just emptied.
                let distrusted: Vec<&Certificate> = certs
                    .iter()
                    .filter(|c| !held.contains(&c.sha256()) || in_etc_anchors.contains(&c.sha256()))
                    .collect();
                if !distrusted.is_empty() {
                    let gone: BTreeSet<_> = distrusted.iter().map(|c| c.sha256()).collect();
                    let kept = formats::remove_entries(&bytes, |c| gone.contains(&c.sha256()))
                        .unwrap_or_else(|| bytes.clone());
                    let content = formats::openssl_bundle_append_distrusted(&kept, &distrusted);
                    self.put(&real, meta, Content::File(content));
                }
            }
            StoreKind::JavaCacerts => self.jks_remove(&path, certs)?,
            StoreKind::Edk2 => {
                let Some((real, meta, bytes)) = self.current_file(&path)? else {
                    return Ok(());
                };
                let Some(new) =
                    formats::edk2_remove(&bytes, |der| shas.contains(&Sha256Fingerprint::of(der)))
                else {
                    return Ok(());
                };
                if new != bytes {
                    let held = formats::edk2_certificates(&bytes).unwrap_or_default();
                    for cert in certs {
                        if held.iter().any(|d| d.as_slice() == cert.der()) {
                            self.removed(&path, StoreKind::Edk2, cert);
                        }
                    }
                    self.put(&real, meta, Content::File(new));
                }
            }
            kind => {
                self.remove_from_text(&path, kind, certs)?;
            }
        }
        Ok(())
    }

    /// A p11-kit hashed directory without the CAs: their files and the links to them go, and
    /// the links left under each hash they shared are numbered from 0 again.
    pub(crate) fn hashed_dir_remove(
        &mut self,
        at: &str,
        kind: StoreKind,
        shas: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let (dir, _) = resolve(self.view, at)?;
        let names = self.view.list(&dir)?;
        let mut gone: BTreeSet<String> = BTreeSet::new();
        for name in &names {
            let path = format!("{dir}/{name}");
            if !matches!(self.view.entry(&path)?, Some(Entry::File { .. })) {
                continue;
            }
            let Some(bytes) = self.current(&path)? else {
                continue;
            };
            if let Some(cert) = read_bundle(&bytes)
                .certificates
                .into_iter()
                .find(|c| shas.contains(&c.sha256()))
            {
                gone.insert(name.clone());
                let meta = self.meta(Meta::root(0o644, 0));
                self.put(&path, meta, Content::Remove);
                if let Some(c) = certs.iter().find(|c| c.sha256() == cert.sha256()) {
                    self.removed(at, kind, c);
                }
            }
        }
        if gone.is_empty() {
            return Ok(());
        }
        relink(self, &dir, &names, &gone)
    }
}

/// The first name `name(n)`, n = 0, 1, …, not in `taken` — searched from where the last
/// search for `key` ended (names are only ever added) — and taken.
fn first_free(
    taken: &mut BTreeSet<String>,
    next: &mut HashMap<String, usize>,
    key: &str,
    name: impl Fn(usize) -> String,
) -> String {
    let n = next.entry(key.to_owned()).or_insert(0);
    loop {
        let candidate = name(*n);
        *n += 1;
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
}

/// A directory store (a hashed directory's `*.pem` files, every file of a blocklist) as
/// inspection lists it; nothing when the directory is not there.
pub(crate) fn dir_store(
    view: &dyn RootView,
    dir: &str,
    kind: StoreKind,
    stores: &mut Vec<StoreContents>,
) -> Result<(), StoreError> {
    if !matches!(resolve(view, dir)?.1, Some(Entry::Dir { .. })) {
        return Ok(());
    }
    let shas = shas_in_dir(view, dir, |n| {
        kind == StoreKind::Blocklist || n.ends_with(".pem")
    })?;
    stores.push(StoreContents {
        path: dir.to_owned(),
        kind,
        certifi: None,
        certificates: shas.len(),
        unreadable: 0,
        shas,
    });
    Ok(())
}

/// The files of an anchors directory (what a build deletes to distrust one).
pub(crate) fn anchor_files(view: &dyn RootView, dir: &str) -> Result<Vec<String>, StoreError> {
    Ok(list_dir(view, dir)?
        .into_iter()
        .map(|n| format!("{dir}/{n}"))
        .collect())
}

/// Every certificate of an anchors directory, with its file.
pub(crate) fn anchors_local(
    view: &dyn RootView,
    dir: &str,
    local: &mut Vec<(Certificate, String)>,
) -> Result<(), StoreError> {
    for path in anchor_files(view, dir)? {
        if let Some((_, _, bytes)) = read_resolved(view, &path)? {
            local.extend(
                read_bundle(&bytes)
                    .certificates
                    .into_iter()
                    .map(|c| (c, path.clone())),
            );
        }
    }
    Ok(())
}
