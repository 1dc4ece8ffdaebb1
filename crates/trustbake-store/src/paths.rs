//! Every path the engine knows, in one place: the stores of each OS family (defined in the
//! family's module, named here too), where certifi is searched for, and — for a caller that must choose which file bodies to keep before the
//! engine runs (an image scan) — [`reads`], the paths whose content the engine may read.

/// The largest file the engine reads (a bundle of every public root is a quarter of a
/// megabyte; Java's keystore a few hundred kilobytes).
pub const MAX_READ: u64 = 16 * 1024 * 1024;

/// The OS release files, first found wins.
pub const OS_RELEASE: &[&str] = &["/etc/os-release", "/usr/lib/os-release"];

pub use crate::family::alpine::{
    ALPINE_BUNDLE, ALPINE_CERT_PEM, ALPINE_CERTHASH, ALPINE_CERTS, ALPINE_CONF, ALPINE_JAVA,
    ALPINE_LOCAL, ALPINE_SHARE, APK_INSTALLED,
};
pub use crate::family::debian::{
    DEBIAN_BUNDLE, DEBIAN_CERTS, DEBIAN_CONF, DEBIAN_JAVA, DEBIAN_LOCAL, DEBIAN_SHARE,
};
pub use crate::family::distroless::{DISTROLESS_BUNDLE, DISTROLESS_JAVA, DISTROLESS_STATUS_D};
pub use crate::family::rhel::{
    RHEL_ANCHORS, RHEL_BLACKLIST, RHEL_BLOCKLIST, RHEL_DIRECTORY_HASH, RHEL_EXTRACTED,
    RHEL_TLS_CERTS,
};
pub use crate::family::suse::{
    SUSE_ANCHORS, SUSE_BLACKLIST, SUSE_BLOCKLIST, SUSE_OPENSSL, SUSE_OUTPUTS, SUSE_PEM, SUSE_SHARE,
    SUSE_STATE,
};

/// Node.js: the file trustbake writes the added CAs to and names in `NODE_EXTRA_CA_CERTS`,
/// when the image does not name one already.
pub const NODE_EXTRA_CA_CERTS: &str = "/etc/trustbake/node-extra-ca-certs.pem";

/// The virtualenv of Anchore Enterprise 4.5 and later; its `pyvenv.cfg` names the Python.
pub const ANCHORE_VENV_CFG: &str = "/home/anchore/venv/pyvenv.cfg";

/// Where certifi is searched for, most specific first: virtualenvs whose `lib/python*/`
/// holds `site-packages` (Anchore's own first: it is what the services import), then the
/// interpreters' prefixes (`site-packages` and Debian's `dist-packages`), then any
/// `site-packages`/`dist-packages` below [`CertifiSearch::walk`] (SCL, other venvs), then
/// every top-level directory holding a `pyvenv.cfg`.
#[derive(Debug)]
pub struct CertifiSearch {
    /// Virtualenvs, searched first.
    pub venvs: &'static [&'static str],
    /// Interpreter prefixes' `lib` directories.
    pub prefixes: &'static [&'static str],
    /// Trees walked for package directories, to this depth.
    pub walk: &'static [&'static str],
    /// How deep the walk goes.
    pub walk_depth: usize,
    /// Package directories, relative to a `site-packages`: the package, and whether it is
    /// pip's vendored copy.
    pub packages: &'static [(&'static str, bool)],
}

/// The one certifi search list.
pub const CERTIFI_SEARCH: CertifiSearch = CertifiSearch {
    venvs: &["/home/anchore/venv", "/anchore-cli"],
    prefixes: &[
        "/usr/local/lib",
        "/usr/local/lib64",
        "/usr/lib",
        "/usr/lib64",
    ],
    walk: &["/opt", "/home"],
    walk_depth: 8,
    packages: &[("certifi", false), ("pip/_vendor/certifi", true)],
};

/// Whether the engine may read the content of the file at `path` (absolute, inside the root):
/// the trust stores under `/etc` and SUSE's `/var/lib/ca-certificates`, the CA source
/// directories, the OS release, every Java runtime's `lib/security/cacerts` and conda prefix's
/// `ssl/cacert.pem`, and certifi's
/// files with the Python metadata around them (`core.py`, `pyvenv.cfg`, a wheel's `RECORD`).
/// A scan that keeps these bodies gives the engine all it reads.
pub fn reads(path: &str) -> bool {
    path.starts_with("/etc/")
        || path.starts_with(&format!("{DEBIAN_SHARE}/"))
        || path.starts_with(&format!("{DEBIAN_LOCAL}/"))
        || path.starts_with(&format!("{SUSE_STATE}/"))
        || path.starts_with(&format!("{SUSE_SHARE}/"))
        || OS_RELEASE.contains(&path)
        || path.ends_with("/lib/security/cacerts")
        || path.ends_with("/ssl/cacert.pem")
        || path.ends_with("/certifi/cacert.pem")
        || path.ends_with("/certifi/core.py")
        || path.ends_with("/pyvenv.cfg")
        || (path.ends_with("/RECORD") && path.contains(".dist-info/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_reads_every_store_path_it_names() {
        for path in [
            RHEL_ANCHORS,
            RHEL_DIRECTORY_HASH,
            DEBIAN_BUNDLE,
            DEBIAN_JAVA,
            DEBIAN_CONF,
            ALPINE_BUNDLE,
            ALPINE_CERT_PEM,
            ALPINE_CONF,
            ALPINE_LOCAL,
            ALPINE_SHARE,
            SUSE_ANCHORS,
            SUSE_PEM,
            SUSE_OPENSSL,
            SUSE_SHARE,
            ANCHORE_VENV_CFG,
            NODE_EXTRA_CA_CERTS,
        ] {
            assert!(reads(&format!("{path}/x")) || reads(path), "{path}");
        }
        for kind in crate::kind::StoreKind::RHEL_OUTPUTS
            .iter()
            .chain(SUSE_OUTPUTS)
        {
            assert!(reads(kind.0), "{}", kind.0);
        }
        assert!(reads(
            "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem"
        ));
        assert!(reads(
            "/usr/lib/python3.6/site-packages/certifi-2018.4.16.dist-info/RECORD"
        ));
        assert!(reads("/usr/lib/os-release"));
        assert!(!reads("/usr/bin/python3"));
        assert!(!reads(
            "/home/anchore/venv/lib/python3.11/site-packages/yaml/RECORD"
        ));
    }
}
