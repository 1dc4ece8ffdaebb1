//! Benchmark images, cached under `target/bench/images`: the realistic Enterprise-shaped image
//! grown with extra layers of real, compressible content (copies of its own `/usr`: Python's
//! standard library, shared libraries, documentation) to about 256 MiB, 1 GiB and 2 GiB
//! uncompressed, and a variant with many small layers.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trustbake_image::Digest;

use crate::realistic::realistic_enterprise;
use crate::{output, root, tool};

/// A benchmark image: `256m`, `1g`, `2g` or `many` (24+ small layers).
pub fn bench_image(size: &str) -> PathBuf {
    let target: u64 = match size {
        "256m" => 256 << 20,
        "1g" => 1 << 30,
        "2g" => 2 << 30,
        "many" => 0,
        other => panic!("unknown benchmark size {other}: use 256m, 1g, 2g or many"),
    };
    let layout = root().join("target/bench/images").join(size);
    if layout.join("index.json").is_file() {
        return layout;
    }
    let base = realistic_enterprise();
    let rootfs = root().join("target/fixtures/realistic/rootfs");
    let work = root()
        .join("target/bench/images")
        .join(format!("{size}.build"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let _ = std::fs::remove_dir_all(&layout);
    output(tool("cp", "coreutils").arg("-al").arg(&base).arg(&layout));
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(blob(&manifest_digest)).unwrap()).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(blob(&config_digest)).unwrap()).unwrap();
    let mut uncompressed: u64 = 0;
    for l in manifest["layers"].as_array().unwrap() {
        uncompressed += gunzipped_size(&blob(l["digest"].as_str().unwrap()));
    }
    let mut n = 0;
    let mut add = |sources: &[&str], n: usize| -> u64 {
        let tar = work.join(format!("bulk-{n}.tar"));
        let mut cmd = tool("tar", "tar");
        cmd.args(["--sort=name", "--numeric-owner", "-C"])
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar);
        cmd.arg(format!("--transform=s,^usr,opt/bulk/{n},"));
        cmd.args(sources);
        output(&mut cmd);
        let bytes = std::fs::read(&tar).unwrap();
        let diff_id = Digest::of(&bytes);
        let size = bytes.len() as u64;
        drop(bytes);
        output(tool("pigz", "pigz").args(["-n", "-6", "-f"]).arg(&tar));
        let gz_path = work.join(format!("bulk-{n}.tar.gz"));
        let gz = std::fs::read(&gz_path).unwrap();
        let digest = Digest::of(&gz);
        std::fs::rename(&gz_path, blob(&digest.to_string())).unwrap();
        manifest["layers"].as_array_mut().unwrap().push(json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest.to_string(), "size": gz.len() }));
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .unwrap()
            .push(Value::String(diff_id.to_string()));
        config["history"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "created_by": format!("bulk layer {n}") }));
        size
    };
    if size == "many" {
        let dirs = [
            "usr/lib/python3.11",
            "usr/share/doc",
            "usr/share/locale",
            "usr/lib/x86_64-linux-gnu",
            "usr/share/zoneinfo",
            "usr/share/perl5",
            "usr/bin",
            "usr/sbin",
        ];
        for i in 0..24 {
            add(&[dirs[i % dirs.len()]], i);
        }
    } else {
        while uncompressed < target {
            uncompressed += add(&["usr"], n);
            n += 1;
        }
    }
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let cd = Digest::of(&config_bytes);
    std::fs::write(blob(&cd.to_string()), &config_bytes).unwrap();
    manifest["config"]["digest"] = Value::String(cd.to_string());
    manifest["config"]["size"] = json!(config_bytes.len());
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let md = Digest::of(&manifest_bytes);
    std::fs::write(blob(&md.to_string()), &manifest_bytes).unwrap();
    let index = json!({ "schemaVersion": 2, "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": manifest_bytes.len(), "annotations": { "org.opencontainers.image.ref.name": "bench" } }] });
    let _ = std::fs::remove_file(layout.join("index.json"));
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&work);
    layout
}

fn gunzipped_size(path: &Path) -> u64 {
    let out = output(
        tool("sh", "dash")
            .arg("-c")
            .arg("gzip -dc \"$1\" | wc -c")
            .arg("sh")
            .arg(path),
    );
    out.trim().parse().unwrap_or(0)
}
