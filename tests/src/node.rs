//! A runnable image shaped like the Enterprise UI: a debootstrapped Debian bookworm with
//! Debian's `nodejs` (and `ca-certificates`), built once and cached under `target/fixtures/node`
//! as an OCI layout tagged `base` (one layer; `PATH` set, no `NODE_EXTRA_CA_CERTS`).

use std::path::PathBuf;

use serde_json::json;

use crate::{output, root, tool};

/// The OCI layout of the Node image (tag `base`), built on first use.
pub fn node_image() -> PathBuf {
    let dir = root().join("target/fixtures/node");
    let layout = dir.join("layout");
    let _lock = match crate::build_lock(&dir, &layout.join("index.json")) {
        Some(lock) => lock,
        None => return layout,
    };
    let rootfs = dir.join("rootfs");
    if !rootfs.join("usr/bin/node").exists() {
        let _ = std::fs::remove_dir_all(&rootfs);
        let mirror = crate::debian_mirror();
        output(
            tool("debootstrap", "debootstrap")
                .args([
                    "--variant=minbase",
                    "--include=ca-certificates,nodejs",
                    "bookworm",
                ])
                .arg(&rootfs)
                .arg(&mirror),
        );
    }
    let config = json!({
        "architecture": "amd64", "os": "linux", "created": "2024-03-01T00:00:00Z",
        "config": { "User": "1000", "WorkingDir": "/", "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"] },
        "history": [{ "created_by": "debootstrap bookworm with nodejs" }]
    });
    crate::realistic::pack(&dir, &rootfs, &layout, &[], config, "base");
    layout
}
