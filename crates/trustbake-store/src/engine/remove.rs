//! Distrusting CAs: which certificates a removal names (given, or found in the image by
//! fingerprint), each OS family's stores without them (what its own tool would leave, in its
//! family's module), and every certifi bundle and Node's extra file without them.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use crate::error::StoreError;
use crate::family::{FAMILIES, family_of};
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout};
use crate::view::{RootView, read_resolved};
use crate::writer::{Removal, Writer, ca_ref};

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
        bundles: Vec::new(),
    };
    let mut eng = Writer::new(view, &options);
    let certs = eng.removals(&layout)?;
    let mut local: Vec<String> = Vec::new();
    for family in FAMILIES {
        family.local_files(&eng, &layout, &mut local)?;
    }
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
        for family in FAMILIES {
            conf_lines.extend(family.enabling_lines(view, &layout, &cert)?);
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
        for family in FAMILIES {
            files.extend(family.sources(self.view, layout)?);
        }
        files.extend(layout.certifi.iter().map(|b| b.real_path.clone()));
        files.extend(self.options.bundles.iter().cloned());
        files.extend(
            super::conda::conda_prefixes(self.view, &self.options.env)?
                .into_iter()
                .map(|(_, bundle)| bundle),
        );
        Ok(files)
    }

    pub(super) fn remove(&mut self, layout: &Layout) -> Result<(), StoreError> {
        let certs = self.removals(layout)?;
        if certs.is_empty() {
            return Ok(());
        }
        for family in FAMILIES.iter().filter(|f| f.present(layout)) {
            family.remove(self, layout, &certs)?;
        }
        for path in self.options.bundles.clone() {
            self.remove_from_text(&path, StoreKind::NamedBundle, &certs)?;
        }
        let os_java = super::os_java_stores(self.view, layout)?;
        self.java_runtimes_remove(&certs, &os_java)?;
        self.conda_remove(&certs)?;
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
        let family = family_of(layout.family);
        for cert in &certs {
            let r = ca_ref(cert);
            if !self.stores.iter().any(|s| s.removed.contains(&r)) {
                self.notes.push(family.absent_note(cert.label(), &r.sha256));
            }
        }
        Ok(())
    }
}
