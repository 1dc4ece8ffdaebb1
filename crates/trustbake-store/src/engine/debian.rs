//! Debian family: what `update-ca-certificates` writes — the local `.crt`, its link in
//! `/etc/ssl/certs`, the rebuilt bundle, `openssl rehash` links, and Java's keystore.

use std::collections::{BTreeMap, BTreeSet};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use crate::error::StoreError;
use crate::formats::{self, jks};
use crate::kind::StoreKind;
use crate::layout::Layout;
use crate::paths::{
    DEBIAN_BUNDLE, DEBIAN_CERTS, DEBIAN_CONF, DEBIAN_JAVA, DEBIAN_LOCAL, DEBIAN_SHARE,
};
use crate::plan::Content;
use crate::view::{Entry, Meta, file_name, list_dir, parent, read_resolved, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

impl Writer<'_> {
    pub(super) fn debian(
        &mut self,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
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
    pub(super) fn debian_bundle(
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
    pub(super) fn local_crts(
        &self,
        dir: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
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
    pub(super) fn debian_rehash(
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
            let existing: Vec<&String> = super::rhel::hash_links(&names, &hash).collect();
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
}

fn push_with_newline(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        out.push(b'\n');
    }
}
