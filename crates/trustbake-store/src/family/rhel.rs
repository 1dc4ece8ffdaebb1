//! The RHEL family (CentOS 7, UBI 7/8/9, Fedora): what `update-ca-trust` writes — the anchor in
//! `source/anchors/`, and every extracted output the base has (PEM and OpenSSL bundles, Java
//! keystore, EFI signature lists, the hashed directory), each in its own format — and what it
//! leaves once a CA is in `source/blocklist/` (`blacklist/` on EL7 and EL8).

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Sha256Fingerprint};
use trustbake_targets::OsFamily;

use super::p11::{anchor_files, anchors_local, dir_store};
use super::store::{OsStore, bundle, keystore};
use crate::error::StoreError;
use crate::formats;
use crate::kind::StoreKind;
use crate::layout::{Layout, RhelOutput, StoreContents};
use crate::view::{Entry, RootView, read_resolved, resolve};
use crate::writer::Writer;

/// RHEL family: `update-ca-trust`'s local anchors.
pub const RHEL_ANCHORS: &str = "/etc/pki/ca-trust/source/anchors";
/// RHEL family: the CAs `update-ca-trust` distrusts (EL9 and later).
pub const RHEL_BLOCKLIST: &str = "/etc/pki/ca-trust/source/blocklist";
/// RHEL family: the same on EL7 and EL8.
pub const RHEL_BLACKLIST: &str = "/etc/pki/ca-trust/source/blacklist";
/// RHEL family: the extracted outputs' root, whose presence marks the layout.
pub const RHEL_EXTRACTED: &str = "/etc/pki/ca-trust/extracted";
/// RHEL family: the legacy certificate directory (`/etc/ssl/certs` links here); Fedora 41 and
/// later mirror the hashed directory's links into it.
pub const RHEL_TLS_CERTS: &str = "/etc/pki/tls/certs";
/// RHEL family: the hashed directory (EL9's `pem/directory-hash`).
pub const RHEL_DIRECTORY_HASH: &str = "/etc/pki/ca-trust/extracted/pem/directory-hash";

/// The RHEL family's store.
pub(crate) struct Rhel;

impl OsStore for Rhel {
    fn family(&self) -> OsFamily {
        OsFamily::Rhel
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        let is_dir = |path: &str| -> Result<bool, StoreError> {
            Ok(matches!(resolve(view, path)?.1, Some(Entry::Dir { .. })))
        };
        if !is_dir(RHEL_EXTRACTED)? {
            return Ok(false);
        }
        for &(path, kind) in StoreKind::RHEL_OUTPUTS {
            if matches!(resolve(view, path)?.1, Some(Entry::File { .. })) {
                layout.rhel_outputs.push(RhelOutput {
                    path: path.to_owned(),
                    kind,
                });
            }
        }
        layout.rhel_directory_hash = is_dir(RHEL_DIRECTORY_HASH)?;
        Ok(true)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.family == OsFamily::Rhel
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        w.rhel(layout, cas)
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        w.rhel_remove(layout, certs)
    }

    fn sources(&self, view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        let mut files = Vec::new();
        for output in &layout.rhel_outputs {
            if matches!(output.kind, StoreKind::PemBundle | StoreKind::OpensslBundle) {
                files.push(output.path.clone());
            }
        }
        files.extend(anchor_files(view, RHEL_ANCHORS)?);
        Ok(files)
    }

    fn local_files(
        &self,
        w: &Writer<'_>,
        _layout: &Layout,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        out.extend(anchor_files(w.view, RHEL_ANCHORS)?);
        Ok(())
    }

    fn absent_note(&self, label: &str, sha256: &str) -> String {
        format!(
            "{label} (sha256:{sha256}) is in no store of the image: blocklisted, so that a later update-ca-trust keeps it out"
        )
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        for output in &layout.rhel_outputs {
            let path = &output.path;
            match output.kind {
                StoreKind::JavaCacerts => keystore(view, path, stores)?,
                StoreKind::Edk2 => {
                    if let Some((_, _, bytes)) = read_resolved(view, path)? {
                        let ders = formats::edk2_certificates(&bytes).unwrap_or_default();
                        stores.push(StoreContents {
                            path: path.clone(),
                            kind: StoreKind::Edk2,
                            certifi: None,
                            certificates: ders.len(),
                            unreadable: 0,
                            shas: ders.iter().map(|d| Sha256Fingerprint::of(d)).collect(),
                        });
                    }
                }
                kind => bundle(view, path, kind, None, stores)?,
            }
        }
        if layout.rhel_directory_hash {
            dir_store(view, RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash, stores)?;
        }
        if layout.family == OsFamily::Rhel {
            // The distrusted: what update-ca-trust keeps out of every ca-anchors output.
            for dir in [RHEL_BLOCKLIST, RHEL_BLACKLIST] {
                dir_store(view, dir, StoreKind::Blocklist, stores)?;
            }
            anchors_local(view, RHEL_ANCHORS, local)?;
        }
        Ok(())
    }
}

impl Writer<'_> {
    fn rhel(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        // 1. source/anchors/<stem>.pem, so a later update-ca-trust in the image keeps the CA.
        self.p11_anchors(RHEL_ANCHORS, cas)?;
        // 2. Every extracted output the base has, in its own format.
        for output in &layout.rhel_outputs {
            self.p11_output(&output.path, output.kind, cas)?;
        }
        if layout.rhel_directory_hash {
            self.hashed_dir(RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash, false, cas)?;
            // Fedora 41 and later: the hash links in /etc/pki/tls/certs too.
            self.mirror_hash_links(RHEL_DIRECTORY_HASH, RHEL_TLS_CERTS)?;
        }
        Ok(())
    }

    fn rhel_remove(&mut self, layout: &Layout, certs: &[Certificate]) -> Result<(), StoreError> {
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let in_etc_anchors = self.p11_anchors_remove(RHEL_ANCHORS, &shas, certs)?;
        let blocklist = blocklist_dir(self.view, layout)?;
        self.p11_blocklist_add(blocklist, certs)?;
        for output in &layout.rhel_outputs {
            self.p11_output_remove(output, &shas, &in_etc_anchors, certs)?;
        }
        if layout.rhel_directory_hash {
            self.hashed_dir_remove(RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash, &shas, certs)?;
            self.mirror_hash_links(RHEL_DIRECTORY_HASH, RHEL_TLS_CERTS)?;
        }
        Ok(())
    }
}

/// Where the RHEL blocklist of the root seen through `view` is: the directory it has
/// (`blocklist/` on EL9, `blacklist/` on EL7 and EL8), else the one its release reads.
pub(crate) fn blocklist_dir(
    view: &dyn RootView,
    layout: &Layout,
) -> Result<&'static str, StoreError> {
    for dir in [RHEL_BLOCKLIST, RHEL_BLACKLIST] {
        if matches!(resolve(view, dir)?.1, Some(Entry::Dir { .. })) {
            return Ok(dir);
        }
    }
    let major: u32 = layout
        .os
        .version_id
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let rhel_like = layout.os.id == "rhel"
        || layout.os.id == "centos"
        || layout.os.id_like.split_whitespace().any(|w| w == "rhel");
    Ok(if rhel_like && (1..=8).contains(&major) {
        RHEL_BLACKLIST
    } else {
        RHEL_BLOCKLIST
    })
}
