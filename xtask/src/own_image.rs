//! `cargo xtask image` (without a recipe name): trustbake's own image, built without a daemon —
//! the static (musl) binary, Mozilla's roots as the CA bundle registries are verified with, an
//! unprivileged user (65532), no shell — written as an OCI layout in `target/image/trustbake`,
//! tagged with the version. Given the binary, every byte is fixed: sorted tar entries, pinned
//! gzip, times from `SOURCE_DATE_EPOCH` (else 0); the binary is built with its paths remapped.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::json;
use trustbake_image::{Descriptor, Digest, LayerEntry, LayerEntryKind, build_layer};

use crate::util::{root, run as run_cmd};

/// The target the binary is built for: static, no libc in the image.
const TARGET: &str = "x86_64-unknown-linux-musl";

/// The unprivileged user the image runs as (distroless' `nonroot`).
const USER: u32 = 65532;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let binary = match args.iter().position(|a| a == "--binary") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--binary needs a path")?),
        None => build_binary()?,
    };
    let layout = root().join("target/image/trustbake");
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let digest = write_image(&binary, &layout, env!("CARGO_PKG_VERSION"), epoch)?;
    println!(
        "wrote oci:{}:{} {digest}",
        layout.display(),
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}

/// `cargo build --release` of the CLI for [`TARGET`], paths remapped; the binary's path.
pub(crate) fn build_binary() -> Result<PathBuf> {
    let root = root();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let rustflags = format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/trustbake --remap-path-prefix={}=/cargo",
        root.display(),
        cargo_home.display()
    );
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .env("RUSTFLAGS", rustflags)
            .args(["build", "--quiet", "--release", "--locked", "--target", TARGET])
            .args(["--package", "trustbake-cli"]),
    )
    .with_context(|| {
        format!("building the static binary (needs: rustup target add {TARGET}; apt-get install -y musl-tools)")
    })?;
    Ok(root.join("target").join(TARGET).join("release/trustbake"))
}

/// Mozilla's roots as one PEM bundle.
fn mozilla_bundle() -> Vec<u8> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| trustbake_certs::render_pem("CERTIFICATE", c.as_ref()))
        .collect::<String>()
        .into_bytes()
}

/// Writes the image of `binary` as an OCI layout at `layout` tagged `tag`; returns the manifest
/// digest.
pub(crate) fn write_image(binary: &Path, layout: &Path, tag: &str, epoch: i64) -> Result<String> {
    let bin = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let dir = |path: &str, mode: u32, owner: u32| LayerEntry {
        path: path.into(),
        kind: LayerEntryKind::Dir,
        mode,
        uid: owner,
        gid: owner,
        mtime: epoch,
    };
    let file = |path: &str, body: Vec<u8>, mode: u32| LayerEntry::file(path, body, mode, epoch);
    let entries = vec![
        dir("/etc", 0o755, 0),
        dir("/etc/ssl", 0o755, 0),
        dir("/etc/ssl/certs", 0o755, 0),
        file("/etc/ssl/certs/ca-certificates.crt", mozilla_bundle(), 0o644),
        file(
            "/etc/passwd",
            format!("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:{USER}:{USER}:nonroot:/home/nonroot:/sbin/nologin\n").into_bytes(),
            0o644,
        ),
        file(
            "/etc/group",
            format!("root:x:0:\nnonroot:x:{USER}:\n").into_bytes(),
            0o644,
        ),
        dir("/home", 0o755, 0),
        dir("/home/nonroot", 0o700, USER),
        dir("/tmp", 0o1777, 0),
        dir("/usr", 0o755, 0),
        dir("/usr/local", 0o755, 0),
        dir("/usr/local/bin", 0o755, 0),
        file("/usr/local/bin/trustbake", bin, 0o755),
    ];
    let layer = build_layer(&entries)?;
    let created = trustbake_certs::format_timestamp(epoch);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "User": format!("{USER}:{USER}"),
            "Env": [
                "PATH=/usr/local/bin",
                "HOME=/home/nonroot",
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            ],
            "Entrypoint": ["/usr/local/bin/trustbake"],
            "Cmd": ["--help"],
            "WorkingDir": "/home/nonroot",
            "Labels": {
                "org.opencontainers.image.title": "trustbake",
                "org.opencontainers.image.version": tag,
                "org.opencontainers.image.source": "https://github.com/trustbake/trustbake",
                "org.opencontainers.image.licenses": "Apache-2.0 OR MIT",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
        "history": [{"created": created, "created_by": "cargo xtask image: the static trustbake binary, Mozilla's roots, user 65532"}],
    }))?;
    let config_descriptor = Descriptor::of("application/vnd.oci.image.config.v1+json", &config);
    let layer_descriptor =
        Descriptor::of("application/vnd.oci.image.layer.v1.tar+gzip", &layer.blob);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_descriptor,
        "layers": [layer_descriptor],
    }))?;
    let manifest_digest = Digest::of(&manifest);
    let _ = std::fs::remove_dir_all(layout);
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for bytes in [&layer.blob, &config, &manifest] {
        let hex = Digest::of(bytes).to_string();
        std::fs::write(blobs.join(hex.trim_start_matches("sha256:")), bytes)?;
    }
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest.to_string(),
                "size": manifest.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        }))?,
    )?;
    Ok(manifest_digest.to_string())
}
