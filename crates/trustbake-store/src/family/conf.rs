//! What Debian's and Alpine's `update-ca-certificates` share: packaged certificates enabled
//! line by line in `/etc/ca-certificates.conf` (a `!` disables one), the administrator's own in
//! a local directory, and an `/etc/ssl/certs` link per source file that the tool deletes once
//! its file is gone. Each family names its paths, its link names and its report kinds in a
//! [`ConfTool`]; distrusting through either source is written once, here.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, read_bundle};

use crate::error::StoreError;
use crate::kind::StoreKind;
use crate::plan::Content;
use crate::view::{Entry, Meta, RootView, file_name, read_resolved, resolve};
use crate::writer::Writer;

/// One family's `update-ca-certificates`: its paths, its link names, its report kinds.
pub(crate) struct ConfTool {
    /// Which packaged certificates are enabled.
    pub conf: &'static str,
    /// The packaged certificates the configuration's lines are relative to.
    pub share: &'static str,
    /// The administrator's local certificates.
    pub local: &'static str,
    /// The `/etc/ssl/certs` link name the tool gives a source file (by its file name).
    pub link: fn(&str) -> String,
    /// The report kind of the local directory.
    pub local_kind: StoreKind,
    /// The report kind of the configuration.
    pub conf_kind: StoreKind,
}

impl ConfTool {
    /// The enabled lines of the configuration: neither empty, nor a comment (`#`), nor
    /// disabled (`!`).
    pub(crate) fn enabled(text: &str) -> impl Iterator<Item = &str> {
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
    }

    /// The enabled lines of the configuration whose file holds `cert` (what a build disables
    /// to distrust it).
    pub(crate) fn enabling_lines(
        &self,
        view: &dyn RootView,
        cert: &Certificate,
    ) -> Result<Vec<String>, StoreError> {
        let Some((_, _, conf)) = read_resolved(view, self.conf)? else {
            return Ok(Vec::new());
        };
        let conf = String::from_utf8_lossy(&conf);
        let mut lines = Vec::new();
        for line in Self::enabled(&conf) {
            let holds =
                read_resolved(view, &format!("{}/{line}", self.share))?.is_some_and(|(_, _, b)| {
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
}

impl Writer<'_> {
    /// The administrator's own: the `.crt` goes (a file of several loses the entries), and the
    /// link that then dangles. Whether anything changed.
    pub(crate) fn local_remove(
        &mut self,
        t: &ConfTool,
        local: Vec<String>,
        certs: &[Certificate],
        certs_dir: &str,
        gone_links: &mut BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let mut changed = false;
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
                // The tool deletes the link that now dangles.
                let link = (t.link)(file_name(&path));
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
                    self.removed(t.local, t.local_kind, cert);
                }
            } else {
                self.remove_from_text(&path, t.local_kind, certs)?;
                for s in &mut self.stores {
                    if s.store == path && s.kind == t.local_kind {
                        s.store = t.local.to_owned();
                    }
                }
            }
        }
        Ok(changed)
    }

    /// The packaged ones: disabled in `ca-certificates.conf`, as `dpkg-reconfigure` writes it (Alpine's tool skips such lines too),
    /// and their links gone. Whether anything changed.
    pub(crate) fn conf_disable(
        &mut self,
        t: &ConfTool,
        certs: &[Certificate],
        certs_dir: &str,
        gone_links: &mut BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut changed = false;
        if let Some((conf_real, conf_meta, _)) = read_resolved(self.view, t.conf)? {
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
                let file = format!("{}/{entry}", t.share);
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
                let link = (t.link)(file_name(&file));
                if matches!(
                    self.view.entry(&format!("{certs_dir}/{link}"))?,
                    Some(Entry::Symlink { .. })
                ) {
                    let meta = self.meta(Meta::root(0o777, 0));
                    self.put(&format!("{certs_dir}/{link}"), meta, Content::Remove);
                }
                gone_links.insert(link);
                for cert in hit {
                    self.removed(t.conf, t.conf_kind, cert);
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
