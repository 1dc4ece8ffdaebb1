//! The Debian family (Debian, Ubuntu): what `update-ca-certificates` writes — the local `.crt`,
//! its link in `/etc/ssl/certs`, the rebuilt bundle, `openssl rehash` links, and Java's
//! keystore — and what it leaves once a CA's `.crt` is gone from
//! `/usr/local/share/ca-certificates` or disabled (`!`) in `/etc/ca-certificates.conf`, as
//! `dpkg-reconfigure ca-certificates` writes it.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};
use trustbake_targets::OsFamily;

use super::conf::ConfTool;
use super::store::{OsStore, Rehash, bundle, keystore};
use crate::error::StoreError;
use crate::formats::{self, keystore::JavaStore};
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

/// Debian's `update-ca-certificates`: its sources and its links.
const TOOL: ConfTool = ConfTool {
    conf: DEBIAN_CONF,
    share: DEBIAN_SHARE,
    local: DEBIAN_LOCAL,
    link: formats::debian_link_name,
    local_kind: StoreKind::DebianLocal,
    conf_kind: StoreKind::DebianConf,
};

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
        // Nor is Alpine's (the same paths, another tool): detected before, it is Alpine's.
        let debian = layout.suse.is_none()
            && layout.alpine.is_none()
            && layout.distroless.is_none()
            && matches!(certs_real.1, Some(Entry::Dir { .. }))
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
        if !layout.debian {
            return Ok(Vec::new());
        }
        TOOL.enabling_lines(view, cert)
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
        self.rehash(Rehash {
            dir: &certs_dir,
            added: added.iter().map(|c| (*c, debian_link(c))).collect(),
            removed: Vec::new(),
            gone: &BTreeSet::new(),
            report: (DEBIAN_CERTS, StoreKind::DebianHashLinks),
        })?;
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
        for line in ConfTool::enabled(&conf) {
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

    fn debian_java(&mut self, added: &[&Certificate]) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, DEBIAN_JAVA)? else {
            return Ok(());
        };
        let mut report = StoreReport::new(DEBIAN_JAVA, StoreKind::JavaCacerts);
        // JKS, or PKCS12 (ca-certificates-java with Java 9 and later): kept in its format.
        let mut ks = match JavaStore::parse(&bytes) {
            Ok(ks) => ks,
            Err(err) => {
                self.notes
                    .push(format!("{DEBIAN_JAVA}: {err}; left as it is"));
                return Ok(());
            }
        };
        report.unreadable_existing = ks.unreadable();
        let present: BTreeSet<_> = ks
            .certificates()
            .into_iter()
            .map(Sha256Fingerprint::of)
            .collect();
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
                let alias = format!("debian:{}", debian_link(cert));
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
        let (certs_dir, _) = resolve(self.view, DEBIAN_CERTS)?;
        let mut gone_links: BTreeSet<String> = BTreeSet::new();
        let mut local = Vec::new();
        self.local_crts(DEBIAN_LOCAL, 8, &mut local)?;
        let local = self.local_remove(&TOOL, local, certs, &certs_dir, &mut gone_links)?;
        let packaged = self.conf_disable(&TOOL, certs, &certs_dir, &mut gone_links)?;
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
        self.rehash(Rehash {
            dir: &certs_dir,
            added: Vec::new(),
            removed: certs.iter().collect(),
            gone: &gone_links,
            report: (DEBIAN_CERTS, StoreKind::DebianHashLinks),
        })?;
        if layout.debian_java {
            self.jks_remove(DEBIAN_JAVA, certs)?;
        }
        Ok(())
    }
}

/// The `/etc/ssl/certs` name of the link to the `.crt` trustbake writes for `cert`.
fn debian_link(cert: &Certificate) -> String {
    formats::debian_link_name(&format!("{}.crt", cert.file_stem()))
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
