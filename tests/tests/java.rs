//! Java runtimes' own stores in generic images: a Temurin-shaped image (`/opt/java/openjdk`,
//! `JAVA_HOME`) with a JDK 17 JKS store, a JDK 21 password-less PKCS12 store under
//! `/usr/lib/jvm`, a JDK at a path only `JAVA_HOME` names, and a JRE whose store links into
//! the OS keystore (left to its family): after a bake keytool lists the CA in every store of its
//! own, each in its format; a Java TLS client trusting only that store reaches a loopback
//! server chained to the CA — not before; inspect lists every runtime's store; removal takes
//! the CA out again.

use std::path::Path;

use tests::java::{java_connects, keystore, listed};
use tests::{TlsServer, fixture, output, scratch, tool, trustbake};

const JDK17: &str = "opt/java/openjdk/lib/security/cacerts";
const JDK21: &str = "usr/lib/jvm/temurin-21-jdk-amd64/lib/security/cacerts";
const CUSTOM: &str = "srv/runtime/jdk/lib/security/cacerts";

fn rootfs(root: &Path) {
    let put = |path: &str, bytes: &[u8]| {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    };
    // An Ubuntu-shaped OS store (Debian's tool), with its own JKS keystore.
    put(
        "etc/os-release",
        b"ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n",
    );
    put("etc/ca-certificates.conf", b"mozilla/v1-root.crt\n");
    put(
        "usr/share/ca-certificates/mozilla/v1-root.crt",
        &std::fs::read(fixture("v1-root.pem")).unwrap(),
    );
    put(
        "etc/ssl/certs/ca-certificates.crt",
        &std::fs::read(fixture("v1-root.pem")).unwrap(),
    );
    std::fs::create_dir_all(root.join("usr/local/share/ca-certificates")).unwrap();
    let base = ["v1-root.pem", "bmp-subject.pem"];
    keystore(&root.join("etc/ssl/certs/java/cacerts"), "JKS", &[], &base);
    keystore(&root.join(JDK17), "JKS", &[], &base);
    keystore(
        &root.join(JDK21),
        "PKCS12",
        &[
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        ],
        &base,
    );
    keystore(&root.join(CUSTOM), "PKCS12", &[], &base);
    for home in [
        "opt/java/openjdk",
        "usr/lib/jvm/temurin-21-jdk-amd64",
        "srv/runtime/jdk",
    ] {
        put(&format!("{home}/bin/java"), b"\x7fELF");
        put(&format!("{home}/release"), b"JAVA_VERSION=\"17.0.13\"\n");
    }
    // Debian's own JRE: its store is a link into the OS keystore.
    let jre = root.join("usr/lib/jvm/java-17-openjdk-amd64/lib/security");
    std::fs::create_dir_all(&jre).unwrap();
    std::os::unix::fs::symlink("/etc/ssl/certs/java/cacerts", jre.join("cacerts")).unwrap();
}

#[test]
fn every_runtime_store_gets_the_ca_in_its_format_and_java_trusts_it() {
    let work = scratch("java-runtimes");
    let root = work.join("rootfs");
    rootfs(&root);
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &root,
        &layout,
        &[],
        serde_json::json!({"architecture": "amd64", "os": "linux", "config": {
            "User": "1000",
            "Env": ["PATH=/opt/java/openjdk/bin:/usr/bin:/bin", "JAVA_HOME=/srv/runtime/jdk"]
        }}),
        "temurin",
    );
    let from = format!("oci:{}:temurin", layout.display());
    let to = format!("oci:{}:temurin-corp", layout.display());
    output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(fixture("root-rsa.pem")),
    );
    let baked = tests::unpack(&layout, "temurin-corp", &work.join("bundle"));
    let server = TlsServer::start();
    for store in [JDK17, JDK21, CUSTOM, "etc/ssl/certs/java/cacerts"] {
        let before = listed(&root.join(store));
        let after = listed(&baked.join(store));
        assert_eq!(after.len(), before.len() + 1, "{store}: {after:?}");
        assert!(before.iter().all(|e| after.contains(e)), "{store}");
        let format = |p: &Path| std::fs::read(p).unwrap()[0];
        assert_eq!(
            format(&root.join(store)),
            format(&baked.join(store)),
            "{store}: its format"
        );
        assert!(
            !java_connects(&work, &root.join(store), server.port),
            "{store}: before"
        );
        assert!(
            java_connects(&work, &baked.join(store), server.port),
            "{store}: after"
        );
    }
    // Debian's JRE store is still the link into the OS keystore.
    assert!(
        baked
            .join("usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // inspect lists each runtime's own store.
    let inspect: serde_json::Value =
        serde_json::from_str(&output(trustbake().args(["inspect", "--json", &to]))).unwrap();
    let paths: Vec<&str> = inspect["platforms"][0]["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "java-cacerts")
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    for store in [JDK17, JDK21, CUSTOM] {
        assert!(paths.contains(&format!("/{store}").as_str()), "{paths:?}");
    }

    // --remove takes it out of every store again.
    let removed = format!("oci:{}:temurin-removed", layout.display());
    output(
        trustbake()
            .args(["bake", "--from", &to, "--to", &removed, "--remove"])
            .arg(fixture("root-rsa.pem")),
    );
    let again = tests::unpack(&layout, "temurin-removed", &work.join("bundle-removed"));
    for store in [JDK17, JDK21, CUSTOM] {
        assert_eq!(
            listed(&again.join(store)),
            listed(&root.join(store)),
            "{store}"
        );
    }
}

/// At runtime: Debian's own JDK at Temurin's path (`/opt/java/openjdk`, its store a file of its
/// own in JDK 18's password-less PKCS12 form, which Java reads without a password), in a real Debian root, run by podman as a non-root user with a read-only root file
/// system: before the bake the Java client refuses the loopback server chained to the CA;
/// after it, the handshake completes.
#[test]
fn a_temurin_shaped_jdk_trusts_the_ca_at_runtime_non_root_and_read_only() {
    let jdk = Path::new("/usr/lib/jvm/java-17-openjdk-amd64");
    assert!(
        jdk.join("bin/javac").exists(),
        "Debian's JDK is missing; install it with: apt-get install -y openjdk-17-jdk-headless"
    );
    let work = scratch("java-runtime-podman");
    let root = work.join("rootfs");
    tests::copy_tree(&tests::bookworm_root(), &root);
    // Temurin's layout: a self-contained JDK (links followed) whose store is its own file.
    let home = root.join("opt/java/openjdk");
    std::fs::create_dir_all(home.parent().unwrap()).unwrap();
    output(tool("cp", "coreutils").arg("-a").arg(jdk).arg(&home));
    self_contained(&home);
    let store = home.join("lib/security/cacerts");
    std::fs::remove_file(&store).unwrap();
    // JDK 18's form of cacerts: password-less PKCS12 (Java reads it without a password).
    keytool_passwordless(&store);
    std::fs::write(root.join("Client.java"), tests::java::CLIENT_JAVA).unwrap();
    let layout = work.join("layout");
    tests::realistic::pack(
        &work,
        &root,
        &layout,
        &[],
        serde_json::json!({"architecture": "amd64", "os": "linux", "config": {
            "User": "1000",
            "Env": ["PATH=/opt/java/openjdk/bin:/usr/bin:/bin", "JAVA_HOME=/opt/java/openjdk"]
        }}),
        "jdk",
    );
    let from = format!("oci:{}:jdk", layout.display());
    let to = format!("oci:{}:jdk-corp", layout.display());
    output(
        trustbake()
            .args(["bake", "--from", &from, "--to", &to, "--ca"])
            .arg(fixture("root-rsa.pem")),
    );
    let server = TlsServer::start();
    let port = server.port.to_string();
    let client = |tag: &str| {
        let image = tests::podman::load(&layout, tag);
        tests::podman::run(
            &image,
            "1000",
            &["--read-only"],
            &["java", "/Client.java", &port],
        )
    };
    let before = client("jdk");
    assert!(!before.status.success(), "{before:?}");
    let after = client("jdk-corp");
    assert!(
        after.status.success() && String::from_utf8_lossy(&after.stdout).contains("trusted"),
        "{after:?}"
    );
}

/// Every absolute link below `dir` (Debian's JDK links into /etc) made the file it leads to on
/// this machine, or removed when it leads nowhere.
fn self_contained(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            if target.is_absolute() {
                std::fs::remove_file(&path).unwrap();
                if target.is_file() {
                    std::fs::copy(&target, &path).unwrap();
                }
            }
        } else if meta.is_dir() {
            self_contained(&path);
        }
    }
}

fn keytool_passwordless(store: &Path) {
    keystore(
        store,
        "PKCS12",
        &[
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
        ],
        &["v1-root.pem"],
    );
}
