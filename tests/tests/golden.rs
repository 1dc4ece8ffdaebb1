//! Golden digests: every synthetic release line baked into an OCI layout, and the Enterprise
//! 5.1 image through every transport pair (OCI layout, OCI archive, docker archive, an existing
//! layout, a platform of an index, a re-bake with nothing to add), each destination file pinned
//! by its SHA-256. A refactor keeps every byte; a change that means to move a digest updates
//! `tests/golden/bake.txt` (`TRUSTBAKE_BLESS=1`) and says why in its commit.

use std::fmt::Write as _;
use std::path::Path;

use tests::synthetic::write_all;
use tests::{fixture, root, scratch, trustbake};

/// Bakes with `work` as the current directory: references are relative to it, so no digest
/// depends on where the repository is (the base's name is in every new manifest).
fn bake(work: &Path, from: &str, to: &str, extra: &[&str], epoch: Option<&str>) {
    let mut cmd = trustbake();
    cmd.current_dir(work)
        .args(["bake", "--from", from, "--to", to, "--ca"])
        .arg(fixture("root-rsa.pem"))
        .arg(fixture("root-ec.pem"))
        .args(extra);
    if let Some(epoch) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", epoch);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "bake {from} -> {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `relative path  sha256` of every file below `path` (or of `path` itself), sorted.
fn hashes(path: &Path, out: &mut String, label: &str) {
    fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, files);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                let digest = trustbake_image::Digest::of(&std::fs::read(&p).unwrap());
                files.push((rel, digest.to_string()));
            }
        }
    }
    let mut files = Vec::new();
    if path.is_dir() {
        walk(path, path, &mut files);
    } else {
        let digest = trustbake_image::Digest::of(&std::fs::read(path).unwrap());
        files.push((String::new(), digest.to_string()));
    }
    files.sort();
    let _ = writeln!(out, "[{label}]");
    for (rel, digest) in files {
        let _ = writeln!(out, "{rel} {digest}");
    }
}

/// One transport case: a label, the source, the destination, extra flags, `SOURCE_DATE_EPOCH`.
type Case<'a> = (&'a str, String, String, Vec<&'a str>, Option<&'a str>);

#[test]
fn bakes_keep_their_golden_digests() {
    let work = scratch("golden");
    let bases = work.join("bases");
    let names = write_all(&bases);
    let mut got = String::new();
    let tag = |name: &str| -> String {
        // The fixture's only tag is the line's first version.
        let index = std::fs::read_to_string(bases.join(name).join("index.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&index).unwrap();
        v["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for name in &names {
        let from = format!("oci:bases/{name}:{}", tag(name));
        hashes(&bases.join(name), &mut got, &format!("base {name}"));
        bake(&work, &from, &format!("oci:out/{name}:corp"), &[], None);
        hashes(
            &work.join("out").join(name),
            &mut got,
            &format!("oci {name}"),
        );
    }

    let from = format!("oci:bases/enterprise-5.1:{}", tag("enterprise-5.1"));
    let t = |name: &str| format!("t/{name}");
    std::fs::create_dir_all(work.join("t")).unwrap();
    let cases: Vec<Case<'_>> = vec![
        (
            "oci-archive",
            from.clone(),
            format!("oci-archive:{}:corp", t("oa.tar")),
            vec![],
            None,
        ),
        (
            "docker-archive",
            from.clone(),
            format!("docker-archive:{}:anchore/enterprise:corp", t("da.tar")),
            vec![],
            None,
        ),
        (
            "docker-archive to oci",
            format!("docker-archive:{}", t("da.tar")),
            format!("oci:{}:corp", t("from-da")),
            vec![],
            None,
        ),
        (
            "docker-archive to docker-archive",
            format!("docker-archive:{}", t("da.tar")),
            format!("docker-archive:{}", t("da2.tar")),
            vec![],
            None,
        ),
        (
            "epoch",
            from.clone(),
            format!("oci:{}:corp", t("epoch")),
            vec![],
            Some("1700000000"),
        ),
        (
            "existing layout, second tag",
            from.clone(),
            format!("oci:{}:second", t("epoch")),
            vec![],
            None,
        ),
        (
            "nothing to add",
            "oci:out/enterprise-5.1:corp".to_owned(),
            format!("oci:{}:again", t("again")),
            vec![],
            None,
        ),
        (
            "one platform of an index",
            format!(
                "oci:bases/enterprise-5.1-multi:{}",
                tag("enterprise-5.1-multi")
            ),
            format!("oci:{}:arm", t("arm")),
            vec!["--platform", "linux/arm64"],
            None,
        ),
    ];
    for (label, from, to, extra, epoch) in &cases {
        bake(&work, from, to, extra, *epoch);
        let path = to.split_once(':').unwrap().1;
        let path = match path.rsplit_once(':') {
            Some((p, _)) if !to.starts_with("docker-archive:") => p,
            _ => path.split(':').next().unwrap(),
        };
        hashes(&work.join(path), &mut got, label);
    }

    against_golden("bake.txt", "baked bytes", &got);
}

/// Runs trustbake in `work` and returns its stdout (the JSON), failing loudly.
fn json_of(work: &Path, args: &[&str]) -> String {
    let out = trustbake()
        .current_dir(work)
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON contracts pinned: `plan --all` and `plan --image`; for every synthetic release line
/// `bake`, a removal preview on the result, `inspect` of it and `verify` of a chain against it;
/// `helm-values` in three shapes. A refactor keeps every byte of them; a change that means to
/// move them updates `tests/golden/json.txt` (`TRUSTBAKE_BLESS=1`) and says why.
#[test]
fn json_outcomes_keep_their_snapshots() {
    let work = scratch("golden-json");
    let bases = work.join("bases");
    let names = write_all(&bases);
    // Relative paths: nothing in the outcomes depends on where the repository is.
    std::fs::copy(fixture("root-rsa.pem"), work.join("root-rsa.pem")).unwrap();
    std::fs::copy(fixture("root-ec.pem"), work.join("root-ec.pem")).unwrap();
    let (ca, ec) = ("root-rsa.pem", "root-ec.pem");
    tests::leaf_chain(&work);
    let mut got = String::new();
    // The scan counters depend on which of two parallel scans of a layer finishes first: they
    // are left out (the cache's own tests pin them).
    let mut section = |label: &str, text: String| {
        let kept: Vec<&str> = text
            .trim_end()
            .lines()
            .filter(|l| !l.contains("\"scanned_layers\":") && !l.contains("\"cached_layers\":"))
            .collect();
        let _ = writeln!(got, "[{label}]\n{}", kept.join("\n"));
    };
    section(
        "plan --all",
        json_of(&work, &["plan", "--all", "--ca", ca, "--json"]),
    );
    section(
        "plan --image",
        json_of(
            &work,
            &[
                "plan",
                "--image",
                "registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0",
                "--json",
            ],
        ),
    );
    for name in &names {
        let index = std::fs::read_to_string(bases.join(name).join("index.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&index).unwrap();
        let tag = v["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_owned();
        let from = format!("oci:bases/{name}:{tag}");
        let to = format!("oci:out/{name}:corp");
        section(
            &format!("bake {name}"),
            json_of(
                &work,
                &[
                    "bake", "--from", &from, "--to", &to, "--ca", ca, "--ca", ec, "--json",
                ],
            ),
        );
        section(
            &format!("bake --remove {name}"),
            json_of(
                &work,
                &[
                    "bake",
                    "--dry-run",
                    "--from",
                    &to,
                    "--to",
                    "oci:out/x:y",
                    "--remove",
                    ec,
                    "--json",
                ],
            ),
        );
        section(
            &format!("inspect {name}"),
            json_of(&work, &["inspect", &to, "--json"]),
        );
        section(
            &format!("verify {name}"),
            json_of(
                &work,
                &[
                    "verify",
                    &to,
                    "--chain",
                    "chain.pem",
                    "--hostname",
                    "localhost",
                    "--at",
                    "2030-01-01T00:00:00Z",
                    "--json",
                ],
            ),
        );
    }
    for args in [
        vec!["--image", "harbor.corp/anchore/enterprise:v5.1.0-corp"],
        vec![
            "--chart",
            "bigbang",
            "--image",
            "h/ironbank/anchore/enterprise/enterprise:5.23.0",
            "--image",
            "h/ironbank/anchore/enterpriseui/enterpriseui:5.23.0",
            "--cert-store-secret",
            "certs",
        ],
        vec![
            "--chart",
            "bigbang",
            "--bigbang-version",
            "2.20.0",
            "--image",
            "h/anchore/enterprise:v4.9.0",
        ],
    ] {
        let mut full = vec!["helm-values"];
        full.extend(&args);
        section(&full.join(" "), json_of(&work, &full));
    }

    against_golden("json.txt", "JSON outcomes", &got);
}

/// Holds `got` against `tests/golden/NAME` (written instead with `TRUSTBAKE_BLESS=1`), the lines
/// that differ shown with their numbers.
fn against_golden(name: &str, what: &str, got: &str) {
    let golden = root().join("tests/golden").join(name);
    if std::env::var_os("TRUSTBAKE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    if want != got {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(20)
            .map(|(i, (a, b))| format!("{}: - {a}\n{}: + {b}", i + 1, i + 1))
            .collect();
        panic!(
            "{what} moved from tests/golden/{name} ({} vs {} lines):\n{}\n(TRUSTBAKE_BLESS=1 accepts them, for a change that means to)",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}
