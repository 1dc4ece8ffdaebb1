//! `dockerfile`: the generated Containerfile, built for real by `buildah build --isolation
//! chroot`, gives the same certificate set in every trust store as `bake` — on the realistic
//! RHEL-family image (its own `update-ca-trust`, certifi in the venv) and on a Debian bookworm
//! image (`update-ca-certificates`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tests::realistic::realistic_enterprise;
use tests::{bookworm_root, fixture, output, scratch, tool, trustbake};
use trustbake_certs::read_bundle;
use trustbake_store::formats::{self, jks::Keystore};

fn buildah() -> Command {
    let mut cmd = tool("buildah", "buildah");
    cmd.args(["--storage-driver", "overlay"]);
    cmd
}

/// Builds `context` on `base` and writes the result to the OCI layout `out` (tag `built`).
fn build(context: &Path, base: &str, name: &str, out: &Path) {
    let tag = format!("localhost/trustbake-dockerfile-{name}:latest");
    output(
        buildah()
            .args(["build", "--isolation", "chroot", "--quiet", "--build-arg"])
            .arg(format!("BASE={base}"))
            .args(["-t", &tag])
            .arg(context),
    );
    output(
        buildah()
            .args(["push", "--quiet", &tag])
            .arg(format!("oci:{}:built", out.display())),
    );
}

/// Every store `inspect` lists in `image`, with the SHA-256 of each certificate it holds, read
/// from the image unpacked by umoci.
fn stores(work: &Path, image: &str, name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let inspected: Value =
        serde_json::from_str(&output(trustbake().args(["inspect", image, "--json"]))).unwrap();
    let bundle = work.join(format!("unpacked-{name}"));
    let (layout, tag) = image
        .strip_prefix("oci:")
        .unwrap()
        .rsplit_once(':')
        .unwrap();
    let rootfs = tests::unpack(Path::new(layout), tag, &bundle);
    let mut out = BTreeMap::new();
    for store in inspected["platforms"][0]["stores"].as_array().unwrap() {
        let path = store["path"].as_str().unwrap();
        let kind = store["kind"].as_str().unwrap();
        let host = resolve(&rootfs, path);
        let ders: Vec<Vec<u8>> = match kind {
            _ if host.is_dir() => std::fs::read_dir(&host)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .flat_map(|p| read_bundle(&std::fs::read(p).unwrap()).certificates)
                .map(|c| c.der().to_vec())
                .collect(),
            "java-cacerts" => Keystore::parse(&std::fs::read(&host).unwrap())
                .unwrap()
                .certificates()
                .map(<[u8]>::to_vec)
                .collect(),
            "edk2" => formats::edk2_certificates(&std::fs::read(&host).unwrap()).unwrap(),
            _ => read_bundle(&std::fs::read(&host).unwrap())
                .certificates
                .iter()
                .map(|c| c.der().to_vec())
                .collect(),
        };
        let shas = ders
            .iter()
            .map(|d| trustbake_certs::Sha256Fingerprint::of(d).hex())
            .collect();
        out.insert(path.to_owned(), shas);
    }
    let _ = std::fs::remove_dir_all(&bundle);
    out
}

/// `path` inside `rootfs`, following symlinks the way the image would.
fn resolve(rootfs: &Path, path: &str) -> PathBuf {
    let mut current = PathBuf::from("/");
    let mut parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .rev()
        .collect();
    let mut hops = 0;
    while let Some(part) = parts.pop() {
        if part == ".." {
            current.pop();
            continue;
        }
        let next = current.join(&part);
        let host = rootfs.join(next.strip_prefix("/").unwrap());
        match std::fs::read_link(&host) {
            Ok(target) => {
                hops += 1;
                assert!(hops < 40, "symlink loop at {path}");
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    current = PathBuf::from("/");
                }
                parts.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .rev(),
                );
            }
            Err(_) => current = next,
        }
    }
    rootfs.join(current.strip_prefix("/").unwrap())
}

fn same_stores_as_bake(work: &Path, base: &str, name: &str) {
    let ca = fixture("root-rsa.pem");
    let context = work.join(format!("context-{name}"));
    let written = output(
        trustbake()
            .args(["dockerfile", "--from", base, "--ca"])
            .arg(&ca)
            .arg("-o")
            .arg(&context),
    );
    assert!(written.contains("Containerfile"), "{written}");
    if base.starts_with("oci:") {
        // A local base: the Containerfile says how docker build can use it.
        let text = std::fs::read_to_string(context.join("Containerfile")).unwrap();
        assert!(text.contains("docker-daemon:NAME:TAG"), "{text}");
    }
    let built = work.join(format!("built-{name}"));
    build(&context, base, name, &built);
    let baked = work.join(format!("baked-{name}"));
    output(
        trustbake()
            .args(["bake", "--from", base, "--to"])
            .arg(format!("oci:{}:baked", baked.display()))
            .arg("--ca")
            .arg(&ca),
    );
    let theirs = stores(
        work,
        &format!("oci:{}:built", built.display()),
        &format!("{name}-built"),
    );
    let ours = stores(
        work,
        &format!("oci:{}:baked", baked.display()),
        &format!("{name}-baked"),
    );
    let sha = read_bundle(&std::fs::read(&ca).unwrap()).certificates[0]
        .sha256()
        .hex();
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "{name}: the same stores"
    );
    for (path, set) in &ours {
        assert_eq!(
            &theirs[path], set,
            "{name}: {path} holds the same certificates"
        );
        let is_ca_store = !path.contains("pip/_vendor");
        assert_eq!(set.contains(&sha), is_ca_store, "{name}: {path}");
    }
    // The base's user is back.
    let config: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo")
            .args(["inspect", "--config"])
            .arg(format!("oci:{}:built", built.display())),
    ))
    .unwrap();
    let base_config: Value = serde_json::from_str(&output(
        tool("skopeo", "skopeo").args(["inspect", "--config", base]),
    ))
    .unwrap();
    // (no user at all is root)
    let user = |c: &Value| match c["config"]["User"].as_str() {
        None | Some("") => "root".to_owned(),
        Some(u) => u.to_owned(),
    };
    assert_eq!(user(&config), user(&base_config), "{name}: USER");

    // Distrusting the CA the build added (not trustbake's layer: the image's own) gives the
    // base's stores back — but the blocklist and p11-kit's OpenSSL bundle, which list it
    // distrusted.
    let removed = work.join(format!("removed-{name}"));
    output(
        trustbake()
            .args(["bake", "--from"])
            .arg(format!("oci:{}:built", built.display()))
            .arg("--to")
            .arg(format!("oci:{}:removed", removed.display()))
            .arg("--remove")
            .arg(&ca),
    );
    let after = stores(
        work,
        &format!("oci:{}:removed", removed.display()),
        &format!("{name}-removed"),
    );
    let before = stores(work, base, &format!("{name}-base"));
    for (path, set) in &after {
        if path.ends_with("ca-bundle.trust.crt") || path.ends_with("/source/blocklist") {
            assert!(set.contains(&sha), "{name}: {path} lists it, distrusted");
            continue;
        }
        assert!(!set.contains(&sha), "{name}: {path} still holds it");
        if let Some(base_set) = before.get(path) {
            assert_eq!(set, base_set, "{name}: {path} is the base's again");
        }
    }
    // At run time (the RHEL-family image has curl): curl in the built image trusts a server
    // the CA issued, in the result not.
    if name != "rhel" {
        return;
    }
    let server = tests::TlsServer::start();
    let url = format!("https://localhost:{}/", server.port);
    for (layout, tag, trusted) in [(&built, "built", true), (&removed, "removed", false)] {
        let image = tests::podman::load(layout, tag);
        let got = tests::podman::run(
            &image,
            "0:0",
            &[],
            &["curl", "-sS", "-o", "/dev/null", &url],
        );
        assert_eq!(
            got.status.success(),
            trusted,
            "{name} {tag}: curl {}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
}

#[test]
fn the_containerfile_gives_the_stores_bake_gives_on_the_rhel_family() {
    let work = scratch("dockerfile-rhel");
    let base = format!("oci:{}:5.1.0", realistic_enterprise().display());
    same_stores_as_bake(&work, &base, "rhel");
}

#[test]
fn the_containerfile_gives_the_stores_bake_gives_on_debian() {
    let work = scratch("dockerfile-debian");
    let base = bookworm_layout(&work);
    same_stores_as_bake(&work, &base, "debian");
}

#[test]
fn a_release_gives_the_map_layout_and_a_taken_directory_is_refused() {
    let work = scratch("dockerfile-release");
    let context = work.join("ctx");
    output(
        trustbake()
            .args([
                "dockerfile",
                "--product",
                "enterprise",
                "--version",
                "5.1",
                "--ca",
            ])
            .arg(fixture("root-rsa.pem"))
            .arg("-o")
            .arg(&context),
    );
    let text = std::fs::read_to_string(context.join("Containerfile")).unwrap();
    for line in [
        "ARG BASE=docker.io/anchore/enterprise:v5.1.0",
        "USER root",
        "/sbin\" update-ca-trust extract",
        "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
        "USER 1000",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let anchor = text.lines().find(|l| l.starts_with("COPY cas/")).unwrap();
    assert!(
        anchor.ends_with(".pem") && anchor.contains(" /etc/pki/ca-trust/source/anchors/"),
        "{anchor}"
    );
    let entries = std::fs::read_to_string(context.join("certifi-append.pem")).unwrap();
    assert!(entries.starts_with("\n# Issuer: ") && entries.contains("# SHA256 Fingerprint: "));
    let out = trustbake()
        .args([
            "dockerfile",
            "--product",
            "engine",
            "--version",
            "0.3.0",
            "--ca",
        ])
        .arg(fixture("root-rsa.pem"))
        .arg("-o")
        .arg(&context)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let debian = work.join("engine-0.3");
    output(
        trustbake()
            .args([
                "dockerfile",
                "--product",
                "engine",
                "--version",
                "0.3.0",
                "--ca",
            ])
            .arg(fixture("root-rsa.pem"))
            .arg("-o")
            .arg(&debian),
    );
    let text = std::fs::read_to_string(debian.join("Containerfile")).unwrap();
    assert!(
        text.contains("/usr/local/share/ca-certificates/trustbake/") && text.contains(".crt\n"),
        "{text}"
    );
    assert!(
        text.contains("/sbin\" update-ca-certificates") && text.contains("USER root"),
        "{text}"
    );

    // Distrusting without the image: a file goes to the release's blocklist (EL8: blacklist)
    // and trustbake's own anchor name is deleted; a fingerprint needs the image.
    let el8 = work.join("enterprise-4.4");
    output(
        trustbake()
            .args([
                "dockerfile",
                "--product",
                "enterprise",
                "--version",
                "4.4",
                "--remove",
            ])
            .arg(fixture("root-rsa.pem"))
            .arg("-o")
            .arg(&el8),
    );
    let text = std::fs::read_to_string(el8.join("Containerfile")).unwrap();
    assert!(
        text.contains("/etc/pki/ca-trust/source/blacklist/trustbake-test-root-rsa-")
            && text
                .contains("RUN rm -f '/etc/pki/ca-trust/source/anchors/trustbake-test-root-rsa-"),
        "{text}"
    );
    let refused = trustbake()
        .args([
            "dockerfile",
            "--product",
            "enterprise",
            "--version",
            "5.1",
            "--remove",
            &"ab".repeat(32),
            "-o",
        ])
        .arg(work.join("refused"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--from IMAGE"));
}

/// A Debian bookworm image made from the debootstrapped root, as `oci:WORK/bookworm:base`.
fn bookworm_layout(work: &Path) -> String {
    let container = output(buildah().args(["from", "scratch"]))
        .trim()
        .to_owned();
    output(
        buildah()
            .args(["copy", "--quiet", &container])
            .arg(bookworm_root())
            .arg("/"),
    );
    output(buildah().args([
        "commit",
        "--quiet",
        &container,
        "localhost/trustbake-bookworm:latest",
    ]));
    let _ = buildah().args(["rm", &container]).output();
    let layout = work.join("bookworm");
    output(
        buildah()
            .args(["push", "--quiet", "localhost/trustbake-bookworm:latest"])
            .arg(format!("oci:{}:base", layout.display())),
    );
    format!("oci:{}:base", layout.display())
}

/// `dockerfile --remove` against `bake --remove` on `base`: a CA the base ships, by its
/// fingerprint (the first certificate every store in `held_by` holds), distrusted by both;
/// every store holds the same set after, and none of `held_by` holds it.
fn removal_as_bake(work: &Path, base: &str, name: &str, held_by: &[&str]) {
    let before = stores(work, base, &format!("{name}-remove-base"));
    let sha = before[held_by[0]]
        .iter()
        .find(|s| held_by.iter().all(|h| before[*h].contains(*s)))
        .unwrap()
        .clone();
    let context = work.join(format!("context-remove-{name}"));
    output(
        trustbake()
            .args(["dockerfile", "--from", base, "--remove", &sha, "-o"])
            .arg(&context),
    );
    let text = std::fs::read_to_string(context.join("Containerfile")).unwrap();
    assert!(text.contains("# Distrusted: "), "{text}");
    let built = work.join(format!("built-remove-{name}"));
    build(&context, base, &format!("remove-{name}"), &built);
    let baked = work.join(format!("baked-remove-{name}"));
    output(
        trustbake()
            .args(["bake", "--from", base, "--to"])
            .arg(format!("oci:{}:baked", baked.display()))
            .args(["--remove", &sha]),
    );
    let theirs = stores(
        work,
        &format!("oci:{}:built", built.display()),
        &format!("{name}-remove-built"),
    );
    let ours = stores(
        work,
        &format!("oci:{}:baked", baked.display()),
        &format!("{name}-remove-baked"),
    );
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "{name}: the same stores"
    );
    for (path, set) in &ours {
        assert_eq!(
            &theirs[path], set,
            "{name}: {path} holds the same certificates"
        );
    }
    for store in held_by {
        assert!(
            !ours[*store].contains(&sha),
            "{name}: {store} still holds it"
        );
    }
}

#[test]
fn a_containerfile_distrusts_as_bake_does() {
    let work = scratch("dockerfile-remove");
    let rhel = format!("oci:{}:5.1.0", realistic_enterprise().display());
    removal_as_bake(
        &work,
        &rhel,
        "rhel",
        &[
            "/home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        ],
    );
    let bookworm = bookworm_layout(&work);
    removal_as_bake(
        &work,
        &bookworm,
        "debian",
        &["/etc/ssl/certs/ca-certificates.crt"],
    );
}
