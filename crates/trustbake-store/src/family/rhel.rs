//! The RHEL family (CentOS 7, UBI 7/8/9, Fedora): what `update-ca-trust` writes — the anchor in
//! `source/anchors/`, and every extracted output the base has (PEM and OpenSSL bundles, Java
//! keystore, EFI signature lists, the hashed directory), each in its own format — and what it
//! leaves once a CA is in `source/blocklist/` (`blacklist/` on EL7 and EL8).

use std::collections::{BTreeSet, HashMap};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};
use trustbake_targets::OsFamily;

use super::store::{OsStore, bundle, hash_links, keystore, relink};
use crate::error::StoreError;
use crate::formats::{self, jks};
use crate::kind::StoreKind;
use crate::layout::{Layout, RhelOutput, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, list_dir, read_resolved, resolve, shas_in_dir};
use crate::writer::{StoreReport, Writer, ca_ref};

/// RHEL family: `update-ca-trust`'s local anchors.
pub const RHEL_ANCHORS: &str = "/etc/pki/ca-trust/source/anchors";
/// RHEL family: the CAs `update-ca-trust` distrusts (EL9 and later).
pub const RHEL_BLOCKLIST: &str = "/etc/pki/ca-trust/source/blocklist";
/// RHEL family: the same on EL7 and EL8.
pub const RHEL_BLACKLIST: &str = "/etc/pki/ca-trust/source/blacklist";
/// RHEL family: the extracted outputs' root, whose presence marks the layout.
pub const RHEL_EXTRACTED: &str = "/etc/pki/ca-trust/extracted";
/// RHEL family: the hashed directory (EL9's `pem/directory-hash`).
pub const RHEL_DIRECTORY_HASH: &str = "/etc/pki/ca-trust/extracted/pem/directory-hash";

/// Why a non-authority stays out of a `ca-anchors` output.
const NOT_AN_AUTHORITY: &str =
    "not a certificate authority: p11-kit leaves it out of the ca-anchors outputs";

/// The RHEL family's store.
pub(crate) struct Rhel;

impl OsStore for Rhel {
    fn family(&self) -> OsFamily {
        OsFamily::Rhel
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        let is_dir = |path: &str| -> Result<bool, StoreError> {
            Ok(matches!(resolve(view, path)?.1, Some(Entry::Dir { .. })))
        };
        if !is_dir(RHEL_EXTRACTED)? {
            return Ok(false);
        }
        for &(path, kind) in StoreKind::RHEL_OUTPUTS {
            if matches!(resolve(view, path)?.1, Some(Entry::File { .. })) {
                layout.rhel_outputs.push(RhelOutput {
                    path: path.to_owned(),
                    kind,
                });
            }
        }
        layout.rhel_directory_hash = is_dir(RHEL_DIRECTORY_HASH)?;
        Ok(true)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.family == OsFamily::Rhel
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        w.rhel(layout, cas)
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        w.rhel_remove(layout, certs)
    }

    fn sources(&self, view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        let mut files = Vec::new();
        for output in &layout.rhel_outputs {
            if matches!(output.kind, StoreKind::PemBundle | StoreKind::OpensslBundle) {
                files.push(output.path.clone());
            }
        }
        for name in list_dir(view, RHEL_ANCHORS)? {
            files.push(format!("{RHEL_ANCHORS}/{name}"));
        }
        Ok(files)
    }

    fn local_files(
        &self,
        w: &Writer<'_>,
        _layout: &Layout,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        out.extend(
            list_dir(w.view, RHEL_ANCHORS)?
                .into_iter()
                .map(|n| format!("{RHEL_ANCHORS}/{n}")),
        );
        Ok(())
    }

    fn absent_note(&self, label: &str, sha256: &str) -> String {
        format!(
            "{label} (sha256:{sha256}) is in no store of the image: blocklisted, so that a later update-ca-trust keeps it out"
        )
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        for output in &layout.rhel_outputs {
            let path = &output.path;
            match output.kind {
                StoreKind::JavaCacerts => keystore(view, path, stores)?,
                StoreKind::Edk2 => {
                    if let Some((_, _, bytes)) = read_resolved(view, path)? {
                        let ders = formats::edk2_certificates(&bytes).unwrap_or_default();
                        stores.push(StoreContents {
                            path: path.clone(),
                            kind: StoreKind::Edk2,
                            certifi: None,
                            certificates: ders.len(),
                            unreadable: 0,
                            shas: ders.iter().map(|d| Sha256Fingerprint::of(d)).collect(),
                        });
                    }
                }
                kind => bundle(view, path, kind, None, stores)?,
            }
        }
        if layout.rhel_directory_hash {
            let shas = shas_in_dir(view, RHEL_DIRECTORY_HASH, |n| n.ends_with(".pem"))?;
            stores.push(StoreContents {
                path: RHEL_DIRECTORY_HASH.into(),
                kind: StoreKind::DirectoryHash,
                certifi: None,
                certificates: shas.len(),
                unreadable: 0,
                shas,
            });
        }
        if layout.family == OsFamily::Rhel {
            // The distrusted: what update-ca-trust keeps out of every ca-anchors output.
            for dir in [RHEL_BLOCKLIST, RHEL_BLACKLIST] {
                if !matches!(resolve(view, dir)?.1, Some(Entry::Dir { .. })) {
                    continue;
                }
                let shas = shas_in_dir(view, dir, |_| true)?;
                stores.push(StoreContents {
                    path: dir.to_owned(),
                    kind: StoreKind::Blocklist,
                    certifi: None,
                    certificates: shas.len(),
                    unreadable: 0,
                    shas,
                });
            }
            for name in list_dir(view, RHEL_ANCHORS)? {
                let path = format!("{RHEL_ANCHORS}/{name}");
                if let Some((_, _, bytes)) = read_resolved(view, &path)? {
                    local.extend(
                        read_bundle(&bytes)
                            .certificates
                            .into_iter()
                            .map(|c| (c, path.clone())),
                    );
                }
            }
        }
        Ok(())
    }
}

impl Writer<'_> {
    fn rhel(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        // 1. source/anchors/<stem>.pem, so a later update-ca-trust in the image keeps the CA.
        let anchors = self.ensure_dir(RHEL_ANCHORS, 0o755)?;
        let existing = shas_in_dir(self.view, &anchors, |_| true)?;
        let mut report = StoreReport::new(RHEL_ANCHORS, StoreKind::Anchors);
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

        // 2. Every extracted output the base has, in its own format.
        for output in &layout.rhel_outputs {
            self.rhel_output(&output.path, output.kind, cas)?;
        }
        if layout.rhel_directory_hash {
            self.directory_hash(cas)?;
        }
        Ok(())
    }

    fn rhel_output(
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
            StoreKind::JavaCacerts => match jks::Keystore::parse(&bytes) {
                Ok(ks) => (ks.certificates().map(Sha256Fingerprint::of).collect(), 0),
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
                    let mut ks = jks::Keystore::parse(&bytes).unwrap_or(jks::Keystore {
                        entries: Vec::new(),
                    });
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
                _ => formats::pem_bundle_append(&bytes, &new),
            };
            let meta = self.meta(meta);
            self.put(&real, meta, Content::File(content));
        }
        self.stores.push(report);
        Ok(())
    }

    fn directory_hash(&mut self, cas: &[&Certificate]) -> Result<(), StoreError> {
        let (dir, _) = resolve(self.view, RHEL_DIRECTORY_HASH)?;
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
        let mut report = StoreReport::new(RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash);
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
                Content::File(cert.to_pem().into_bytes()),
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

    fn rhel_remove(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let in_etc_anchors = self.anchors_remove(&shas, certs)?;
        self.blocklist_add(layout, certs)?;
        for output in &layout.rhel_outputs {
            self.output_remove(output, &shas, &in_etc_anchors, certs)?;
        }
        if layout.rhel_directory_hash {
            self.directory_hash_remove(&shas, certs)?;
        }
        Ok(())
    }

    /// Out of `source/anchors`: a file of only these CAs goes, a bundle loses their entries.
    /// Returns every CA the anchors held before.
    fn anchors_remove(
        &mut self,
        shas: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
    ) -> Result<BTreeSet<Sha256Fingerprint>, StoreError> {
        let (anchors, _) = resolve(self.view, RHEL_ANCHORS)?;
        let mut in_etc_anchors = BTreeSet::new();
        for name in list_dir(self.view, RHEL_ANCHORS)? {
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
                    self.removed(RHEL_ANCHORS, StoreKind::Anchors, cert);
                }
            } else {
                self.remove_from_text(&path, StoreKind::Anchors, certs)?;
                for s in &mut self.stores {
                    if s.store == path && s.kind == StoreKind::Anchors {
                        s.store = RHEL_ANCHORS.to_owned();
                    }
                }
            }
        }
        Ok(in_etc_anchors)
    }

    /// Into the blocklist, so that a later `update-ca-trust` keeps them out.
    fn blocklist_add(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let dir = blocklist_dir(self.view, layout)?;
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
    fn output_remove(
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

    /// p11-kit's hashed directory without the CAs: their files and the links to them go, and
    /// the links left under each hash they shared are numbered from 0 again.
    fn directory_hash_remove(
        &mut self,
        shas: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let (dir, _) = resolve(self.view, RHEL_DIRECTORY_HASH)?;
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
                    self.removed(RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash, c);
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

/// Where the RHEL blocklist of the root seen through `view` is: the directory it has
/// (`blocklist/` on EL9, `blacklist/` on EL7 and EL8), else the one its release reads.
pub fn blocklist_dir(view: &dyn RootView, layout: &Layout) -> Result<&'static str, StoreError> {
    for dir in [RHEL_BLOCKLIST, RHEL_BLACKLIST] {
        if matches!(resolve(view, dir)?.1, Some(Entry::Dir { .. })) {
            return Ok(dir);
        }
    }
    let major: u32 = layout
        .os
        .version_id
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let rhel_like = layout.os.id == "rhel"
        || layout.os.id == "centos"
        || layout.os.id_like.split_whitespace().any(|w| w == "rhel");
    Ok(if rhel_like && (1..=8).contains(&major) {
        RHEL_BLACKLIST
    } else {
        RHEL_BLOCKLIST
    })
}
