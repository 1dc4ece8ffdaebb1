//! trustbake's own image (`cargo xtask image`): a static binary in an image with no shell and
//! no libc, as user 65532 — podman runs it read-only with the CronJob example's own arguments,
//! syncing a loopback registry.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tests::images::enterprise_layout;
use tests::podman::{load, podman, run};
use tests::registry::{Auth, Registry};
use tests::{fixture, output, root, scratch, tool};

/// `cargo xtask image ARGS`; returns the digest it printed.
fn xtask_image(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = output(
        Command::new(cargo)
            .current_dir(root())
            .args(["run", "--quiet", "--package", "xtask", "--", "image"])
            .args(args),
    );
    out.split_whitespace().last().unwrap().to_owned()
}

/// The CronJob example's container arguments, read by PyYAML.
fn cronjob_args() -> Vec<String> {
    let json = output(
        tool("python3", "python3-yaml")
            .arg("-c")
            .arg("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
            .arg(root().join("examples/deploy/cronjob.yaml")),
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn trustbakes_image_runs_the_cronjobs_sync_read_only_as_65532_with_no_shell_and_no_libc() {
    let work = scratch("own-image");
    let digest = xtask_image(&[]);
    let layout = root().join("target/image/trustbake");
    let version = env!("CARGO_PKG_VERSION");
    // Given the binary, every byte is fixed.
    let binary = root().join("target/x86_64-unknown-linux-musl/release/trustbake");
    assert_eq!(xtask_image(&["--binary", binary.to_str().unwrap()]), digest);
    // Static: no program interpreter named in the binary.
    let bytes = std::fs::read(&binary).unwrap();
    assert!(
        !bytes.windows(8).any(|w| w == b"ld-linux"),
        "the binary is dynamically linked"
    );

    // podman runs it: no shell in it, the default user is 65532.
    let id = load(&layout, version);
    let out = run(&id, "65532:65532", &["--read-only"], &["--version"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(version));
    let shell = run(
        &id,
        "65532:65532",
        &["--entrypoint", "/bin/sh"],
        &["-c", "true"],
    );
    assert!(!shell.status.success(), "the image has a shell");
    let user = output(podman().args(["image", "inspect", "--format", "{{.Config.User}}", &id]));
    assert_eq!(user.trim(), "65532:65532");

    // The CronJob's own arguments, against a loopback registry: the sync file, CAs and auth
    // file mounted where the example mounts them, /tmp a tmpfs, the root read-only.
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let base = work.join("base");
    enterprise_layout(&base, "5.1.0", 1);
    for repository in ["enterprise", "enterprise-ui"] {
        output(
            tool("skopeo", "skopeo")
                .args(["copy", "--quiet", "--dest-tls-verify=false"])
                .arg(format!("oci:{}:5.1.0", base.display()))
                .arg(format!(
                    "docker://{}/anchore/{repository}:v5.1.0",
                    registry.host()
                )),
        );
    }
    let etc = work.join("etc");
    let cas = etc.join("cas");
    std::fs::create_dir_all(&cas).unwrap();
    std::fs::copy(fixture("demo-root.pem"), cas.join("corp-root.pem")).unwrap();
    let example = std::fs::read_to_string(root().join("examples/deploy/sync.toml")).unwrap();
    let sync_file = example
        .replace(
            "docker://docker.io/",
            &format!("docker://{}/", registry.host()),
        )
        .replace(
            "docker://harbor.corp/",
            &format!("docker://{}/corp/", registry.host()),
        );
    std::fs::write(etc.join("sync.toml"), sync_file).unwrap();
    let auth = etc.join("auth");
    std::fs::create_dir_all(&auth).unwrap();
    std::fs::write(auth.join(".dockerconfigjson"), r#"{"auths":{}}"#).unwrap();
    for path in [&etc, &cas, &auth] {
        let _ = std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755));
    }
    let mount = |host: &Path, at: &str| format!("{}:{at}:ro", host.display());
    let args: Vec<String> = cronjob_args()
        .into_iter()
        .map(|a| {
            a.replace(
                "docker://harbor.corp/",
                &format!("docker://{}/", registry.host()),
            )
        })
        .chain([
            "--src-tls-verify=false".into(),
            "--dest-tls-verify=false".into(),
        ])
        .collect();
    assert_eq!(args[0], "sync");
    let options = [
        "--read-only".to_owned(),
        "--tmpfs".to_owned(),
        "/tmp:rw,mode=1777".to_owned(),
        "-v".to_owned(),
        mount(&etc.join("sync.toml"), "/etc/trustbake/sync.toml"),
        "-v".to_owned(),
        mount(&cas, "/etc/trustbake/cas"),
        "-v".to_owned(),
        mount(&auth, "/etc/trustbake/auth"),
    ];
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&id, "65532:65532", &options, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    for source in outcome["sources"].as_array().unwrap() {
        assert_eq!(source["outcome"]["summary"]["baked"], 1, "{outcome:#}");
    }
    assert_eq!(outcome["sources"].as_array().unwrap().len(), 2);
    // The baked tag is where the example says, and trusts the CA.
    let inspected = output(
        tests::trustbake()
            .arg("inspect")
            .arg(format!(
                "docker://{}/corp/anchore/enterprise:v5.1.0-corp",
                registry.host()
            ))
            .args(["--tls-verify=false", "--json"]),
    );
    assert!(inspected.contains("Example Corp Root CA"), "{inspected}");
}

#[test]
fn dist_ships_the_static_binary_with_its_sha256_man_pages_and_completions() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    output(Command::new(cargo).current_dir(root()).args([
        "run",
        "--quiet",
        "--package",
        "xtask",
        "--",
        "dist",
    ]));
    let dist = root().join("target/dist");
    let name = format!("trustbake-{}-x86_64-linux-musl", env!("CARGO_PKG_VERSION"));
    output(
        tool("sha256sum", "coreutils")
            .current_dir(&dist)
            .args(["-c", &format!("{name}.sha256")]),
    );
    let version = output(Command::new(dist.join(&name)).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    for page in [
        "trustbake",
        "trustbake-bake",
        "trustbake-sync",
        "trustbake-verify-image",
    ] {
        let text = std::fs::read_to_string(dist.join("man").join(format!("{page}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
    }
    for file in ["trustbake.bash", "_trustbake", "trustbake.fish"] {
        let text = std::fs::read_to_string(dist.join("completions").join(file)).unwrap();
        assert!(text.contains("verify-image"), "{file}");
    }
}
