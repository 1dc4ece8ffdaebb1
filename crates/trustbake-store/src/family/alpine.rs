//! The Alpine family (Alpine, Wolfi): what Alpine's `update-ca-certificates` (a C program) and
//! its `certhash` hook write, and — in an image with only the `ca-certificates-bundle` package
//! (`alpine:3.x`, `node:*-alpine`: no tool, no sources) — the bundle appended to in its own
//! format. docs/families.md has the rules and their sources.
//!
//! The tool: every enabled line of `/etc/ca-certificates.conf` (relative to
//! `/usr/share/ca-certificates`), then every regular file of `/usr/local/share/ca-certificates`
//! whose name does not start with `.` (no sub-directories, no `.crt` filter), each file's bytes
//! followed by one newline, make `/etc/ssl/certs/ca-certificates.crt`; each source gets a link
//! `/etc/ssl/certs/ca-cert-NAME.pem` to its absolute path. The tool reads the local directory
//! in directory order; trustbake uses name order. The hook's `c_rehash` links `HHHHHHHH.N` to the
//! `*.pem` files of `/etc/ssl/certs`.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, read_bundle};
use trustbake_targets::OsFamily;

use super::conf::ConfTool;
use super::store::{OsStore, Rehash, blank_line_between, bundle, is_hash_link, keystore};
use crate::error::StoreError;
use crate::formats;
use crate::kind::StoreKind;
use crate::layout::{AlpineStore, Layout, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, list_dir, read_resolved, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

/// Alpine family: `/etc/ssl/certs` (the bundle and the links).
pub const ALPINE_CERTS: &str = "/etc/ssl/certs";
/// Alpine family: the administrator's local certificates (read flat, any name).
pub const ALPINE_LOCAL: &str = "/usr/local/share/ca-certificates";
/// Alpine family: the packaged certificates.
pub const ALPINE_SHARE: &str = "/usr/share/ca-certificates";
/// Alpine family: which packaged certificates are enabled.
pub const ALPINE_CONF: &str = "/etc/ca-certificates.conf";
/// Alpine family: the bundle the tool rebuilds (and `ca-certificates-bundle` ships).
pub const ALPINE_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Alpine family: OpenSSL's default file, a link to the bundle (a file of its own in some
/// images: then kept in step with it).
pub const ALPINE_CERT_PEM: &str = "/etc/ssl/cert.pem";
/// Alpine family: Java's keystore, as Wolfi's `java-cacerts` hook extracts it with p11-kit.
pub const ALPINE_JAVA: &str = "/etc/ssl/certs/java/cacerts";
/// The apk package database: marks an apk-based root.
pub const APK_INSTALLED: &str = "/lib/apk/db/installed";
/// The hook that keeps the `HHHHHHHH.N` links.
pub const ALPINE_CERTHASH: &str = "/etc/ca-certificates/update.d/certhash";

/// The `os-release` IDs of the family.
const IDS: &[&str] = &["alpine", "wolfi", "chainguard"];

/// Alpine's `update-ca-certificates`: its sources and its links.
const TOOL: ConfTool = ConfTool {
    conf: ALPINE_CONF,
    share: ALPINE_SHARE,
    local: ALPINE_LOCAL,
    link: alpine_link_name,
    local_kind: StoreKind::AlpineLocal,
    conf_kind: StoreKind::AlpineConf,
};

/// The `/etc/ssl/certs` link name the tool gives a source file: `ca-cert-`, its name without
/// `.crt`, `,` and `' '` → `_`, `(` and `)` → `=`, then `.pem`.
pub(crate) fn alpine_link_name(file_name: &str) -> String {
    format!("ca-cert-{}", formats::debian_link_name(file_name))
}

/// The Alpine family's store.
pub(crate) struct Alpine;

impl OsStore for Alpine {
    fn family(&self) -> OsFamily {
        OsFamily::Alpine
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        let named = IDS.iter().any(|id| {
            layout.os.id == *id || layout.os.id_like.split_whitespace().any(|l| l == *id)
        });
        let apk = matches!(resolve(view, APK_INSTALLED)?.1, Some(Entry::File { .. }));
        if !named && !apk {
            return Ok(false);
        }
        let (certs_real, certs) = resolve(view, ALPINE_CERTS)?;
        if !matches!(certs, Some(Entry::Dir { .. })) || certs_real.starts_with("/etc/pki/") {
            return Ok(false);
        }
        let (bundle_real, bundle) = resolve(view, ALPINE_BUNDLE)?;
        let tool = matches!(resolve(view, ALPINE_CONF)?.1, Some(Entry::File { .. }));
        if !tool && !matches!(bundle, Some(Entry::File { .. })) {
            return Ok(false);
        }
        let hash_links = matches!(resolve(view, ALPINE_CERTHASH)?.1, Some(Entry::File { .. }))
            || list_dir(view, ALPINE_CERTS)?
                .iter()
                .any(|n| is_hash_link(n));
        let cert_pem = match resolve(view, ALPINE_CERT_PEM)? {
            (real, Some(Entry::File { .. })) => real != bundle_real,
            _ => false,
        };
        let java = matches!(resolve(view, ALPINE_JAVA)?.1, Some(Entry::File { .. }));
        layout.alpine = Some(AlpineStore {
            tool,
            hash_links,
            cert_pem,
            java,
        });
        Ok(true)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.alpine.is_some()
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.alpine else {
            return Ok(());
        };
        if store.tool {
            w.alpine_tool(store, cas)?;
        } else {
            w.append_in_format(ALPINE_BUNDLE, StoreKind::AlpineBundle, cas)?;
            if store.cert_pem {
                w.append_in_format(ALPINE_CERT_PEM, StoreKind::AlpineBundle, cas)?;
            }
        }
        if store.java {
            // The hook's `trust extract`: entries named and filtered as p11-kit does.
            w.p11_output(ALPINE_JAVA, StoreKind::JavaCacerts, cas)?;
        }
        Ok(())
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.alpine else {
            return Ok(());
        };
        if store.tool {
            w.alpine_tool_remove(store, certs)?;
        } else {
            w.remove_from_text(ALPINE_BUNDLE, StoreKind::AlpineBundle, certs)?;
        }
        if store.cert_pem {
            w.remove_from_text(ALPINE_CERT_PEM, StoreKind::AlpineBundle, certs)?;
        }
        if store.java {
            w.jks_remove(ALPINE_JAVA, certs)?;
        }
        Ok(())
    }

    fn sources(&self, _view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        Ok(if layout.alpine.is_some() {
            vec![ALPINE_BUNDLE.to_owned()]
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
        if layout.alpine.as_ref().is_some_and(|s| s.tool) {
            out.extend(w.alpine_local()?);
        }
        Ok(())
    }

    fn enabling_lines(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        cert: &Certificate,
    ) -> Result<Vec<String>, StoreError> {
        match &layout.alpine {
            Some(store) if store.tool => TOOL.enabling_lines(view, cert),
            _ => Ok(Vec::new()),
        }
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.alpine else {
            return Ok(());
        };
        bundle(view, ALPINE_BUNDLE, StoreKind::AlpineBundle, None, stores)?;
        if store.cert_pem {
            bundle(view, ALPINE_CERT_PEM, StoreKind::AlpineBundle, None, stores)?;
        }
        if store.java {
            keystore(view, ALPINE_JAVA, stores)?;
        }
        if store.tool {
            let (real_dir, _) = resolve(view, ALPINE_LOCAL)?;
            for name in list_dir(view, &real_dir)? {
                let path = format!("{real_dir}/{name}");
                if name.starts_with('.') || !matches!(view.entry(&path)?, Some(Entry::File { .. }))
                {
                    continue;
                }
                if let Some((_, _, bytes)) = read_resolved(view, &path)? {
                    let logical = format!("{ALPINE_LOCAL}/{name}");
                    local.extend(
                        read_bundle(&bytes)
                            .certificates
                            .into_iter()
                            .map(|c| (c, logical.clone())),
                    );
                }
            }
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// What the tool writes once the CAs are local files: the files, their links, the rebuilt
    /// bundle, the hook's hash links.
    fn alpine_tool(&mut self, store: &AlpineStore, cas: &[&Certificate]) -> Result<(), StoreError> {
        let (certs_dir, _) = resolve(self.view, ALPINE_CERTS)?;
        let in_bundle = read_resolved(self.view, ALPINE_BUNDLE)?
            .map(|(_, _, b)| read_bundle(&b).shas())
            .unwrap_or_default();
        let mut report = StoreReport::new(ALPINE_LOCAL, StoreKind::AlpineLocal);
        let mut added = Vec::new();
        for cert in cas {
            if in_bundle.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
                continue;
            }
            let real_local = self.ensure_dir(ALPINE_LOCAL, 0o755)?;
            let name = format!("{}.crt", cert.file_stem());
            let meta = self.meta(Meta::root(0o644, 0));
            self.put(
                &format!("{real_local}/{name}"),
                meta,
                Content::File(cert.to_pem().into_bytes()),
            );
            // The tool links to the path it read the file under.
            let link = alpine_link_name(&name);
            let meta = self.meta(Meta::root(0o777, 0));
            self.put(
                &format!("{certs_dir}/{link}"),
                meta,
                Content::Symlink(format!("{ALPINE_LOCAL}/{name}")),
            );
            added.push((*cert, link));
            report.added.push(ca_ref(cert));
        }
        self.stores.push(report);
        if added.is_empty() {
            return Ok(());
        }
        self.alpine_bundle(&certs_dir)?;
        if store.cert_pem {
            let certs: Vec<&Certificate> = added.iter().map(|(c, _)| *c).collect();
            self.append_in_format(ALPINE_CERT_PEM, StoreKind::AlpineBundle, &certs)?;
        }
        if store.hash_links {
            self.rehash(Rehash {
                dir: &certs_dir,
                added,
                removed: Vec::new(),
                gone: &BTreeSet::new(),
                report: (ALPINE_CERTS, StoreKind::AlpineHashLinks),
            })?;
        }
        Ok(())
    }

    /// The local directory's files as the tool reads them: regular files (not links, not
    /// directories) whose name does not start with `.`, existing or planned; logical paths in
    /// name order.
    fn alpine_local(&self) -> Result<Vec<String>, StoreError> {
        let (real_dir, _) = resolve(self.view, ALPINE_LOCAL)?;
        let mut names: BTreeSet<String> = list_dir(self.view, &real_dir)?.into_iter().collect();
        for path in self.items.keys() {
            if let Some(name) = path.strip_prefix(&format!("{real_dir}/")) {
                if !name.contains('/') {
                    names.insert(name.to_owned());
                }
            }
        }
        let mut out = Vec::new();
        for name in names.into_iter().filter(|n| !n.starts_with('.')) {
            let real = format!("{real_dir}/{name}");
            let regular = match self.items.get(&real) {
                Some(item) => matches!(item.content, Content::File(_)),
                None => matches!(self.view.entry(&real)?, Some(Entry::File { .. })),
            };
            if regular {
                out.push(format!("{ALPINE_LOCAL}/{name}"));
            }
        }
        Ok(out)
    }

    /// The bytes the tool writes into the bundle from the sources as they are now (planned or
    /// in the root), each file followed by a newline when `newline` (the tool since 2020) or
    /// not (before).
    fn alpine_concat(&self, newline: bool, planned: bool) -> Result<Vec<u8>, StoreError> {
        let read = |w: &Self, path: &str| -> Result<Option<Vec<u8>>, StoreError> {
            if planned {
                w.current(&resolve(w.view, path)?.0)
            } else {
                Ok(read_resolved(w.view, path)?.map(|(_, _, b)| b))
            }
        };
        let conf = read(self, ALPINE_CONF)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let mut sources: Vec<String> = ConfTool::enabled(&conf)
            .map(|line| format!("{ALPINE_SHARE}/{line}"))
            .collect();
        if planned {
            sources.extend(self.alpine_local()?);
        } else {
            let (real_dir, _) = resolve(self.view, ALPINE_LOCAL)?;
            for name in list_dir(self.view, &real_dir)? {
                let real = format!("{real_dir}/{name}");
                if !name.starts_with('.')
                    && matches!(self.view.entry(&real)?, Some(Entry::File { .. }))
                {
                    sources.push(real);
                }
            }
        }
        let mut out = Vec::new();
        for path in sources {
            if let Some(bytes) = read(self, &path)? {
                out.extend_from_slice(&bytes);
                if newline {
                    out.push(b'\n');
                }
            }
        }
        Ok(out)
    }

    /// Rebuilds the bundle as the tool does. Whether the tool of this image ends each file with
    /// a newline is read from the bundle it wrote: the rebuild of the base's sources that gives
    /// the base's bundle, else the bundle's look (a blank line between certificates).
    fn alpine_bundle(&mut self, certs_dir: &str) -> Result<(), StoreError> {
        let existing = read_resolved(self.view, ALPINE_BUNDLE)?;
        let newline = match &existing {
            Some((_, _, bytes)) if *bytes == self.alpine_concat(true, false)? => true,
            Some((_, _, bytes)) if *bytes == self.alpine_concat(false, false)? => false,
            Some((_, _, bytes)) => {
                self.notes.push(format!(
                    "{ALPINE_BUNDLE} is not what update-ca-certificates makes of the image's sources: rebuilt from them as the tool would"
                ));
                blank_line_between(bytes)
            }
            None => true,
        };
        let out = self.alpine_concat(newline, true)?;
        let (real, meta) = match existing {
            Some((real, meta, _)) => (real, meta),
            None => (
                format!("{certs_dir}/ca-certificates.crt"),
                Meta::root(0o644, 0),
            ),
        };
        let meta = self.meta(meta);
        self.put(&real, meta, Content::File(out));
        self.report(ALPINE_BUNDLE, StoreKind::AlpineBundle);
        Ok(())
    }

    /// What the tool leaves once a CA's local file is gone or its line disabled: the links
    /// that then dangle deleted, the bundle rebuilt, the hash links renumbered.
    fn alpine_tool_remove(
        &mut self,
        store: &AlpineStore,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let (certs_dir, _) = resolve(self.view, ALPINE_CERTS)?;
        let mut gone_links: BTreeSet<String> = BTreeSet::new();
        let local = self.alpine_local()?;
        let local = self.local_remove(&TOOL, local, certs, &certs_dir, &mut gone_links)?;
        let packaged = self.conf_disable(&TOOL, certs, &certs_dir, &mut gone_links)?;
        if !local && !packaged {
            return Ok(());
        }
        let held = read_resolved(self.view, ALPINE_BUNDLE)?
            .map(|(_, _, b)| read_bundle(&b).shas())
            .unwrap_or_default();
        self.alpine_bundle(&certs_dir)?;
        for cert in certs.iter().filter(|c| held.contains(&c.sha256())) {
            self.removed(ALPINE_BUNDLE, StoreKind::AlpineBundle, cert);
        }
        if store.hash_links {
            self.rehash(Rehash {
                dir: &certs_dir,
                added: Vec::new(),
                removed: certs.iter().collect(),
                gone: &gone_links,
                report: (ALPINE_CERTS, StoreKind::AlpineHashLinks),
            })?;
        }
        Ok(())
    }
}
