//! Rules for finding the truth inside an image, where the version map is inferred or silent.
//! The image always wins over the map; these are the places to look, most specific first.

/// The virtualenv of Anchore Enterprise 4.5 and later; its `pyvenv.cfg` names the Python.
pub const ANCHORE_VENV_CFG: &str = "/home/anchore/venv/pyvenv.cfg";

/// Where certifi's `cacert.pem` may be, as glob patterns (`*` within one path component,
/// `{a,b}` alternatives), most specific first.
pub const CERTIFI_PATTERNS: &[&str] = &[
    "/home/anchore/venv/lib/python3.*/site-packages/certifi/cacert.pem",
    "/anchore-cli/lib/python3.*/site-packages/certifi/cacert.pem",
    "/usr/local/lib{,64}/python3.*/{site,dist}-packages/certifi/cacert.pem",
    "/usr/lib{,64}/python{2.7,3.*}/{site,dist}-packages/certifi/cacert.pem",
    "/opt/rh/rh-python3*/root/usr/lib/python3.*/site-packages/certifi/cacert.pem",
];

/// The OS release file that names the distribution (`ID`, `ID_LIKE`, `VERSION_ID`).
pub const OS_RELEASE: &[&str] = &["/etc/os-release", "/usr/lib/os-release"];

/// The Python version (`major.minor`) from a `pyvenv.cfg` (`version = 3.11.4`, or
/// `version_info = 3.11.4.final.0` in older virtualenvs).
pub fn python_from_pyvenv_cfg(text: &str) -> Option<String> {
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
