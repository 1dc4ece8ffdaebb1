//! Writes the synthetic base images (one per Anchore release line, plus a two-platform index)
//! as OCI layouts into the directory given (default `target/fixtures/images`). Run through
//! `cargo xtask fixtures`.

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tests::root().join("target/fixtures/images"));
    for name in tests::synthetic::write_all(&dir) {
        println!("{}", dir.join(name).display());
    }
}
