//! Small synthetic base images for every release line of the version map, built in Rust with
//! no network and no outside tool: the right OS layout (RHEL outputs or Debian's store, in
//! their own formats, from Mozilla's roots), certifi at the line's path with the line's owner,
//! a venv where the line has one, `/tmp` at 1777, three layers with a whiteout and an opaque
//! directory. `cargo xtask fixtures` writes them; the demo and the tests bake them.

use std::path::Path;

use serde_json::{Value, json};
use trustbake_certs::Certificate;
use trustbake_image::{Digest, LayerEntry, LayerEntryKind, build_layer};
use trustbake_store::formats::{self, jks::Keystore};
use trustbake_targets::{Base, OsFamily, ReleaseLine, VersionMap};

const CREATED: &str = "2024-06-01T00:00:00Z";
const MTIME: i64 = 1_717_200_000;
/// How many of Mozilla's roots each image holds (enough for real bundles, small images).
const ROOTS: usize = 40;

/// A file entry.
pub(crate) fn f(path: &str, bytes: impl Into<Vec<u8>>, mode: u32, uid: u32) -> LayerEntry {
    LayerEntry {
        path: path.to_owned(),
        kind: LayerEntryKind::File(bytes.into()),
        mode,
        uid,
        gid: uid,
        mtime: MTIME,
    }
}

/// A directory entry.
pub(crate) fn d(path: &str, mode: u32, uid: u32) -> LayerEntry {
    LayerEntry {
        path: path.to_owned(),
        kind: LayerEntryKind::Dir,
        mode,
        uid,
        gid: uid,
        mtime: MTIME,
    }
}

/// A symlink entry.
pub(crate) fn l(path: &str, target: &str) -> LayerEntry {
    LayerEntry {
        path: path.to_owned(),
        kind: LayerEntryKind::Symlink(target.to_owned()),
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: MTIME,
    }
}

/// Directory entries for every parent of `path` (root-owned 0755) not already in `out`.
fn parents(out: &mut Vec<LayerEntry>, path: &str, uid: u32) {
    let mut p = String::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for part in &parts[..parts.len() - 1] {
        p.push('/');
        p.push_str(part);
        if !out.iter().any(|e| e.path == p) {
            let owner = if p.starts_with("/home/anchore") || p.starts_with("/anchore-cli") {
                uid
            } else {
                0
            };
            out.push(d(&p, 0o755, owner));
        }
    }
}

fn roots() -> Vec<Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .take(ROOTS)
        .filter_map(|d| Certificate::from_der(d.as_ref()).ok())
        .collect()
}

/// The name a release line's fixture gets: `engine-0.9`, `enterprise-5.1`.
pub fn fixture_name(line: &ReleaseLine) -> String {
    format!("{}-{}.{}", line.product, line.first.major, line.first.minor)
}

/// The layers of the synthetic image for `line`, bottom first.
pub fn layers(line: &ReleaseLine) -> Vec<Vec<LayerEntry>> {
    let roots = roots();
    let refs: Vec<&Certificate> = roots.iter().collect();
    let uid: u32 = line
        .user
        .trim_start_matches("anchore (")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(0);
    let (id, version) = match line.base {
        Base::Centos7 => ("centos", "7"),
        Base::Ubuntu1804 => ("ubuntu", "18.04"),
        Base::Ubi7 => ("rhel", "7.9"),
        Base::Ubi8 => ("rhel", "8.10"),
        Base::Ubi9 => ("rhel", "9.4"),
    };
    let mut os = vec![
        d("/etc", 0o755, 0),
        d("/tmp", 0o1777, 0),
        f(
            "/etc/os-release",
            format!("ID=\"{id}\"\nVERSION_ID=\"{version}\"\n"),
            0o644,
            0,
        ),
        f("/etc/motd", "removed later\n", 0o644, 0),
        d("/opt", 0o755, 0),
        d("/opt/cache", 0o755, 0),
        f(
            "/opt/cache/old",
            "hidden by an opaque directory\n",
            0o644,
            0,
        ),
    ];
    match line.base_info.os_family {
        OsFamily::Rhel => {
            let ro = 0o444;
            let x = "/etc/pki/ca-trust/extracted";
            for p in [
                &format!("{x}/pem/tls-ca-bundle.pem"),
                &format!("{x}/openssl/x"),
                &format!("{x}/java/x"),
                "/etc/pki/ca-trust/source/anchors/x",
                "/etc/pki/tls/certs/x",
            ] {
                parents(&mut os, p, 0);
            }
            for output in &line.base_info.os_outputs {
                let content = match output.rsplit('/').next().unwrap_or_default() {
                    "ca-bundle.trust.crt" => formats::openssl_bundle_append(b"", &refs),
                    "cacerts" => {
                        let mut ks = Keystore {
                            entries: Vec::new(),
                        };
                        for c in &roots {
                            ks.add_trusted(
                                &formats::jks::p11_kit_alias(c.label()),
                                c.der(),
                                MTIME * 1000,
                            );
                        }
                        ks.to_bytes()
                    }
                    "cacerts.bin" => formats::edk2_append(b"", &refs),
                    _ => formats::pem_bundle_append(b"", &refs),
                };
                parents(&mut os, output, 0);
                os.push(f(output, content, ro, 0));
            }
            if line.base == Base::Ubi9 {
                let dir = format!("{x}/pem/directory-hash");
                os.push(d(&dir, 0o555, 0));
                let mut names = Vec::new();
                for c in &roots {
                    let name = (0..)
                        .map(|n| formats::directory_hash_file_name(c.label(), n))
                        .find(|n| !names.contains(n))
                        .unwrap_or_default();
                    names.push(name.clone());
                    os.push(f(&format!("{dir}/{name}"), c.to_pem(), ro, 0));
                    for h in c
                        .subject_hash_p11_kit()
                        .into_iter()
                        .chain([c.subject_hash_old()])
                    {
                        let link = (0..)
                            .map(|n| format!("{dir}/{h:08x}.{n}"))
                            .find(|p| !os.iter().any(|e| &e.path == p))
                            .unwrap_or_default();
                        os.push(l(&link, &name));
                    }
                }
            }
            os.push(l(
                "/etc/pki/tls/certs/ca-bundle.crt",
                &format!("{x}/pem/tls-ca-bundle.pem"),
            ));
            os.push(l(
                "/etc/pki/tls/certs/ca-bundle.trust.crt",
                &format!("{x}/openssl/ca-bundle.trust.crt"),
            ));
            os.push(l(
                "/etc/pki/tls/cert.pem",
                &format!("{x}/pem/tls-ca-bundle.pem"),
            ));
            parents(&mut os, "/etc/ssl/x", 0);
            os.push(l(
                "/etc/ssl/certs",
                if line.base == Base::Ubi9 {
                    "/etc/pki/tls/certs"
                } else {
                    "../pki/tls/certs"
                },
            ));
        }
        OsFamily::Debian => {
            for p in [
                "/usr/share/ca-certificates/mozilla/x",
                "/etc/ssl/certs/x",
                "/usr/local/share/ca-certificates/x",
            ] {
                parents(&mut os, p, 0);
            }
            let mut conf = String::from("# Automatically generated by ca-certificates.\n");
            let mut bundle = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for c in &roots {
                let base = c.label().replace(' ', "_");
                let name = (0..)
                    .map(|n| {
                        if n == 0 {
                            format!("{base}.crt")
                        } else {
                            format!("{base}_{n}.crt")
                        }
                    })
                    .find(|n| !names.contains(n))
                    .unwrap_or_default();
                names.push(name.clone());
                os.push(f(
                    &format!("/usr/share/ca-certificates/mozilla/{name}"),
                    c.to_pem(),
                    0o644,
                    0,
                ));
                conf.push_str(&format!("mozilla/{name}\n"));
                bundle.extend_from_slice(c.to_pem().as_bytes());
                let pem = formats::debian_link_name(&name);
                os.push(l(
                    &format!("/etc/ssl/certs/{pem}"),
                    &format!("/usr/share/ca-certificates/mozilla/{name}"),
                ));
                let link = (0..)
                    .map(|n| format!("/etc/ssl/certs/{:08x}.{n}", c.subject_hash()))
                    .find(|p| !os.iter().any(|e| &e.path == p))
                    .unwrap_or_default();
                os.push(l(&link, &pem));
            }
            os.push(f("/etc/ca-certificates.conf", conf, 0o644, 0));
            os.push(f("/etc/ssl/certs/ca-certificates.crt", bundle, 0o644, 0));
        }
        OsFamily::Suse | OsFamily::Alpine | OsFamily::Distroless | OsFamily::Unknown => {
            panic!("every Anchore release line is RHEL- or Debian-based")
        }
    }
    // The Python layer: certifi where the line keeps it, owned by the runtime user.
    let mut python = Vec::new();
    let certifi = formats::certifi_append(b"", &refs);
    for (i, path) in line.certifi.iter().map(|c| &c.path).enumerate() {
        if i > 0 && line.certifi[i].since.is_some() {
            continue; // paths that only exist from a later version of the line
        }
        parents(&mut python, path, uid);
        let site = path.trim_end_matches("/certifi/cacert.pem");
        python.push(f(path, certifi.clone(), 0o644, uid));
        python.push(f(
            &format!("{site}/certifi/core.py"),
            "def where():\n    return os.path.join(os.path.dirname(__file__), 'cacert.pem')\n",
            0o644,
            uid,
        ));
        python.push(f(
            &format!("{site}/certifi-2024.2.2.dist-info/RECORD"),
            format!(
                "certifi/core.py,sha256=x,80\n{}\ncertifi-2024.2.2.dist-info/RECORD,,\n",
                formats::record_line("certifi/cacert.pem", &certifi)
            ),
            0o644,
            uid,
        ));
        if let Some(venv) = path
            .split("/lib/python")
            .next()
            .filter(|v| v.starts_with("/home/") || v.starts_with("/anchore-cli"))
        {
            python.push(f(
                &format!("{venv}/pyvenv.cfg"),
                format!("home = /usr/bin\nversion = {}.7\n", line.python),
                0o644,
                uid,
            ));
        }
    }
    python.sort_by(|a, b| a.path.cmp(&b.path));
    python.dedup_by(|a, b| a.path == b.path);
    let cleanup = vec![
        f("/etc/.wh.motd", "", 0o644, 0),
        d("/opt/cache", 0o755, 0),
        f("/opt/cache/.wh..wh..opq", "", 0o644, 0),
        f("/opt/cache/fresh", "the only file here\n", 0o644, 0),
    ];
    vec![os, python, cleanup]
}

fn put(layout: &Path, bytes: &[u8]) -> (Digest, usize) {
    let digest = Digest::of(bytes);
    std::fs::write(layout.join("blobs/sha256").join(digest.hex()), bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", layout.display()));
    (digest, bytes.len())
}

fn manifest_for(
    layout: &Path,
    line: &ReleaseLine,
    layers: &[trustbake_image::NewLayer],
    arch: &str,
) -> Value {
    let uid = line
        .user
        .trim_start_matches("anchore (")
        .trim_end_matches(')');
    let config = json!({
        "architecture": arch, "os": "linux", "created": CREATED,
        "config": { "User": uid, "Labels": { "product": line.product.as_str(), "line": line.line }, "Healthcheck": { "Test": ["CMD", "true"] } },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>() },
        "history": [{ "created": CREATED, "created_by": "os" }, { "created": CREATED, "created_by": "python" }, { "created": CREATED, "created_by": "cleanup" }]
    });
    let (cd, cs) = put(layout, &serde_json::to_vec(&config).unwrap_or_default());
    let descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            put(layout, &l.blob);
            json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l.digest.to_string(), "size": l.blob.len() })
        })
        .collect();
    let manifest = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs }, "layers": descs });
    let (md, ms) = put(layout, &serde_json::to_vec(&manifest).unwrap_or_default());
    json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": ms, "platform": { "architecture": arch, "os": "linux" } })
}

/// A layer naming one path twice is refused by containers-storage ("duplicates of file paths
/// not supported"): no fixture may hold one.
pub fn no_repeated_path(layer: &[LayerEntry]) {
    let mut seen = std::collections::HashSet::new();
    for entry in layer {
        let path = entry.path.trim_end_matches('/');
        assert!(
            seen.insert(path.to_owned()),
            "a fixture layer repeats {path}"
        );
    }
}

/// Writes the synthetic image of `line` as an OCI layout at `layout`, tagged with the line's
/// first version; `platforms` = 2 gives an amd64 + arm64 index.
pub fn write_layout(layout: &Path, line: &ReleaseLine, platforms: usize) {
    crate::empty_layout(layout);
    let built: Vec<_> = layers(line)
        .iter()
        .map(|l| {
            no_repeated_path(l);
            build_layer(l).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut manifests: Vec<Value> = ["amd64", "arm64"]
        .iter()
        .take(platforms.max(1))
        .map(|a| manifest_for(layout, line, &built, a))
        .collect();
    let tag = line.first.to_string();
    let mut top = if manifests.len() > 1 {
        let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests });
        let (d, s) = put(layout, &serde_json::to_vec(&index).unwrap_or_default());
        json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": d.to_string(), "size": s })
    } else {
        manifests.remove(0)
    };
    if let Some(obj) = top.as_object_mut() {
        obj.insert(
            "annotations".into(),
            json!({ "org.opencontainers.image.ref.name": tag }),
        );
    }
    let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [top] });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap_or_default(),
    )
    .unwrap_or_default();
}

/// Writes every line's image under `dir` (`dir/<product>-<major>.<minor>`), plus
/// `enterprise-5.1-multi` (two platforms); returns the names.
pub fn write_all(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for line in VersionMap::builtin().lines() {
        let name = fixture_name(line);
        write_layout(&dir.join(&name), line, 1);
        names.push(name);
    }
    write_layout(&dir.join("enterprise-5.1-multi"), &enterprise_5_1(), 2);
    names.push("enterprise-5.1-multi".to_owned());
    names
}

/// The Enterprise 5.1 line: the one the demo, the realistic image and most image tests use.
pub fn enterprise_5_1() -> ReleaseLine {
    VersionMap::builtin()
        .lines_of(trustbake_targets::Product::Enterprise)
        .find(|l| l.line == "5.1.x+")
        .expect("the version map has the 5.1 line")
        .clone()
}
