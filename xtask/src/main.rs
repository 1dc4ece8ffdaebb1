//! `cargo xtask`: project automation. This file only dispatches; each subcommand lives in its
//! own module.

mod bench;
mod demo;
mod dist;
mod fixtures;
mod fuzz;
mod image;
mod own_image;
mod test_cas;
mod tests;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <COMMAND>

Commands:
  bench           measure trustbake against the gzip floor, skopeo, umoci and buildah
  fuzz            run every fuzz target in fuzz/ (--time S per target, default 60; or
                  --runs N; --target NAME; --minimize); needs nightly and cargo-fuzz
  test            run the whole test suite (what CI runs): checks the outside tools, fetches the
                  certifi wheels, then runs every test of the workspace with cargo-nextest
  demo            run the main job end to end on built-in inputs (no network, no user files):
                  bake the demo CA into a synthetic Anchore Enterprise 5.1 image and inspect it
  fixtures        build the synthetic base images (one per release line) in target/fixtures/images
  image NAME      bake the recipe images/NAME.toml
  dist            the release files in target/dist: the static binary with its SHA-256, the man
                  pages and the shell completions (--binary PATH: of an already built one)
  image           build trustbake's own image (static musl binary, Mozilla's roots, user
                  65532, no shell) as the OCI layout target/image/trustbake:VERSION, without a
                  daemon (--binary PATH: of an already built static binary)
  fetch-fixtures  download the real certifi wheels the tests compare against into target/fixtures
  gen-test-cas    regenerate the committed test certificates in tests/fixtures/cas (needs openssl)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => tests::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("dist") => dist::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("fetch-fixtures") => fixtures::fetch().map(|_| ()),
        Some("fixtures") => fixtures::images().map(|_| ()),
        Some("image") => image::run(&args[1..]),
        Some("gen-test-cas") => test_cas::generate(),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
