//! `cargo xtask fetch-fixtures`: the real third-party files the tests compare against, fetched
//! once into `target/fixtures/` (not committed): certifi wheels from several years.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util::{require_tool, root, run};

/// Builds the synthetic base images (one per release line, plus a two-platform index) into
/// `target/fixtures/images`; returns that directory.
pub(crate) fn images() -> Result<PathBuf> {
    let dir = root().join("target/fixtures/images");
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "--package",
            "tests",
            "--bin",
            "fixtures",
            "--",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::null()))?;
    println!("synthetic base images in {}", dir.display());
    Ok(dir)
}

/// certifi releases spanning the years Anchore images were built with.
pub(crate) const CERTIFI_VERSIONS: &[&str] = &["2018.11.29", "2021.10.8", "2024.2.2", "2026.10.18"];

/// Makes sure `target/fixtures/certifi/<version>/cacert.pem` exists for every pinned version
/// (and the wheel beside it); returns `target/fixtures/certifi`.
pub(crate) fn fetch() -> Result<PathBuf> {
    let dir = root().join("target/fixtures/certifi");
    for version in CERTIFI_VERSIONS {
        let out = dir.join(version);
        if out.join("cacert.pem").is_file() {
            continue;
        }
        require_tool("python3", "python3 python3-pip")?;
        fs::create_dir_all(&out)?;
        run(Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"])
            .arg(&out)
            .arg(format!("certifi=={version}")))
        .with_context(|| {
            format!("downloading certifi {version} (needs pip and the Python package index: apt-get install -y python3-pip)")
        })?;
        let script = "import glob,sys,zipfile\n\
                      w=glob.glob(sys.argv[1]+'/certifi-*.whl')[0]\n\
                      open(sys.argv[1]+'/cacert.pem','wb').write(zipfile.ZipFile(w).read('certifi/cacert.pem'))";
        run(Command::new("python3").args(["-c", script]).arg(&out))?;
        println!("fetched certifi {version}");
    }
    Ok(dir)
}
