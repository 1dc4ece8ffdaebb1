//! A realistic, runnable base image shaped like Anchore Enterprise 5.1, built once and cached
//! under `target/fixtures/realistic`: a debootstrapped Debian bookworm (python3, curl, openssl,
//! p11-kit) with `/home/anchore/venv` holding `requests` and certifi from real wheels (owned
//! 1000:1000), a RHEL-style ca-trust tree whose extracted outputs the image's own p11-kit made
//! (its trust module reads `/etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source`), the
//! RPM's static links, an `update-ca-trust` running the EL9 `trust extract` commands, and user
//! 1000. Two layers, packed by GNU tar.

use std::path::{Path, PathBuf};

use serde_json::json;
use trustbake_image::Digest;

use crate::{output, root, tool};

/// The EL9 `update-ca-trust extract`, as a script inside the image.
const UPDATE_CA_TRUST: &str = r#"#!/bin/sh
# update-ca-trust (EL9 commands): regenerate /etc/pki/ca-trust/extracted from
# /usr/share/pki/ca-trust-source and /etc/pki/ca-trust/source with p11-kit.
set -e
D=/etc/pki/ca-trust/extracted
mkdir -p $D/pem $D/openssl $D/java $D/edk2
trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose server-auth $D/pem/tls-ca-bundle.pem
trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose email $D/pem/email-ca-bundle.pem
trust extract --format=pem-bundle --filter=ca-anchors --overwrite --comment --purpose code-signing $D/pem/objsign-ca-bundle.pem
trust extract --format=java-cacerts --filter=ca-anchors --overwrite --purpose server-auth $D/java/cacerts
trust extract --format=openssl-bundle --filter=certificates --overwrite --comment $D/openssl/ca-bundle.trust.crt
trust extract --format=edk2-cacerts --filter=ca-anchors --overwrite --purpose=server-auth $D/edk2/cacerts.bin
trust extract --format=pem-directory-hash --filter=ca-anchors --overwrite --purpose server-auth $D/pem/directory-hash
"#;

/// The OCI layout of the realistic image (tag `5.1.0`), built on first use.
pub fn realistic_enterprise() -> PathBuf {
    let dir = root().join("target/fixtures/realistic");
    let layout = dir.join("layout");
    let _lock = match crate::build_lock(&dir, &layout.join("index.json")) {
        Some(lock) => lock,
        None => return layout,
    };
    let rootfs = dir.join("rootfs");
    if !rootfs.join("home/anchore/venv/bin/python").exists() {
        build_rootfs(&dir, &rootfs);
    }
    let config = json!({
        "architecture": "amd64", "os": "linux", "created": "2024-03-01T00:00:00Z",
        "config": { "User": "1000", "WorkingDir": "/home/anchore", "Env": ["PATH=/home/anchore/venv/bin:/usr/local/bin:/usr/bin:/bin"] },
        "history": [{ "created_by": "debootstrap bookworm" }, { "created_by": "anchore venv and ca-trust" }]
    });
    pack(
        &dir,
        &rootfs,
        &layout,
        &["./home/anchore", "./etc/pki", "./usr/share/pki"],
        config,
        "5.1.0",
    );
    layout
}

fn build_rootfs(dir: &Path, rootfs: &Path) {
    build_rhel_shaped(dir, rootfs, &[], &[]);
}

/// The realistic root file system in `rootfs` (see the module's documentation), with Debian's
/// `packages` added and the certificates `anchors` (PEM files) in
/// `/etc/pki/ca-trust/source/anchors/` before the image's `update-ca-trust` runs.
pub(crate) fn build_rhel_shaped(dir: &Path, rootfs: &Path, packages: &[&str], anchors: &[&Path]) {
    let _ = std::fs::remove_dir_all(rootfs);
    std::fs::create_dir_all(dir).unwrap();
    let mirror = crate::debian_mirror();
    let include = ["ca-certificates,python3,python3-venv,curl,openssl,p11-kit,p11-kit-modules"]
        .iter()
        .chain(packages)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    output(
        tool("debootstrap", "debootstrap")
            .args([
                "--variant=minbase",
                &format!("--include={include}"),
                "bookworm",
            ])
            .arg(rootfs)
            .arg(&mirror),
    );
    // The venv with requests and certifi from real wheels (fetched once from the package index).
    let wheels = dir.join("wheels");
    if !wheels.is_dir() {
        output(
            tool("python3", "python3 python3-pip")
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--only-binary=:all:",
                    "--python-version",
                    "3.11",
                    "--dest",
                ])
                .arg(&wheels)
                .args(["requests==2.31.0", "certifi==2024.2.2"]),
        );
    }
    output(
        tool("cp", "coreutils")
            .arg("-r")
            .arg(&wheels)
            .arg(rootfs.join("tmp/wheels")),
    );
    let chroot = |args: &[&str]| {
        output(
            tool("chroot", "coreutils")
                .arg(rootfs)
                .args(args)
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        )
    };
    chroot(&["python3", "-m", "venv", "/home/anchore/venv"]);
    chroot(&[
        "/home/anchore/venv/bin/pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        "/tmp/wheels",
        "requests",
        "certifi==2024.2.2",
    ]);
    std::fs::remove_dir_all(rootfs.join("tmp/wheels")).unwrap();
    // User 1000.
    let append = |file: &str, line: &str| {
        let path = rootfs.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(path, text).unwrap();
    };
    append(
        "etc/passwd",
        "anchore:x:1000:1000:anchore:/home/anchore:/bin/bash\n",
    );
    append("etc/group", "anchore:x:1000:\n");
    output(
        tool("chown", "coreutils")
            .args(["-R", "1000:1000"])
            .arg(rootfs.join("home/anchore")),
    );
    // The RHEL-style trust tree: Mozilla's roots as the shipped source, an empty anchors dir.
    let source = rootfs.join("usr/share/pki/ca-trust-source/anchors");
    std::fs::create_dir_all(&source).unwrap();
    for entry in std::fs::read_dir(rootfs.join("usr/share/ca-certificates/mozilla")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), source.join(entry.file_name())).unwrap();
    }
    let local = rootfs.join("etc/pki/ca-trust/source/anchors");
    std::fs::create_dir_all(&local).unwrap();
    for anchor in anchors {
        std::fs::copy(anchor, local.join(anchor.file_name().unwrap())).unwrap();
    }
    let module = rootfs.join("usr/share/p11-kit/modules/p11-kit-trust.module");
    let text = std::fs::read_to_string(&module).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("x-init-reserved:") {
                "x-init-reserved: paths=/etc/pki/ca-trust/source:/usr/share/pki/ca-trust-source"
                    .to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&module, text + "\n").unwrap();
    let script = rootfs.join("usr/bin/update-ca-trust");
    std::fs::write(&script, UPDATE_CA_TRUST).unwrap();
    output(tool("chmod", "coreutils").arg("0755").arg(&script));
    chroot(&["/usr/bin/update-ca-trust"]);
    for file in [
        "tls-ca-bundle.pem",
        "email-ca-bundle.pem",
        "objsign-ca-bundle.pem",
    ] {
        output(
            tool("chmod", "coreutils")
                .arg("0444")
                .arg(rootfs.join("etc/pki/ca-trust/extracted/pem").join(file)),
        );
    }
    // The RPM's static links; /etc/ssl/certs into /etc/pki as on RHEL, so curl and openssl
    // (which read /etc/ssl/certs/ca-certificates.crt on Debian) use the RHEL store.
    let certs = rootfs.join("etc/pki/tls/certs");
    std::fs::create_dir_all(&certs).unwrap();
    let link = |target: &str, at: &Path| std::os::unix::fs::symlink(target, at).unwrap();
    const PEM: &str = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem";
    link(PEM, &certs.join("ca-bundle.crt"));
    link(PEM, &certs.join("ca-certificates.crt"));
    link(
        "/etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
        &certs.join("ca-bundle.trust.crt"),
    );
    link(PEM, &rootfs.join("etc/pki/tls/cert.pem"));
    std::fs::remove_dir_all(rootfs.join("etc/ssl/certs")).unwrap();
    link("/etc/pki/tls/certs", &rootfs.join("etc/ssl/certs"));
}

/// Packs `rootfs` into an OCI layout with GNU tar, tagged `tag`: one layer of everything but
/// `app` (and `/dev`, `/proc`, `/sys`), then — when `app` names paths — one layer of those.
/// `config` is the image config without `rootfs`, which is filled in.
pub fn pack(
    dir: &Path,
    rootfs: &Path,
    layout: &Path,
    app: &[&str],
    mut config: serde_json::Value,
    tag: &str,
) {
    crate::empty_layout(layout);
    let names: &[&str] = if app.is_empty() {
        &["os"]
    } else {
        &["os", "app"]
    };
    let mut layers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let tar = dir.join(format!("{name}.tar"));
        let mut cmd = tool("tar", "tar");
        cmd.args(["--sort=name", "--numeric-owner", "--xattrs", "-C"])
            .arg(rootfs)
            .arg("-cf")
            .arg(&tar);
        if i == 0 {
            for path in app.iter().chain(&["./dev/*", "./proc/*", "./sys/*"]) {
                cmd.arg(format!("--exclude={path}"));
            }
            cmd.arg(".");
        } else {
            cmd.args(app);
        }
        output(&mut cmd);
        let bytes = std::fs::read(&tar).unwrap();
        let diff_id = Digest::of(&bytes);
        output(tool("gzip", "gzip").args(["-n", "-6", "-f"]).arg(&tar));
        let gz = std::fs::read(dir.join(format!("{name}.tar.gz"))).unwrap();
        let digest = Digest::of(&gz);
        std::fs::write(layout.join("blobs/sha256").join(digest.hex()), &gz).unwrap();
        std::fs::remove_file(dir.join(format!("{name}.tar.gz"))).unwrap();
        layers.push((digest, gz.len(), diff_id));
    }
    let put = |bytes: Vec<u8>| {
        let d = Digest::of(&bytes);
        std::fs::write(layout.join("blobs/sha256").join(d.hex()), &bytes).unwrap();
        (d, bytes.len())
    };
    config["rootfs"] = json!({ "type": "layers", "diff_ids": layers.iter().map(|l| l.2.to_string()).collect::<Vec<_>>() });
    let (cd, cs) = put(serde_json::to_vec(&config).unwrap());
    let manifest = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs },
        "layers": layers.iter().map(|(d, s, _)| json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d.to_string(), "size": s })).collect::<Vec<_>>() });
    let (md, ms) = put(serde_json::to_vec(&manifest).unwrap());
    let index = json!({ "schemaVersion": 2, "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": ms, "annotations": { "org.opencontainers.image.ref.name": tag } }] });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}
