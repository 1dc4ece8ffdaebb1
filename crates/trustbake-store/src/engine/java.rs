//! Java runtimes' own trust stores: every JDK or JRE in the image reads its
//! `lib/security/cacerts` (`jre/lib/security/cacerts` in a JDK 8), not the OS store — unless
//! that file is a link into a store an OS family already writes (RHEL's and Debian's JDKs link
//! there; distroless' JRE too). The runtimes are found through `JAVA_HOME`, the `java` of
//! `PATH`, and the usual places (Temurin's `/opt/java/openjdk`, `/usr/lib/jvm/*`,
//! `/usr/local/openjdk-*`, `/opt/jdk*`); each store of its own gets the CAs in its own format
//! (JKS or PKCS12, `formats/keystore.rs`).

use std::collections::BTreeSet;

use trustbake_certs::{Certificate, Sha256Fingerprint};

use crate::env::{Env, path_dirs, program, var};
use crate::error::StoreError;
use crate::formats::keystore::JavaStore;
use crate::kind::StoreKind;
use crate::plan::Content;
use crate::view::{Entry, RootView, list_dir, parent, resolve};
use crate::writer::{StoreReport, Writer, ca_ref};

/// The usual homes of JDKs in images, beside `JAVA_HOME` and the `java` of `PATH`.
const HOMES: &[&str] = &["/opt/java/openjdk"];
/// Directories whose entries are JDK homes.
const HOME_DIRS: &[(&str, &[&str])] = &[
    ("/usr/lib/jvm", &[""]),
    ("/usr/local", &["openjdk", "jdk", "java"]),
    ("/opt", &["jdk", "jre", "openjdk", "java"]),
];
/// Where a home keeps its store.
const STORES: &[&str] = &["lib/security/cacerts", "jre/lib/security/cacerts"];

/// One Java runtime's trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaRuntime {
    /// The runtime's home.
    pub home: String,
    /// Its store (`HOME/lib/security/cacerts`), as the runtime names it.
    pub store: String,
    /// The store's real path.
    pub real: String,
}

/// Every Java runtime of the root with `env`, one per store file (runtimes sharing a store
/// through links are one).
pub fn java_runtimes(view: &dyn RootView, env: &Env) -> Result<Vec<JavaRuntime>, StoreError> {
    let mut homes: Vec<String> = Vec::new();
    if let Some(home) = var(env, "JAVA_HOME") {
        homes.push(home.trim_end_matches('/').to_owned());
    }
    if let Some(java) = program(view, &path_dirs(env), "java")? {
        let (real, _) = resolve(view, &java)?;
        homes.push(parent(parent(&real)).to_owned());
    }
    homes.extend(HOMES.iter().map(|h| (*h).to_owned()));
    for (dir, prefixes) in HOME_DIRS {
        for name in list_dir(view, dir)? {
            if prefixes.iter().any(|p| name.starts_with(p)) {
                homes.push(format!("{dir}/{name}"));
            }
        }
    }
    let mut out: Vec<JavaRuntime> = Vec::new();
    for home in homes {
        if !home.starts_with('/') {
            continue;
        }
        for rel in STORES {
            let store = format!("{home}/{rel}");
            let (real, entry) = resolve(view, &store)?;
            if matches!(entry, Some(Entry::File { .. })) {
                if !out.iter().any(|r| r.real == real) {
                    out.push(JavaRuntime {
                        home: home.clone(),
                        store,
                        real,
                    });
                }
                break;
            }
        }
    }
    Ok(out)
}

impl Writer<'_> {
    /// Each runtime's own store: the CAs it lacks, under their file stem, in its format. A store
    /// an OS family writes (a link into it, or the same file) is that family's.
    pub(super) fn java_runtimes(
        &mut self,
        cas: &[&Certificate],
        os_stores: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        for runtime in java_runtimes(self.view, &self.options.env)? {
            if os_stores.contains(&runtime.real) || self.items.contains_key(&runtime.real) {
                continue;
            }
            let Some((real, meta, bytes)) = self.current_file(&runtime.store)? else {
                continue;
            };
            let mut ks = match JavaStore::parse(&bytes) {
                Ok(ks) => ks,
                Err(err) => {
                    self.notes
                        .push(format!("{}: {err}; left as it is", runtime.store));
                    continue;
                }
            };
            let mut report = StoreReport::new(&runtime.store, StoreKind::JavaCacerts);
            report.unreadable_existing = ks.unreadable();
            let held: BTreeSet<Sha256Fingerprint> = ks
                .certificates()
                .into_iter()
                .map(Sha256Fingerprint::of)
                .collect();
            let mut new = Vec::new();
            for cert in cas {
                if held.contains(&cert.sha256()) {
                    report.present.push(ca_ref(cert));
                } else {
                    new.push((cert.file_stem(), cert.der()));
                    report.added.push(ca_ref(cert));
                }
            }
            if !new.is_empty() {
                let ts = self
                    .options
                    .jks_timestamp_ms
                    .unwrap_or(meta.mtime.saturating_mul(1000));
                ks.add_trusted_all(new, ts);
                self.put(&real, meta, Content::File(ks.to_bytes()));
            }
            self.stores.push(report);
        }
        Ok(())
    }

    /// Each runtime's own store without the distrusted CAs.
    pub(super) fn java_runtimes_remove(
        &mut self,
        certs: &[Certificate],
        os_stores: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        for runtime in java_runtimes(self.view, &self.options.env)? {
            if !os_stores.contains(&runtime.real) {
                self.jks_remove(&runtime.store, certs)?;
            }
        }
        Ok(())
    }
}
