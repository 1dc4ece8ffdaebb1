//! End-to-end tests of trustbake against the real tools and files it must agree with
//! (`openssl`, certifi wheels). The tests live in `tests/tests.rs`; this library holds their
//! shared helpers. Every outside tool is run for real: when one is missing, the test fails with
//! the command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The committed test CAs (`cargo xtask gen-test-cas` regenerates them).
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/cas").join(name)
}

/// A command for `tool`, with the host's CA-bundle variables cleared; panics with the install
/// command when the tool is not installed.
pub fn tool(tool: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed; install it with: apt-get install -y {package}"
    );
    let mut cmd = Command::new(tool);
    for var in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd`, panicking with its stderr unless it succeeds; returns stdout.
pub fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The directory of fetched certifi releases (`<version>/cacert.pem`), from
/// `TRUSTBAKE_CERTIFI_FIXTURES` or `target/fixtures/certifi`; panics naming the command that
/// fetches them.
pub fn certifi_fixtures() -> Vec<(String, PathBuf)> {
    let dir = std::env::var_os("TRUSTBAKE_CERTIFI_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/fixtures/certifi"));
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().join("cacert.pem"),
            )
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    found.sort();
    assert!(
        found.len() >= 4,
        "the certifi wheels are missing from {}; fetch them with: cargo xtask fetch-fixtures",
        dir.display()
    );
    found
}
