//! Alpine-shaped roots, laid out as Alpine's packages and tools leave them (docs/families.md):
//! with `ca-certificates` — the packaged CAs under `/usr/share/ca-certificates/mozilla`, enabled
//! in `/etc/ca-certificates.conf`, a local CA whose name needs the tool's mangling, a
//! `ca-cert-NAME.pem` link per source (absolute), the `certhash` hook's `HHHHHHHH.N` links and
//! the bundle made by the tool's rule — or with `ca-certificates-bundle` alone: the bundle and
//! `/etc/ssl/cert.pem` linked to it, nothing else.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::{fixture, output, tool};

/// The CAs the fixtures ship as packaged (`mozilla/NAME.crt`).
pub const PACKAGED: &[&str] = &["v1-root.pem", "bmp-subject.pem", "odd-subject.pem"];

/// The administrator's own CA in the tool's root: a name with a space, `(`, `)` and `,`.
pub const LOCAL_NAME: &str = "Corp Root (2024), Inc.crt";

fn write(root: &Path, path: &str, bytes: impl AsRef<[u8]>) {
    let at = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, bytes).unwrap();
}

fn link(root: &Path, path: &str, target: &str) {
    let at = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    symlink(target, at).unwrap();
}

/// The link name Alpine's `update-ca-certificates` gives a source file.
pub fn ca_cert_link(file_name: &str) -> String {
    let stem = file_name.strip_suffix(".crt").unwrap_or(file_name);
    let mangled: String = stem
        .chars()
        .map(|c| match c {
            ' ' | ',' => '_',
            '(' | ')' => '=',
            c => c,
        })
        .collect();
    format!("ca-cert-{mangled}.pem")
}

/// The bundle by the tool's rule (aports `main/ca-certificates`, `update-ca.c` since 2020):
/// the enabled lines of `/etc/ca-certificates.conf` in order, then the regular files of
/// `/usr/local/share/ca-certificates` not starting with `.` (in name order here), each file's
/// bytes followed by one newline.
pub fn bundle_by_the_rule(root: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let conf = std::fs::read_to_string(root.join("etc/ca-certificates.conf")).unwrap();
    for line in conf.lines() {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        if let Ok(bytes) = std::fs::read(root.join("usr/share/ca-certificates").join(line)) {
            out.extend_from_slice(&bytes);
            out.push(b'\n');
        }
    }
    let local = root.join("usr/local/share/ca-certificates");
    let mut names: Vec<String> = std::fs::read_dir(&local)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names.iter().filter(|n| !n.starts_with('.')) {
        let path = local.join(name);
        if std::fs::symlink_metadata(&path).unwrap().is_file() {
            out.extend_from_slice(&std::fs::read(&path).unwrap());
            out.push(b'\n');
        }
    }
    out
}

/// An Alpine root at `root` with `apk add ca-certificates` done: sources, links, hash links
/// (made by `openssl rehash`, which names them as the hook's `c_rehash` does for files of one
/// certificate) and the bundle.
pub fn alpine_with_tool(root: &Path) {
    write(
        root,
        "/etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
    );
    write(
        root,
        "/lib/apk/db/installed",
        "P:alpine-baselayout\nV:3.6.5-r0\n\nP:ca-certificates\nV:20240705-r0\n\nP:ca-certificates-bundle\nV:20240705-r0\n",
    );
    write(
        root,
        "/etc/ca-certificates/update.d/certhash",
        "#!/bin/sh\nexec /usr/bin/c_rehash /etc/ssl/certs >/dev/null\n",
    );
    let mut conf = String::new();
    for name in PACKAGED {
        let file = format!("mozilla/{}.crt", name.trim_end_matches(".pem"));
        write(
            root,
            &format!("/usr/share/ca-certificates/{file}"),
            std::fs::read(fixture(name)).unwrap(),
        );
        conf.push_str(&format!("{file}\n"));
        link(
            root,
            &format!(
                "/etc/ssl/certs/{}",
                ca_cert_link(file.rsplit('/').next().unwrap())
            ),
            &format!("/usr/share/ca-certificates/{file}"),
        );
    }
    write(root, "/etc/ca-certificates.conf", conf);
    write(
        root,
        &format!("/usr/local/share/ca-certificates/{LOCAL_NAME}"),
        std::fs::read(fixture("multi-rdn.pem")).unwrap(),
    );
    link(
        root,
        &format!("/etc/ssl/certs/{}", ca_cert_link(LOCAL_NAME)),
        &format!("/usr/local/share/ca-certificates/{LOCAL_NAME}"),
    );
    write(
        root,
        "/etc/ssl/certs/ca-certificates.crt",
        bundle_by_the_rule(root),
    );
    link(root, "/etc/ssl/cert.pem", "certs/ca-certificates.crt");
    rehash(root, &root.join("etc/ssl/certs"));
}

/// `alpine:3.x` as shipped: `ca-certificates-bundle` alone.
pub fn alpine_bundle_only(root: &Path) {
    write(
        root,
        "/etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n",
    );
    write(
        root,
        "/lib/apk/db/installed",
        "P:alpine-baselayout\nV:3.6.5-r0\n\nP:ca-certificates-bundle\nV:20240705-r0\n",
    );
    let mut bundle = Vec::new();
    for name in PACKAGED {
        bundle.extend_from_slice(&std::fs::read(fixture(name)).unwrap());
        bundle.push(b'\n');
    }
    write(root, "/etc/ssl/certs/ca-certificates.crt", bundle);
    link(root, "/etc/ssl/cert.pem", "certs/ca-certificates.crt");
}

/// `openssl rehash` of `dir` inside `root`, its absolute links resolved in the root: run on a
/// copy whose `ca-cert-*.pem` are the files they name, then the `HHHHHHHH.N` links it made put
/// into `dir`.
pub fn rehash(root: &Path, dir: &Path) {
    let copy = resolved_copy(root, dir);
    output(
        tool("openssl", "openssl")
            .arg("rehash")
            .arg(&copy)
            .env_remove("SSL_CERT_DIR"),
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if is_hash_link(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    for (name, target) in hash_links(&copy) {
        symlink(target, dir.join(name)).unwrap();
    }
    std::fs::remove_dir_all(copy).unwrap();
}

/// A copy of `dir` (beside it) in which every link is the file it names in `root` — what a
/// host tool can read of an image's absolute links.
pub fn resolved_copy(root: &Path, dir: &Path) -> std::path::PathBuf {
    let copy = dir.with_extension("resolved");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_hash_link(&name) {
            continue;
        }
        let mut path = entry.path();
        for _ in 0..8 {
            match std::fs::read_link(&path) {
                Ok(target) if target.is_absolute() => {
                    path = root.join(target.strip_prefix("/").unwrap());
                }
                Ok(target) => path = path.parent().unwrap().join(target),
                Err(_) => break,
            }
        }
        if path.is_file() {
            std::fs::copy(&path, copy.join(&name)).unwrap();
        }
    }
    copy
}

/// Whether `name` is an `HHHHHHHH.N` link name.
pub fn is_hash_link(name: &str) -> bool {
    name.split_once('.').is_some_and(|(h, n)| {
        h.len() == 8
            && h.bytes().all(|b| b.is_ascii_hexdigit())
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The `HHHHHHHH.N` links of `dir`: name → target.
pub fn hash_links(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            is_hash_link(&name).then(|| {
                let target = std::fs::read_link(e.path()).unwrap();
                (name, target.display().to_string())
            })
        })
        .collect()
}
