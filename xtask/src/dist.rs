//! `cargo xtask dist`: what a release ships, in `target/dist/` — the static binary
//! (`trustbake-VERSION-x86_64-linux-musl`, built as `cargo xtask image` builds it) with its
//! SHA-256 (`sha256sum -c` form), the man pages and the shell completions, all generated from
//! the CLI definition.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util::{root, run as run_cmd};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let binary = match args.iter().position(|a| a == "--binary") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--binary needs a path")?),
        None => crate::own_image::build_binary()?,
    };
    let dist = root().join("target/dist");
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(dist.join("completions"))?;
    let name = format!("trustbake-{}-x86_64-linux-musl", env!("CARGO_PKG_VERSION"));
    let shipped = dist.join(&name);
    std::fs::copy(&binary, &shipped).with_context(|| format!("copying {}", binary.display()))?;
    let digest = trustbake_image::Digest::of(&std::fs::read(&shipped)?).to_string();
    std::fs::write(
        dist.join(format!("{name}.sha256")),
        format!("{}  {name}\n", digest.trim_start_matches("sha256:")),
    )?;
    run_cmd(
        Command::new(&shipped)
            .arg("man")
            .arg("--dir")
            .arg(dist.join("man")),
    )?;
    for (shell, file) in [
        ("bash", "trustbake.bash"),
        ("zsh", "_trustbake"),
        ("fish", "trustbake.fish"),
    ] {
        let out = Command::new(&shipped)
            .args(["completions", shell])
            .output()
            .context("running the binary")?;
        anyhow::ensure!(out.status.success(), "completions {shell} failed");
        std::fs::write(dist.join("completions").join(file), out.stdout)?;
    }
    println!("wrote {} ({digest})", shipped.display());
    Ok(())
}
