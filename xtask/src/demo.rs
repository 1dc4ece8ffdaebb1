//! `cargo xtask demo`: the main job end to end on built-in inputs — today the dry-run plan of
//! every Anchore release line for the committed demo CA.

use std::process::Command;

use anyhow::Result;

use crate::util::{root, run as run_cmd};

pub(crate) fn run(extra: &[String]) -> Result<()> {
    let ca = root().join("tests/fixtures/cas/demo-root.pem");
    println!("trustbake plan --all --ca {}\n", ca.display());
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "run",
                "--quiet",
                "--package",
                "trustbake-cli",
                "--",
                "plan",
                "--all",
                "--ca",
            ])
            .arg(&ca)
            .args(extra),
    )
}
