//! `--bundle PATH`: an image with no OS store trustbake knows (an application image on
//! busybox) is refused with the way out; baked with `--bundle` its own bundle gets the CAs in
//! its format, owner kept, nothing else written; baking again adds nothing; Python's `ssl`
//! loads the result; a path outside the image is refused before anything is read.

use tests::{fixture, output, scratch, tool, trustbake};
use trustbake_certs::read_bundle;

fn app_rootfs(root: &std::path::Path) {
    let put = |path: &str, bytes: &[u8]| {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    };
    put("etc/os-release", b"NAME=BusyBox\nID=busybox\n");
    put(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/false\n",
    );
    let mut pem = Vec::new();
    for name in ["v1-root.pem", "bmp-subject.pem"] {
        pem.extend_from_slice(&std::fs::read(fixture(name)).unwrap());
    }
    put("app/certs/ca.pem", &pem);
    put("app/server", b"\x7fELF");
}

#[test]
fn an_image_without_a_known_store_is_baked_through_its_named_bundle() {
    let work = scratch("bundle-image");
    let rootfs = work.join("rootfs");
    app_rootfs(&rootfs);
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &rootfs,
        &layout,
        &[],
        serde_json::json!({"architecture": "amd64", "os": "linux",
            "config": {"User": "1000", "Env": ["SSL_CERT_FILE=/app/certs/ca.pem"]}}),
        "app",
    );
    let from = format!("oci:{}:app", layout.display());
    let to = format!("oci:{}:app-corp", layout.display());
    let demo = fixture("demo-root.pem");

    let refused = trustbake()
        .args(["bake", "--from", &from, "--to", &to, "--ca"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no trust store found") && stderr.contains("--bundle PATH"),
        "{stderr}"
    );

    let bake = |to: &str| -> serde_json::Value {
        let out = output(
            trustbake()
                .args([
                    "bake",
                    "--json",
                    "--from",
                    &from,
                    "--to",
                    to,
                    "--bundle",
                    "/app/certs/ca.pem",
                    "--ca",
                ])
                .arg(&demo),
        );
        serde_json::from_str(&out).unwrap()
    };
    let first = bake(&to);
    assert_eq!(
        first["platforms"][0]["detected"]["family"], "unknown",
        "{first:#}"
    );
    let baked = tests::unpack(&layout, "app-corp", &work.join("bundle"));
    let base = std::fs::read(rootfs.join("app/certs/ca.pem")).unwrap();
    let mut expected = base.clone();
    expected.extend_from_slice(&std::fs::read(&demo).unwrap());
    let now = std::fs::read(baked.join("app/certs/ca.pem")).unwrap();
    assert_eq!(
        read_bundle(&now).shas(),
        read_bundle(&expected).shas(),
        "the bundle gains the CA"
    );
    assert!(
        now.starts_with(&base),
        "the base's bytes kept, the CA after them"
    );
    assert!(
        !String::from_utf8_lossy(&now).contains("\n\n"),
        "in its format"
    );
    let python = output(
        tool("python3", "python3")
            .args([
                "-c",
                "import ssl, sys\nc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\nc.load_verify_locations(cafile=sys.argv[1])\nprint(c.cert_store_stats()['x509'])",
            ])
            .arg(baked.join("app/certs/ca.pem")),
    );
    assert_eq!(python.trim(), "3");

    // Baking the baked image again with the same CAs adds nothing.
    let again = serde_json::from_str::<serde_json::Value>(&output(
        trustbake()
            .args(["bake", "--json", "--from", &to, "--to"])
            .arg(format!("oci:{}:again", layout.display()))
            .args(["--bundle", "/app/certs/ca.pem", "--ca"])
            .arg(&demo),
    ))
    .unwrap();
    assert_eq!(again["nothing_to_add"], true, "{again:#}");
    assert_eq!(again["digest"], first["digest"]);

    // A path that is not the image's is refused.
    for bad in ["app/certs/ca.pem", "/app/../etc/shadow", "/"] {
        let out = trustbake()
            .args([
                "bake", "--from", &from, "--to", &to, "--bundle", bad, "--ca",
            ])
            .arg(&demo)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
    }
}
