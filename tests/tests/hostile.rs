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
use tests::{fixture, output, peak_rss, root, scratch, tool, trustbake};
use trustbake_image::{Digest, LayerEntry, LayerEntryKind, build_layer};
use trustbake_targets::ReleaseLine;

// ---- helpers --------------------------------------------------------------------------------

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
    let (rss, stderr) = peak_rss(&String::from_utf8_lossy(&out.stderr));
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
            // An entry may vanish while it is read (a temporary being removed): skipped.
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let what = if md.file_type().is_symlink() {
                match std::fs::read_link(&p) {
                    Ok(target) => format!("link {}", target.display()),
                    Err(_) => continue,
                }
            } else if md.is_dir() {
                walk(base, &p, out);
                "dir".to_owned()
            } else if md.is_file() {
                match std::fs::read(&p) {
                    Ok(bytes) => Digest::of(&bytes).to_string(),
                    Err(_) => continue,
                }
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

/// Names in `dir` (one level: temporaries are made beside a destination) that look like
/// trustbake's temporaries; cheap enough to poll.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".trustbake-"))
                .collect()
        })
        .unwrap_or_default()
}

fn enterprise_line() -> ReleaseLine {
    tests::synthetic::enterprise_5_1()
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
    tests::empty_layout(dir);
    let put = |bytes: &[u8]| put_blob(dir, bytes);
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

/// Stores an image index of `entries` in the layout at `dir` and tags it `t`.
fn tag_index(dir: &Path, entries: Vec<Value>) {
    let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries });
    let (digest, size) = put_blob(dir, &serde_json::to_vec(&index).unwrap());
    write_index(
        dir,
        vec![
            json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size }),
        ],
    );
}

/// Stores `bytes` as a blob of the layout at `dir`; returns its digest and size.
fn put_blob(dir: &Path, bytes: &[u8]) -> (String, usize) {
    let d = Digest::of(bytes);
    std::fs::write(dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
    (d.to_string(), bytes.len())
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
            other => panic!("raw_tar writes no {other:?}"),
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
        bake_ok(&from, &to);
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
        bake_ok(&from, &to);
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
    bake_ok(&from, &to);
    // Cut every blob in half (new files: they are hard links to the base's).
    for e in std::fs::read_dir(out_dir.join("blobs/sha256")).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    }
    let to = format!("oci:{}:b", out_dir.display());
    bake_ok(&from, &to);
    let bundle = work.join("bundle");
    tests::unpack(&out_dir, "b", &bundle);
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
    tests::unpack(&layout, "5.1.0", &bundle)
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

#[test]
fn apply_stays_in_its_root_while_the_root_changes_under_it() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let work = scratch("hostile-apply-race");
    let rootfs = unpacked(&work);
    let outside = work.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A directory apply writes into, and a link to the outside beside it: a thread swaps the
    // two (renameat2 RENAME_EXCHANGE) as fast as it can while apply runs again and again.
    let real = rootfs.join("etc/pki/ca-trust/extracted/pem");
    let link = rootfs.join("etc/pki/ca-trust/extracted/pem.swap");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps, real, link) = (stop.clone(), swaps.clone(), real.clone(), link.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &real,
                    rustix::fs::CWD,
                    &link,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let root = rootfs.to_str().unwrap().to_owned();
    let runs = 150;
    let mut written = 0;
    for i in 0..runs {
        // Adding and removing in turn: every run writes.
        let flag = if i % 2 == 0 { "--ca" } else { "--remove" };
        let out = trustbake()
            .args(["apply", "--root", &root, flag, &ca()])
            .output()
            .unwrap();
        if out.status.success() {
            written += 1;
        } else {
            // The root changed while it was read or written: refused, one error line.
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.starts_with("error: "), "run {i}: {err}");
        }
        let escaped: Vec<_> = std::fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            escaped.is_empty(),
            "run {i} wrote outside the root: {escaped:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        swaps.load(Ordering::Relaxed) > runs,
        "the swapper hardly ran"
    );
    eprintln!(
        "apply race: {written} of {runs} runs wrote, {} swaps",
        swaps.load(Ordering::Relaxed)
    );
    assert!(written > 0, "no run got through");
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
    entries.push(LayerEntry::file("/opt/noise.bin", noise, 0o644, 0));
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
        let written = PathBuf::from(to.split_once(':').unwrap().1);
        // The write may win the race with the handler (a complete image, exit 0: also right);
        // a few tries make sure the handler's own path is taken.
        let mut handled = false;
        for _ in 0..5 {
            let _ = std::fs::remove_file(&written);
            let out = interrupt_while_writing(&from, &to, &dest, "TERM");
            assert_eq!(leftovers(&dest), Vec::<String>::new(), "{to}");
            match out.status.code() {
                Some(143) => {
                    assert!(tree(&dest).is_empty(), "{to}: {:?}", tree(&dest));
                    handled = true;
                    break;
                }
                Some(0) => assert!(written.is_file(), "{to}"),
                other => panic!("{to}: {other:?} {}", String::from_utf8_lossy(&out.stderr)),
            }
        }
        assert!(
            handled,
            "{to}: SIGTERM never landed mid-write in five tries"
        );
    }
    // SIGKILL runs nothing: temporaries may stay, the destination never appears half-written.
    let to = format!("docker-archive:{}/k.tar", dest.display());
    let out = interrupt_while_writing(&from, &to, &dest, "KILL");
    assert_eq!(out.status.code(), None);
    assert!(!dest.join("k.tar").exists());
}

// ---- 2. bounded memory and time -------------------------------------------------------------

/// A tar item beyond what [`LayerEntry`] can say.
enum Item {
    Entry(LayerEntry),
    /// A hard link at `path` to the archive member `target`.
    Hardlink(&'static str, &'static str),
    /// A regular file whose name is these raw bytes (hostile names).
    RawName(Vec<u8>),
}

fn tar_of(items: Vec<Item>) -> (Vec<u8>, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    let mut plain = Vec::new();
    let flush = |b: &mut tar::Builder<Vec<u8>>, plain: &mut Vec<LayerEntry>| {
        let (bytes, _) = raw_tar(plain);
        // Append the members of a finished tar (without its end blocks).
        let mut archive = tar::Archive::new(&bytes[..]);
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            b.append(&h, &data[..]).unwrap();
        }
        plain.clear();
    };
    for item in items {
        match item {
            Item::Entry(e) => plain.push(e),
            Item::Hardlink(path, target) => {
                flush(&mut b, &mut plain);
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                h.set_mode(0o644);
                h.set_mtime(0);
                b.append_link(&mut h, path, target).unwrap();
            }
            Item::RawName(name) => {
                flush(&mut b, &mut plain);
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                h.set_mtime(0);
                h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(&name);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    flush(&mut b, &mut plain);
    let bytes = b.into_inner().unwrap();
    let d = Digest::of(&bytes);
    (bytes, d)
}

/// The synthetic Enterprise 5.1 layers as items, with `edit` applied to the flat list.
fn enterprise_items(edit: impl FnOnce(&mut Vec<LayerEntry>)) -> Vec<LayerEntry> {
    let mut entries = line_layers(&enterprise_line()).concat();
    edit(&mut entries);
    entries
}

#[test]
fn an_index_repeating_one_manifest_is_read_once_and_too_many_platforms_are_refused() {
    let work = scratch("hostile-index-repeat");
    let dir = work.join("base");
    let blobs = enterprise_blobs();
    let one = custom_layout(&dir, &blobs, |_, _| {});
    // 10 000 entries, one manifest: one platform to scan and to bake.
    tag_index(&dir, vec![one.clone(); 10_000]);
    let to = format!("oci:{}:x", work.join("out").display());
    let from = format!("oci:{}:t", dir.display());
    let (out, rss) = run(&[
        "bake",
        "--from",
        &from,
        "--to",
        &to,
        "--ca",
        &ca(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["platforms"].as_array().unwrap().len(), 1);
    assert!(rss < 100, "peak RSS {rss} MiB");
    // 300 distinct manifests: refused before any is scanned.
    let mut entries = Vec::new();
    for i in 0..300 {
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(
                dir.join("blobs/sha256")
                    .join(&one["digest"].as_str().unwrap()[7..]),
            )
            .unwrap(),
        )
        .unwrap();
        let mut m = manifest.clone();
        m["annotations"] = json!({ "n": i.to_string() });
        let (digest, size) = put_blob(&dir, &serde_json::to_vec(&m).unwrap());
        entries.push(json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size, "platform": { "os": "linux", "architecture": format!("a{i}") } }));
    }
    tag_index(&dir, entries);
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "more than 256 platforms");
}

#[test]
fn oversized_documents_are_refused_before_they_are_read() {
    let work = scratch("hostile-big-config");
    let dir = work.join("base");
    let from = format!("oci:{}:t", dir.display());
    let to = format!("oci:{}:x", work.join("out").display());
    let desc = custom_layout(&dir, &enterprise_blobs(), |_, _| {});
    let manifest_path = dir
        .join("blobs/sha256")
        .join(&desc["digest"].as_str().unwrap()[7..]);
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let config = dir
        .join("blobs/sha256")
        .join(&manifest["config"]["digest"].as_str().unwrap()[7..]);
    // The config blob becomes 3 GiB (sparse) under its small descriptor.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&config)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let (out, rss) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "is larger than its descriptor");
    assert!(rss < 100, "peak RSS {rss} MiB");
    // A descriptor that announces 3 GiB is refused without a read.
    let mut m = manifest.clone();
    m["config"]["size"] = json!(3u64 << 30);
    let (digest, size) = put_blob(&dir, &serde_json::to_vec(&m).unwrap());
    write_index(
        &dir,
        vec![
            json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size }),
        ],
    );
    let (out, rss) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "more than the 8388608 bytes allowed");
    assert!(rss < 100, "peak RSS {rss} MiB");
}

#[test]
fn a_giant_cacert_pem_in_a_root_is_not_read() {
    let work = scratch("hostile-giant-cacert");
    let rootfs = unpacked(&work);
    let cacert = rootfs.join("home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cacert)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let root = rootfs.to_str().unwrap();
    let (out, rss) = run(&["apply", "--root", root, "--ca", &ca(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rss < 100, "peak RSS {rss} MiB");
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    let certifi = &outcome["detected"]["certifi"][0];
    assert_eq!(certifi["status"], "unusable");
    assert!(
        certifi["reason"]
            .as_str()
            .unwrap()
            .contains("more than any CA bundle")
    );
    let (out, rss) = run(&["inspect", root]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rss < 100, "peak RSS {rss} MiB");
}

#[test]
fn ca_input_is_bounded() {
    let (out, rss) = run(&[
        "plan",
        "--product",
        "enterprise",
        "--version",
        "5.1",
        "--ca",
        "/dev/zero",
    ]);
    refused(&out, 3, "/dev/zero: more than 268435456 bytes");
    assert!(rss < 400, "peak RSS {rss} MiB");
}

#[test]
fn fifty_thousand_cas_are_taken_in_one_pass() {
    // Distinct certificates: one real CA with its serial varied.
    let all = tests::many_cas_pem(50_000);
    let work = scratch("hostile-many-cas");
    let file = work.join("many.pem");
    std::fs::write(&file, all).unwrap();
    let (out, _) = run(&[
        "plan",
        "--product",
        "enterprise",
        "--version",
        "5.1",
        "--ca",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["cas"].as_array().unwrap().len(), 50_000);
}

// ---- 3. no silently wrong result ------------------------------------------------------------

/// Bakes `from` into `to` with the demo CA; panics with its stderr unless it succeeds.
fn bake_ok(from: &str, to: &str) {
    let (out, _) = run(&["bake", "--from", from, "--to", to, "--ca", &ca()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Bakes `from` with the demo CA, JSON out; panics unless it succeeds.
fn bake_json(from: &str, to: &str) -> Value {
    let (out, _) = run(&["bake", "--from", from, "--to", to, "--ca", &ca(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn certifi_added(outcome: &Value) -> usize {
    outcome["platforms"][0]["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "certifi")
        .map(|s| s["added"].as_array().unwrap().len())
        .sum()
}

#[test]
fn directories_implied_by_paths_exist() {
    let work = scratch("hostile-implied-dirs");
    // Every layer without a single directory entry, as some builders write them.
    let layers: Vec<(Vec<u8>, Digest, &str)> = line_layers(&enterprise_line())
        .into_iter()
        .map(|entries| {
            let files: Vec<LayerEntry> = entries
                .into_iter()
                .filter(|e| e.kind != LayerEntryKind::Dir)
                .collect();
            let (tar, d) = raw_tar(&files);
            (tar, d, "application/vnd.oci.image.layer.v1.tar")
        })
        .collect();
    custom_layout(&work.join("base"), &layers, |_, _| {});
    let outcome = bake_json(
        &format!("oci:{}:t", work.join("base").display()),
        &format!("oci:{}:x", work.join("out").display()),
    );
    assert_eq!(certifi_added(&outcome), 1, "{outcome}");
    assert_eq!(outcome["platforms"][0]["detected"]["python"], "3.11");
}

#[test]
fn indexes_of_indexes_are_baked_three_deep_and_refused_deeper() {
    let work = scratch("hostile-nested-index");
    let dir = work.join("base");
    let manifest = custom_layout(&dir, &enterprise_blobs(), |_, _| {});
    let index_of = |entries: Vec<Value>| {
        let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries });
        let (digest, size) = put_blob(&dir, &serde_json::to_vec(&index).unwrap());
        json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size })
    };
    // An attestation-like entry: another manifest (the same config, no layers).
    let mut other: Value = serde_json::from_slice(
        &std::fs::read(
            dir.join("blobs/sha256").join(
                manifest["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:"),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    other["layers"] = json!([]);
    let (digest, size) = put_blob(&dir, &serde_json::to_vec(&other).unwrap());
    let attestation = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
        "platform": { "os": "unknown", "architecture": "unknown" }
    });
    // index -> index -> index -> manifest (and an attestation beside it): baked, every level
    // rewritten, the attestation carried.
    let inner = index_of(vec![manifest.clone(), attestation]);
    let middle = index_of(vec![inner.clone()]);
    tag_index(&dir, vec![middle]);
    let out_dir = work.join("out");
    let to = format!("oci:{}:x", out_dir.display());
    let (out, _) = run(&[
        "bake",
        "--from",
        &format!("oci:{}:t", dir.display()),
        "--to",
        &to,
        "--ca",
        &ca(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    trustbake_image::validate(&trustbake_image::ImageRef::parse(&to).unwrap()).unwrap();
    let read = |digest: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(
                out_dir
                    .join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:")),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("index.json")).unwrap()).unwrap();
    let top = read(index["manifests"][0]["digest"].as_str().unwrap());
    let middle = read(top["manifests"][0]["digest"].as_str().unwrap());
    let inner_new = read(middle["manifests"][0]["digest"].as_str().unwrap());
    let entries = inner_new["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_ne!(
        entries[0]["digest"], manifest["digest"],
        "the manifest was not baked"
    );
    let baked = read(entries[0]["digest"].as_str().unwrap());
    assert_eq!(baked["layers"].as_array().unwrap().len(), 4);
    // The attestation is carried, unchanged.
    assert_eq!(entries[1]["digest"], json!(digest));
    assert!(
        out_dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
            .is_file()
    );

    // Four deep: refused, with the depth and the limit.
    let deeper = index_of(vec![index_of(vec![index_of(vec![manifest.clone()])])]);
    tag_index(&dir, vec![deeper]);
    let _ = std::fs::remove_dir_all(&out_dir);
    let (out, _) = run(&[
        "bake",
        "--from",
        &format!("oci:{}:t", dir.display()),
        "--to",
        &to,
        "--ca",
        &ca(),
    ]);
    refused(
        &out,
        1,
        "is an image index, nested 4 deep; trustbake follows at most 3 levels",
    );
    assert!(!out_dir.exists());
}

#[test]
fn an_index_without_a_runnable_platform_is_refused() {
    let work = scratch("hostile-no-platform");
    let dir = work.join("base");
    let one = custom_layout(&dir, &enterprise_blobs(), |_, _| {});
    let mut attestation = one.clone();
    attestation["platform"] = json!({ "os": "unknown", "architecture": "unknown" });
    for entries in [vec![attestation], vec![]] {
        tag_index(&dir, entries);
        let to = format!("oci:{}:x", work.join("out").display());
        let (out, _) = run(&[
            "bake",
            "--from",
            &format!("oci:{}:t", dir.display()),
            "--to",
            &to,
            "--ca",
            &ca(),
        ]);
        refused(&out, 1, "no runnable platform");
        assert!(!work.join("out").exists());
    }
}

#[test]
fn multi_frame_zstd_layers_are_read_whole() {
    let work = scratch("hostile-zstd-frames");
    let _ = tool("zstd", "zstd");
    let mut layers = Vec::new();
    for (i, entries) in line_layers(&enterprise_line()).into_iter().enumerate() {
        let (tar, diff_id) = raw_tar(&entries);
        // Two frames: the tar cut in the middle, each half compressed on its own.
        let mut blob = Vec::new();
        for (n, half) in [&tar[..tar.len() / 2], &tar[tar.len() / 2..]]
            .iter()
            .enumerate()
        {
            let path = work.join(format!("l{i}.{n}"));
            std::fs::write(&path, half).unwrap();
            output(tool("zstd", "zstd").args(["-q", "-f"]).arg(&path));
            blob.extend(std::fs::read(work.join(format!("l{i}.{n}.zst"))).unwrap());
        }
        layers.push((blob, diff_id, "application/vnd.oci.image.layer.v1.tar+zstd"));
    }
    custom_layout(&work.join("base"), &layers, |_, _| {});
    let outcome = bake_json(
        &format!("oci:{}:t", work.join("base").display()),
        &format!("oci:{}:x", work.join("out").display()),
    );
    assert_eq!(certifi_added(&outcome), 1, "{outcome}");
}

#[test]
fn a_docker_archive_with_linked_layer_members_is_read() {
    let work = scratch("hostile-docker-links");
    let blobs = enterprise_blobs();
    let last = blobs.last().unwrap();
    // As `docker save` writes a repeated layer: a member linking to the first copy.
    let config = json!({ "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "rootfs": { "type": "layers", "diff_ids": blobs.iter().map(|b| b.1.to_string()).chain([last.1.to_string()]).collect::<Vec<_>>() } });
    let config = serde_json::to_vec(&config).unwrap();
    let mut names: Vec<String> = (0..blobs.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    names.push("again/layer.tar".into());
    let manifest = serde_json::to_vec(
        &json!([{ "Config": "config.json", "RepoTags": ["a:b"], "Layers": names }]),
    )
    .unwrap();
    let file = work.join("saved.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&file).unwrap());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, bytes).unwrap();
    };
    for (i, (blob, _, _)) in blobs.iter().enumerate() {
        add(&format!("l{i}/layer.tar"), blob);
    }
    add("config.json", &config);
    add("manifest.json", &manifest);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(
        &mut h,
        "again/layer.tar",
        format!("../l{}/layer.tar", blobs.len() - 1),
    )
    .unwrap();
    b.finish().unwrap();
    drop(b);
    let outcome = bake_json(
        &format!("docker-archive:{}", file.display()),
        &format!("oci:{}:x", work.join("out").display()),
    );
    assert_eq!(certifi_added(&outcome), 1, "{outcome}");
}

#[test]
fn a_certifi_hard_linked_to_a_file_elsewhere_is_patched() {
    let work = scratch("hostile-hardlinked-certifi");
    let cacert = "home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem";
    let mut moved = None;
    let entries = enterprise_items(|entries| {
        let i = entries
            .iter()
            .position(|e| e.path == format!("/{cacert}"))
            .unwrap();
        let mut file = entries.remove(i);
        file.path = "/usr/share/misc/bundle.pem".into();
        moved = Some(file);
    });
    let mut items: Vec<Item> = entries.into_iter().map(Item::Entry).collect();
    items.push(Item::Entry(LayerEntry {
        path: "/usr/share/misc".into(),
        kind: LayerEntryKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
    }));
    items.push(Item::Entry(moved.unwrap()));
    items.push(Item::Hardlink(cacert, "usr/share/misc/bundle.pem"));
    let (tar, d) = tar_of(items);
    custom_layout(
        &work.join("base"),
        &[(tar, d, "application/vnd.oci.image.layer.v1.tar")],
        |_, _| {},
    );
    let outcome = bake_json(
        &format!("oci:{}:t", work.join("base").display()),
        &format!("oci:{}:x", work.join("out").display()),
    );
    assert_eq!(certifi_added(&outcome), 1, "{outcome}");
}

#[test]
fn layout_versions_and_layer_bytes_are_checked() {
    let work = scratch("hostile-versions");
    let dir = work.join("base");
    let from = format!("oci:{}:t", dir.display());
    let to = format!("oci:{}:x", work.join("out").display());
    custom_layout(&dir, &enterprise_blobs(), |_, _| {});
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"9.9.9"}"#).unwrap();
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "imageLayoutVersion '9.9.9'");
    // gzip bytes under a zstd media type.
    let gz: Vec<(Vec<u8>, Digest, &str)> = enterprise_blobs()
        .into_iter()
        .map(|(b, d, _)| (b, d, "application/vnd.oci.image.layer.v1.tar+zstd"))
        .collect();
    custom_layout(&dir, &gz, |_, _| {});
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "says zstd, its bytes are gzip");
    assert!(!work.join("out").exists());
}

// ---- 4. errors a user can act on ------------------------------------------------------------

#[test]
fn hostile_names_and_broken_links_are_named_on_one_printable_line() {
    let work = scratch("hostile-messages");
    let dir = work.join("base");
    let from = format!("oci:{}:t", dir.display());
    let to = format!("oci:{}:x", work.join("out").display());
    // A name with an escape sequence, a newline and '..'.
    let (tar, d) = tar_of(vec![Item::RawName(
        b"etc/\x1b[31mred\n/../../evil".to_vec(),
    )]);
    custom_layout(
        &dir,
        &[(tar, d, "application/vnd.oci.image.layer.v1.tar")],
        |_, _| {},
    );
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "escapes the root file system");
    // A hard link to a member no layer holds.
    let (tar, d) = tar_of(vec![Item::Hardlink("etc/link", "etc/missing")]);
    custom_layout(
        &dir,
        &[(tar, d, "application/vnd.oci.image.layer.v1.tar")],
        |_, _| {},
    );
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(
        &out,
        1,
        "entry /etc/link is a hard link to /etc/missing, which no layer holds",
    );
}

#[test]
fn a_certifi_that_cannot_be_used_is_said_so_not_called_something_else() {
    let work = scratch("hostile-certifi-status");
    let cacert = "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem";
    for (target, reason) in [
        ("/nowhere/cacert.pem", "which does not exist"),
        ("/etc/shadow", "which is not a CA bundle"),
    ] {
        let entries = enterprise_items(|entries| {
            let i = entries.iter().position(|e| e.path == cacert).unwrap();
            entries[i].kind = LayerEntryKind::Symlink(target.into());
            entries.push(LayerEntry::file(
                "/etc/shadow",
                b"root:*:0:0:::::\n",
                0o600,
                0,
            ));
        });
        let (tar, d) = raw_tar(&entries);
        let dir = work.join("base");
        custom_layout(
            &dir,
            &[(tar, d, "application/vnd.oci.image.layer.v1.tar")],
            |_, _| {},
        );
        let outcome = bake_json(
            &format!("oci:{}:t", dir.display()),
            &format!("oci:{}:x", work.join("out").display()),
        );
        let certifi = &outcome["platforms"][0]["detected"]["certifi"][0];
        assert_eq!(certifi["status"], "unusable", "{certifi}");
        assert!(
            certifi["reason"].as_str().unwrap().contains(reason),
            "{certifi}"
        );
        let notes = outcome["platforms"][0]["notes"].to_string();
        assert!(notes.contains(reason), "{notes}");
        let _ = std::fs::remove_dir_all(work.join("out"));
    }
}

#[test]
fn an_existing_layout_whose_blobs_lead_elsewhere_is_refused() {
    let work = scratch("hostile-blobs-link");
    let from = base(&work.join("base"));
    let out_dir = work.join("out");
    let to = format!("oci:{}:a", out_dir.display());
    bake_ok(&from, &to);
    let victim = work.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::rename(out_dir.join("blobs"), work.join("moved")).unwrap();
    std::os::unix::fs::symlink(&victim, out_dir.join("blobs")).unwrap();
    let to = format!("oci:{}:b", out_dir.display());
    let (out, _) = run(&["bake", "--from", &from, "--to", &to, "--ca", &ca()]);
    refused(&out, 1, "a directory of the layout (not a link)");
    assert!(
        tree(&victim).is_empty(),
        "nothing written where the link leads"
    );
}

#[test]
fn a_scan_cache_others_can_write_or_entries_from_elsewhere_are_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let work = scratch("hostile-cache");
    let base = work.join("base");
    tests::images::enterprise_layout(&base, "5.1.0", 1);
    let bake = |cache: &Path, n: usize| -> Value {
        let (out, _) = run(&[
            "bake",
            "--from",
            &format!("oci:{}:5.1.0", base.display()),
            "--to",
            &format!("oci:{}:x", work.join(format!("out{n}")).display()),
            "--ca",
            &ca(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cache = work.join("cache");
    let cold = bake(&cache, 1);
    assert_eq!(cold["cached_layers"], 0);
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let warm = bake(&cache, 2);
    assert_eq!(warm["scanned_layers"], 0, "{warm}");
    // The same entries under another key (copied into another cache): scanned again.
    let other = work.join("other-cache");
    output(Command::new("cp").arg("-a").arg(&cache).arg(&other));
    std::fs::remove_file(other.join("key")).unwrap();
    let copied = bake(&other, 3);
    assert_eq!(copied["cached_layers"], 0, "{copied}");
    assert_eq!(copied["scanned_layers"], cold["scanned_layers"]);
    // A directory others can write: not used, said so.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = bake(&cache, 4);
    assert_eq!(refused["cached_layers"], 0, "{refused}");
    assert!(
        refused["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("can be written by others")),
        "{refused}"
    );
    // The images are the same whatever the cache did.
    for n in [2, 3, 4] {
        let outcome = [&warm, &copied, &refused][n - 2];
        assert_eq!(outcome["digest"], cold["digest"]);
    }
}
