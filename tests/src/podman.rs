//! podman as this machine allows it: overlay storage, runc, host network, bounded ulimits.

use std::path::Path;
use std::process::{Command, Output};

use crate::{output, tool};

/// A `podman` command with the overlay storage driver; panics with the install command when
/// podman is missing.
pub fn podman() -> Command {
    let mut cmd = tool("podman", "podman runc");
    cmd.args(["--storage-driver", "overlay"]);
    cmd
}

/// `podman run --rm` of `image` as `user` on the host network, with `options` before the image
/// (`--env-file`, `-v`, …) and `command` after it.
pub fn run(image: &str, user: &str, options: &[&str], command: &[&str]) -> Output {
    podman()
        .args([
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "--network",
            "host",
            "--user",
            user,
        ])
        .args(options)
        .arg(image)
        .args(command)
        .output()
        .unwrap()
}

/// Pulls the OCI layout's `tag` into podman's store; returns the image ID.
pub fn load(layout: &Path, tag: &str) -> String {
    output(
        podman()
            .args(["pull", "--quiet"])
            .arg(format!("oci:{}:{tag}", layout.display())),
    )
    .trim()
    .to_owned()
}
