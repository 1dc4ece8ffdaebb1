//! The engine: from a view of a root and validated CAs to a [`Plan`] and a [`Report`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use trustbake_certs::{Certificate, read_bundle};
use trustbake_targets::{OsFamily, Resolved};

use crate::StoreError;
use crate::detect::{
    CertifiStatus, DEBIAN_BUNDLE, DEBIAN_CERTS, DEBIAN_CONF, DEBIAN_JAVA, DEBIAN_LOCAL,
    DEBIAN_SHARE, Layout, OutputKind, RHEL_ANCHORS, RHEL_DIRECTORY_HASH, RHEL_OUTPUTS, detect,
    list_dir,
};
use crate::formats::{self, jks};
use crate::view::{Entry, Meta, RootView, file_name, parent, read_resolved, resolve};

/// Choices that are not facts of the image.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// mtime of every written entry (`SOURCE_DATE_EPOCH`, or the base image's creation time).
    pub mtime: i64,
    /// Timestamp of new Java keystore entries, milliseconds; `None`: the keystore file's own
    /// mtime in the base (never the clock).
    pub jks_timestamp_ms: Option<i64>,
    /// Also patch pip's vendored certifi.
    pub include_vendored: bool,
}

/// What to write: entries in path order, each with its owner, mode and content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The entries, sorted by path (parents before children).
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    /// Absolute path inside the root, free of symlinks.
    pub path: String,
    /// Owner, mode and mtime.
    pub meta: Meta,
    /// What to write.
    pub content: Content,
}

/// The content of a planned entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Content {
    /// A regular file with these bytes.
    File(#[serde(serialize_with = "ser_len")] Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
    /// A directory.
    Dir,
}

fn ser_len<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(bytes.len() as u64)
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
    /// Its kind: `anchors`, `pem-bundle`, `openssl-bundle`, `java-cacerts`, `edk2`,
    /// `directory-hash`, `debian-local`, `debian-bundle`, `debian-hash-links`, `certifi`.
    pub kind: String,
    /// CAs added.
    pub added: Vec<CaRef>,
    /// CAs already there.
    pub present: Vec<CaRef>,
    /// CAs not added, and why.
    pub skipped: Vec<(CaRef, String)>,
    /// Certificates of the existing file that could not be read (left as they are).
    pub unreadable_existing: usize,
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
    let mut eng = Engine {
        view,
        options,
        items: BTreeMap::new(),
        stores: Vec::new(),
        notes: Vec::new(),
    };
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
    let items = eng.changed_items()?;
    Ok((
        Plan { items },
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
    stores: Vec<StoreReport>,
    notes: Vec<String>,
}

fn ca_ref(cert: &Certificate) -> CaRef {
    CaRef {
        label: cert.label().to_owned(),
        sha256: cert.sha256().hex(),
    }
}

impl Engine<'_> {
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

    fn meta(&self, base: Meta) -> Meta {
        Meta {
            mtime: self.options.mtime,
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

    // ---- RHEL: update-ca-trust -------------------------------------------------------------

    fn rhel(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        // 1. source/anchors/<stem>.pem, so a later update-ca-trust in the image keeps the CA.
        let anchors = self.ensure_dir(RHEL_ANCHORS, 0o755)?;
        let mut existing = BTreeSet::new();
        for name in list_dir(self.view, &anchors)? {
            if let Some((_, _, bytes)) = read_resolved(self.view, &format!("{anchors}/{name}"))? {
                existing.extend(
                    read_bundle(&bytes)
                        .certificates
                        .iter()
                        .map(Certificate::sha256),
                );
            }
        }
        let mut report = StoreReport::new(RHEL_ANCHORS, "anchors");
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
        for (path, kind) in RHEL_OUTPUTS {
            if layout.rhel_outputs.iter().any(|p| p == path) {
                self.rhel_output(path, *kind, cas)?;
            }
        }
        if layout.rhel_directory_hash {
            self.directory_hash(cas)?;
        }
        Ok(())
    }

    fn rhel_output(
        &mut self,
        path: &str,
        kind: OutputKind,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, path)? else {
            return Ok(());
        };
        let kind_name = match kind {
            OutputKind::PemBundle => "pem-bundle",
            OutputKind::OpensslBundle => "openssl-bundle",
            OutputKind::JavaCacerts => "java-cacerts",
            OutputKind::Edk2 => "edk2",
        };
        let mut report = StoreReport::new(path, kind_name);
        let (present, unreadable): (BTreeSet<_>, usize) = match kind {
            OutputKind::PemBundle | OutputKind::OpensslBundle => {
                let found = read_bundle(&bytes);
                (
                    found.certificates.iter().map(Certificate::sha256).collect(),
                    found.skipped,
                )
            }
            OutputKind::JavaCacerts => match jks::Keystore::parse(&bytes) {
                Ok(ks) => (
                    ks.certificates()
                        .map(trustbake_certs::Sha256Fingerprint::of)
                        .collect(),
                    0,
                ),
                Err(err) => {
                    self.notes.push(format!("{path}: {err}; left as it is"));
                    return Ok(());
                }
            },
            OutputKind::Edk2 => match formats::edk2_certificates(&bytes) {
                Some(ders) => (
                    ders.iter()
                        .map(|d| trustbake_certs::Sha256Fingerprint::of(d))
                        .collect(),
                    0,
                ),
                None => {
                    self.notes.push(format!(
                        "{path}: not a list of EFI signature lists; left as it is"
                    ));
                    return Ok(());
                }
            },
        };
        report.unreadable_existing = unreadable;
        let mut new = Vec::new();
        for cert in cas {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else if !cert.is_authority() && kind != OutputKind::OpensslBundle {
                // p11-kit's ca-anchors filter leaves non-authorities out; the openssl bundle
                // (filter: certificates) takes every certificate.
                report.skipped.push((
                    ca_ref(cert),
                    "not a certificate authority: p11-kit leaves it out of the ca-anchors outputs"
                        .to_owned(),
                ));
            } else {
                new.push(*cert);
                report.added.push(ca_ref(cert));
            }
        }
        if !new.is_empty() {
            let content = match kind {
                OutputKind::PemBundle => formats::pem_bundle_append(&bytes, &new),
                OutputKind::OpensslBundle => formats::openssl_bundle_append(&bytes, &new),
                OutputKind::Edk2 => formats::edk2_append(&bytes, &new),
                OutputKind::JavaCacerts => {
                    let mut ks = jks::Keystore::parse(&bytes).unwrap_or(jks::Keystore {
                        entries: Vec::new(),
                    });
                    let ts = self
                        .options
                        .jks_timestamp_ms
                        .unwrap_or(meta.mtime.saturating_mul(1000));
                    for cert in &new {
                        ks.add_trusted(&jks::p11_kit_alias(cert.label()), cert.der(), ts);
                    }
                    ks.to_bytes()
                }
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
        let mut taken: BTreeSet<String> = names.iter().cloned().collect();
        let mut report = StoreReport::new(RHEL_DIRECTORY_HASH, "directory-hash");
        for cert in cas {
            if !cert.is_authority() {
                report.skipped.push((
                    ca_ref(cert),
                    "not a certificate authority: p11-kit leaves it out of the ca-anchors outputs"
                        .to_owned(),
                ));
                continue;
            }
            // p11-kit writes no new-style link for a subject its decoder rejects.
            let new_hash = cert.subject_hash_p11_kit().map(|h| format!("{h:08x}"));
            let old_hash = format!("{:08x}", cert.subject_hash_old());
            if self.linked(&dir, &taken, &old_hash, cert)? {
                report.present.push(ca_ref(cert));
                continue;
            }
            let name = (0..)
                .map(|n| formats::directory_hash_file_name(cert.label(), n))
                .find(|n| !taken.contains(n))
                .unwrap_or_default();
            taken.insert(name.clone());
            let meta = self.meta(file_mode);
            self.put(
                &format!("{dir}/{name}"),
                meta,
                Content::File(cert.to_pem().into_bytes()),
            );
            for hash in new_hash.into_iter().chain([old_hash]) {
                let link = (0..)
                    .map(|n| format!("{hash}.{n}"))
                    .find(|l| !taken.contains(l))
                    .unwrap_or_default();
                taken.insert(link.clone());
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

    /// Whether a `hash.N` link in `dir` already leads to `cert`.
    fn linked(
        &self,
        dir: &str,
        names: &BTreeSet<String>,
        hash: &str,
        cert: &Certificate,
    ) -> Result<bool, StoreError> {
        for name in names.iter().filter(|n| {
            n.split_once('.')
                .is_some_and(|(h, n)| h == hash && n.bytes().all(|b| b.is_ascii_digit()))
        }) {
            if let Some((_, _, bytes)) = read_resolved(self.view, &format!("{dir}/{name}"))? {
                if read_bundle(&bytes)
                    .certificates
                    .iter()
                    .any(|c| c.sha256() == cert.sha256())
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    // ---- Debian: update-ca-certificates ----------------------------------------------------

    fn debian(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        let (certs_dir, _) = resolve(self.view, DEBIAN_CERTS)?;
        let bundle = read_resolved(self.view, DEBIAN_BUNDLE)?;
        let in_bundle: BTreeSet<_> = bundle
            .as_ref()
            .map(|(_, _, b)| {
                read_bundle(b)
                    .certificates
                    .iter()
                    .map(Certificate::sha256)
                    .collect()
            })
            .unwrap_or_default();
        let local_dir = format!("{DEBIAN_LOCAL}/trustbake");
        let mut report = StoreReport::new(DEBIAN_LOCAL, "debian-local");
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
        self.debian_hash_links(&certs_dir, &added)?;
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
        let conf = read_resolved(self.view, DEBIAN_CONF)?
            .map(|(_, _, b)| String::from_utf8_lossy(&b).into_owned())
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
        let report = StoreReport::new(DEBIAN_BUNDLE, "debian-bundle");
        self.stores.push(report);
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
            let is_dir = matches!(planned, Some(Content::Dir))
                || matches!(resolve(self.view, &path)?.1, Some(Entry::Dir { .. }));
            let is_file = matches!(planned, Some(Content::File(_)))
                || matches!(resolve(self.view, &path)?.1, Some(Entry::File { .. }));
            if is_dir {
                self.local_crts(&path, depth - 1, out)?;
            } else if is_file && name.ends_with(".crt") {
                out.push(path);
            }
        }
        Ok(())
    }

    /// `openssl rehash` for the new certificates: `HHHHHHHH.N` links, numbered in sorted file
    /// name order within a hash, a certificate identical to one already linked skipped.
    fn debian_hash_links(
        &mut self,
        certs_dir: &str,
        added: &[&Certificate],
    ) -> Result<(), StoreError> {
        let names = self.view.list(certs_dir)?;
        let mut report = StoreReport::new(DEBIAN_CERTS, "debian-hash-links");
        let mut by_hash: BTreeMap<String, Vec<&Certificate>> = BTreeMap::new();
        for cert in added {
            by_hash
                .entry(format!("{:08x}", cert.subject_hash()))
                .or_default()
                .push(cert);
        }
        for (hash, certs) in by_hash {
            // The bucket: files already linked under this hash, plus ours.
            let mut bucket: Vec<(String, trustbake_certs::Sha256Fingerprint)> = Vec::new();
            for name in names.iter().filter(|n| is_hash_link(n, &hash)) {
                if let Some(Entry::Symlink { target, .. }) =
                    self.view.entry(&format!("{certs_dir}/{name}"))?
                {
                    if let Some((_, _, bytes)) =
                        read_resolved(self.view, &format!("{certs_dir}/{name}"))?
                    {
                        if let Some(c) = read_bundle(&bytes).certificates.first() {
                            bucket.push((file_name(&target).to_owned(), c.sha256()));
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
            for cert in certs {
                report.added.push(ca_ref(cert));
            }
        }
        self.stores.push(report);
        Ok(())
    }

    fn debian_java(&mut self, added: &[&Certificate]) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, DEBIAN_JAVA)? else {
            return Ok(());
        };
        let mut report = StoreReport::new(DEBIAN_JAVA, "java-cacerts");
        let mut ks = match jks::Keystore::parse(&bytes) {
            Ok(ks) => ks,
            Err(err) => {
                self.notes
                    .push(format!("{DEBIAN_JAVA}: {err}; left as it is"));
                return Ok(());
            }
        };
        let present: BTreeSet<_> = ks
            .certificates()
            .map(trustbake_certs::Sha256Fingerprint::of)
            .collect();
        let ts = self
            .options
            .jks_timestamp_ms
            .unwrap_or(meta.mtime.saturating_mul(1000));
        for cert in added {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else {
                // ca-certificates-java names entries after the /etc/ssl/certs link.
                let alias = format!(
                    "debian:{}",
                    formats::debian_link_name(&format!("{}.crt", cert.file_stem()))
                );
                ks.add_trusted(&alias, cert.der(), ts);
                report.added.push(ca_ref(cert));
            }
        }
        if !report.added.is_empty() {
            let meta = self.meta(meta);
            self.put(&real, meta, Content::File(ks.to_bytes()));
        }
        self.stores.push(report);
        Ok(())
    }

    // ---- certifi ---------------------------------------------------------------------------

    fn certifi(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        for bundle in &layout.certifi {
            let mut report = StoreReport::new(&bundle.path, "certifi");
            let reason = match &bundle.status {
                CertifiStatus::Own => None,
                CertifiStatus::Vendored if self.options.include_vendored => None,
                CertifiStatus::Vendored => Some(
                    "pip's vendored certifi: left alone (pip is not Anchore's HTTP client)"
                        .to_owned(),
                ),
                CertifiStatus::LinkedToOs { target } => {
                    Some(format!("links to the OS store ({target}), which covers it"))
                }
                CertifiStatus::DistroPatched => Some(
                    "a distribution build that reads the system bundle, which covers it".to_owned(),
                ),
            };
            if let Some(reason) = reason {
                for cert in cas {
                    report.skipped.push((ca_ref(cert), reason.clone()));
                }
                self.stores.push(report);
                continue;
            }
            let Some((real, meta, bytes)) = read_resolved(self.view, &bundle.real_path)? else {
                continue;
            };
            let found = read_bundle(&bytes);
            report.unreadable_existing = found.skipped;
            let present: BTreeSet<_> = found.certificates.iter().map(Certificate::sha256).collect();
            let mut new = Vec::new();
            for cert in cas {
                if present.contains(&cert.sha256()) {
                    report.present.push(ca_ref(cert));
                } else {
                    new.push(*cert);
                    report.added.push(ca_ref(cert));
                }
            }
            if !new.is_empty() {
                let content = formats::certifi_append(&bytes, &new);
                if let Some(record) = &bundle.record {
                    self.record(record, &content)?;
                }
                let meta = self.meta(meta);
                self.put(&real, meta, Content::File(content));
            }
            self.stores.push(report);
        }
        Ok(())
    }

    /// Rewrites the `certifi/cacert.pem` line of a wheel's RECORD for the new content.
    fn record(&mut self, record: &str, cacert: &[u8]) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, record)? else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&bytes);
        let line = formats::record_line("certifi/cacert.pem", cacert);
        match formats::record_replace(&text, "certifi/cacert.pem", &line) {
            Some(new) => {
                let meta = self.meta(meta);
                self.put(&real, meta, Content::File(new.into_bytes()));
            }
            None => self.notes.push(format!(
                "{record}: lists no certifi/cacert.pem; left as it is"
            )),
        }
        Ok(())
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
    fn new(store: &str, kind: &str) -> Self {
        StoreReport {
            store: store.to_owned(),
            kind: kind.to_owned(),
            added: Vec::new(),
            present: Vec::new(),
            skipped: Vec::new(),
            unreadable_existing: 0,
        }
    }
}

fn is_hash_link(name: &str, hash: &str) -> bool {
    name.split_once('.')
        .is_some_and(|(h, n)| h == hash && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn push_with_newline(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        out.push(b'\n');
    }
}
