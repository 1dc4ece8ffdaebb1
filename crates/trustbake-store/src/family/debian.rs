//! The Debian family (Debian, Ubuntu): what `update-ca-certificates` writes — the local `.crt`,
//! its link in `/etc/ssl/certs`, the rebuilt bundle, `openssl rehash` links, and Java's
//! keystore — and what it leaves once a CA's `.crt` is gone from
//! `/usr/local/share/ca-certificates` or disabled (`!`) in `/etc/ca-certificates.conf`, as
//! `dpkg-reconfigure ca-certificates` writes it.

use std::collections::{BTreeMap, BTreeSet};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};
use trustbake_targets::OsFamily;

use super::store::{OsStore, bundle, hash_links, keystore};
use crate::error::StoreError;
use crate::formats::{self, jks};
use crate::kind::StoreKind;
use crate::layout::{Layout, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, file_name, list_dir, parent, read_resolved, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

/// Debian family: `/etc/ssl/certs` (links and the bundle).
pub const DEBIAN_CERTS: &str = "/etc/ssl/certs";
/// Debian family: the administrator's local certificates.
pub const DEBIAN_LOCAL: &str = "/usr/local/share/ca-certificates";
/// Debian family: the packaged certificates.
pub const DEBIAN_SHARE: &str = "/usr/share/ca-certificates";
/// Debian family: which packaged certificates are enabled.
pub const DEBIAN_CONF: &str = "/etc/ca-certificates.conf";
/// Debian family: the bundle `update-ca-certificates` rebuilds.
pub const DEBIAN_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Debian family: Java's keystore.
pub const DEBIAN_JAVA: &str = "/etc/ssl/certs/java/cacerts";

/// The Debian family's store.
pub(crate) struct Debian;

impl OsStore for Debian {
    fn family(&self) -> OsFamily {
        OsFamily::Debian
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        // On RHEL /etc/ssl/certs is a link into /etc/pki: that is not a Debian store.
        let certs_real = resolve(view, DEBIAN_CERTS)?;
        // Nor is a ca-certificates.crt that links into it: rebuilding it would overwrite RHEL's
        // bundle.
        let bundle_real = resolve(view, DEBIAN_BUNDLE)?.0;
        let debian = matches!(certs_real.1, Some(Entry::Dir { .. }))
            && !certs_real.0.starts_with("/etc/pki/")
            && !bundle_real.starts_with("/etc/pki/")
            && (matches!(resolve(view, DEBIAN_CONF)?.1, Some(Entry::File { .. }))
                || matches!(resolve(view, DEBIAN_SHARE)?.1, Some(Entry::Dir { .. })));
        layout.debian = debian;
        layout.debian_java =
            debian && matches!(resolve(view, DEBIAN_JAVA)?.1, Some(Entry::File { .. }));
        Ok(debian)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.debian
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        w.debian(layout, cas)
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        w.debian_remove(layout, certs)
    }

    fn sources(&self, _view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        Ok(if layout.debian {
            vec![DEBIAN_BUNDLE.to_owned()]
        } else {
            Vec::new()
        })
    }

    fn local_files(
        &self,
        w: &Writer<'_>,
        layout: &Layout,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        if layout.debian {
            w.local_crts(DEBIAN_LOCAL, 8, out)?;
        }
        Ok(())
    }

    fn enabling_lines(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        cert: &Certificate,
    ) -> Result<Vec<String>, StoreError> {
        let conf = match read_resolved(view, DEBIAN_CONF)? {
            Some((_, _, b)) if layout.debian => String::from_utf8_lossy(&b).into_owned(),
            _ => return Ok(Vec::new()),
        };
        let mut lines = Vec::new();
        for line in conf.lines() {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let holds =
                read_resolved(view, &format!("{DEBIAN_SHARE}/{line}"))?.is_some_and(|(_, _, b)| {
                    read_bundle(&b)
                        .certificates
                        .iter()
                        .any(|c| c.sha256() == cert.sha256())
                });
            if holds {
                lines.push(line.to_owned());
            }
        }
        Ok(lines)
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        if layout.debian {
            bundle(view, DEBIAN_BUNDLE, StoreKind::DebianBundle, None, stores)?;
            if layout.debian_java {
                keystore(view, DEBIAN_JAVA, stores)?;
            }
            local_cas_in(view, DEBIAN_LOCAL, 8, local)?;
        }
        Ok(())
    }
}

impl Writer<'_> {
    fn debian(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        let (certs_dir, _) = resolve(self.view, DEBIAN_CERTS)?;
        let bundle = read_resolved(self.view, DEBIAN_BUNDLE)?;
        let in_bundle = bundle
            .as_ref()
            .map(|(_, _, b)| read_bundle(b).shas())
            .unwrap_or_default();
        let local_dir = format!("{DEBIAN_LOCAL}/trustbake");
        let mut report = StoreReport::new(DEBIAN_LOCAL, StoreKind::DebianLocal);
        let mut added = Vec::new();
        for cert in cas {
            if in_bundle.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
                continue;
            }
            let real_local = self.ensure_dir(&local_dir, 0o755)?;
            let crt_name = format!("{}.crt", cert.file_stem());
            let crt = format!("{real_local}/{crt_name}");
            let meta = self.meta(Meta::root(0o644, 0));
            self.put(&crt, meta, Content::File(cert.to_pem().into_bytes()));
            // The tool links by the logical path it found the file under.
            let link = format!("{certs_dir}/{}", formats::debian_link_name(&crt_name));
            let meta = self.meta(Meta::root(0o777, 0));
            self.put(
                &link,
                meta,
                Content::Symlink(format!("{local_dir}/{crt_name}")),
            );
            added.push(*cert);
            report.added.push(ca_ref(cert));
        }
        self.stores.push(report);
        if added.is_empty() {
            return Ok(());
        }
        self.debian_bundle(bundle.map(|(real, meta, _)| (real, meta)), &certs_dir)?;
        self.debian_rehash(&certs_dir, &added, &[], &BTreeSet::new())?;
        if layout.debian_java {
            self.debian_java(&added)?;
        }
        Ok(())
    }

    /// Rebuilds `ca-certificates.crt` as the tool does: the enabled entries of
    /// `/etc/ca-certificates.conf`, then every local `*.crt` in sorted path order, each with a
    /// final newline.
    fn debian_bundle(
        &mut self,
        existing: Option<(String, Meta)>,
        certs_dir: &str,
    ) -> Result<(), StoreError> {
        let mut out = Vec::new();
        let (conf_real, _) = resolve(self.view, DEBIAN_CONF)?;
        let conf = self
            .current(&conf_real)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        for line in conf.lines() {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if let Some(bytes) = self.current(&format!("{DEBIAN_SHARE}/{line}"))? {
                push_with_newline(&mut out, &bytes);
            }
        }
        let mut local = Vec::new();
        self.local_crts(DEBIAN_LOCAL, 8, &mut local)?;
        local.sort();
        for path in local {
            if let Some(bytes) = self.current(&path)? {
                push_with_newline(&mut out, &bytes);
            }
        }
        let (real, meta) = existing.unwrap_or_else(|| {
            (
                format!("{certs_dir}/ca-certificates.crt"),
                Meta::root(0o644, 0),
            )
        });
        let meta = self.meta(meta);
        self.put(&real, meta, Content::File(out));
        self.report(DEBIAN_BUNDLE, StoreKind::DebianBundle);
        Ok(())
    }

    /// Every `*.crt` below `dir` (as `find -L` sees it), existing or planned; logical paths.
    fn local_crts(&self, dir: &str, depth: usize, out: &mut Vec<String>) -> Result<(), StoreError> {
        if depth == 0 {
            return Ok(());
        }
        let mut names: BTreeSet<String> = list_dir(self.view, dir)?.into_iter().collect();
        let (real_dir, _) = resolve(self.view, dir)?;
        for path in self.items.keys() {
            if parent(path) == real_dir {
                names.insert(file_name(path).to_owned());
            }
        }
        for name in names {
            let path = format!("{dir}/{name}");
            let planned = self
                .items
                .get(&format!("{real_dir}/{name}"))
                .map(|i| i.content.clone());
            let found = resolve(self.view, &path)?.1;
            let is_dir = match &planned {
                Some(content) => matches!(content, Content::Dir),
                None => matches!(found, Some(Entry::Dir { .. })),
            };
            let is_file = match &planned {
                Some(content) => matches!(content, Content::File(_)),
                None => matches!(found, Some(Entry::File { .. })),
            };
            if is_dir {
                self.local_crts(&path, depth - 1, out)?;
            } else if is_file && name.ends_with(".crt") {
                out.push(path);
            }
        }
        Ok(())
    }

    /// `openssl rehash` for the hashes of the certificates added and removed: under each, the
    /// `HHHHHHHH.N` links numbered in sorted file name order, a certificate identical to one
    /// already linked skipped; links to the `gone` files (`/etc/ssl/certs` names) and to the
    /// removed certificates dropped, numbers past the new end removed.
    fn debian_rehash(
        &mut self,
        certs_dir: &str,
        added: &[&Certificate],
        removed: &[&Certificate],
        gone: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let names: BTreeSet<String> = self.view.list(certs_dir)?.into_iter().collect();
        let removed_shas: BTreeSet<_> = removed.iter().map(|c| c.sha256()).collect();
        let mut unlinked = BTreeSet::new();
        let mut by_hash: BTreeMap<String, Vec<&Certificate>> = BTreeMap::new();
        for cert in added.iter().chain(removed) {
            by_hash
                .entry(format!("{:08x}", cert.subject_hash()))
                .or_default();
        }
        for cert in added {
            by_hash
                .entry(format!("{:08x}", cert.subject_hash()))
                .or_default()
                .push(cert);
        }
        for (hash, certs) in by_hash {
            // The bucket: files already linked under this hash, plus ours.
            let mut bucket: Vec<(String, Sha256Fingerprint)> = Vec::new();
            let existing: Vec<&String> = hash_links(&names, &hash).collect();
            for name in &existing {
                if let Some(Entry::Symlink { target, .. }) =
                    self.view.entry(&format!("{certs_dir}/{name}"))?
                {
                    if let Some((_, _, bytes)) =
                        read_resolved(self.view, &format!("{certs_dir}/{name}"))?
                    {
                        if let Some(c) = read_bundle(&bytes).certificates.first() {
                            if removed_shas.contains(&c.sha256()) {
                                unlinked.insert(c.sha256());
                            } else if !gone.contains(file_name(&target)) {
                                bucket.push((file_name(&target).to_owned(), c.sha256()));
                            }
                        }
                    }
                }
            }
            for cert in &certs {
                bucket.push((
                    formats::debian_link_name(&format!("{}.crt", cert.file_stem())),
                    cert.sha256(),
                ));
            }
            bucket.sort();
            let mut seen = BTreeSet::new();
            let mut n = 0;
            for (file, sha) in bucket {
                if !seen.insert(sha) {
                    continue;
                }
                let link = format!("{certs_dir}/{hash}.{n}");
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
                    self.put(&format!("{certs_dir}/{name}"), meta, Content::Remove);
                }
            }
            for cert in certs {
                let r = ca_ref(cert);
                self.report(DEBIAN_CERTS, StoreKind::DebianHashLinks)
                    .added
                    .push(r);
            }
        }
        for cert in removed.iter().filter(|c| unlinked.contains(&c.sha256())) {
            let r = ca_ref(cert);
            self.report(DEBIAN_CERTS, StoreKind::DebianHashLinks)
                .removed
                .push(r);
        }
        Ok(())
    }

    fn debian_java(&mut self, added: &[&Certificate]) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, DEBIAN_JAVA)? else {
            return Ok(());
        };
        let mut report = StoreReport::new(DEBIAN_JAVA, StoreKind::JavaCacerts);
        let mut ks = match jks::Keystore::parse(&bytes) {
            Ok(ks) => ks,
            Err(err) => {
                self.notes
                    .push(format!("{DEBIAN_JAVA}: {err}; left as it is"));
                return Ok(());
            }
        };
        let present: BTreeSet<_> = ks.certificates().map(Sha256Fingerprint::of).collect();
        let ts = self
            .options
            .jks_timestamp_ms
            .unwrap_or(meta.mtime.saturating_mul(1000));
        let mut new = Vec::new();
        for cert in added {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else {
                // ca-certificates-java names entries after the /etc/ssl/certs link.
                let alias = format!(
                    "debian:{}",
                    formats::debian_link_name(&format!("{}.crt", cert.file_stem()))
                );
                new.push((alias, cert.der()));
                report.added.push(ca_ref(cert));
            }
        }
        ks.add_trusted_all(new, ts);
        if !report.added.is_empty() {
            let meta = self.meta(meta);
            self.put(&real, meta, Content::File(ks.to_bytes()));
        }
        self.stores.push(report);
        Ok(())
    }

    fn debian_remove(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let (certs_dir, _) = resolve(self.view, DEBIAN_CERTS)?;
        let mut gone_links: BTreeSet<String> = BTreeSet::new();
        let local = self.local_remove(&shas, certs, &certs_dir, &mut gone_links)?;
        let packaged = self.conf_disable(certs, &certs_dir, &mut gone_links)?;
        let changed = local || packaged;
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

    /// The administrator's own: the `.crt` goes (a file of several loses the entries), and the
    /// link that then dangles. Whether anything changed.
    fn local_remove(
        &mut self,
        shas: &BTreeSet<Sha256Fingerprint>,
        certs: &[Certificate],
        certs_dir: &str,
        gone_links: &mut BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut changed = false;
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
        Ok(changed)
    }

    /// The packaged ones: disabled in `ca-certificates.conf`, as `dpkg-reconfigure` writes it,
    /// and their links gone. Whether anything changed.
    fn conf_disable(
        &mut self,
        certs: &[Certificate],
        certs_dir: &str,
        gone_links: &mut BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut changed = false;
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
        Ok(changed)
    }
}

fn push_with_newline(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        out.push(b'\n');
    }
}

/// Every certificate of the `.crt` files below `dir` (to `depth`), with its file.
fn local_cas_in(
    view: &dyn RootView,
    dir: &str,
    depth: usize,
    out: &mut Vec<(Certificate, String)>,
) -> Result<(), StoreError> {
    if depth == 0 {
        return Ok(());
    }
    for name in list_dir(view, dir)? {
        let path = format!("{dir}/{name}");
        match resolve(view, &path)?.1 {
            Some(Entry::Dir { .. }) => local_cas_in(view, &path, depth - 1, out)?,
            Some(Entry::File { .. }) if name.ends_with(".crt") => {
                if let Some((_, _, bytes)) = read_resolved(view, &path)? {
                    out.extend(
                        read_bundle(&bytes)
                            .certificates
                            .into_iter()
                            .map(|c| (c, path.clone())),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}
