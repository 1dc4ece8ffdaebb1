//! Prints where trustbake would put the given CA files for an Anchore release.
//!
//! `cargo run -p plan -- enterprise 5.1 tests/fixtures/cas/demo-root.pem`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [product, version, cas @ ..] = args.as_slice() else {
        eprintln!("usage: plan PRODUCT VERSION [CA_FILE...]");
        return ExitCode::from(2);
    };
    let intake = if cas.is_empty() {
        None
    } else {
        match trustbake::load_cas(cas, trustbake::Policy::at(trustbake::process::now())) {
            Ok(intake) => Some(intake),
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        }
    };
    match trustbake::Target::parse(product, version)
        .and_then(|target| trustbake::plan(&target, intake.as_ref()))
    {
        Ok(plan) => {
            println!(
                "{} {} is line {} on {}; Python {}",
                plan.product, plan.version, plan.line, plan.base, plan.python
            );
            println!(
                "OS store: {} then `{}`",
                plan.anchors_dir, plan.update_command
            );
            for path in &plan.certifi_paths {
                println!("certifi: {path}");
            }
            for ca in plan.cas.iter().flatten() {
                println!("{} -> {}", ca.label, ca.anchor_file);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
