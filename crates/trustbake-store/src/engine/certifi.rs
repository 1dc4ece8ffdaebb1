//! certifi: every `cacert.pem` the image's Python reads gets the CAs appended in certifi's own
//! entry format, and its wheel's `RECORD` is kept true.

use trustbake_certs::{Certificate, read_bundle};

use crate::error::StoreError;
use crate::formats;
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout};
use crate::plan::Content;
use crate::view::{list_dir, parent, read_resolved};
use crate::writer::{StoreReport, Writer, ca_ref};

impl Writer<'_> {
    pub(super) fn certifi(
        &mut self,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        for bundle in &layout.certifi {
            let mut report = StoreReport::new(&bundle.path, StoreKind::Certifi);
            let reason = match &bundle.status {
                CertifiStatus::Own => None,
                CertifiStatus::Vendored if self.options.include_vendored => None,
                CertifiStatus::Vendored => Some(self.vendored_reason(layout, &bundle.path)?),
                CertifiStatus::LinkedToOs { target } => {
                    Some(format!("links to the OS store ({target}), which covers it"))
                }
                CertifiStatus::DistroPatched => Some(
                    "a distribution build that reads the system bundle, which covers it".to_owned(),
                ),
                CertifiStatus::Unusable { reason } => {
                    self.notes.push(format!(
                        "{}: {reason}; Python requests cannot use this certifi, and trustbake leaves it alone",
                        bundle.path
                    ));
                    Some(format!("unusable: {reason}"))
                }
            };
            if let Some(reason) = reason {
                for cert in cas {
                    report.skip(cert, &reason);
                }
                self.stores.push(report);
                continue;
            }
            let Some((real, meta, bytes)) = read_resolved(self.view, &bundle.real_path)? else {
                continue;
            };
            let found = read_bundle(&bytes);
            report.unreadable_existing = found.skipped;
            let present = found.shas();
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
    pub(super) fn record(&mut self, record: &str, cacert: &[u8]) -> Result<(), StoreError> {
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
}

/// The first release of pip that uses the system store (through truststore) on Python 3.10
/// and later, instead of its vendored certifi.
const PIP_TRUSTSTORE: (u32, u32) = (24, 2);

impl Writer<'_> {
    /// Why pip's vendored certifi is left alone, and whether pip still reads it: pip 24.2 and
    /// later on Python 3.10 and later use the system store (truststore), which the OS family
    /// covers; older ones read the vendored bundle (then a note names `--include-vendored`).
    fn vendored_reason(&mut self, layout: &Layout, path: &str) -> Result<String, StoreError> {
        // …/site-packages/pip/_vendor/certifi/cacert.pem
        let site = parent(parent(parent(parent(path))));
        let pip = list_dir(self.view, site)?.into_iter().find_map(|n| {
            let version = n.strip_prefix("pip-")?.strip_suffix(".dist-info")?;
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        });
        let python = site
            .rsplit('/')
            .nth(1)
            .and_then(|d| d.strip_prefix("python"))
            .or(layout.python.as_deref())
            .and_then(|v| {
                let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
                Some((parts.next()??, parts.next()??))
            });
        Ok(match (pip, python) {
            (Some(pip), Some(py)) if pip >= PIP_TRUSTSTORE && py >= (3, 10) => format!(
                "pip {}.{} on Python {}.{} uses the system store (truststore), which covers it",
                pip.0, pip.1, py.0, py.1
            ),
            (Some(pip), _) => {
                self.notes.push(format!(
                    "{path}: pip {}.{} reads this vendored certifi, not the OS store; --include-vendored adds the CAs to it",
                    pip.0, pip.1
                ));
                format!(
                    "pip {}.{} reads its vendored certifi: left alone without --include-vendored",
                    pip.0, pip.1
                )
            }
            (None, _) => "pip's vendored certifi: left alone without --include-vendored".to_owned(),
        })
    }
}
