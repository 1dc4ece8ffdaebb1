//! Validates `cas/` at build time: a private key, a leaf certificate or an expired CA in that
//! directory fails the build with trustbake's message. Then writes the plan for the Anchore
//! release named by `ANCHORE_PRODUCT`/`ANCHORE_VERSION` (default enterprise 5.1) into `OUT_DIR` (as JSON and as a summary)
//! and prints where each CA will go.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=cas");
    println!("cargo:rerun-if-env-changed=ANCHORE_PRODUCT");
    println!("cargo:rerun-if-env-changed=ANCHORE_VERSION");
    let product = std::env::var("ANCHORE_PRODUCT").unwrap_or_else(|_| "enterprise".to_owned());
    let version = std::env::var("ANCHORE_VERSION").unwrap_or_else(|_| "5.1".to_owned());

    let cas = match trustbake::load_cas(&["cas"], trustbake::Policy::at(trustbake::process::now()))
    {
        Ok(cas) => cas,
        Err(err) => {
            // A refused CA input fails the build, with every problem listed.
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    let plan = match trustbake::Target::parse(&product, &version)
        .and_then(|target| trustbake::plan(&target, Some(&cas)))
    {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    for ca in plan.cas.iter().flatten() {
        println!(
            "cargo:warning={} {}: {} -> {}",
            plan.product, plan.version, ca.label, ca.anchor_file
        );
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let json = serde_json::to_string_pretty(&plan).unwrap_or_default();
    let mut text = format!(
        "{} {}: line {} on {}, Python {}\n",
        plan.product, plan.version, plan.line, plan.base, plan.python
    );
    for ca in plan.cas.iter().flatten() {
        text.push_str(&format!("  {} -> {}\n", ca.label, ca.anchor_file));
    }
    for path in &plan.certifi_paths {
        text.push_str(&format!("  certifi {path}\n"));
    }
    if let Err(err) = std::fs::write(out.join("plan.json"), json)
        .and_then(|()| std::fs::write(out.join("plan.txt"), text))
    {
        eprintln!("error: writing the plan into OUT_DIR: {err}");
        std::process::exit(1);
    }
}
