//! `cargo xtask image NAME`: bakes the recipe `images/NAME.toml`.

use std::process::Command;

use anyhow::{Result, bail};

use crate::util::{root, run as run_cmd};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(name) = args.first() else {
        bail!("usage: cargo xtask image NAME (a recipe images/NAME.toml)")
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
