//! `cargo xtask demo`: the main job end to end on built-in inputs — build the synthetic
//! Anchore Enterprise 5.1 base image, bake the demo CA into it (`images/demo.toml`), then
//! inspect the result. No registry, no network, no files of the user's.

use std::process::Command;

use anyhow::Result;

use crate::fixtures;
use crate::util::{root, run as run_cmd};

pub(crate) fn run(extra: &[String]) -> Result<()> {
    fixtures::images()?;
    let out = root().join("target/demo/enterprise");
    let _ = std::fs::remove_dir_all(&out);
    let trustbake = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root())
            .args(["run", "--quiet", "--package", "trustbake-cli", "--"])
            .args(args);
        cmd
    };
    println!("$ trustbake bake -f images/demo.toml\n");
    run_cmd(trustbake(&["bake", "-f", "images/demo.toml"]).args(extra))?;
    let image = format!("oci:{}:5.1.0-corp", out.display());
    println!("\n$ trustbake inspect {image}\n");
    run_cmd(&mut trustbake(&["inspect", &image]))?;
    println!(
        "\nThe baked image is the OCI layout {} (tag 5.1.0-corp).",
        out.display()
    );
    println!("Try: skopeo inspect {image}");
    Ok(())
}
