//! Distrusting CAs: what the image's own tools would leave once a CA is taken out — RHEL's
//! `update-ca-trust` with the CA in `source/blocklist/` (`blacklist/` on EL7 and EL8), Debian's
//! `update-ca-certificates` with the CA's `.crt` gone from `/usr/local/share/ca-certificates`
//! or disabled (`!`) in `/etc/ca-certificates.conf` as `dpkg-reconfigure ca-certificates`
//! writes it — and every certifi bundle and Node's extra file without it.

use std::collections::{BTreeMap, BTreeSet};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use crate::error::StoreError;
use crate::formats::{self, jks};
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout};
use crate::paths::{
    DEBIAN_BUNDLE, DEBIAN_CERTS, DEBIAN_CONF, DEBIAN_JAVA, DEBIAN_LOCAL, DEBIAN_SHARE,
    RHEL_ANCHORS, RHEL_BLACKLIST, RHEL_BLOCKLIST, RHEL_DIRECTORY_HASH,
};
use crate::plan::Content;
use crate::view::{
    Entry, Meta, RootView, file_name, list_dir, read_resolved, resolve, shas_in_dir,
};
use crate::writer::{Removal, StoreReport, Writer, ca_ref};

/// A CA to remove as found in a root: its certificate (given, or read from the root for a
/// fingerprint), the files of the local stores that hold it (RHEL `source/anchors/`, Debian's
/// `/usr/local/share/ca-certificates`), and the `/etc/ca-certificates.conf` lines enabling a
/// packaged copy — what a build must delete or disable.
#[derive(Debug, Clone)]
pub struct Found {
    /// The certificate.
    pub certificate: Certificate,
    /// Local files holding it (logical paths).
    pub files: Vec<String>,
    /// Debian: the enabled lines of `/etc/ca-certificates.conf` whose file holds it.
    pub conf_lines: Vec<String>,
}

/// Finds `removals` in the root seen through `view`; also returns the notes (a fingerprint no
/// store holds).
pub fn find_removals(
    view: &dyn RootView,
    removals: &[Removal],
) -> Result<(Vec<Found>, Vec<String>), StoreError> {
    let layout = crate::detect::detect(view)?;
    let options = crate::writer::Options {
        mtime: 0,
        jks_timestamp_ms: None,
        include_vendored: false,
        env: crate::env::Env::new(),
        remove: removals.to_vec(),
    };
    let mut eng = Writer::new(view, &options);
    let certs = eng.removals(&layout)?;
    let mut local: Vec<String> = list_dir(view, RHEL_ANCHORS)?
        .into_iter()
        .map(|n| format!("{RHEL_ANCHORS}/{n}"))
        .collect();
    if layout.debian {
        eng.local_crts(DEBIAN_LOCAL, 8, &mut local)?;
    }
    let conf = match read_resolved(view, DEBIAN_CONF)? {
        Some((_, _, b)) if layout.debian => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    let holds = |path: &str, cert: &Certificate| -> Result<bool, StoreError> {
        Ok(read_resolved(view, path)?.is_some_and(|(_, _, b)| {
            read_bundle(&b)
                .certificates
                .iter()
                .any(|c| c.sha256() == cert.sha256())
        }))
    };
    let mut out = Vec::new();
    for cert in certs {
        let mut files = Vec::new();
        for path in &local {
            if holds(path, &cert)? {
                files.push(path.clone());
            }
        }
        let mut conf_lines = Vec::new();
        for line in conf.lines() {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if holds(&format!("{DEBIAN_SHARE}/{line}"), &cert)? {
                conf_lines.push(line.to_owned());
            }
        }
        out.push(Found {
            certificate: cert,
            files,
            conf_lines,
        });
    }
    Ok((out, eng.notes))
}

impl Writer<'_> {
    /// The certificates to remove: those given, and those found in the image for a fingerprint
    /// (a fingerprint found nowhere is a note).
    pub(super) fn removals(&mut self, layout: &Layout) -> Result<Vec<Certificate>, StoreError> {
        let mut out: Vec<Certificate> = Vec::new();
        let mut wanted: BTreeSet<Sha256Fingerprint> = BTreeSet::new();
        for removal in &self.options.remove {
            match removal {
                Removal::Certificate(c) => out.push((**c).clone()),
                Removal::Fingerprint(f) => {
                    wanted.insert(*f);
                }
            }
        }
        wanted.retain(|f| !out.iter().any(|c| c.sha256() == *f));
        if !wanted.is_empty() {
            for path in self.candidate_files(layout)? {
                let Ok(Some(bytes)) = self.current(&path) else {
                    continue;
                };
                for cert in read_bundle(&bytes).certificates {
                    if wanted.remove(&cert.sha256()) {
                        out.push(cert);
                    }
                }
                if wanted.is_empty() {
                    break;
                }
            }
            for f in wanted {
                self.notes.push(format!(
                    "sha256:{} is in no store of the image: nothing to remove",
                    f.hex()
                ));
            }
        }
        out.sort_by_key(Certificate::sha256);
        out.dedup_by_key(|c| c.sha256());
        Ok(out)
    }

    /// Every text file a CA to remove may be read from.
    fn candidate_files(&self, layout: &Layout) -> Result<Vec<String>, StoreError> {
        let mut files = Vec::new();
        for output in &layout.rhel_outputs {
            if matches!(output.kind, StoreKind::PemBundle | StoreKind::OpensslBundle) {
                files.push(output.path.clone());
            }
        }
        for name in list_dir(self.view, RHEL_ANCHORS)? {
            files.push(format!("{RHEL_ANCHORS}/{name}"));
        }
        if layout.debian {
            files.push(DEBIAN_BUNDLE.to_owned());
        }
        files.extend(layout.certifi.iter().map(|b| b.real_path.clone()));
        Ok(files)
    }

    /// Records that `cert` was removed from the store `store`.
    fn removed(&mut self, store: &str, kind: StoreKind, cert: &Certificate) {
        let r = ca_ref(cert);
        let report = self.report(store, kind);
        if !report.removed.contains(&r) {
            report.removed.push(r);
        }
    }

    /// Writes `path` (resolved) without the entries of `certs`; records what was removed.
    fn remove_from_text(
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

    pub(super) fn remove(&mut self, layout: &Layout) -> Result<(), StoreError> {
        let certs = self.removals(layout)?;
        if certs.is_empty() {
            return Ok(());
        }
        if layout.family == trustbake_targets::OsFamily::Rhel {
            self.rhel_remove(layout, &certs)?;
        }
        if layout.debian {
            self.debian_remove(layout, &certs)?;
        }
        for bundle in &layout.certifi {
            let patched = match bundle.status {
                CertifiStatus::Own => true,
                CertifiStatus::Vendored => self.options.include_vendored,
                _ => false,
            };
            if !patched {
                continue;
            }
            if let Some(new) =
                self.remove_from_text(&bundle.real_path, StoreKind::Certifi, &certs)?
            {
                // The report names the bundle as found, not its real path.
                if bundle.real_path != bundle.path {
                    for s in &mut self.stores {
                        if s.store == bundle.real_path && s.kind == StoreKind::Certifi {
                            s.store = bundle.path.clone();
                        }
                    }
                }
                if let Some(record) = &bundle.record {
                    self.record(record, &new)?;
                }
            }
        }
        if let Some(node) = super::node::node_extra(self.view, &self.options.env)? {
            if node.path.starts_with('/') {
                self.remove_from_text(&node.path, StoreKind::NodeExtra, &certs)?;
            }
        }
        let rhel = layout.family == trustbake_targets::OsFamily::Rhel;
        for cert in &certs {
            let r = ca_ref(cert);
            if !self.stores.iter().any(|s| s.removed.contains(&r)) {
                self.notes.push(if rhel {
                    format!(
                        "{} (sha256:{}) is in no store of the image: blocklisted, so that a later update-ca-trust keeps it out",
                        cert.label(),
                        r.sha256
                    )
                } else {
                    format!(
                        "{} (sha256:{}) is in no store of the image: nothing to remove",
                        cert.label(),
                        r.sha256
                    )
                });
            }
        }
        Ok(())
    }

    fn rhel_remove(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        // 1. Out of source/anchors: a file of only these CAs goes, a bundle loses their entries.
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
        // 2. Into the blocklist, so that a later update-ca-trust keeps them out.
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
        // 3. The extracted outputs as p11-kit writes them with the CAs distrusted: out of every
        //    ca-anchors output. The OpenSSL bundle (filter `certificates`) lists every
        //    certificate p11-kit knows: one a shipped source still holds keeps its entry as it
        //    is; one only the blocklist names is written rejecting every purpose.
        for output in &layout.rhel_outputs {
            let path = output.path.clone();
            match output.kind {
                StoreKind::OpensslBundle => {
                    let Some((real, meta, bytes)) = self.current_file(&path)? else {
                        continue;
                    };
                    let held = read_bundle(&bytes).shas();
                    // Shipped: in the bundle, and not (only) from the anchors just emptied.
                    let distrusted: Vec<&Certificate> = certs
                        .iter()
                        .filter(|c| {
                            !held.contains(&c.sha256()) || in_etc_anchors.contains(&c.sha256())
                        })
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
                        continue;
                    };
                    let Some(new) = formats::edk2_remove(&bytes, |der| {
                        shas.contains(&Sha256Fingerprint::of(der))
                    }) else {
                        continue;
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
        }
        if layout.rhel_directory_hash {
            self.directory_hash_remove(&shas, certs)?;
        }
        Ok(())
    }

    fn jks_remove(&mut self, path: &str, certs: &[Certificate]) -> Result<(), StoreError> {
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

    fn debian_remove(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let (certs_dir, _) = resolve(self.view, DEBIAN_CERTS)?;
        let mut gone_links: BTreeSet<String> = BTreeSet::new();
        let mut changed = false;
        // 1. The administrator's own: the .crt goes (a file of several loses the entries).
        let mut local = Vec::new();
        self.local_crts(DEBIAN_LOCAL, 8, &mut local)?;
        for path in local {
            let Some(bytes) = self.current(&path)? else {
                continue;
            };
            let found = read_bundle(&bytes).certificates;
            let hit: Vec<&Certificate> = certs
                .iter()
                .filter(|c| found.iter().any(|f| f.sha256() == c.sha256()))
                .collect();
            if hit.is_empty() {
                continue;
            }
            changed = true;
            let (real, _) = resolve(self.view, &path)?;
            if found.iter().all(|f| shas.contains(&f.sha256())) {
                let meta = self.meta(Meta::root(0o644, 0));
                self.put(&real, meta, Content::Remove);
                // update-ca-certificates deletes the link that now dangles.
                let link = formats::debian_link_name(file_name(&path));
                if matches!(
                    self.view.entry(&format!("{certs_dir}/{link}"))?,
                    Some(Entry::Symlink { .. })
                ) || self.items.contains_key(&format!("{certs_dir}/{link}"))
                {
                    let meta = self.meta(Meta::root(0o777, 0));
                    self.put(&format!("{certs_dir}/{link}"), meta, Content::Remove);
                }
                gone_links.insert(link);
                for cert in hit {
                    self.removed(DEBIAN_LOCAL, StoreKind::DebianLocal, cert);
                }
            } else {
                self.remove_from_text(&path, StoreKind::DebianLocal, certs)?;
                for s in &mut self.stores {
                    if s.store == path && s.kind == StoreKind::DebianLocal {
                        s.store = DEBIAN_LOCAL.to_owned();
                    }
                }
            }
        }
        // 2. The packaged ones: disabled in ca-certificates.conf, as dpkg-reconfigure writes it.
        if let Some((conf_real, conf_meta, _)) = read_resolved(self.view, DEBIAN_CONF)? {
            let text = self
                .current(&conf_real)?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let mut out = String::with_capacity(text.len() + 16);
            let mut disabled = false;
            for line in text.split_inclusive('\n') {
                let entry = line.trim_end_matches('\n');
                if entry.is_empty() || entry.starts_with('#') || entry.starts_with('!') {
                    out.push_str(line);
                    continue;
                }
                let file = format!("{DEBIAN_SHARE}/{entry}");
                let held = self
                    .current(&file)?
                    .map(|b| read_bundle(&b).certificates)
                    .unwrap_or_default();
                let hit: Vec<&Certificate> = certs
                    .iter()
                    .filter(|c| held.iter().any(|h| h.sha256() == c.sha256()))
                    .collect();
                if hit.is_empty() {
                    out.push_str(line);
                    continue;
                }
                disabled = true;
                out.push('!');
                out.push_str(line);
                let link = formats::debian_link_name(file_name(&file));
                if matches!(
                    self.view.entry(&format!("{certs_dir}/{link}"))?,
                    Some(Entry::Symlink { .. })
                ) {
                    let meta = self.meta(Meta::root(0o777, 0));
                    self.put(&format!("{certs_dir}/{link}"), meta, Content::Remove);
                }
                gone_links.insert(link);
                for cert in hit {
                    self.removed(DEBIAN_CONF, StoreKind::DebianConf, cert);
                }
            }
            if disabled {
                changed = true;
                let meta = self.meta(conf_meta);
                self.put(&conf_real, meta, Content::File(out.into_bytes()));
            }
        }
        if !changed {
            return Ok(());
        }
        // 3. What update-ca-certificates then rebuilds: the bundle, the hash links, Java's store.
        let before = read_resolved(self.view, DEBIAN_BUNDLE)?;
        let held = before
            .as_ref()
            .map(|(_, _, b)| read_bundle(b).shas())
            .unwrap_or_default();
        self.debian_bundle(before.map(|(real, meta, _)| (real, meta)), &certs_dir)?;
        for cert in certs.iter().filter(|c| held.contains(&c.sha256())) {
            self.removed(DEBIAN_BUNDLE, StoreKind::DebianBundle, cert);
        }
        let removed: Vec<&Certificate> = certs.iter().collect();
        self.debian_rehash(&certs_dir, &[], &removed, &gone_links)?;
        if layout.debian_java {
            self.jks_remove(DEBIAN_JAVA, certs)?;
        }
        Ok(())
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

/// After files of a hashed directory are gone: the links to them go, and under each hash the
/// links left are numbered from 0 again in their old order.
fn relink(
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
