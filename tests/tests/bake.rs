//! `bake` end to end on synthetic Enterprise-shaped images, checked with our validator and the
//! real tools: umoci (unpack checks diff IDs), skopeo (inspect, copy to OCI and docker-archive),
//! oci-image-tool, GNU tar and Python's tarfile; then the content, reproducibility, idempotence,
//! multi-platform and every refusal.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::images::enterprise_layout;
use tests::{fixture, output, scratch, tool};
use trustbake_certs::read_bundle;
use trustbake_image::{ImageRef, validate};

fn cas(names: &[&str]) -> trustbake::Intake {
    trustbake::load_cas(
        &names.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap()
}

fn bake(
    from: &str,
    to: &str,
    cas: &trustbake::Intake,
    epoch: Option<i64>,
    platform: Option<&str>,
) -> Result<trustbake::outcome::BakeOutcome, trustbake::Error> {
    let mut request = trustbake::BakeRequest::new(from, to, cas)?
        .target(trustbake::Target::parse("enterprise", "5.1")?)
        .source_date_epoch(epoch);
    if let Some(platform) = platform {
        request = request.platform(platform.parse()?);
    }
    trustbake::bake(&request)
}

/// path → (kind, mode, uid, content digest or link target) of an unpacked root.
fn snapshot(root: &Path) -> BTreeMap<String, (String, u32, u32, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (String, u32, u32, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            let rel = format!("/{}", e.path().strip_prefix(root).unwrap().display());
            let (kind, detail) = if md.file_type().is_symlink() {
                (
                    "link",
                    std::fs::read_link(e.path()).unwrap().display().to_string(),
                )
            } else if md.is_dir() {
                walk(root, &e.path(), out);
                ("dir", String::new())
            } else {
                (
                    "file",
                    trustbake_image::Digest::of(&std::fs::read(e.path()).unwrap()).to_string(),
                )
            };
            out.insert(rel, (kind.to_owned(), md.mode() & 0o7777, md.uid(), detail));
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

#[test]
fn a_baked_layout_passes_every_tool_and_changes_only_the_trust_stores() {
    let work = scratch("bake-oci");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let out = work.join("out");
    let intake = cas(&["root-rsa.pem", "root-ec.pem"]);
    let outcome = bake(
        &format!("oci:{}:v5.1.0", base.display()),
        &format!("oci:{}:v5.1.0-corp", out.display()),
        &intake,
        None,
        None,
    )
    .unwrap();
    let p = &outcome.platforms[0];
    assert!(p.layer.is_some() && !outcome.nothing_to_add);
    assert!(
        p.notes.is_empty(),
        "the image agrees with the 5.1 map: {:?}",
        p.notes
    );
    let certifi = p
        .stores
        .iter()
        .find(|s| s.kind == trustbake::types::StoreKind::Certifi)
        .unwrap();
    assert_eq!(certifi.added.len(), 2);

    // Our validator, then the real tools.
    let reference = ImageRef::parse(&format!("oci:{}:v5.1.0-corp", out.display())).unwrap();
    assert_eq!(validate(&reference).unwrap().layers, 4);
    let inspect: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect"])
            .arg(format!("oci:{}:v5.1.0-corp", out.display())),
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], outcome.digest);
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 4);
    output(
        tool("oci-image-tool", "oci-image-tool")
            .args(["validate", "--type", "image", "--ref", "name=v5.1.0-corp"])
            .arg(&out),
    );
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{}:v5.1.0-corp", out.display()))
            .arg(format!("oci:{}:copy", work.join("copy").display())),
    );
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{}:v5.1.0-corp", out.display()))
            .arg(format!(
                "docker-archive:{}:anchore/enterprise:corp",
                work.join("copy.tar").display()
            )),
    );

    // The new layer is a tar GNU tar and Python read.
    let layer = blob(&out, p.layer.as_ref().unwrap().digest.as_str());
    let listing = output(tool("tar", "tar").arg("-tzf").arg(&layer));
    assert!(
        listing
            .lines()
            .any(|l| l == "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"),
        "{listing}"
    );
    let names = output(tool("python3", "python3").args(["-c", "import sys,tarfile; print('\\n'.join(tarfile.open(sys.argv[1],'r:gz').getnames()))"]).arg(&layer));
    assert_eq!(names.lines().count(), listing.lines().count());

    // Content: the stores hold the CAs; everything else is the base's, /tmp keeps 1777.
    let ours = tests::unpack(&out, "v5.1.0-corp", &work.join("bundle-out"));
    let theirs = tests::unpack(&base, "v5.1.0", &work.join("bundle-base"));
    let shas: Vec<String> = intake
        .cas()
        .iter()
        .map(|c| c.certificate.sha256().hex())
        .collect();
    for store in [
        "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt",
        "home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    ] {
        let found: Vec<String> = read_bundle(&std::fs::read(ours.join(store)).unwrap())
            .certificates
            .iter()
            .map(|c| c.sha256().hex())
            .collect();
        for sha in &shas {
            assert!(found.contains(sha), "{store} lacks {sha}");
        }
    }
    let (a, b) = (snapshot(&ours), snapshot(&theirs));
    let written: Vec<&str> = p.entries.iter().map(|e| e.path.as_str()).collect();
    for (path, base_entry) in &b {
        if written.contains(&path.as_str()) {
            continue;
        }
        assert_eq!(a.get(path), Some(base_entry), "{path} must be the base's");
    }
    assert_eq!(a["/tmp"].1, 0o1777);
    assert_eq!(
        a["/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem"].2, 1000,
        "the venv's owner is kept"
    );
    assert!(
        !a.contains_key("/etc/junk.conf")
            && !a.contains_key("/opt/old/stale.txt")
            && a.contains_key("/opt/old/new.txt")
    );

    // Config and manifest: every field kept, one history entry added, base descriptors untouched.
    let manifest = json_file(&blob(&out, p.manifest.as_str()));
    let config = json_file(&blob(&out, p.config.as_str()));
    for key in ["Healthcheck", "OnBuild", "Shell", "Entrypoint"] {
        assert!(config["config"].get(key).is_some(), "config.{key} kept");
    }
    assert_eq!(config["x-vendor-field"]["kept"], true);
    assert_eq!(config["config"]["Labels"]["name"], "anchore-enterprise");
    assert!(
        config["config"]["Labels"]["dev.trustbake.ca-certificates.sha256"]
            .as_str()
            .unwrap()
            .contains(&shas[0])
    );
    assert_eq!(config["history"].as_array().unwrap().len(), 5);
    assert!(
        config["history"][4]["created_by"]
            .as_str()
            .unwrap()
            .contains(&format!("sha256:{}", shas[0]))
    );
    assert_eq!(
        config["created"], "2024-03-01T12:00:00Z",
        "created from the base without SOURCE_DATE_EPOCH"
    );
    let base_index = json_file(&base.join("index.json"));
    let base_manifest = json_file(&blob(
        &base,
        base_index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    for i in 0..3 {
        assert_eq!(
            serde_json::to_string(&manifest["layers"][i]).unwrap(),
            serde_json::to_string(&base_manifest["layers"][i]).unwrap()
        );
    }
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        base_index["manifests"][0]["digest"]
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "anchore enterprise (test)"
    );
    // Base blobs are carried byte for byte, hard-linked on the same file system.
    let first = base_manifest["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(
        std::fs::metadata(blob(&out, first)).unwrap().ino(),
        std::fs::metadata(blob(&base, first)).unwrap().ino()
    );
}

#[test]
fn bakes_are_reproducible_and_a_second_bake_adds_nothing() {
    let work = scratch("bake-repro");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let intake = cas(&["demo-root.pem", "root-ec.pem"]);
    let from = format!("oci:{}:v5.1.0", base.display());
    let a = bake(
        &from,
        &format!("oci:{}:x", work.join("a").display()),
        &intake,
        Some(1_700_000_000),
        None,
    )
    .unwrap();
    let b = bake(
        &from,
        &format!("oci:{}:x", work.join("b").display()),
        &intake,
        Some(1_700_000_000),
        None,
    )
    .unwrap();
    assert_eq!(a.digest, b.digest, "same inputs, same digest");
    let reversed = cas(&["root-ec.pem", "demo-root.pem"]);
    let c = bake(
        &from,
        &format!("oci:{}:x", work.join("c").display()),
        &reversed,
        Some(1_700_000_000),
        None,
    )
    .unwrap();
    assert_eq!(a.digest, c.digest, "the order of the CAs does not matter");
    let again = bake(
        &format!("oci:{}:x", work.join("a").display()),
        &format!("oci:{}:again", work.join("d").display()),
        &intake,
        Some(1_700_000_000),
        None,
    )
    .unwrap();
    assert!(again.nothing_to_add && again.platforms[0].layer.is_none());
    assert_eq!(
        again.digest, a.digest,
        "an already-baked image is written unchanged"
    );
}

#[test]
fn multi_platform_indexes_bake_every_platform_or_the_one_asked() {
    let work = scratch("bake-multi");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 2);
    let intake = cas(&["demo-root.pem"]);
    let from = format!("oci:{}:v5.1.0", base.display());
    let all = bake(
        &from,
        &format!("oci:{}:corp", work.join("all").display()),
        &intake,
        None,
        None,
    )
    .unwrap();
    assert_eq!(all.platforms.len(), 2);
    validate(&ImageRef::parse(&format!("oci:{}:corp", work.join("all").display())).unwrap())
        .unwrap();
    let raw: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:corp", work.join("all").display())),
    ))
    .unwrap();
    assert_eq!(raw["annotations"]["org.example.index"], "kept");
    assert_eq!(raw["manifests"][1]["platform"]["architecture"], "arm64");
    let one = bake(
        &from,
        &format!("oci:{}:corp", work.join("one").display()),
        &intake,
        None,
        Some("linux/arm64"),
    )
    .unwrap();
    assert_eq!(one.platforms.len(), 1);
    let raw: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:corp", work.join("one").display())),
    ))
    .unwrap();
    let base_raw: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect", "--raw"])
            .arg(&from),
    ))
    .unwrap();
    assert_eq!(
        raw["manifests"][0]["digest"], base_raw["manifests"][0]["digest"],
        "amd64 untouched"
    );
    assert_ne!(
        raw["manifests"][1]["digest"], base_raw["manifests"][1]["digest"],
        "arm64 baked"
    );
    validate(&ImageRef::parse(&format!("oci:{}:corp", work.join("one").display())).unwrap())
        .unwrap();
    let err = bake(
        &from,
        &format!("oci:{}:corp", work.join("none").display()),
        &intake,
        None,
        Some("linux/s390x"),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("has no platform linux/s390x (it has: linux/amd64, linux/arm64)"),
        "{err}"
    );
    assert!(!work.join("none").exists());
}

#[test]
fn archives_in_and_out() {
    let work = scratch("bake-archives");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let intake = cas(&["demo-root.pem"]);
    // OCI archive in (made by skopeo), docker archive out (read back by skopeo).
    let archive = work.join("base.tar");
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{}:v5.1.0", base.display()))
            .arg(format!("oci-archive:{}:v5.1.0", archive.display())),
    );
    let docker = work.join("corp.tar");
    bake(
        &format!("oci-archive:{}:v5.1.0", archive.display()),
        &format!(
            "docker-archive:{}:anchore/enterprise:v5.1.0-corp",
            docker.display()
        ),
        &intake,
        None,
        None,
    )
    .unwrap();
    let inspect: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect"])
            .arg(format!("docker-archive:{}", docker.display())),
    ))
    .unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 4);
    validate(&ImageRef::parse(&format!("docker-archive:{}", docker.display())).unwrap()).unwrap();
    // Docker archive in: already baked, so nothing is added; OCI archive out.
    let again = bake(
        &format!("docker-archive:{}", docker.display()),
        &format!("oci-archive:{}:corp", work.join("again.tar").display()),
        &intake,
        None,
        None,
    )
    .unwrap();
    assert!(again.nothing_to_add);
    output(tool("skopeo", "skopeo").args(["inspect"]).arg(format!(
        "oci-archive:{}:corp",
        work.join("again.tar").display()
    )));
}

#[test]
fn bad_inputs_are_refused_by_name_and_nothing_is_written() {
    let work = scratch("bake-bad");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let intake = cas(&["demo-root.pem"]);
    let from = format!("oci:{}:v5.1.0", base.display());
    let dest = work.join("dest");
    let to = format!("oci:{}:x", dest.display());

    // A corrupt layer blob.
    let corrupt = work.join("corrupt");
    output(tool("cp", "coreutils").arg("-a").arg(&base).arg(&corrupt));
    let index = json_file(&corrupt.join("index.json"));
    let manifest = json_file(&blob(
        &corrupt,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let layer = manifest["layers"][1]["digest"].as_str().unwrap().to_owned();
    let path = blob(&corrupt, &layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let err = bake(
        &format!("oci:{}:v5.1.0", corrupt.display()),
        &to,
        &intake,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&layer), "{err}");
    assert!(!dest.exists());

    // A missing blob.
    std::fs::remove_file(&path).unwrap();
    let err = bake(
        &format!("oci:{}:v5.1.0", corrupt.display()),
        &to,
        &intake,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&format!("blob {layer} is missing")), "{err}");

    // A digest with path traversal in index.json, a malformed digest, an unknown tag.
    let evil = work.join("evil");
    output(tool("cp", "coreutils").arg("-a").arg(&base).arg(&evil));
    let text = std::fs::read_to_string(evil.join("index.json")).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    std::fs::write(
        evil.join("index.json"),
        text.replace(digest, "sha256:../../../../etc/passwd"),
    )
    .unwrap();
    let err = bake(
        &format!("oci:{}:v5.1.0", evil.display()),
        &to,
        &intake,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not a valid sha256 digest"), "{err}");
    let err = bake(
        &format!("oci:{}:nope", base.display()),
        &to,
        &intake,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no image tagged 'nope' (tags: v5.1.0)"),
        "{err}"
    );
    assert!(
        bake(
            &format!("oci:{}:../x", base.display()),
            &to,
            &intake,
            None,
            None
        )
        .is_err()
    );

    // A destination that exists and is not an OCI layout.
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("notes.txt"), "mine").unwrap();
    let err = bake(&from, &to, &intake, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the destination exists and is not an OCI image layout"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);

    // The input is never modified.
    let before = snapshot(&base);
    bake(
        &from,
        &format!("oci:{}:ok", work.join("ok").display()),
        &intake,
        None,
        None,
    )
    .unwrap();
    assert_eq!(snapshot(&base), before);
}

#[test]
fn writing_a_new_tag_into_an_existing_layout_keeps_its_other_tags() {
    let work = scratch("bake-existing");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let intake = cas(&["demo-root.pem"]);
    bake(
        &format!("oci:{}:v5.1.0", base.display()),
        &format!("oci:{}:v5.1.0-corp", base.display()),
        &intake,
        None,
        None,
    )
    .unwrap();
    let index = json_file(&base.join("index.json"));
    let tags: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(tags, ["v5.1.0", "v5.1.0-corp"]);
    for tag in tags {
        validate(&ImageRef::parse(&format!("oci:{}:{tag}", base.display())).unwrap()).unwrap();
    }
}

#[test]
fn writing_a_new_tag_into_an_existing_oci_archive_keeps_its_other_tags() {
    let work = scratch("bake-existing-archive");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let from = format!("oci:{}:v5.1.0", base.display());
    let archive = work.join("images.tar");
    for (tag, ca) in [
        ("one", "demo-root.pem"),
        ("two", "root-ec.pem"),
        ("one", "root-rsa.pem"),
    ] {
        bake(
            &from,
            &format!("oci-archive:{}:{tag}", archive.display()),
            &cas(&[ca]),
            None,
            None,
        )
        .unwrap();
    }
    // Both tags are there (the first one moved to its last image), each a valid image.
    for tag in ["one", "two"] {
        validate(&ImageRef::parse(&format!("oci-archive:{}:{tag}", archive.display())).unwrap())
            .unwrap();
    }
    let unpacked = work.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    output(
        tool("tar", "tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked),
    );
    let index = json_file(&unpacked.join("index.json"));
    let mut tags: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    tags.sort();
    assert_eq!(tags, ["one", "two"]);
}

/// The SHA-256s of every certificate in every regular file under `dir` (outside `skip`).
fn certificates_under(dir: &Path, skip: &[&str], out: &mut BTreeMap<String, Vec<PathBuf>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if skip.iter().any(|s| path.to_string_lossy().contains(s)) {
            continue;
        }
        if kind.is_dir() {
            certificates_under(&path, skip, out);
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let mut shas: Vec<String> = read_bundle(&bytes)
                .certificates
                .iter()
                .map(|c| c.sha256().hex())
                .collect();
            if let Ok(ks) = trustbake_store::formats::jks::Keystore::parse(&bytes) {
                shas.extend(
                    ks.certificates()
                        .map(|d| trustbake_certs::Sha256Fingerprint::of(d).hex()),
                );
            }
            if let Some(ders) = trustbake_store::formats::edk2_certificates(&bytes) {
                shas.extend(
                    ders.iter()
                        .map(|d| trustbake_certs::Sha256Fingerprint::of(d).hex()),
                );
            }
            for sha in shas {
                out.entry(sha).or_default().push(path.clone());
            }
        }
    }
}

#[test]
fn a_second_bake_replaces_trustbakes_layer_and_removals_reach_every_store() {
    let work = scratch("bake-rotate");
    let base = work.join("base");
    enterprise_layout(&base, "v5.1.0", 1);
    let from = format!("oci:{}:v5.1.0", base.display());
    let epoch = Some(1_700_000_000);
    let old = cas(&["root-rsa.pem"]);
    let new = cas(&["root-ec.pem"]);
    let one = format!("oci:{}:x", work.join("one").display());
    let two = format!("oci:{}:x", work.join("two").display());
    bake(&from, &one, &old, epoch, None).unwrap();
    let rotated = bake(&one, &two, &new, epoch, None).unwrap();
    let replaced = rotated.platforms[0].replaced.as_ref().expect("replaced");
    let rsa = old.cas()[0].certificate.sha256().hex();
    assert_eq!(replaced.cas, [format!("sha256:{rsa}")]);
    // The original base plus one new layer: what a bake of the new CA on the base gives.
    let fresh = bake(
        &from,
        &format!("oci:{}:x", work.join("fresh").display()),
        &new,
        epoch,
        None,
    )
    .unwrap();
    assert_eq!(rotated.digest, fresh.digest);
    validate(&ImageRef::parse(&two).unwrap()).unwrap();
    // inspect names the layer that added the CA: trustbake's, on the base's three.
    let ec = new.cas()[0].certificate.sha256().hex();
    let inspected = trustbake::inspect(&two, None).unwrap();
    let local = inspected.platforms[0]
        .local_cas
        .iter()
        .find(|c| c.sha256 == ec)
        .unwrap();
    let by = local.added_by.as_ref().unwrap();
    assert!(by.trustbake && by.index == 3, "{by:?}");
    assert_eq!(inspected.platforms[0].local_cas.len(), 1);
    let top = inspected.platforms[0].trustbake.as_ref().unwrap();
    assert_eq!(top.cas, [format!("sha256:{ec}")]);
    // The CA the replaced layer added and this bake does not give again is named.
    // (A local image: by subject and fingerprint.)
    let rsa_subject = old.cas()[0].certificate.subject().to_owned();
    assert!(
        rotated.notes.iter().any(|n| n.starts_with(&format!(
            "drops {rsa_subject} (sha256:{rsa}), a CA trustbake's replaced layer added"
        ))),
        "{:?}",
        rotated.notes
    );
    // --keep-baked-cas adds instead: the same image as a bake of both CAs on the base.
    let kept = trustbake::bake(
        &trustbake::BakeRequest::new(
            &one,
            &format!("oci:{}:x", work.join("kept").display()),
            &new,
        )
        .unwrap()
        .source_date_epoch(epoch)
        .keep_baked_cas(),
    )
    .unwrap();
    let both = bake(
        &from,
        &format!("oci:{}:x", work.join("both").display()),
        &cas(&["root-rsa.pem", "root-ec.pem"]),
        epoch,
        None,
    )
    .unwrap();
    assert_eq!(kept.digest, both.digest);
    assert!(
        kept.notes.iter().all(|n| !n.starts_with("drops ")),
        "{:?}",
        kept.notes
    );
    // Rotated again with the same CA: the image is what it was.
    let again = bake(
        &two,
        &format!("oci:{}:x", work.join("again").display()),
        &new,
        epoch,
        None,
    )
    .unwrap();
    assert!(again.nothing_to_add, "{again:?}");
    assert_eq!(again.digest, rotated.digest);

    // The old CA is in no store; a shipped root distrusted by fingerprint is in none either
    // (but the blocklist, and p11-kit's OpenSSL bundle, which keeps a shipped root as it is).
    let rootfs = tests::unpack(&work.join("two"), "x", &work.join("two-bundle"));
    let mut found = BTreeMap::new();
    certificates_under(&rootfs, &[], &mut found);
    assert!(!found.contains_key(&rsa), "{:?}", found.get(&rsa));
    assert!(
        found.get(&ec).is_some_and(|p| p.len() >= 5),
        "{:?}",
        found.get(&ec)
    );
    let tls =
        std::fs::read(rootfs.join("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")).unwrap();
    let shipped = read_bundle(&tls).certificates[0].sha256().hex();
    let three = format!("oci:{}:x", work.join("three").display());
    let removed = trustbake::bake(
        &trustbake::BakeRequest::new(&two, &three, &new)
            .unwrap()
            .source_date_epoch(epoch)
            .remove(trustbake::load_removals(std::slice::from_ref(&shipped)).unwrap()),
    )
    .unwrap();
    assert!(removed.platforms[0].replaced.is_some());
    let stores: Vec<&str> = removed.platforms[0]
        .stores
        .iter()
        .filter(|s| s.removed.iter().any(|r| r.sha256 == shipped))
        .map(|s| s.path.as_str())
        .collect();
    assert!(stores.len() >= 5, "{stores:?}");
    let rootfs = tests::unpack(&work.join("three"), "x", &work.join("three-bundle"));
    let mut found = BTreeMap::new();
    certificates_under(
        &rootfs,
        &[
            "source/blocklist",
            "openssl/ca-bundle.trust.crt",
            "/usr/share/",
        ],
        &mut found,
    );
    assert!(!found.contains_key(&shipped), "{:?}", found.get(&shipped));
    assert!(found.contains_key(&ec));
    assert_eq!(
        std::fs::read_dir(rootfs.join("etc/pki/ca-trust/source/blocklist"))
            .unwrap()
            .count(),
        1
    );

    // Removing, by fingerprint alone, the CA only trustbake's own layer added: the layer is
    // replaced (by none) and the CA goes into the blocklist, so a later copy of it into the
    // anchors stays distrusted.
    let four = format!("oci:{}:x", work.join("four").display());
    let dropped = trustbake::bake(
        &trustbake::BakeRequest::new(&two, &four, &trustbake::Intake::default())
            .unwrap()
            .source_date_epoch(epoch)
            .remove(trustbake::load_removals(std::slice::from_ref(&ec)).unwrap()),
    )
    .unwrap();
    assert!(dropped.platforms[0].replaced.is_some());
    let rootfs = tests::unpack(&work.join("four"), "x", &work.join("four-bundle"));
    let mut found = BTreeMap::new();
    certificates_under(&rootfs, &[], &mut found);
    // In the blocklist, and (rejected for every purpose, as p11-kit writes a certificate only
    // the blocklist names) in the OpenSSL trust bundle: in no store that trusts it.
    let paths = found.get(&ec).cloned().unwrap_or_default();
    let shown: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(
        shown.iter().any(|p| p.contains("source/blocklist/"))
            && shown.iter().all(|p| {
                p.contains("source/blocklist/") || p.ends_with("openssl/ca-bundle.trust.crt")
            }),
        "{shown:?}"
    );
}
