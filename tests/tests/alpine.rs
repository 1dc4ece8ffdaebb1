//! The Alpine family on Alpine-shaped roots (no Alpine tool runs here: its rules are golden,
//! derived from aports' `update-ca.c` and `c_rehash.c`, docs/families.md): the bundle by the
//! tool's rule, a `ca-cert-*.pem` link per local file with the tool's mangling, hash links as
//! `openssl rehash` names them, every CA found by `openssl verify -CApath` and loaded by
//! Python's `ssl`; a bundle-only image appended to in its own format; a baked Alpine image
//! inspected, and `verify` trusting a chain to an added root there and not in the base; `dockerfile` refusing a bundle-only image with the way out.

use std::collections::BTreeMap;
use std::path::Path;

use tests::alpine::{
    alpine_bundle_only, alpine_with_tool, bundle_by_the_rule, ca_cert_link, hash_links,
    resolved_copy,
};
use tests::{fixture, output, scratch, tool, trustbake};

const ADDED: &[&str] = &[
    "demo-root.pem",
    "root-ec.pem",
    "root-rsa.pem",
    "t61-subject.pem",
];

fn cas() -> trustbake::Intake {
    trustbake::load_cas(
        &ADDED.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap()
}

fn apply(root: &Path) -> trustbake::outcome::ApplyOutcome {
    let cas = cas();
    trustbake::apply(&trustbake::ApplyRequest::new(
        root,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap()
}

/// Every entry below `root`: path → link target, or the file's bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(name, format!("-> {}", target.display()).into_bytes());
            } else if kind.is_dir() {
                out.insert(name, b"dir".to_vec());
                stack.push(path);
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The number of certificates Python's `ssl` loads from `bundle`.
fn python_loads(bundle: &Path) -> usize {
    let out = output(
        tool("python3", "python3")
            .args([
                "-c",
                "import ssl, sys\nc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\nc.load_verify_locations(cafile=sys.argv[1])\nprint(c.cert_store_stats()['x509'])",
            ])
            .arg(bundle)
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR"),
    );
    out.trim().parse().unwrap()
}

fn openssl_verify(args: &[&str], cert: &Path) {
    output(
        tool("openssl", "openssl")
            .arg("verify")
            .args(args)
            .arg(cert)
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR"),
    );
}

#[test]
fn the_tools_root_gets_the_rule_the_links_and_hash_links_openssl_finds() {
    let work = scratch("alpine-tool");
    let root = work.join("root");
    alpine_with_tool(&root);
    let before = tree(&root);
    let outcome = apply(&root);
    assert_eq!(outcome.detected.family, "alpine");
    assert!(!outcome.detected.debian);

    // The local files, flat, each with its link.
    let local = root.join("usr/local/share/ca-certificates");
    let mut names: Vec<String> = std::fs::read_dir(&local)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 1 + ADDED.len(), "{names:?}");
    for name in &names {
        let link = root.join("etc/ssl/certs").join(ca_cert_link(name));
        assert_eq!(
            std::fs::read_link(&link).unwrap().display().to_string(),
            format!("/usr/local/share/ca-certificates/{name}"),
            "{name}"
        );
    }
    assert!(
        root.join("etc/ssl/certs/ca-cert-Corp_Root_=2024=__Inc.pem")
            .symlink_metadata()
            .is_ok(),
        "the tool's mangling: ' ' and ',' to '_', '(' and ')' to '='"
    );

    // The bundle by the rule, byte for byte.
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    assert!(
        std::fs::read(&bundle).unwrap() == bundle_by_the_rule(&root),
        "ca-certificates.crt is not the tool's rule"
    );

    // The hash links are what `openssl rehash` makes of the same directory.
    let ours = hash_links(&root.join("etc/ssl/certs"));
    let copy = resolved_copy(&root, &root.join("etc/ssl/certs"));
    output(tool("openssl", "openssl").arg("rehash").arg(&copy));
    assert_eq!(ours, hash_links(&copy));
    assert_eq!(ours.len(), tests::alpine::PACKAGED.len() + 1 + ADDED.len());

    // openssl finds every added CA through the hashed directory; Python's ssl loads the bundle.
    for name in ADDED {
        openssl_verify(
            &["-no-CAfile", "-CApath", copy.to_str().unwrap()],
            &fixture(name),
        );
    }
    assert_eq!(
        python_loads(&bundle),
        tests::alpine::PACKAGED.len() + 1 + ADDED.len()
    );

    // A second run changes nothing; everything of the base is still there.
    let after = tree(&root);
    apply(&root);
    assert_eq!(tree(&root), after, "a second apply changes nothing");
    for (path, bytes) in &before {
        if path != "etc/ssl/certs/ca-certificates.crt" {
            assert_eq!(after.get(path), Some(bytes), "{path} changed");
        }
    }
}

#[test]
fn a_bundle_only_root_is_appended_to_and_nothing_else_is_written() {
    let work = scratch("alpine-bundle-only");
    let root = work.join("root");
    alpine_bundle_only(&root);
    let before = tree(&root);
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    let base = std::fs::read(&bundle).unwrap();
    let outcome = apply(&root);
    assert_eq!(outcome.detected.family, "alpine");
    let after = tree(&root);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(p, b)| before.get(*p) != Some(b))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(changed, ["etc/ssl/certs/ca-certificates.crt"]);
    // In its own format: each certificate followed by a blank line, the new ones last (in
    // fingerprint order, as every store gets them).
    let cas = cas();
    let mut added: Vec<_> = cas.cas().iter().map(|c| c.certificate.clone()).collect();
    added.sort_by_key(|c| c.sha256());
    let mut expected = base;
    for c in &added {
        expected.extend_from_slice(c.to_pem().as_bytes());
        expected.push(b'\n');
    }
    assert!(std::fs::read(&bundle).unwrap() == expected);
    assert_eq!(
        python_loads(&bundle),
        tests::alpine::PACKAGED.len() + ADDED.len()
    );
    for name in ADDED {
        openssl_verify(&["-CAfile", bundle.to_str().unwrap()], &fixture(name));
    }
}

#[test]
fn an_alpine_image_is_baked_inspected_and_verified_and_dockerfile_says_why_not() {
    let work = scratch("alpine-image");
    for (tag, make) in [
        ("tool", alpine_with_tool as fn(&Path)),
        ("bundle", alpine_bundle_only as fn(&Path)),
    ] {
        let rootfs = work.join(format!("rootfs-{tag}"));
        make(&rootfs);
        let layout = work.join("layout");
        tests::realistic::pack(
            &work,
            &rootfs,
            &layout,
            &[],
            serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"User": "65534"}}),
            tag,
        );
        let from = format!("oci:{}:{tag}", layout.display());
        let to = format!("oci:{}:{tag}-corp", layout.display());
        let mut bake = trustbake();
        bake.args(["bake", "--from", &from, "--to", &to]);
        for name in ADDED {
            bake.arg("--ca").arg(fixture(name));
        }
        output(&mut bake);
        let inspect: serde_json::Value =
            serde_json::from_str(&output(trustbake().args(["inspect", "--json", &to]))).unwrap();
        let platform = &inspect["platforms"][0];
        assert_eq!(platform["detected"]["family"], "alpine", "{inspect:#}");
        assert_eq!(platform["detected"]["alpine"]["tool"], tag == "tool");
        // The test leaf's chain ends at an added root: trusted by the baked image only.
        let chain = tests::leaf_chain(&work);
        let verify = |image: &str| {
            trustbake()
                .args(["verify", "--chain"])
                .arg(&chain)
                .arg(image)
                .output()
                .unwrap()
        };
        let (base, baked) = (verify(&from), verify(&to));
        assert!(!base.status.success(), "{base:?}");
        assert!(baked.status.success(), "{baked:?}");
        let dockerfile = trustbake()
            .args(["dockerfile", "--from", &from, "--output"])
            .arg(work.join(format!("context-{tag}")))
            .arg("--ca")
            .arg(fixture("demo-root.pem"))
            .output()
            .unwrap();
        if tag == "tool" {
            assert!(dockerfile.status.success(), "{dockerfile:?}");
            let text = std::fs::read_to_string(work.join("context-tool/Containerfile")).unwrap();
            assert!(text.contains("/usr/local/share/ca-certificates/"), "{text}");
            assert!(text.contains("update-ca-certificates"), "{text}");
        } else {
            assert_eq!(dockerfile.status.code(), Some(2), "{dockerfile:?}");
            let stderr = String::from_utf8_lossy(&dockerfile.stderr);
            assert!(stderr.contains("trustbake bake"), "{stderr}");
        }
    }
}

#[test]
fn wolfi_keeps_its_links_and_its_java_hook_keystore_is_p11_kits() {
    let work = scratch("alpine-wolfi");
    let root = work.join("root");
    alpine_with_tool(&root);
    std::fs::write(
        root.join("etc/os-release"),
        "ID=wolfi\nNAME=\"Wolfi\"\nPRETTY_NAME=\"Wolfi\"\nVERSION_ID=\"20230201\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "ca-certificates.crt",
        root.join("etc/ssl/certs/ca-bundle.crt"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("etc/pki/tls/certs")).unwrap();
    std::os::unix::fs::symlink(
        "../../../ssl/certs/ca-certificates.crt",
        root.join("etc/pki/tls/certs/ca-bundle.crt"),
    )
    .unwrap();
    // The java-cacerts hook: p11-kit's java-cacerts of the bundle.
    let hook = |root: &Path, out: &Path| {
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        tests::p11_kit_run(
            &[&root.join("etc/ssl/certs/ca-certificates.crt")],
            &work.join("p11-kit"),
            &format!(
                "trust extract --format=java-cacerts --filter=ca-anchors --purpose server-auth --overwrite {}\n",
                out.display()
            ),
        );
    };
    hook(&root, &root.join("etc/ssl/certs/java/cacerts"));

    let outcome = apply(&root);
    assert_eq!(outcome.detected.family, "alpine");
    assert_eq!(outcome.detected.os.id, "wolfi");
    // The links still lead to the rebuilt bundle.
    for link in [
        "etc/ssl/certs/ca-bundle.crt",
        "etc/pki/tls/certs/ca-bundle.crt",
    ] {
        assert!(
            root.join(link)
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::read(root.join(link)).unwrap()
                == std::fs::read(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap()
        );
    }
    // The keystore is what the hook would extract from the new bundle.
    let reference = work.join("reference/cacerts");
    hook(&root, &reference);
    let ours = tests::jks_entries(&root.join("etc/ssl/certs/java/cacerts"));
    assert_eq!(ours, tests::jks_entries(&reference));
    assert_eq!(ours.len(), tests::alpine::PACKAGED.len() + 1 + ADDED.len());
}
