//! The engine: from a view of a root and validated CAs to a [`Plan`] and a [`Report`]. What
//! each OS family's tool would write lives in its family's module (`crate::family`); the
//! consumer stores any family can hold in their own: [`certifi`] (the append to every
//! `cacert.pem`), [`node`] (the file `NODE_EXTRA_CA_CERTS` names, and the variable); distrusting
//! in [`remove`].

mod certifi;
mod conda;
mod java;
mod node;
mod remove;

pub use conda::conda_prefixes;
pub use java::{JavaRuntime, java_runtimes};
pub(crate) use node::VARIABLE as NODE_VARIABLE;
pub use node::{NodeExtra, env_reads, node_extra};
pub use remove::{Found, find_removals};

use serde::Serialize;
use trustbake_certs::Certificate;
use trustbake_targets::Resolved;

use crate::kind::StoreKind;
use crate::layout::{CertifiStatus, Layout};

use crate::detect::detect_with;
use crate::error::StoreError;
use crate::family::FAMILIES;
use crate::plan::Plan;
use crate::view::RootView;
use crate::writer::{Options, StoreReport, Writer};

/// What was detected and done.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The detected layout.
    pub detected: Layout,
    /// Per store, per CA.
    pub stores: Vec<StoreReport>,
    /// Disagreements with the version map, and other facts worth telling.
    pub notes: Vec<String>,
}

/// Plans the CAs into the root seen through `view`. `target` (from the version map), when
/// given, is compared with what the image holds; the image wins.
pub fn plan(
    view: &dyn RootView,
    cas: &[Certificate],
    target: Option<&Resolved<'_>>,
    options: &Options,
) -> Result<(Plan, Report), StoreError> {
    let layout = detect_with(view, !options.bundles.is_empty())?;
    let mut cas: Vec<&Certificate> = cas.iter().collect();
    cas.sort_by_key(|c| c.sha256());
    cas.dedup_by_key(|c| c.sha256());
    let mut eng = Writer::new(view, options);
    if let Some(target) = target {
        eng.compare(&layout, target);
    }
    for family in FAMILIES.iter().filter(|f| f.present(&layout)) {
        family.add(&mut eng, &layout, &cas)?;
    }
    eng.named_bundles(&cas)?;
    let os_java = os_java_stores(view, &layout)?;
    eng.java_runtimes(&cas, &os_java)?;
    eng.conda(&cas)?;
    eng.certifi(&layout, &cas)?;
    eng.node(&cas)?;
    eng.remove(&layout)?;
    let items = eng.changed_items()?;
    Ok((
        Plan {
            items,
            env: eng.env.into_iter().collect(),
        },
        Report {
            detected: layout,
            stores: eng.stores,
            notes: eng.notes,
        },
    ))
}

/// The real paths of the Java stores the root's OS families write: a runtime's store that
/// is one of them (through a link) is left to its family.
pub(crate) fn os_java_stores(
    view: &dyn RootView,
    layout: &Layout,
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let mut paths: Vec<&str> = vec![
        crate::paths::DEBIAN_JAVA,
        crate::paths::DISTROLESS_JAVA,
        crate::paths::ALPINE_JAVA,
    ];
    paths.extend(
        layout
            .rhel_outputs
            .iter()
            .chain(layout.suse.iter().flat_map(|s| s.outputs.iter()))
            .filter(|o| o.kind == StoreKind::JavaCacerts)
            .map(|o| o.path.as_str()),
    );
    let mut out = std::collections::BTreeSet::new();
    for path in paths {
        if let (real, Some(crate::view::Entry::File { .. })) = crate::view::resolve(view, path)? {
            out.insert(real);
        }
    }
    Ok(out)
}

impl Writer<'_> {
    /// The bundles the user named: each must be a file holding PEM certificates (or empty);
    /// the CAs it lacks are appended in its own format.
    fn named_bundles(&mut self, cas: &[&Certificate]) -> Result<(), StoreError> {
        for path in self.options.bundles.clone() {
            let Some((_, _, bytes)) = self.current_file(&path)? else {
                return Err(StoreError::BadBundle {
                    reason: "not a file in the image (a link is followed inside the image; name the file itself when it points outside /etc)".into(),
                    path,
                });
            };
            let found = trustbake_certs::read_bundle(&bytes);
            if found.certificates.is_empty() && !bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(StoreError::BadBundle {
                    reason: "holds no PEM certificate: not a CA bundle".into(),
                    path,
                });
            }
            self.append_in_format(&path, StoreKind::NamedBundle, cas)?;
        }
        Ok(())
    }

    fn compare(&mut self, layout: &Layout, target: &Resolved<'_>) {
        let line = target.line;
        let what = format!("{} {} (line {})", line.product, target.version, line.line);
        if line.base_info.os_family != layout.family {
            self.notes.push(format!(
                "the version map says {what} is {}-family, the image has the {} layout; the image's is used",
                line.base_info.os_family, layout.family
            ));
        }
        for expected in &target.certifi_paths {
            if !layout.certifi.iter().any(|b| &b.path == expected) {
                let found: Vec<&str> = layout
                    .certifi
                    .iter()
                    .filter(|b| b.status != CertifiStatus::Vendored)
                    .map(|b| b.path.as_str())
                    .collect();
                self.notes.push(format!(
                    "the version map expects certifi at {expected} for {what}; the image has {}; the image's paths are used",
                    if found.is_empty() { "none".to_owned() } else { found.join(", ") }
                ));
            }
        }
        if let Some(python) = &layout.python {
            if python != &line.python {
                self.notes.push(format!(
                    "the version map says Python {} for {what}; the image has Python {python}",
                    line.python
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::env::Env;
    use crate::kind::StoreKind;
    use crate::plan::Content;
    use crate::view::{MemRoot, Meta};

    /// A RHEL root with an empty anchors directory and one extracted bundle.
    fn rhel_root() -> MemRoot {
        let mut root = MemRoot::default();
        for dir in [
            "/etc",
            "/etc/pki",
            "/etc/pki/ca-trust",
            "/etc/pki/ca-trust/source",
            "/etc/pki/ca-trust/extracted",
            "/etc/pki/ca-trust/extracted/pem",
        ] {
            root.dir(dir, Meta::root(0o755, 0));
        }
        root.file(
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            b"".to_vec(),
            Meta::root(0o444, 0),
        );
        root
    }

    fn ca() -> Certificate {
        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
        Certificate::from_der(der).unwrap()
    }

    #[test]
    fn missing_directories_are_planned_and_a_second_plan_is_empty() {
        let mut root = rhel_root();
        let options = Options {
            mtime: 7,
            jks_timestamp_ms: None,
            include_vendored: false,
            env: Env::new(),
            remove: Vec::new(),
            bundles: Vec::new(),
        };
        let (plan, report) = super::plan(&root, &[ca()], None, &options).unwrap();
        let anchors = plan
            .items
            .iter()
            .find(|i| i.path == "/etc/pki/ca-trust/source/anchors")
            .unwrap();
        assert_eq!(anchors.content, Content::Dir);
        assert!(plan.items.iter().all(|i| i.meta.mtime == 7));
        let kinds: Vec<StoreKind> = report.stores.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [StoreKind::Anchors, StoreKind::PemBundle]);
        root.apply(&plan);
        let (again, report) = super::plan(&root, &[ca()], None, &options).unwrap();
        assert!(again.is_empty(), "{again:?}");
        assert!(report.stores.iter().all(|s| s.present.len() == 1));
    }
}
