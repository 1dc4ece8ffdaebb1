//! SUSE-shaped roots whose outputs the real p11-kit makes, with the very commands of
//! openSUSE/ca-certificates' hooks (`certbundle.run`, `java.run`, `openssl.run`, `etc_ssl.run`)
//! over the packaged anchors (`/usr/share/pki/trust/anchors`) and the administrator's
//! (`/etc/pki/trust/anchors`, `/etc/pki/trust/blocklist`).

use std::os::unix::fs::symlink;
use std::path::Path;

use trustbake_certs::render_pem;

use crate::p11_kit_run;

/// `certbundle.run`'s header, as the hook writes it when run as
/// `/usr/lib/ca-certificates/update.d/99certbundle.run`.
pub const BUNDLE_HEADER: &str = "#\n# automatically created by /usr/lib/ca-certificates/update.d/99certbundle.run. Do not edit!\n#\n# Use of this file is deprecated and should only be used as last\n# resort by applications that do not support p11-kit or reading /etc/ssl/certs.\n# You should avoid hardcoding any paths in applications anyways though. Use\n# functions that know the operating system defaults instead:\n#\n# - openssl: SSL_CTX_set_default_verify_paths()\n# - gnutls: gnutls_certificate_set_x509_system_trust(cred)\n#\n";

/// A SUSE root at `root` with the first `n` of Mozilla's roots packaged, and its outputs.
pub fn suse_root(root: &Path, n: usize) {
    let put = |path: &str, bytes: &[u8]| {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    };
    put(
        "etc/os-release",
        b"NAME=\"SLES\"\nVERSION_ID=\"15.6\"\nID=\"sles\"\nID_LIKE=\"suse\"\n",
    );
    for (i, der) in webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .take(n)
        .enumerate()
    {
        put(
            &format!("usr/share/pki/trust/anchors/mozilla-{i:03}.pem"),
            render_pem("CERTIFICATE", der.as_ref()).as_bytes(),
        );
    }
    for dir in [
        "etc/pki/trust/anchors",
        "etc/pki/trust/blocklist",
        "var/lib/ca-certificates",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    extract(
        root,
        &[
            &root.join("usr/share/pki/trust"),
            &root.join("etc/pki/trust"),
        ],
        root,
    );
    symlink(
        "../../var/lib/ca-certificates/pem",
        root.join("etc/ssl/certs"),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", root.join("etc/ssl/certs").display()));
    symlink(
        "../../var/lib/ca-certificates/ca-bundle.pem",
        root.join("etc/ssl/ca-bundle.pem"),
    )
    .unwrap();
}

/// SUSE's hooks' `trust extract` calls over `sources`, into `out`'s `/var/lib/ca-certificates`.
pub fn extract(out: &Path, sources: &[&Path], work_beside: &Path) {
    let state = out.join("var/lib/ca-certificates");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(out.join("etc/ssl")).unwrap();
    let s = state.display();
    p11_kit_run(
        sources,
        &work_beside.with_extension("p11-kit"),
        &format!(
            "trust extract --format=java-cacerts --purpose=server-auth --filter=ca-anchors --overwrite {s}/java-cacerts\n\
             trust extract --format=openssl-directory --filter=ca-anchors --overwrite {s}/openssl\n\
             trust extract --purpose=server-auth --filter=ca-anchors --format=pem-directory-hash -f {s}/pem\n\
             trust extract --format=pem-bundle --purpose=server-auth --filter=ca-anchors --overwrite {s}/ca-bundle.pem.tmp\n\
             printf '%s' '{header}' | cat - {s}/ca-bundle.pem.tmp > {s}/ca-bundle.pem\n\
             rm -f {s}/ca-bundle.pem.tmp\n",
            header = BUNDLE_HEADER,
        ),
    );
}
