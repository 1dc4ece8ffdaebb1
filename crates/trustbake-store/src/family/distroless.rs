//! distroless (GoogleContainerTools/distroless: static, base, cc, java, python images): no
//! update tool in the image. Its bundle is made at build time by rules_distroless' `cacerts`
//! (every file of Debian's `/usr/share/ca-certificates`, line by line: no blank line between
//! certificates), its Java keystore by rules_distroless' `java_keystore` from that bundle (JKS,
//! password `changeit`, one trusted-certificate entry per certificate in bundle order, alias the
//! subject in Java's canonical form, date the certificate's notBefore). trustbake appends the
//! CAs to the bundle in its format and the same entries, by the same rule, to the keystore: the
//! result is what the rules make of the longer bundle. docs/families.md has the sources.

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Sha256Fingerprint};
use trustbake_targets::OsFamily;

use super::store::{OsStore, bundle, keystore};
use crate::error::StoreError;
use crate::formats::keystore::JavaStore;
use crate::kind::StoreKind;
use crate::layout::{DistrolessStore, Layout, StoreContents};
use crate::plan::Content;
use crate::view::{Entry, RootView, read_resolved, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

/// distroless: the bundle (`SSL_CERT_FILE` of the static and base images).
pub const DISTROLESS_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// distroless: Java's keystore (the JRE's `lib/security/cacerts` links to it).
pub const DISTROLESS_JAVA: &str = "/etc/ssl/certs/java/cacerts";
/// distroless: one status file per package, where Debian has one `/var/lib/dpkg/status`.
pub const DISTROLESS_STATUS_D: &str = "/var/lib/dpkg/status.d";
/// The OS release file whose `PRETTY_NAME` says `Distroless`.
const OS_RELEASE: &str = "/etc/os-release";

/// The distroless family's store.
pub(crate) struct Distroless;

impl OsStore for Distroless {
    fn family(&self) -> OsFamily {
        OsFamily::Distroless
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        let pretty = read_resolved(view, OS_RELEASE)?.is_some_and(|(_, _, b)| {
            String::from_utf8_lossy(&b).lines().any(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .is_some_and(|v| v.trim_matches('"').starts_with("Distroless"))
            })
        });
        let status_d = matches!(
            resolve(view, DISTROLESS_STATUS_D)?.1,
            Some(Entry::Dir { .. })
        ) && resolve(view, "/var/lib/dpkg/status")?.1.is_none();
        if layout.alpine.is_some() || !(pretty || status_d) {
            return Ok(false);
        }
        // A tool's sources would make it Debian's store.
        let sources = resolve(view, "/etc/ca-certificates.conf")?.1.is_some()
            || matches!(
                resolve(view, "/usr/share/ca-certificates")?.1,
                Some(Entry::Dir { .. })
            );
        let (real, entry) = resolve(view, DISTROLESS_BUNDLE)?;
        if sources || real.starts_with("/etc/pki/") || !matches!(entry, Some(Entry::File { .. })) {
            return Ok(false);
        }
        let java = matches!(resolve(view, DISTROLESS_JAVA)?.1, Some(Entry::File { .. }));
        layout.distroless = Some(DistrolessStore { java });
        Ok(true)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.distroless.is_some()
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.distroless else {
            return Ok(());
        };
        w.append_in_format(DISTROLESS_BUNDLE, StoreKind::DistrolessBundle, cas)?;
        if store.java {
            w.distroless_java(cas)?;
        }
        Ok(())
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.distroless else {
            return Ok(());
        };
        w.remove_from_text(DISTROLESS_BUNDLE, StoreKind::DistrolessBundle, certs)?;
        if store.java {
            w.jks_remove(DISTROLESS_JAVA, certs)?;
        }
        Ok(())
    }

    fn sources(&self, _view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        Ok(if layout.distroless.is_some() {
            vec![DISTROLESS_BUNDLE.to_owned()]
        } else {
            Vec::new()
        })
    }

    fn local_files(
        &self,
        _w: &Writer<'_>,
        _layout: &Layout,
        _out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        _local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        if let Some(store) = &layout.distroless {
            bundle(
                view,
                DISTROLESS_BUNDLE,
                StoreKind::DistrolessBundle,
                None,
                stores,
            )?;
            if store.java {
                keystore(view, DISTROLESS_JAVA, stores)?;
            }
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// The keystore's entries for the CAs it lacks, as `java_keystore` writes them: alias the
    /// subject in Java's canonical form, date the notBefore, in the order the bundle got them.
    fn distroless_java(&mut self, cas: &[&Certificate]) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = self.current_file(DISTROLESS_JAVA)? else {
            return Ok(());
        };
        let mut ks = match JavaStore::parse(&bytes) {
            Ok(ks) => ks,
            Err(err) => {
                self.notes
                    .push(format!("{DISTROLESS_JAVA}: {err}; left as it is"));
                return Ok(());
            }
        };
        let held: BTreeSet<_> = ks
            .certificates()
            .into_iter()
            .map(Sha256Fingerprint::of)
            .collect();
        let mut report = StoreReport::new(DISTROLESS_JAVA, StoreKind::JavaCacerts);
        for cert in cas {
            if held.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
                continue;
            }
            ks.add_trusted_all(
                [(cert.subject_canonical(), cert.der())],
                cert.not_before().saturating_mul(1000),
            );
            report.added.push(ca_ref(cert));
        }
        if !report.added.is_empty() {
            self.put(&real, meta, Content::File(ks.to_bytes()));
        }
        self.stores.push(report);
        Ok(())
    }
}
