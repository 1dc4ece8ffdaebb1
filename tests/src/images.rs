//! Synthetic base images for the bake tests, built in Rust: an Anchore-Enterprise-5.1-shaped
//! UBI 9 image (real p11-kit outputs of Mozilla's roots, the RPM's static links, the Anchore
//! venv with a real certifi wheel owned by 1000, `/tmp` at 1777), in several layers with a
//! whiteout and an opaque directory, as an OCI layout — single-platform or a two-platform index.

use std::path::Path;

use serde_json::{Value, json};
use trustbake_image::{Digest, LayerEntry, build_layer};

use crate::synthetic::{d as dir, f as file, l as link};
use crate::{certifi_fixtures, output, p11_kit_extract, tool};

const CREATED: &str = "2024-03-01T12:00:00Z";

/// Every entry below `host/rel` as layer entries at `/rel/...` (root-owned, modes kept).
fn tree(host: &Path, rel: &str, out: &mut Vec<LayerEntry>) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(host.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let name = if rel.is_empty() {
            file_name
        } else {
            format!("{rel}/{file_name}")
        };
        let md = std::fs::symlink_metadata(entry.path()).unwrap();
        let mode = md.permissions().mode() & 0o7777;
        if md.file_type().is_symlink() {
            out.push(link(
                &format!("/{name}"),
                &std::fs::read_link(entry.path()).unwrap().to_string_lossy(),
            ));
        } else if md.is_dir() {
            out.push(dir(&format!("/{name}"), mode, 0));
            tree(host, &name, out);
        } else {
            out.push(file(
                &format!("/{name}"),
                std::fs::read(entry.path()).unwrap(),
                mode,
                0,
            ));
        }
    }
}

/// The layers of the Enterprise-5.1-shaped base, bottom first.
pub fn enterprise_layers(work: &Path) -> Vec<Vec<LayerEntry>> {
    // OS layer: p11-kit's outputs for Mozilla's roots.
    let work = work.join("p11-kit");
    let _ = std::fs::remove_dir_all(&work);
    let source = work.join("source/anchors");
    std::fs::create_dir_all(&source).unwrap();
    for (i, der) in webpki_roots().iter().enumerate() {
        std::fs::write(source.join(format!("r{i:03}.pem")), trustbake_pem(der)).unwrap();
    }
    let root = work.join("root");
    std::fs::create_dir_all(&root).unwrap();
    p11_kit_extract(&[&work.join("source")], &root);
    let mut os = vec![
        dir("/etc", 0o755, 0),
        file(
            "/etc/os-release",
            "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
            0o644,
            0,
        ),
        file("/etc/junk.conf", "removed by a later layer\n", 0o644, 0),
        dir("/tmp", 0o1777, 0),
        dir("/etc/pki", 0o755, 0),
        dir("/etc/pki/ca-trust", 0o755, 0),
        dir("/etc/pki/ca-trust/source", 0o755, 0),
        dir("/etc/pki/ca-trust/source/anchors", 0o755, 0),
        dir("/etc/pki/tls", 0o755, 0),
        dir("/etc/pki/tls/certs", 0o755, 0),
        link(
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        ),
        link(
            "/etc/pki/tls/certs/ca-bundle.trust.crt",
            "/etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
        ),
        link(
            "/etc/pki/tls/cert.pem",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        ),
        dir("/etc/ssl", 0o755, 0),
        link("/etc/ssl/certs", "/etc/pki/tls/certs"),
        dir("/opt", 0o755, 0),
        dir("/opt/old", 0o755, 0),
        file(
            "/opt/old/stale.txt",
            "hidden by an opaque directory\n",
            0o644,
            0,
        ),
        dir("/etc/pki/ca-trust/extracted", 0o755, 0),
    ];
    tree(&root, "etc/pki/ca-trust/extracted", &mut os);
    // Python layer: the Anchore venv with a real certifi wheel, owned by 1000.
    let (_, cacert) = certifi_fixtures()
        .into_iter()
        .find(|(v, _)| v == "2024.2.2")
        .expect("certifi 2024.2.2 fixture");
    let site = "/home/anchore/venv/lib/python3.11/site-packages";
    let wheel_dir = cacert.parent().unwrap().to_path_buf();
    let unpacked = work.join("wheel");
    std::fs::create_dir_all(&unpacked).unwrap();
    let wheel = std::fs::read_dir(&wheel_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .unwrap();
    output(
        tool("python3", "python3")
            .args([
                "-c",
                "import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
            ])
            .arg(&wheel)
            .arg(&unpacked),
    );
    let mut python = vec![
        dir("/home", 0o755, 0),
        dir("/home/anchore", 0o755, 1000),
        dir("/home/anchore/venv", 0o755, 1000),
        file(
            "/home/anchore/venv/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n",
            0o644,
            1000,
        ),
        dir("/home/anchore/venv/lib", 0o755, 1000),
        dir("/home/anchore/venv/lib/python3.11", 0o755, 1000),
        dir(site, 0o755, 1000),
    ];
    let mut wheel_entries = Vec::new();
    tree(&unpacked, "", &mut wheel_entries);
    for mut e in wheel_entries {
        e.path = format!("{site}{}", e.path);
        e.uid = 1000;
        e.gid = 1000;
        python.push(e);
    }
    // Cleanup layer: a whiteout and an opaque directory.
    let cleanup = vec![
        file("/etc/.wh.junk.conf", "", 0o644, 0),
        dir("/opt/old", 0o755, 0),
        file("/opt/old/.wh..wh..opq", "", 0o644, 0),
        file("/opt/old/new.txt", "the only file left here\n", 0o644, 0),
    ];
    vec![os, python, cleanup]
}

fn webpki_roots() -> Vec<Vec<u8>> {
    let bundle =
        std::fs::read(crate::root().join("target/fixtures/certifi/2024.2.2/cacert.pem")).unwrap();
    let mut out = Vec::new();
    for block in String::from_utf8_lossy(&bundle)
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .take(40)
    {
        let body: String = block.split("-----END").next().unwrap().lines().collect();
        out.push(body.into_bytes());
    }
    out
}

fn trustbake_pem(base64_body: &[u8]) -> String {
    let body = String::from_utf8_lossy(base64_body);
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (Digest, usize) {
    let digest = Digest::of(bytes);
    std::fs::write(layout.join("blobs/sha256").join(digest.hex()), bytes).unwrap();
    (digest, bytes.len())
}

/// Writes an OCI layout at `layout` holding the Enterprise-shaped image tagged `tag`; with
/// `platforms` > 1, a multi-platform index (amd64, arm64).
pub fn enterprise_layout(layout: &Path, tag: &str, platforms: usize) {
    crate::empty_layout(layout);
    let build = layout.with_file_name(format!(
        "{}.build",
        layout.file_name().unwrap().to_string_lossy()
    ));
    let layers: Vec<_> = enterprise_layers(&build)
        .iter()
        .map(|l| {
            crate::synthetic::no_repeated_path(l);
            build_layer(l).unwrap()
        })
        .collect();
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"].iter().take(platforms.max(1)) {
        let config = json!({
            "architecture": arch,
            "os": "linux",
            "created": CREATED,
            "config": {
                "User": "1000",
                "Env": ["PATH=/home/anchore/venv/bin:/usr/bin"],
                "Entrypoint": ["/docker-entrypoint.sh"],
                "Labels": { "name": "anchore-enterprise", "version": "5.1.0" },
                "Healthcheck": { "Test": ["CMD", "true"], "Interval": 30_000_000_000u64 },
                "OnBuild": ["RUN echo never"],
                "Shell": ["/bin/bash", "-c"]
            },
            "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>() },
            "history": [
                { "created": CREATED, "created_by": "os layer" },
                { "created": CREATED, "created_by": "ENV PATH", "empty_layer": true },
                { "created": CREATED, "created_by": "python layer" },
                { "created": CREATED, "created_by": "cleanup layer" }
            ],
            "x-vendor-field": { "kept": true }
        });
        let (config_digest, config_size) = put_blob(layout, &serde_json::to_vec(&config).unwrap());
        let layer_descs: Vec<Value> = layers
            .iter()
            .map(|l| {
                put_blob(layout, &l.blob);
                json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l.digest.to_string(), "size": l.blob.len() })
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config_size },
            "layers": layer_descs,
            "annotations": { "org.opencontainers.image.title": "anchore enterprise (test)" }
        });
        let (digest, size) = put_blob(layout, &serde_json::to_vec(&manifest).unwrap());
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest.to_string(), "size": size,
            "platform": { "architecture": arch, "os": "linux" }
        }));
    }
    let top = if platforms > 1 {
        let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests, "annotations": { "org.example.index": "kept" } });
        let (digest, size) = put_blob(layout, &serde_json::to_vec(&index).unwrap());
        json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest.to_string(), "size": size, "annotations": { "org.opencontainers.image.ref.name": tag } })
    } else {
        let mut m = manifests.remove(0);
        m.as_object_mut().unwrap().insert(
            "annotations".into(),
            json!({ "org.opencontainers.image.ref.name": tag }),
        );
        m
    };
    let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [top] });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}
