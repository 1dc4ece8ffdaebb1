//! The hostile catalogue: images, archives, destinations, roots and CA inputs built here to
//! break trustbake, one test per class. Each asserts the exit status, one `error:` line (then
//! only `hint:` lines), nothing written outside the destination, the input's bytes unchanged,
//! and peak memory where memory is the attack.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::synthetic::{layers as line_layers, write_layout};
use tests::{fixture, output, root, scratch, tool};
use trustbake_image::{Digest, LayerEntry, LayerEntryKind, build_layer};
use trustbake_targets::{Product, ReleaseLine, VersionMap};

// ---- helpers --------------------------------------------------------------------------------

fn trustbake() -> Command {
    let bin = root().join("target/debug/trustbake");
    assert!(
        bin.is_file(),
        "{} is missing; build it with: cargo build -p trustbake-cli",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn ca() -> String {
    fixture("demo-root.pem").display().to_string()
}

/// Runs trustbake with `args` under GNU time; returns the output and the peak RSS in MiB.
fn run(args: &[&str]) -> (Output, u64) {
    let _ = tool("time", "time");
    let bin = root().join("target/debug/trustbake");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("trustbake-peak-rss-kib=%M")
        .arg(bin)
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("trustbake-peak-rss-kib="))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        / 1024;
    let stderr: String = stderr
        .lines()
        .filter(|l| !l.starts_with("trustbake-peak-rss-kib=") && !l.starts_with("Command "))
        .map(|l| format!("{l}\n"))
        .collect();
    (
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: stderr.into_bytes(),
        },
        rss,
    )
}

/// Asserts a refusal: status `code`, nothing on stdout, one printable `error:` line containing
/// `needle`, then only `hint:` lines.
fn refused(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{err}");
    let mut lines = err.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    assert!(first.contains(needle), "expected {needle:?} in: {first}");
    assert!(
        !first.chars().any(char::is_control),
        "control characters in: {first:?}"
    );
    for line in lines {
        assert!(
            line.starts_with("hint: "),
            "more than one error line: {err}"
        );
    }
}

/// Every entry below `dir` with what it is: a file's digest, a link's target, `dir`, `special`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let what = if md.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                walk(base, &p, out);
                "dir".to_owned()
            } else if md.is_file() {
                Digest::of(&std::fs::read(&p).unwrap()).to_string()
            } else {
                "special".to_owned()
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Names in `dir` that look like trustbake's temporaries.
fn leftovers(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .filter(|k| k.contains(".trustbake-"))
        .collect()
}

fn enterprise_line() -> ReleaseLine {
    VersionMap::builtin()
        .lines_of(Product::Enterprise)
        .last()
        .unwrap()
        .clone()
}

/// The synthetic Enterprise 5.1 image as an OCI layout at `dir`, tagged `5.1.0`.
fn base(dir: &Path) -> String {
    write_layout(dir, &enterprise_line(), 1);
    format!("oci:{}:5.1.0", dir.display())
}

/// Writes an OCI layout at `dir` from layer blobs (blob, diff ID, media type) and returns the
/// manifest's descriptor; `edit` may change the config and the manifest before they are
/// written; the image is tagged `t`.
fn custom_layout(
    dir: &Path,
    layers: &[(Vec<u8>, Digest, &str)],
    edit: impl FnOnce(&mut Value, &mut Value),
) -> Value {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        (d.to_string(), bytes.len())
    };
    let mut config = json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": { "User": "1000" },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.1.to_string()).collect::<Vec<_>>() },
        "history": layers.iter().map(|_| json!({ "created_by": "test" })).collect::<Vec<_>>(),
    });
    let descs: Vec<Value> = layers
        .iter()
        .map(|(blob, _, media_type)| {
            let (d, s) = put(blob);
            json!({ "mediaType": media_type, "digest": d, "size": s })
        })
        .collect();
    let mut manifest = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {}, "layers": descs });
    edit(&mut config, &mut manifest);
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let (cd, cs) = put(&config_bytes);
    manifest["config"] = json!({ "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs });
    let (md, ms) = put(&serde_json::to_vec(&manifest).unwrap());
    let descriptor = json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md, "size": ms, "platform": { "architecture": "amd64", "os": "linux" } });
    write_index(dir, vec![descriptor.clone()]);
    descriptor
}

/// Writes `index.json` with `entries`, the first tagged `t`.
fn write_index(dir: &Path, mut entries: Vec<Value>) {
    if let Some(first) = entries.first_mut() {
        first["annotations"] = json!({ "org.opencontainers.image.ref.name": "t" });
    }
    let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The synthetic Enterprise 5.1 layers, built (gzip).
fn enterprise_blobs() -> Vec<(Vec<u8>, Digest, &'static str)> {
    line_layers(&enterprise_line())
        .iter()
        .map(|entries| {
            let l = build_layer(entries).unwrap();
            (
                l.blob,
                l.diff_id.0,
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        })
        .collect()
}

/// An uncompressed tar of `entries` exactly as given: no parent directories added (the
/// builder trustbake uses adds none either, but sorts; this keeps the order).
fn raw_tar(entries: &[LayerEntry]) -> (Vec<u8>, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(u64::from(e.uid));
        h.set_gid(u64::from(e.gid));
        h.set_mtime(0);
        let rel = e.path.trim_start_matches('/');
        match &e.kind {
            LayerEntryKind::File(bytes) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(bytes.len() as u64);
                b.append_data(&mut h, rel, bytes.as_slice()).unwrap();
            }
            LayerEntryKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, format!("{rel}/"), std::io::empty())
                    .unwrap();
            }
            LayerEntryKind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, rel, target).unwrap();
            }
        }
    }
    let bytes = b.into_inner().unwrap();
    let d = Digest::of(&bytes);
    (bytes, d)
}

// ---- 1. nothing written outside the destination; the input never modified ------------------

#[test]
fn links_planted_beside_the_destination_are_never_followed() {
    let work = scratch("hostile-planted");
    let from = base(&work.join("base"));
    let victim = work.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), "mine").unwrap();
    let dest = work.join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    // The names older versions used, and others of the same shape, all links to the victim.
    for name in ["out", "out.tar", "d.tar"] {
        for what in ["new", "archive", "layout", "blob", "index", "tmp"] {
            for pid in [1, 100, 4242, 65535] {
                let link = dest.join(format!(".{name}.trustbake-{what}-{pid}"));
                std::os::unix::fs::symlink(&victim, &link).unwrap();
            }
        }
    }
    let before = tree(&victim);
    for to in [
        format!("oci:{}:corp", dest.join("out").display()),
        format!("oci-archive:{}:corp", dest.join("out.tar").display()),
        format!("docker-archive:{}", dest.join("d.tar").display()),
    ] {
        let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        tree(&victim),
        before,
        "nothing written through a planted link"
    );
    assert!(
        std::fs::symlink_metadata(dest.join("out"))
            .unwrap()
            .is_dir()
    );
    assert!(
        std::fs::symlink_metadata(dest.join("out.tar"))
            .unwrap()
            .is_file()
    );
    assert!(
        std::fs::symlink_metadata(dest.join("d.tar"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn special_files_are_never_replaced() {
    let work = scratch("hostile-special");
    let from = base(&work.join("base"));
    let fifo = work.join("fifo.tar");
    output(Command::new("mkfifo").arg(&fifo));
    let file = work.join("file");
    std::fs::write(&file, "not a layout").unwrap();
    for (to, needle) in [
        ("docker-archive:/dev/null".to_owned(), "/dev/null"),
        (format!("oci-archive:{}", fifo.display()), "fifo.tar"),
        (
            format!("docker-archive:{}", work.display()),
            "not a regular file",
        ),
        (
            format!("oci:{}:x", file.display()),
            "not an OCI image layout",
        ),
    ] {
        let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
        refused(&out, 1, needle);
    }
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a layout");
}

#[test]
fn the_source_is_refused_as_destination_whatever_its_spelling() {
    let work = scratch("hostile-same");
    let layout = work.join("base");
    let from = base(&layout);
    let archive = work.join("e.tar");
    let (out, _) = run(&[
        "bake",
        "--from",
        &from,
        "--to",
        &format!("docker-archive:{}", archive.display()),
        "--ca",
        &fixture("root-ec.pem").display().to_string(),
    ]);
    assert!(out.status.success());
    std::os::unix::fs::symlink(&archive, work.join("link.tar")).unwrap();
    let before = (tree(&layout), std::fs::read(&archive).unwrap());
    let spellings = [
        ("docker-archive:e.tar", "docker-archive:./e.tar"),
        ("docker-archive:e.tar", "oci-archive:../hostile-same/e.tar"),
        ("docker-archive:e.tar", "docker-archive:link.tar"),
        ("oci:base:5.1.0", "oci:./base/:5.1.0"),
        ("oci:base:5.1.0", "oci:base"),
    ];
    for (from, to) in spellings {
        let mut cmd = trustbake();
        let out = cmd
            .current_dir(&work)
            .args(["bake", "--from", from, "--to", to, "--ca", &ca()])
            .output()
            .unwrap();
        refused(&out, 1, "the destination is the source itself");
    }
    assert_eq!((tree(&layout), std::fs::read(&archive).unwrap()), before);
}

#[test]
fn an_untagged_image_into_an_existing_layout_keeps_its_tags() {
    let work = scratch("hostile-tags");
    let from = base(&work.join("base"));
    let out_dir = work.join("out");
    for to in [
        format!("oci:{}:a", out_dir.display()),
        format!("oci:{}:b", out_dir.display()),
        format!("oci:{}", out_dir.display()),
    ] {
        let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("index.json")).unwrap()).unwrap();
    let tags: Vec<Option<&str>> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert_eq!(tags, [Some("a"), Some("b"), None]);
}

#[test]
fn a_damaged_blob_already_in_the_destination_is_replaced() {
    let work = scratch("hostile-damaged-dest");
    let from = base(&work.join("base"));
    let out_dir = work.join("out");
    let to = format!("oci:{}:a", out_dir.display());
    assert!(
        run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()])
            .0
            .status
            .success()
    );
    // Cut every blob in half (new files: they are hard links to the base's).
    for e in std::fs::read_dir(out_dir.join("blobs/sha256")).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    }
    let to = format!("oci:{}:b", out_dir.display());
    assert!(
        run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()])
            .0
            .status
            .success()
    );
    let bundle = work.join("bundle");
    output(
        tool("umoci", "umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:b", out_dir.display()))
            .arg(&bundle),
    );
}

#[test]
fn blobs_that_are_links_or_devices_are_refused_without_hanging() {
    let work = scratch("hostile-blob-links");
    let layout = work.join("base");
    let from = base(&layout);
    let manifest: Value = {
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let d = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(&d[7..])).unwrap())
            .unwrap()
    };
    let layer = manifest["layers"][0]["digest"].as_str().unwrap()[7..].to_owned();
    let blob = layout.join("blobs/sha256").join(&layer);
    let saved = std::fs::read(&blob).unwrap();
    for target in [PathBuf::from("/dev/zero"), PathBuf::from("../../outside")] {
        std::fs::remove_file(&blob).unwrap();
        std::os::unix::fs::symlink(&target, &blob).unwrap();
        let started = Instant::now();
        let to = format!("oci:{}:x", work.join("out").display());
        let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
        refused(&out, 1, "is a symbolic link, not a regular file: refused");
        assert!(started.elapsed() < Duration::from_secs(60));
        assert!(!work.join("out").exists());
    }
    std::fs::remove_file(&blob).unwrap();
    std::fs::write(&blob, saved).unwrap();
}

/// An unpacked root of the synthetic Enterprise 5.1 image at `dir/rootfs`.
fn unpacked(dir: &Path) -> PathBuf {
    let layout = dir.join("image");
    base(&layout);
    let bundle = dir.join("bundle");
    output(
        tool("umoci", "umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:5.1.0", layout.display()))
            .arg(&bundle),
    );
    bundle.join("rootfs")
}

#[test]
fn apply_writes_everything_or_nothing() {
    let work = scratch("hostile-apply-atomic");
    let rootfs = unpacked(&work);
    // A directory squats the name of the CA's anchor file: the last thing apply would write.
    let plan: Value = serde_json::from_str(&output(trustbake().args([
        "apply",
        "--dry-run",
        "--json",
        "--root",
        rootfs.to_str().unwrap(),
        "--ca",
        &ca(),
    ])))
    .unwrap();
    let anchor = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .find(|p| p.contains("/source/anchors/"))
        .unwrap()
        .to_owned();
    std::fs::create_dir(rootfs.join(anchor.trim_start_matches('/'))).unwrap();
    let before = tree(&rootfs);
    let (out, _) = run(&["apply", "--root", rootfs.to_str().unwrap(), "--ca", &ca()]);
    refused(&out, 1, "a directory is there");
    assert_eq!(
        tree(&rootfs),
        before,
        "the root is as it was: nothing half-applied"
    );
}

/// Runs `script` in a private mount namespace where `dir` is a tmpfs of `size`.
fn in_small_tmpfs(dir: &Path, size: &str, script: &str) -> Output {
    let _ = tool("unshare", "util-linux");
    std::fs::create_dir_all(dir).unwrap();
    Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size={size} tmpfs '{}' && {script}",
            dir.display()
        ))
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_leaves_no_temporary_and_no_destination() {
    let work = scratch("hostile-disk-full");
    let from = base(&work.join("base"));
    let small = work.join("small");
    let bin = root().join("target/debug/trustbake");
    for to in [
        "oci:{d}/out:x",
        "oci-archive:{d}/out.tar",
        "docker-archive:{d}/out.tar",
    ] {
        let to = to.replace("{d}", &small.display().to_string());
        let out = in_small_tmpfs(
            &small,
            "64k",
            &format!(
                "'{}' bake --from '{from}' --to '{to}' --ca '{}'; echo \"exit=$?\"; ls -A '{}'",
                bin.display(),
                ca(),
                small.display()
            ),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("exit=1"), "{to}: {text} {err}");
        assert!(err.contains("No space left on device"), "{to}: {err}");
        assert_eq!(
            err.matches("No space left on device").count(),
            1,
            "cause printed once: {err}"
        );
        let after: Vec<&str> = text.lines().filter(|l| !l.starts_with("exit=")).collect();
        assert!(after.is_empty(), "{to}: left behind {after:?}");
    }
}

/// Starts a bake of `from` to `to`, waits until it has created a temporary beside `to`'s
/// path (the write has begun), stops it there and sends `signal`.
fn interrupt_while_writing(from: &str, to: &str, dir: &Path, signal: &str) -> Output {
    let child = trustbake()
        .args(["bake", "--from", from, "--to", to, "--ca", &ca()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let started = Instant::now();
    loop {
        if !leftovers(dir).is_empty() {
            // Frozen mid-write, so the signal surely lands there.
            output(Command::new("kill").args(["-STOP", &pid]));
            output(Command::new("kill").args([&format!("-{signal}"), &pid]));
            let _ = Command::new("kill").args(["-CONT", &pid]).status();
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the write never began"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    child.wait_with_output().unwrap()
}

/// A base whose one layer is large (incompressible, stored as plain tar) so that writing it
/// takes long enough to be interrupted.
fn large_base(dir: &Path) -> String {
    let mut entries = line_layers(&enterprise_line()).concat();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..96 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    entries.push(LayerEntry {
        path: "/opt/noise.bin".into(),
        kind: LayerEntryKind::File(noise),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
    });
    let (tar, diff_id) = raw_tar(&entries);
    custom_layout(
        dir,
        &[(tar, diff_id, "application/vnd.oci.image.layer.v1.tar")],
        |_, _| {},
    );
    format!("oci:{}:t", dir.display())
}

#[test]
fn a_signal_removes_every_temporary_and_a_kill_leaves_no_destination() {
    let work = scratch("hostile-signals");
    let from = large_base(&work.join("base"));
    let dest = work.join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    for to in ["docker-archive:{d}/d.tar", "oci-archive:{d}/o.tar"] {
        let to = to.replace("{d}", &dest.display().to_string());
        let out = interrupt_while_writing(&from, &to, &dest, "TERM");
        assert_eq!(out.status.code(), Some(128 + 15), "{to}");
        assert_eq!(leftovers(&dest), Vec::<String>::new(), "{to}");
        assert!(tree(&dest).is_empty(), "{to}: {:?}", tree(&dest));
    }
    // SIGKILL runs nothing: temporaries may stay, the destination never appears half-written.
    let to = format!("docker-archive:{}/k.tar", dest.display());
    let out = interrupt_while_writing(&from, &to, &dest, "KILL");
    assert_eq!(out.status.code(), None);
    assert!(!dest.join("k.tar").exists());
}
