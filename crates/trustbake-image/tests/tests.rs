//! The image crate on small layouts built here: deterministic layers, the layered view
//! (whiteouts, opaque directories, hard links, wanted bodies), and integrity errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write as _;
use std::path::Path;

use serde_json::json;
use trustbake_image::{
    Digest, ImageError, ImageRef, LayerEntry, LayerEntryKind, LayeredRoot, NodeKind, ScanOptions,
    build_layer, open, validate,
};

fn file(path: &str, body: &str) -> LayerEntry {
    LayerEntry::file(path, body.as_bytes(), 0o644, 1)
}

fn dir(path: &str, mode: u32) -> LayerEntry {
    LayerEntry {
        path: path.into(),
        kind: LayerEntryKind::Dir,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1,
    }
}

/// Writes an OCI layout of `blobs` (already built layer blobs with their diff IDs).
fn layout(dir_path: &Path, layers: &[(Vec<u8>, Digest)]) {
    std::fs::create_dir_all(dir_path.join("blobs/sha256")).unwrap();
    std::fs::write(
        dir_path.join("oci-layout"),
        "{\"imageLayoutVersion\":\"1.0.0\"}",
    )
    .unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(dir_path.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        (d, bytes.len())
    };
    let config = json!({ "os": "linux", "architecture": "amd64", "created": "2024-01-01T00:00:00Z",
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.1.to_string()).collect::<Vec<_>>() },
        "history": layers.iter().map(|_| json!({ "created_by": "x" })).collect::<Vec<_>>() });
    let (cd, cs) = put(&serde_json::to_vec(&config).unwrap());
    let descs: Vec<_> = layers.iter().map(|(b, _)| { let (d, s) = put(b); json!({ "mediaType": if b.starts_with(&[0x1f, 0x8b]) { "application/vnd.oci.image.layer.v1.tar+gzip" } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) { "application/vnd.oci.image.layer.v1.tar+zstd" } else { "application/vnd.oci.image.layer.v1.tar" }, "digest": d.to_string(), "size": s }) }).collect();
    let manifest = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs }, "layers": descs });
    let (md, ms) = put(&serde_json::to_vec(&manifest).unwrap());
    let index = json!({ "schemaVersion": 2, "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": ms, "annotations": { "org.opencontainers.image.ref.name": "t" } }] });
    std::fs::write(
        dir_path.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

fn built(entries: &[LayerEntry]) -> (Vec<u8>, Digest) {
    let l = build_layer(entries).unwrap();
    (l.blob, l.diff_id.0)
}

/// An uncompressed tar made by hand, for entries build_layer cannot make (hard links, `..`).
fn raw_tar(entries: &[(&str, tar::EntryType, &str)]) -> (Vec<u8>, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        if *kind == tar::EntryType::Link {
            h.set_size(0);
            h.set_link_name(data).unwrap();
            // Write the raw name so that '..' survives.
            h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, data.as_bytes()).unwrap();
        }
    }
    let bytes = b.into_inner().unwrap();
    let d = Digest::of(&bytes);
    (bytes, d)
}

#[test]
fn layers_are_deterministic_and_sorted() {
    let a = build_layer(&[file("/b", "2"), file("/a", "1"), dir("/d", 0o755)]).unwrap();
    let b = build_layer(&[dir("/d", 0o755), file("/a", "1"), file("/b", "2")]).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.diff_id, b.diff_id);
}

#[test]
fn the_layered_view_applies_whiteouts_opaque_directories_and_hard_links() {
    let tmp = tempfile::tempdir().unwrap();
    let l1 = built(&[
        dir("/etc", 0o755),
        file("/etc/keep", "keep"),
        file("/etc/gone", "gone"),
        dir("/opt/d", 0o755),
        file("/opt/d/old", "old"),
        dir("/tmp", 0o1777),
        file("/big", "not wanted"),
    ]);
    let l2 = raw_tar(&[
        ("etc/.wh.gone", tar::EntryType::Regular, ""),
        ("opt/d/.wh..wh..opq", tar::EntryType::Regular, ""),
        ("opt/d/new", tar::EntryType::Regular, "new"),
        ("etc/hard", tar::EntryType::Link, "etc/keep"),
    ]);
    let (plain, diff_id) = raw_tar(&[("etc/z", tar::EntryType::Regular, "from zstd")]);
    let l3 = (zstd_frame(&plain), diff_id);
    layout(tmp.path(), &[l1, l2, l3]);
    let image =
        open(&ImageRef::parse(&format!("oci:{}:t", tmp.path().display())).unwrap()).unwrap();
    let wanted = |p: &str| p.starts_with("/etc/");
    let root = LayeredRoot::scan(
        &image,
        &image.platforms[0],
        &ScanOptions::keeping(&wanted, 1024),
    )
    .unwrap();
    assert!(root.node("/etc/gone").is_none());
    assert!(root.node("/opt/d/old").is_none());
    assert_eq!(root.list("/opt/d"), ["new"]);
    assert_eq!(
        root.node("/etc/hard")
            .unwrap()
            .body
            .as_deref()
            .map(Vec::as_slice),
        Some(&b"keep"[..])
    );
    assert_eq!(
        root.node("/etc/z")
            .unwrap()
            .body
            .as_deref()
            .map(Vec::as_slice),
        Some(&b"from zstd"[..])
    );
    assert!(
        root.node("/big").unwrap().body.is_none(),
        "bodies are kept only where wanted"
    );
    assert_eq!(root.node("/tmp").unwrap().mode, 0o1777);
    assert_eq!(root.node("/tmp").unwrap().kind, NodeKind::Dir);
    assert_eq!(validate(&image.reference).unwrap().layers, 3);
}

/// A zstd frame holding `data`, stored uncompressed (raw blocks) — valid zstd any decoder reads.
fn zstd_frame(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header: single segment, 4-byte content size.
    out.push(0b1010_0000);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let mut chunks = data.chunks(128 * 1024).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u32::from(chunks.peek().is_none());
        let header = last | ((chunk.len() as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.write_all(chunk).unwrap();
    }
    out
}

#[test]
fn entries_escaping_the_root_and_bad_diff_ids_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    layout(
        tmp.path(),
        &[raw_tar(&[("../evil", tar::EntryType::Regular, "x")])],
    );
    let image =
        open(&ImageRef::parse(&format!("oci:{}:t", tmp.path().display())).unwrap()).unwrap();
    let none = |_: &str| false;
    let err = LayeredRoot::scan(&image, &image.platforms[0], &ScanOptions::keeping(&none, 0))
        .unwrap_err();
    assert!(matches!(err, ImageError::EscapingEntry { .. }), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let (blob, _) = built(&[file("/a", "1")]);
    layout(tmp.path(), &[(blob, Digest::of(b"wrong"))]);
    let err = validate(&ImageRef::parse(&format!("oci:{}:t", tmp.path().display())).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("diff ID mismatch"), "{err}");
}
