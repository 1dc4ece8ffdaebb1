//! Runnable images shaped like Iron Bank's (Registry1) Anchore builds, built once and cached
//! under `target/fixtures/ironbank`: `enterprise` (tag `5.23.0`) and `enterpriseui` (tag
//! `5.23.0`), from one debootstrapped root shaped like the realistic Enterprise image (see
//! [`crate::realistic`]: a RHEL-style ca-trust tree its own p11-kit extracted, the venv with
//! requests and certifi, user 1000) with Debian's `nodejs` added. What differs from the Docker
//! Hub-shaped fixtures, as `docs/ironbank.md` records (read in Iron Bank's and Big Bang's
//! published files, or inferred where marked there):
//!
//! - the hardened base already trusts a site CA through its anchors (Iron Bank's UBI bases carry
//!   the DoD roots; here a test root, "DoD Root CA 3 (trustbake test)", whose key issues a
//!   server certificate the tests serve), extracted into every output;
//! - labels from a hardening manifest (`org.opencontainers.image.*`, `mil.dso.ironbank.*`) and
//!   none of the Docker Hub fixtures' labels;
//! - the UI is its own image running `node` as user 1000, the same RHEL-style store beneath.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{output, root, tool};

/// The Iron Bank-shaped fixtures.
pub struct IronBank {
    /// The Enterprise image's OCI layout (tag `5.23.0`).
    pub enterprise: PathBuf,
    /// The UI image's OCI layout (tag `5.23.0`).
    pub ui: PathBuf,
    /// The site CA the base trusts through its anchors (PEM).
    pub site_root: PathBuf,
    /// A server certificate for `localhost` and 127.0.0.1 the site CA issued, and its key.
    pub site_leaf: (PathBuf, PathBuf),
}

/// The version the fixtures are tagged with.
pub const VERSION: &str = "5.23.0";

/// The Iron Bank-shaped images, built on first use.
pub fn ironbank_images() -> IronBank {
    let dir = root().join("target/fixtures/ironbank");
    let images = IronBank {
        enterprise: dir.join("enterprise"),
        ui: dir.join("enterpriseui"),
        site_root: dir.join("pki/site-root.pem"),
        site_leaf: (dir.join("pki/site-leaf.pem"), dir.join("pki/site-leaf.key")),
    };
    let _lock = match crate::build_lock(&dir, &images.ui.join("index.json")) {
        Some(lock) => lock,
        None => return images,
    };
    site_pki(&dir.join("pki"));
    let rootfs = dir.join("rootfs");
    if !rootfs.join("usr/bin/node").exists() {
        crate::realistic::build_rhel_shaped(&dir, &rootfs, &["nodejs"], &[&images.site_root]);
    }
    crate::realistic::pack(
        &dir,
        &rootfs,
        &images.enterprise,
        &["./home/anchore", "./etc/pki", "./usr/share/pki"],
        config(
            "enterprise",
            "Anchore Enterprise: SBOM-powered software supply chain security (API, catalog, analyzer, policy engine, queue, reports, notifications)",
            json!({ "User": "1000", "WorkingDir": "/home/anchore",
                    "Env": ["PATH=/home/anchore/venv/bin:/usr/local/bin:/usr/bin:/bin"] }),
        ),
        VERSION,
    );
    crate::realistic::pack(
        &dir,
        &rootfs,
        &images.ui,
        &["./etc/pki", "./usr/share/pki"],
        config(
            "enterpriseui",
            "Anchore Enterprise UI",
            json!({ "User": "1000", "WorkingDir": "/home/anchore",
                    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
                    "Cmd": ["node", "/home/anchore/aui/build/server.js"] }),
        ),
        VERSION,
    );
    images
}

/// An image config with the labels Iron Bank's pipeline sets from a hardening manifest.
fn config(title: &str, description: &str, mut container: Value) -> Value {
    container["Labels"] = json!({
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.licenses": "Anchore Enterprise License",
        "org.opencontainers.image.url": "https://anchore.com",
        "org.opencontainers.image.vendor": "Anchore",
        "org.opencontainers.image.version": VERSION,
        "org.opencontainers.image.created": "2025-12-01T00:00:00Z",
        "org.opencontainers.image.revision": "0000000000000000000000000000000000000000",
        "mil.dso.ironbank.image.keywords": "security,sbom,vulnerability,scanner",
        "mil.dso.ironbank.image.type": "commercial",
        "mil.dso.ironbank.product.name": "Anchore Enterprise",
        "mil.dso.ironbank.image.parent": "registry1.dso.mil/ironbank/redhat/ubi/ubi9:9.6",
    });
    json!({
        "architecture": "amd64", "os": "linux", "created": "2025-12-01T00:00:00Z",
        "config": container,
        "history": [
            { "created_by": "Iron Bank hardened UBI 9 base (DoD roots in /etc/pki/ca-trust/source/anchors)" },
            { "created_by": format!("Anchore {title} {VERSION} from the hardening manifest's resources") }
        ]
    })
}

/// The site CA (shaped like a DoD root) and a server certificate it issued, by `openssl`.
fn site_pki(dir: &Path) {
    if dir.join("site-leaf.pem").exists() {
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    let openssl = |args: &[&str]| output(tool("openssl", "openssl").current_dir(dir).args(args));
    crate::pki::self_signed_ec(
        dir,
        "site-root.key",
        "site-root.pem",
        "/C=US/O=U.S. Government/OU=DoD/OU=PKI/CN=DoD Root CA 3 (trustbake test)",
        3650,
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "site-leaf.key",
        "-out",
        "site-leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "site-leaf.csr",
        "-CA",
        "site-root.pem",
        "-CAkey",
        "site-root.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-extfile",
        "leaf.ext",
        "-out",
        "site-leaf.pem",
    ]);
}
