//! A conda image (a prefix at `/opt/conda` with curl's bundle in `ssl/cacert.pem`, an
//! environment under `envs/`): after a bake each prefix's bundle holds the CA, Python's `ssl`
//! loads it, `openssl verify -CAfile` finds the CA, inspect lists both bundles.

use tests::{fixture, output, scratch, tool, trustbake};

#[test]
fn a_conda_images_prefixes_trust_the_ca() {
    let work = scratch("conda-image");
    let root = work.join("rootfs");
    let put = |path: &str, bytes: &[u8]| {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    };
    put("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    put("etc/ca-certificates.conf", b"");
    put("etc/ssl/certs/ca-certificates.crt", b"");
    std::fs::create_dir_all(root.join("usr/share/ca-certificates")).unwrap();
    let mut bundle = String::from("##\n## Bundle of CA Root Certificates\n##\n\n");
    for name in ["v1-root.pem", "bmp-subject.pem"] {
        bundle.push_str(&format!("{name}\n=========\n"));
        bundle.push_str(&std::fs::read_to_string(fixture(name)).unwrap());
        bundle.push('\n');
    }
    for prefix in ["opt/conda", "opt/conda/envs/app"] {
        std::fs::create_dir_all(root.join(prefix).join("conda-meta")).unwrap();
        put(&format!("{prefix}/ssl/cacert.pem"), bundle.as_bytes());
        std::os::unix::fs::symlink("cacert.pem", root.join(prefix).join("ssl/cert.pem")).unwrap();
    }
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &root,
        &layout,
        &[],
        serde_json::json!({"architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/opt/conda/bin:/usr/bin:/bin"]}}),
        "conda",
    );
    let from = format!("oci:{}:conda", layout.display());
    let to = format!("oci:{}:conda-corp", layout.display());
    output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(fixture("demo-root.pem")),
    );
    let baked = tests::unpack(&layout, "conda-corp", &work.join("bundle"));
    for prefix in ["opt/conda", "opt/conda/envs/app"] {
        let cacert = baked.join(prefix).join("ssl/cacert.pem");
        assert!(
            std::fs::read_to_string(&cacert)
                .unwrap()
                .starts_with(&bundle)
        );
        let loaded = output(
            tool("python3", "python3")
                .args([
                    "-c",
                    "import ssl, sys\nc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\nc.load_verify_locations(cafile=sys.argv[1])\nprint(c.cert_store_stats()['x509'])",
                ])
                .arg(&cacert),
        );
        assert_eq!(loaded.trim(), "3", "{prefix}");
        output(
            tool("openssl", "openssl")
                .args(["verify", "-CAfile"])
                .arg(baked.join(prefix).join("ssl/cert.pem"))
                .arg(fixture("demo-root.pem")),
        );
    }
    let inspect: serde_json::Value =
        serde_json::from_str(&output(trustbake().args(["inspect", "--json", &to]))).unwrap();
    let conda: Vec<&serde_json::Value> = inspect["platforms"][0]["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "conda")
        .collect();
    assert_eq!(conda.len(), 2, "{inspect:#}");
    assert!(conda.iter().all(|s| s["certificates"] == 3));
}
