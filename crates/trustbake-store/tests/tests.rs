//! The engine on in-memory roots: what it writes for each layout, what it leaves alone, and
//! its laws.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod alpine;
mod bundle;
mod conda;
mod consumers;
mod debian;
mod distroless;
mod laws;
mod node;
mod pip;
mod remove;
mod rhel;
mod uid;

use std::path::PathBuf;

use trustbake_certs::{Certificate, read_bundle};
use trustbake_store::{Content, MemRoot, Meta, Options, Plan, RootView, formats};

const OPTIONS: Options = Options {
    mtime: 1_700_000_000,
    jks_timestamp_ms: None,
    include_vendored: false,
    env: trustbake_store::Env::new(),
    remove: Vec::new(),
    bundles: Vec::new(),
};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/cas")
        .join(name)
}

fn fixture(name: &str) -> Certificate {
    let bytes = std::fs::read(fixture_path(name)).unwrap();
    read_bundle(&bytes).certificates.remove(0)
}

/// A few of Mozilla's roots, as the base image's own content.
fn mozilla(n: usize) -> Vec<Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .take(n)
        .map(|d| Certificate::from_der(d.as_ref()).unwrap())
        .collect()
}

fn certifi_file(certs: &[Certificate]) -> Vec<u8> {
    let refs: Vec<&Certificate> = certs.iter().collect();
    formats::certifi_append(b"", &refs)
}

/// A certifi wheel installed in `site` with a RECORD, owned by 1000.
fn add_certifi(root: &mut MemRoot, site: &str, certs: &[Certificate]) {
    let cacert = certifi_file(certs);
    let user = Meta {
        mode: 0o644,
        uid: 1000,
        gid: 1000,
        mtime: 5,
    };
    root.file(
        &format!("{site}/certifi/__init__.py"),
        "from .core import contents, where\n",
        user,
    );
    root.file(
        &format!("{site}/certifi/core.py"),
        "def where():\n    return files('certifi') / 'cacert.pem'\n",
        user,
    );
    root.file(&format!("{site}/certifi/cacert.pem"), cacert.clone(), user);
    let record = format!(
        "certifi/__init__.py,sha256=x,10\n{}\ncertifi-2024.2.2.dist-info/RECORD,,\n",
        formats::record_line("certifi/cacert.pem", &cacert)
    );
    root.file(
        &format!("{site}/certifi-2024.2.2.dist-info/RECORD"),
        record,
        user,
    );
}

fn file<'a>(plan: &'a Plan, path: &str) -> &'a [u8] {
    match plan
        .items
        .iter()
        .find(|i| i.path == path)
        .map(|i| &i.content)
    {
        Some(Content::File(bytes)) => bytes,
        other => panic!(
            "{path}: expected a planned file, found {other:?}\nplanned: {:?}",
            plan.items.iter().map(|i| &i.path).collect::<Vec<_>>()
        ),
    }
}

fn shas(bytes: &[u8]) -> Vec<String> {
    read_bundle(bytes)
        .certificates
        .iter()
        .map(|c| c.sha256().hex())
        .collect()
}

fn read(root: &MemRoot, path: &str) -> Vec<u8> {
    root.read(path).unwrap()
}
