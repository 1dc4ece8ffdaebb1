//! Prints the plan that `build.rs` computed (and validated) at build time.
//! Run: `cargo run -p build-script` (or `ANCHORE_VERSION=4.5 cargo run -p build-script`).

/// The plan as the build script summarised it.
const PLAN: &str = include_str!(concat!(env!("OUT_DIR"), "/plan.txt"));

/// The plan as JSON (the `trustbake plan --json` contract).
const PLAN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/plan.json"));

fn main() {
    if std::env::args().any(|a| a == "--json") {
        println!("{PLAN_JSON}");
    } else {
        print!("{PLAN}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_plan_names_the_corporate_ca() {
        assert!(super::PLAN.contains("Example Corp Root CA"));
        assert!(super::PLAN_JSON.contains("\"anchor_file\""));
    }
}
