//! certifi: every `cacert.pem` the image's Python reads gets the CAs appended in certifi's own
//! entry format, and its wheel's `RECORD` is kept true.

use trustbake_certs::{Certificate, read_bundle};

use crate::error::StoreError;
use crate::formats;
use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout};
use crate::plan::Content;
use crate::view::read_resolved;
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
