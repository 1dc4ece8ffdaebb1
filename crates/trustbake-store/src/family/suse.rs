//! The SUSE family (openSUSE, SLES, SLE BCI): openSUSE/ca-certificates'
//! `update-ca-certificates`, a shell script running hooks that call p11-kit's `trust extract`
//! over the anchors in `/etc/pki/trust/anchors` (and the packaged ones in
//! `/usr/share/pki/trust/anchors`), the distrusted in `/etc/pki/trust/blocklist` (`blacklist`
//! with an older p11-kit): `java.run` → `/var/lib/ca-certificates/java-cacerts` (`java-cacerts`,
//! server-auth), `openssl.run` → `openssl/` (`openssl-directory`, every purpose), `etc_ssl.run`
//! → `pem/` (`pem-directory-hash`, server-auth; `/etc/ssl/certs` links to it),
//! `certbundle.run` → `ca-bundle.pem` (a `#` header, then `pem-bundle` without comments;
//! `/etc/ssl/ca-bundle.pem` links to it). Every output is written as p11-kit writes it
//! (`family/p11.rs`). docs/families.md has the sources.

use std::collections::BTreeSet;

use trustbake_certs::Certificate;
use trustbake_targets::OsFamily;

use super::p11::{anchor_files, anchors_local, dir_store};
use super::store::{OsStore, bundle, keystore};
use crate::error::StoreError;
use crate::kind::StoreKind;
use crate::layout::{Layout, RhelOutput, StoreContents, SuseStore};
use crate::view::{Entry, RootView, resolve};
use crate::writer::Writer;

/// SUSE: the administrator's anchors.
pub const SUSE_ANCHORS: &str = "/etc/pki/trust/anchors";
/// SUSE: the distrusted (p11-kit 0.23.22 and later).
pub const SUSE_BLOCKLIST: &str = "/etc/pki/trust/blocklist";
/// SUSE: the distrusted, as releases with an older p11-kit name it.
pub const SUSE_BLACKLIST: &str = "/etc/pki/trust/blacklist";
/// SUSE: the packaged anchors.
pub const SUSE_SHARE: &str = "/usr/share/pki/trust/anchors";
/// SUSE: where the hooks write (`statedir`), whose presence marks the layout.
pub const SUSE_STATE: &str = "/var/lib/ca-certificates";
/// SUSE: `pem-directory-hash` (`/etc/ssl/certs` links to it).
pub const SUSE_PEM: &str = "/var/lib/ca-certificates/pem";
/// SUSE: `openssl-directory`.
pub const SUSE_OPENSSL: &str = "/var/lib/ca-certificates/openssl";
/// SUSE: the extracted files, each written by one hook.
pub const SUSE_OUTPUTS: &[(&str, StoreKind)] = &[
    (
        "/var/lib/ca-certificates/ca-bundle.pem",
        StoreKind::PemBundle,
    ),
    (
        "/var/lib/ca-certificates/java-cacerts",
        StoreKind::JavaCacerts,
    ),
];

/// The SUSE family's store.
pub(crate) struct Suse;

impl OsStore for Suse {
    fn family(&self) -> OsFamily {
        OsFamily::Suse
    }

    fn detect(&self, view: &dyn RootView, layout: &mut Layout) -> Result<bool, StoreError> {
        let is_dir = |path: &str| -> Result<bool, StoreError> {
            Ok(matches!(resolve(view, path)?.1, Some(Entry::Dir { .. })))
        };
        if !is_dir(SUSE_STATE)? || !is_dir("/etc/pki/trust")? {
            return Ok(false);
        }
        let mut outputs = Vec::new();
        for &(path, kind) in SUSE_OUTPUTS {
            if matches!(resolve(view, path)?.1, Some(Entry::File { .. })) {
                outputs.push(RhelOutput {
                    path: path.to_owned(),
                    kind,
                });
            }
        }
        layout.suse = Some(SuseStore {
            outputs,
            pem_directory: is_dir(SUSE_PEM)?,
            openssl_directory: is_dir(SUSE_OPENSSL)?,
        });
        Ok(true)
    }

    fn present(&self, layout: &Layout) -> bool {
        layout.suse.is_some()
    }

    fn add(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.suse else {
            return Ok(());
        };
        w.p11_anchors(SUSE_ANCHORS, cas)?;
        for output in &store.outputs {
            w.p11_output(&output.path, output.kind, cas)?;
        }
        if store.openssl_directory {
            w.hashed_dir(SUSE_OPENSSL, StoreKind::OpensslDirectory, true, cas)?;
        }
        if store.pem_directory {
            w.hashed_dir(SUSE_PEM, StoreKind::DirectoryHash, false, cas)?;
        }
        Ok(())
    }

    fn remove(
        &self,
        w: &mut Writer<'_>,
        layout: &Layout,
        certs: &[Certificate],
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.suse else {
            return Ok(());
        };
        let shas: BTreeSet<_> = certs.iter().map(Certificate::sha256).collect();
        let in_anchors = w.p11_anchors_remove(SUSE_ANCHORS, &shas, certs)?;
        let blocklist = blocklist_dir(w.view)?;
        w.p11_blocklist_add(blocklist, certs)?;
        for output in &store.outputs {
            w.p11_output_remove(output, &shas, &in_anchors, certs)?;
        }
        if store.openssl_directory {
            w.hashed_dir_remove(SUSE_OPENSSL, StoreKind::OpensslDirectory, &shas, certs)?;
        }
        if store.pem_directory {
            w.hashed_dir_remove(SUSE_PEM, StoreKind::DirectoryHash, &shas, certs)?;
        }
        Ok(())
    }

    fn sources(&self, view: &dyn RootView, layout: &Layout) -> Result<Vec<String>, StoreError> {
        let Some(store) = &layout.suse else {
            return Ok(Vec::new());
        };
        let mut files: Vec<String> = store
            .outputs
            .iter()
            .filter(|o| o.kind == StoreKind::PemBundle)
            .map(|o| o.path.clone())
            .collect();
        for dir in [SUSE_ANCHORS, SUSE_SHARE] {
            files.extend(anchor_files(view, dir)?);
        }
        Ok(files)
    }

    fn local_files(
        &self,
        w: &Writer<'_>,
        layout: &Layout,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        if layout.suse.is_some() {
            out.extend(anchor_files(w.view, SUSE_ANCHORS)?);
        }
        Ok(())
    }

    fn absent_note(&self, label: &str, sha256: &str) -> String {
        format!(
            "{label} (sha256:{sha256}) is in no store of the image: blocklisted, so that a later update-ca-certificates keeps it out"
        )
    }

    fn inspect(
        &self,
        view: &dyn RootView,
        layout: &Layout,
        stores: &mut Vec<StoreContents>,
        local: &mut Vec<(Certificate, String)>,
    ) -> Result<(), StoreError> {
        let Some(store) = &layout.suse else {
            return Ok(());
        };
        for output in &store.outputs {
            match output.kind {
                StoreKind::JavaCacerts => keystore(view, &output.path, stores)?,
                kind => bundle(view, &output.path, kind, None, stores)?,
            }
        }
        if store.openssl_directory {
            dir_store(view, SUSE_OPENSSL, StoreKind::OpensslDirectory, stores)?;
        }
        if store.pem_directory {
            dir_store(view, SUSE_PEM, StoreKind::DirectoryHash, stores)?;
        }
        for dir in [SUSE_BLOCKLIST, SUSE_BLACKLIST] {
            dir_store(view, dir, StoreKind::Blocklist, stores)?;
        }
        anchors_local(view, SUSE_ANCHORS, local)?;
        Ok(())
    }
}

/// Where the root's distrusted CAs go: the directory it has (`blocklist`, or `blacklist` on a
/// release whose p11-kit reads that name), else `blocklist`.
pub(crate) fn blocklist_dir(view: &dyn RootView) -> Result<&'static str, StoreError> {
    for dir in [SUSE_BLOCKLIST, SUSE_BLACKLIST] {
        if matches!(resolve(view, dir)?.1, Some(Entry::Dir { .. })) {
            return Ok(dir);
        }
    }
    Ok(SUSE_BLOCKLIST)
}
