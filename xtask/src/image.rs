//! `cargo xtask image NAME`: bakes the recipe `images/NAME.toml` (without NAME: trustbake's
//! own image, `own_image.rs`).

use std::process::Command;

use anyhow::{Result, bail};

use crate::util::{root, run as run_cmd};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(name) = args.first().filter(|a| !a.starts_with("--")) else {
        // Without a recipe: trustbake's own image.
        return crate::own_image::run(args);
    };
    let recipe = root().join("images").join(format!("{name}.toml"));
    if !recipe.is_file() {
        bail!("{}: no such recipe", recipe.display());
    }
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "run",
                "--quiet",
                "--package",
                "trustbake-cli",
                "--",
                "bake",
                "-f",
            ])
            .arg(&recipe)
            .args(&args[1..]),
    )
}
