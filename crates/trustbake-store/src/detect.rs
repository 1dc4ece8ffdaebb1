//! Detection inside the root: the OS, which trust layout is present, which outputs the base
//! has, every certifi bundle, and the Python version. The image wins over the version map.

use trustbake_targets::OsFamily;

use crate::error::StoreError;
use crate::family::FAMILIES;
use crate::layout::{CertifiBundle, CertifiStatus, Layout, OsRelease};
use crate::paths::{ANCHORE_VENV_CFG, CERTIFI_SEARCH, MAX_READ, OS_RELEASE};
use crate::view::{Entry, RootView, list_dir, parent, read_resolved, resolve};

/// Detects the trust layout of the root; a root with no trust store is an error.
pub fn detect(view: &dyn RootView) -> Result<Layout, StoreError> {
    detect_with(view, false)
}

/// [`detect`]; with `bare`, a root with no OS store trustbake knows is family `unknown` (the
/// user names the bundles to write) instead of an error.
pub(crate) fn detect_with(view: &dyn RootView, bare: bool) -> Result<Layout, StoreError> {
    let os = os_release(view)?;
    let mut layout = Layout {
        os,
        family: OsFamily::Rhel,
        rhel_outputs: Vec::new(),
        rhel_directory_hash: false,
        debian: false,
        debian_java: false,
        suse: None,
        alpine: None,
        distroless: None,
        certifi: Vec::new(),
        python: None,
    };
    let mut found = None;
    for family in FAMILIES {
        if family.detect(view, &mut layout)? && found.is_none() {
            found = Some(family.family());
        }
    }
    layout.family = match found {
        Some(family) => family,
        None if bare => OsFamily::Unknown,
        None => return Err(StoreError::NoTrustStore),
    };
    let certifi = certifi_bundles(view)?;
    let python = python_version(view, &certifi)?;
    layout.certifi = certifi;
    layout.python = python;
    Ok(layout)
}

fn os_release(view: &dyn RootView) -> Result<OsRelease, StoreError> {
    let mut os = OsRelease::default();
    for path in OS_RELEASE {
        if let Some((_, _, bytes)) = read_resolved(view, path)? {
            for line in String::from_utf8_lossy(&bytes).lines() {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"').trim_matches('\'').to_owned();
                match key.trim() {
                    "ID" => os.id = value,
                    "ID_LIKE" => os.id_like = value,
                    "VERSION_ID" => os.version_id = value,
                    _ => {}
                }
            }
            break;
        }
    }
    Ok(os)
}

/// Directories that may hold site-packages, most specific first.
fn package_dirs(view: &dyn RootView) -> Result<Vec<String>, StoreError> {
    let mut dirs = Vec::new();
    let search = &CERTIFI_SEARCH;
    for venv in search.venvs {
        python_dirs(view, &format!("{venv}/lib"), &["site-packages"], &mut dirs)?;
    }
    for prefix in search.prefixes {
        python_dirs(view, prefix, &["site-packages", "dist-packages"], &mut dirs)?;
    }
    for top in search.walk {
        walk_for_packages(view, top, search.walk_depth, &mut dirs)?;
    }
    for name in list_dir(view, "/")? {
        let dir = format!("/{name}");
        if matches!(
            resolve(view, &format!("{dir}/pyvenv.cfg"))?.1,
            Some(Entry::File { .. })
        ) {
            python_dirs(view, &format!("{dir}/lib"), &["site-packages"], &mut dirs)?;
        }
    }
    Ok(dirs)
}

fn python_dirs(
    view: &dyn RootView,
    lib: &str,
    kinds: &[&str],
    out: &mut Vec<String>,
) -> Result<(), StoreError> {
    for name in list_dir(view, lib)? {
        if name.starts_with("python") {
            for kind in kinds {
                let dir = format!("{lib}/{name}/{kind}");
                if matches!(resolve(view, &dir)?.1, Some(Entry::Dir { .. })) && !out.contains(&dir)
                {
                    out.push(dir);
                }
            }
        }
    }
    Ok(())
}

fn walk_for_packages(
    view: &dyn RootView,
    dir: &str,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), StoreError> {
    if depth == 0 {
        return Ok(());
    }
    for name in list_dir(view, dir)? {
        let path = format!("{dir}/{name}");
        // Walk real directories only: links are resolved per candidate, never walked.
        if !matches!(view.entry(&path)?, Some(Entry::Dir { .. })) {
            continue;
        }
        if name == "site-packages" || name == "dist-packages" {
            if !out.contains(&path) {
                out.push(path);
            }
        } else if !matches!(name.as_str(), "node_modules" | ".git" | "__pycache__") {
            walk_for_packages(view, &path, depth - 1, out)?;
        }
    }
    Ok(())
}

fn certifi_bundles(view: &dyn RootView) -> Result<Vec<CertifiBundle>, StoreError> {
    let mut bundles: Vec<CertifiBundle> = Vec::new();
    for dir in package_dirs(view)? {
        for &(rel, vendored) in CERTIFI_SEARCH.packages {
            let pkg = format!("{dir}/{rel}");
            if !matches!(resolve(view, &pkg)?.1, Some(Entry::Dir { .. })) {
                continue;
            }
            let path = format!("{pkg}/cacert.pem");
            let (real_path, entry) = resolve(view, &path)?;
            let core = read_resolved(view, &format!("{pkg}/core.py"))?
                .map(|(_, _, b)| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let patched = core.contains("/etc/ssl/certs/ca-certificates.crt")
                || core.contains("/etc/pki/tls/certs/ca-bundle.crt");
            let linked = real_path != path;
            let status = match &entry {
                _ if vendored => CertifiStatus::Vendored,
                // A distribution's certifi whose core.py returns the system bundle.
                _ if patched => CertifiStatus::DistroPatched,
                None if linked => CertifiStatus::Unusable {
                    reason: format!("a link to {real_path}, which does not exist"),
                },
                None => CertifiStatus::Unusable {
                    reason: "no cacert.pem, and core.py names no system bundle".to_owned(),
                },
                Some(Entry::File { size, .. }) if *size > MAX_READ => CertifiStatus::Unusable {
                    reason: format!(
                        "{size} bytes, more than any CA bundle ({MAX_READ} read at most)"
                    ),
                },
                Some(Entry::File { .. }) if linked && is_os_store(&real_path) => {
                    CertifiStatus::LinkedToOs {
                        target: real_path.clone(),
                    }
                }
                Some(Entry::File { .. }) if linked && !is_bundle_location(&real_path) => {
                    CertifiStatus::Unusable {
                        reason: format!("a link to {real_path}, which is not a CA bundle"),
                    }
                }
                Some(Entry::File { .. }) => CertifiStatus::Own,
                Some(_) => CertifiStatus::Unusable {
                    reason: format!("{real_path} is not a regular file"),
                },
            };
            if bundles.iter().any(|b| b.real_path == real_path) {
                continue; // the same file reached through a linked directory (lib64 → lib)
            }
            let record = if vendored {
                None
            } else {
                record_for(view, &dir)?
            };
            bundles.push(CertifiBundle {
                path,
                real_path,
                status,
                record,
            });
        }
    }
    Ok(bundles)
}

/// Whether a path is inside an OS trust store: where a certifi linked to it is covered by the
/// OS store.
fn is_os_store(path: &str) -> bool {
    [
        "/etc/ssl/",
        "/etc/pki/tls/",
        "/etc/pki/ca-trust/",
        "/etc/ca-certificates/",
        "/usr/share/ca-certificates/",
        "/usr/local/share/ca-certificates/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Whether a linked `cacert.pem` may be a bundle of its own: anywhere but the rest of `/etc`
/// and the kernel's file systems (a link to `/etc/shadow` or `/proc` is not a CA bundle).
fn is_bundle_location(path: &str) -> bool {
    !["/etc/", "/proc/", "/sys/", "/dev/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The `certifi-*.dist-info/RECORD` beside a certifi package.
fn record_for(view: &dyn RootView, packages: &str) -> Result<Option<String>, StoreError> {
    for name in list_dir(view, packages)? {
        if name.starts_with("certifi-") && name.ends_with(".dist-info") {
            let record = format!("{packages}/{name}/RECORD");
            if matches!(resolve(view, &record)?.1, Some(Entry::File { .. })) {
                return Ok(Some(record));
            }
        }
    }
    Ok(None)
}

fn python_version(
    view: &dyn RootView,
    certifi: &[CertifiBundle],
) -> Result<Option<String>, StoreError> {
    if let Some((_, _, cfg)) = read_resolved(view, ANCHORE_VENV_CFG)? {
        if let Some(version) = python_from_pyvenv_cfg(&String::from_utf8_lossy(&cfg)) {
            return Ok(Some(version));
        }
    }
    let from_path = certifi
        .iter()
        .filter(|b| b.status != CertifiStatus::Vendored)
        .find_map(|b| {
            let dir = parent(parent(parent(&b.path)));
            let name = dir.rsplit('/').next()?;
            let version = name.strip_prefix("python")?;
            (version.contains('.')
                && version
                    .split('.')
                    .all(|p| p.bytes().all(|c| c.is_ascii_digit())))
            .then(|| version.to_owned())
        });
    Ok(from_path)
}

/// The Python version (`major.minor`) from a `pyvenv.cfg` (`version = 3.11.4`, or
/// `version_info = 3.11.4.final.0` in older virtualenvs).
pub(crate) fn python_from_pyvenv_cfg(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        if !matches!(key.trim(), "version" | "version_info") {
            return None;
        }
        let mut parts = value.trim().split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (numeric(major) && numeric(minor)).then(|| format!("{major}.{minor}"))
    })
}

#[cfg(test)]
mod tests {
    use super::python_from_pyvenv_cfg;

    fn check(cfg: &str, expected: Option<&str>) {
        assert_eq!(python_from_pyvenv_cfg(cfg).as_deref(), expected, "{cfg:?}");
    }

    #[test]
    fn reads_the_python_version_of_a_venv() {
        check(
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n",
            Some("3.11"),
        );
        check("version_info = 3.9.18.final.0\n", Some("3.9"));
        check("home = /usr/bin\n", None);
        check("version = three\n", None);
    }
}
