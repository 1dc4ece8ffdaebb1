//! The SUSE family against the real p11-kit, run with the very commands of openSUSE's hooks:
//! after trustbake adds CAs, every output — `ca-bundle.pem` (header kept, no comments),
//! `java-cacerts`, the `openssl/` and `pem/` hashed directories, names, links and bytes — is
//! what a fresh `trust extract` with those CAs in `/etc/pki/trust/anchors` makes, and what the
//! image's own `update-ca-certificates` would make of trustbake's result; removal blocklists
//! and gives the outputs p11-kit makes with the CA in `blocklist/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tests::suse::{BUNDLE_HEADER, extract, suse_root};
use tests::{copy_tree, fixture, jks_entries, scratch};
use trustbake_certs::read_bundle;

const ADDED: &[&str] = &[
    "root-rsa.pem",
    "root-ec.pem",
    "demo-root.pem",
    "bmp-subject.pem",
    "t61-subject.pem",
    "odd-subject.pem",
    "multi-rdn.pem",
];
const STATE: &str = "var/lib/ca-certificates";

/// name → link target, or the SHA-256 of the file's bytes.
fn dir_map(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let value = if e.file_type().unwrap().is_symlink() {
                std::fs::read_link(e.path()).unwrap().display().to_string()
            } else {
                let bytes = std::fs::read(e.path()).unwrap();
                format!(
                    "file:{}",
                    trustbake_certs::Sha256Fingerprint::of(&bytes).hex()
                )
            };
            (name, value)
        })
        .collect()
}

#[derive(Debug, PartialEq)]
struct Outputs {
    bundle_certs: BTreeSet<String>,
    jks: BTreeSet<(String, String)>,
    openssl: BTreeMap<String, String>,
    pem: BTreeMap<String, String>,
}

fn outputs(root: &Path) -> Outputs {
    let state = root.join(STATE);
    let bundle = std::fs::read_to_string(state.join("ca-bundle.pem")).unwrap();
    assert!(
        bundle.starts_with(BUNDLE_HEADER),
        "the hook's header is kept"
    );
    let body = &bundle[BUNDLE_HEADER.len()..];
    assert!(
        !body.contains("\n#") && !body.contains("\n\n"),
        "pem-bundle without comments: blocks back to back"
    );
    Outputs {
        bundle_certs: read_bundle(bundle.as_bytes())
            .certificates
            .iter()
            .map(|c| c.sha256().hex())
            .collect(),
        jks: jks_entries(&state.join("java-cacerts")),
        openssl: dir_map(&state.join("openssl")),
        pem: dir_map(&state.join("pem")),
    }
}

fn cas(names: &[&str]) -> trustbake::Intake {
    trustbake::load_cas(
        &names.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap()
}

#[test]
fn every_output_is_what_the_hooks_trust_extract_makes() {
    let work = scratch("suse-p11-kit");
    let base = work.join("base");
    suse_root(&base, 40);
    let before = outputs(&base);
    let ours = work.join("ours");
    copy_tree(&base, &ours);

    let added = cas(ADDED);
    let report = trustbake::apply(&trustbake::ApplyRequest::new(
        &ours,
        &added,
        trustbake::process::now(),
    ))
    .unwrap();
    assert_eq!(report.detected.family, "suse", "{:?}", report.detected);
    let got = outputs(&ours);
    assert_eq!(
        got.bundle_certs.len(),
        before.bundle_certs.len() + ADDED.len()
    );

    // The reference: p11-kit with the same CAs among the administrator's anchors.
    let reference = work.join("reference");
    copy_tree(&base, &reference);
    for name in ADDED {
        std::fs::copy(
            fixture(name),
            reference.join("etc/pki/trust/anchors").join(name),
        )
        .unwrap();
    }
    extract(
        &reference,
        &[
            &reference.join("usr/share/pki/trust"),
            &reference.join("etc/pki/trust"),
        ],
        &reference,
    );
    assert_eq!(got, outputs(&reference), "trustbake vs trust extract");

    // The image's own update-ca-certificates over trustbake's result makes the same.
    let later = work.join("later");
    copy_tree(&ours, &later);
    extract(
        &later,
        &[
            &later.join("usr/share/pki/trust"),
            &later.join("etc/pki/trust"),
        ],
        &later,
    );
    assert_eq!(
        got,
        outputs(&later),
        "trustbake vs a later update-ca-certificates"
    );

    // trustbake over its own result plans nothing.
    let again = trustbake::apply_preview(&trustbake::ApplyRequest::new(
        &ours,
        &added,
        trustbake::process::now(),
    ))
    .unwrap();
    assert!(again.entries.is_empty(), "{:?}", again.entries);
}

#[test]
fn removal_blocklists_and_the_outputs_are_p11_kits() {
    let work = scratch("suse-remove");
    let base = work.join("base");
    suse_root(&base, 12);
    // Distrust a packaged root and one of the administrator's.
    let admin = fixture("demo-root.pem");
    std::fs::copy(&admin, base.join("etc/pki/trust/anchors/demo-root.pem")).unwrap();
    extract(
        &base,
        &[
            &base.join("usr/share/pki/trust"),
            &base.join("etc/pki/trust"),
        ],
        &base,
    );
    let packaged = base.join("usr/share/pki/trust/anchors/mozilla-003.pem");
    let ours = work.join("ours");
    copy_tree(&base, &ours);
    let removals =
        trustbake::load_removals(&[packaged.display().to_string(), admin.display().to_string()])
            .unwrap();
    let none = trustbake::Intake::default();
    trustbake::apply(
        &trustbake::ApplyRequest::new(&ours, &none, trustbake::process::now()).remove(removals),
    )
    .unwrap();
    assert!(
        !ours.join("etc/pki/trust/anchors/demo-root.pem").exists(),
        "the administrator's anchor is gone"
    );
    assert_eq!(
        std::fs::read_dir(ours.join("etc/pki/trust/blocklist"))
            .unwrap()
            .count(),
        2,
        "both blocklisted"
    );
    // p11-kit over trustbake's sources (the CAs in blocklist/) makes the same outputs.
    let later = work.join("later");
    copy_tree(&ours, &later);
    extract(
        &later,
        &[
            &later.join("usr/share/pki/trust"),
            &later.join("etc/pki/trust"),
        ],
        &later,
    );
    assert_eq!(outputs(&ours), outputs(&later));
    let held = outputs(&ours).bundle_certs;
    for path in [&packaged, &admin] {
        let cert = read_bundle(&std::fs::read(path).unwrap())
            .certificates
            .remove(0);
        assert!(!held.contains(&cert.sha256().hex()));
    }
}

#[test]
fn a_suse_image_is_baked_inspected_and_trusts_the_chain_after_only() {
    let work = scratch("suse-image");
    let rootfs = work.join("rootfs");
    suse_root(&rootfs, 20);
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &rootfs,
        &layout,
        &[],
        serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000"}}),
        "bci",
    );
    let from = format!("oci:{}:bci", layout.display());
    let to = format!("oci:{}:bci-corp", layout.display());
    tests::output(
        tests::trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(fixture("root-rsa.pem")),
    );
    let inspect: serde_json::Value = serde_json::from_str(&tests::output(
        tests::trustbake().args(["inspect", "--json", &to]),
    ))
    .unwrap();
    let detected = &inspect["platforms"][0]["detected"];
    assert_eq!(detected["family"], "suse", "{inspect:#}");
    assert_eq!(detected["suse"]["outputs"].as_array().unwrap().len(), 2);
    assert_eq!(detected["suse"]["openssl_directory"], true);
    let chain = tests::leaf_chain(&work);
    let verify = |image: &str| {
        tests::trustbake()
            .args(["verify", "--chain"])
            .arg(&chain)
            .arg(image)
            .output()
            .unwrap()
    };
    let (before, after) = (verify(&from), verify(&to));
    assert!(!before.status.success(), "{before:?}");
    assert!(after.status.success(), "{after:?}");
    // A build of the same: the CA into SUSE's anchors, then SUSE's own tool.
    let context = work.join("context");
    tests::output(
        tests::trustbake()
            .args(["dockerfile", "--from", &from, "--output"])
            .arg(&context)
            .arg("--ca")
            .arg(fixture("root-rsa.pem")),
    );
    let text = std::fs::read_to_string(context.join("Containerfile")).unwrap();
    assert!(text.contains("/etc/pki/trust/anchors/"), "{text}");
    assert!(text.contains("update-ca-certificates"), "{text}");
    // The baked image's outputs are what its own update-ca-certificates would make.
    let baked = tests::unpack(&layout, "bci-corp", &work.join("bundle"));
    let later = work.join("later");
    copy_tree(&baked, &later);
    extract(
        &later,
        &[
            &later.join("usr/share/pki/trust"),
            &later.join("etc/pki/trust"),
        ],
        &later,
    );
    assert_eq!(outputs(&baked), outputs(&later));
}
