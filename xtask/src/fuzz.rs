//! `cargo xtask fuzz [--time S | --runs N] [--target NAME] [--sanitizer address] [--minimize]`:
//! every fuzz target in `fuzz/` (a crate outside the workspace, built by `cargo +nightly fuzz`),
//! two at a time, each from its committed corpus, for `S` seconds (default 60) or `N`
//! executions. Without a sanitizer by default: trustbake's crates forbid `unsafe`, so the
//! fuzzers look for panics, hangs, runaway memory and broken round trips, and run some thirty
//! times faster; `--sanitizer address` adds AddressSanitizer's leak check. A crash fails the command and names the
//! input (kept in `fuzz/artifacts/`); `--minimize` shrinks each corpus afterwards. The counts
//! go to `target/fuzz/results.md`.

use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

use crate::util::root;

/// A target's name and its (executions, seconds), or what it found.
type Outcome = (String, Result<(u64, u64)>);

/// The targets, as `fuzz/Cargo.toml` names them.
const TARGETS: &[&str] = &[
    "pem_intake",
    "der_certificate",
    "layer_scan",
    "documents",
    "references",
    "jks",
    "edk2",
    "certifi_bundle",
    "docker_manifest",
    "registry_answers",
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut limit = "-max_total_time=60".to_owned();
    let mut targets: Vec<&str> = TARGETS.to_vec();
    let mut minimize = false;
    let mut sanitizer = "none".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => limit = format!("-max_total_time={}", number(args.next())?),
            "--runs" => limit = format!("-runs={}", number(args.next())?),
            "--target" => {
                let name = args.next().context("--target needs a name")?;
                let known = TARGETS.iter().find(|t| *t == name);
                targets = vec![*known.with_context(|| format!("no fuzz target `{name}`"))?];
            }
            "--minimize" => minimize = true,
            "--sanitizer" => sanitizer = args.next().context("--sanitizer needs a name")?.clone(),
            other => bail!(
                "unknown argument `{other}` (use --time S, --runs N, --target NAME, --minimize)"
            ),
        }
    }
    check_tools()?;
    let fuzz = root().join("fuzz");
    let status = Command::new("cargo")
        .current_dir(&fuzz)
        .args(["+nightly", "fuzz", "build", "-s", &sanitizer])
        .status()
        .context("running cargo +nightly fuzz build")?;
    if !status.success() {
        bail!("the fuzz targets do not build");
    }
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let queue = Mutex::new(targets.clone());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(target) = queue.lock().ok().and_then(|mut q| q.pop()) {
                    let result = run_target(target, &limit, &sanitizer);
                    if let Ok(mut r) = results.lock() {
                        r.push((target.to_owned(), result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(t, _)| TARGETS.iter().position(|x| x == t));
    let mut table =
        String::from("| target | executions | seconds | executions/s |\n|---|---:|---:|---:|\n");
    let mut failed = Vec::new();
    for (target, result) in &results {
        match result {
            Ok((runs, secs)) => table.push_str(&format!(
                "| `{target}` | {runs} | {secs} | {} |\n",
                runs / (*secs).max(1)
            )),
            Err(e) => failed.push(format!("{target}: {e:#}")),
        }
    }
    print!("{table}");
    let out = root().join("target/fuzz");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("results.md"), &table)?;
    if !failed.is_empty() {
        bail!("fuzzing found problems:\n{}", failed.join("\n"));
    }
    if minimize {
        for target in &targets {
            let status = Command::new("cargo")
                .current_dir(&fuzz)
                .args(["+nightly", "fuzz", "cmin", "-s", "none", target])
                .status()?;
            if !status.success() {
                bail!("minimizing the corpus of {target} failed");
            }
        }
    }
    Ok(())
}

fn number(arg: Option<&String>) -> Result<u64> {
    arg.context("a number is needed")?
        .parse()
        .context("not a number")
}

/// Runs one target; returns (executions, seconds), or the crash.
fn run_target(target: &str, limit: &str, sanitizer: &str) -> Result<(u64, u64)> {
    let out = Command::new("cargo")
        .current_dir(root().join("fuzz"))
        .args(["+nightly", "fuzz", "run", "-s", sanitizer, target, "--"])
        .args([limit, "-max_len=65536", "-timeout=10", "-rss_limit_mb=1024"])
        .output()
        .with_context(|| format!("running the fuzzer {target}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let artifact = log
            .lines()
            .find_map(|l| l.split("Test unit written to ").nth(1))
            .unwrap_or("(no input written)");
        let reason = log
            .lines()
            .find(|l| {
                l.contains("panicked")
                    || l.contains("ERROR: libFuzzer")
                    || l.contains("interrupted")
            })
            .unwrap_or("the fuzzer failed");
        bail!("{reason} — input: {artifact}");
    }
    let done = log
        .lines()
        .find_map(|l| l.strip_prefix("Done "))
        .with_context(|| format!("{target}: no 'Done' line in the fuzzer's output"))?;
    // "Done 1132329 runs in 21 second(s)"
    let words: Vec<&str> = done.split_whitespace().collect();
    let runs = words.first().and_then(|w| w.parse().ok()).unwrap_or(0);
    let secs = words.get(3).and_then(|w| w.parse().ok()).unwrap_or(0);
    Ok((runs, secs))
}

fn check_tools() -> Result<()> {
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .output();
    if !nightly.map(|o| o.status.success()).unwrap_or(false) {
        bail!(
            "the nightly toolchain is missing; install it with: rustup toolchain install nightly"
        );
    }
    let fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output();
    if !fuzz.map(|o| o.status.success()).unwrap_or(false) {
        bail!("cargo-fuzz is missing; install it with: cargo install cargo-fuzz --locked");
    }
    Ok(())
}
