//! Builds fixture images and prints where they are. Run through `cargo xtask fixtures` and
//! `cargo xtask bench`.
//!
//! - `fixtures [DIR]`: the synthetic base images (one per Anchore release line, plus a
//!   two-platform index) as OCI layouts in DIR (default `target/fixtures/images`);
//! - `fixtures --realistic`: the realistic runnable Enterprise-shaped image (needs root,
//!   debootstrap and the Python package index; cached);
//! - `fixtures --bench SIZE`: a benchmark image, SIZE one of 256m, 1g, 2g, many (cached).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--realistic") => println!("{}", tests::realistic::realistic_enterprise().display()),
        Some("--bench") => println!(
            "{}",
            tests::bench_images::bench_image(args.get(1).map(String::as_str).unwrap_or("256m"))
                .display()
        ),
        dir => {
            let dir = dir
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| tests::root().join("target/fixtures/images"));
            for name in tests::synthetic::write_all(&dir) {
                println!("{}", dir.join(name).display());
            }
        }
    }
}
