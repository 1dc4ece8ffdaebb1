//! RHEL family: what `update-ca-trust` writes — the anchor in `source/anchors/`, and every
//! extracted output the base has (PEM and OpenSSL bundles, Java keystore, EFI signature lists,
//! the hashed directory), each in its own format.

use std::collections::{BTreeSet, HashMap};

use trustbake_certs::{Certificate, Sha256Fingerprint, read_bundle};

use crate::error::StoreError;
use crate::formats::{self, jks};
use crate::kind::StoreKind;
use crate::layout::Layout;
use crate::paths::{RHEL_ANCHORS, RHEL_DIRECTORY_HASH};
use crate::plan::Content;
use crate::view::{Entry, Meta, read_resolved, resolve, shas_in_dir};
use crate::writer::{StoreReport, Writer, ca_ref};

/// Why a non-authority stays out of a `ca-anchors` output.
const NOT_AN_AUTHORITY: &str =
    "not a certificate authority: p11-kit leaves it out of the ca-anchors outputs";

impl Writer<'_> {
    pub(super) fn rhel(&mut self, layout: &Layout, cas: &[&Certificate]) -> Result<(), StoreError> {
        // 1. source/anchors/<stem>.pem, so a later update-ca-trust in the image keeps the CA.
        let anchors = self.ensure_dir(RHEL_ANCHORS, 0o755)?;
        let existing = shas_in_dir(self.view, &anchors, |_| true)?;
        let mut report = StoreReport::new(RHEL_ANCHORS, StoreKind::Anchors);
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
        for output in &layout.rhel_outputs {
            self.rhel_output(&output.path, output.kind, cas)?;
        }
        if layout.rhel_directory_hash {
            self.directory_hash(cas)?;
        }
        Ok(())
    }

    fn rhel_output(
        &mut self,
        path: &str,
        kind: StoreKind,
        cas: &[&Certificate],
    ) -> Result<(), StoreError> {
        let Some((real, meta, bytes)) = read_resolved(self.view, path)? else {
            return Ok(());
        };
        let mut report = StoreReport::new(path, kind);
        let (present, unreadable): (BTreeSet<_>, usize) = match kind {
            StoreKind::JavaCacerts => match jks::Keystore::parse(&bytes) {
                Ok(ks) => (ks.certificates().map(Sha256Fingerprint::of).collect(), 0),
                Err(err) => {
                    self.notes.push(format!("{path}: {err}; left as it is"));
                    return Ok(());
                }
            },
            StoreKind::Edk2 => match formats::edk2_certificates(&bytes) {
                Some(ders) => (ders.iter().map(|d| Sha256Fingerprint::of(d)).collect(), 0),
                None => {
                    self.notes.push(format!(
                        "{path}: not a list of EFI signature lists; left as it is"
                    ));
                    return Ok(());
                }
            },
            // The PEM and OpenSSL bundles.
            _ => {
                let found = read_bundle(&bytes);
                (found.shas(), found.skipped)
            }
        };
        report.unreadable_existing = unreadable;
        let mut new = Vec::new();
        for cert in cas {
            if present.contains(&cert.sha256()) {
                report.present.push(ca_ref(cert));
            } else if !cert.is_authority() && kind.authorities_only() {
                report.skip(cert, NOT_AN_AUTHORITY);
            } else {
                new.push(*cert);
                report.added.push(ca_ref(cert));
            }
        }
        if !new.is_empty() {
            let content = match kind {
                StoreKind::OpensslBundle => formats::openssl_bundle_append(&bytes, &new),
                StoreKind::Edk2 => formats::edk2_append(&bytes, &new),
                StoreKind::JavaCacerts => {
                    let mut ks = jks::Keystore::parse(&bytes).unwrap_or(jks::Keystore {
                        entries: Vec::new(),
                    });
                    let ts = self
                        .options
                        .jks_timestamp_ms
                        .unwrap_or(meta.mtime.saturating_mul(1000));
                    ks.add_trusted_all(
                        new.iter()
                            .map(|cert| (jks::p11_kit_alias(cert.label()), cert.der())),
                        ts,
                    );
                    ks.to_bytes()
                }
                _ => formats::pem_bundle_append(&bytes, &new),
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
        let base: BTreeSet<String> = names.iter().cloned().collect();
        let mut taken = base.clone();
        // The certificates the base links under each hash, read once per hash.
        let mut linked: HashMap<String, BTreeSet<Sha256Fingerprint>> = HashMap::new();
        // Where the search for a free number starts, per name: many certificates with one
        // label or one subject hash are numbered in linear time.
        let mut next: HashMap<String, usize> = HashMap::new();
        let mut report = StoreReport::new(RHEL_DIRECTORY_HASH, StoreKind::DirectoryHash);
        for cert in cas {
            if !cert.is_authority() {
                report.skip(cert, NOT_AN_AUTHORITY);
                continue;
            }
            // p11-kit writes no new-style link for a subject its decoder rejects.
            let new_hash = cert.subject_hash_p11_kit().map(|h| format!("{h:08x}"));
            let old_hash = format!("{:08x}", cert.subject_hash_old());
            if !linked.contains_key(&old_hash) {
                let found = self.linked_under(&dir, &base, &old_hash)?;
                linked.insert(old_hash.clone(), found);
            }
            if linked
                .get(&old_hash)
                .is_some_and(|shas| shas.contains(&cert.sha256()))
            {
                report.present.push(ca_ref(cert));
                continue;
            }
            let name = first_free(
                &mut taken,
                &mut next,
                &format!("file:{}", cert.label()),
                |n| formats::directory_hash_file_name(cert.label(), n),
            );
            let meta = self.meta(file_mode);
            self.put(
                &format!("{dir}/{name}"),
                meta,
                Content::File(cert.to_pem().into_bytes()),
            );
            for hash in new_hash.into_iter().chain([old_hash]) {
                let link = first_free(&mut taken, &mut next, &format!("link:{hash}"), |n| {
                    format!("{hash}.{n}")
                });
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

    /// The certificates the `hash.N` links of `dir` lead to.
    fn linked_under(
        &self,
        dir: &str,
        names: &BTreeSet<String>,
        hash: &str,
    ) -> Result<BTreeSet<Sha256Fingerprint>, StoreError> {
        let mut found = BTreeSet::new();
        for name in hash_links(names, hash) {
            if let Some((_, _, bytes)) = read_resolved(self.view, &format!("{dir}/{name}"))? {
                found.extend(read_bundle(&bytes).certificates.iter().map(|c| c.sha256()));
            }
        }
        Ok(found)
    }
}

/// The first name `name(n)`, n = 0, 1, …, not in `taken` — searched from where the last
/// search for `key` ended (names are only ever added) — and taken.
fn first_free(
    taken: &mut BTreeSet<String>,
    next: &mut HashMap<String, usize>,
    key: &str,
    name: impl Fn(usize) -> String,
) -> String {
    let n = next.entry(key.to_owned()).or_insert(0);
    loop {
        let candidate = name(*n);
        *n += 1;
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
}

/// The `HASH.N` names of a sorted set, found by range (not by a scan of the whole directory).
pub(super) fn hash_links<'a>(
    names: &'a BTreeSet<String>,
    hash: &str,
) -> impl Iterator<Item = &'a String> {
    let prefix = format!("{hash}.");
    names
        .range(prefix.clone()..)
        .take_while(move |n| n.starts_with(&prefix))
        .filter(|n| {
            n.split_once('.')
                .is_some_and(|(_, k)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        })
}
