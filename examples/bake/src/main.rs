//! Bakes CA certificates into an image through the library, as an xtask or a release pipeline
//! would: strict intake, the version map compared with the image, a reproducible time, and the
//! outcome checked before anything else runs.
//!
//! `cargo run -p bake -- oci:base:v5.1.0 oci:out:v5.1.0-corp enterprise 5.1 corp-root.pem`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to, product, version, cas @ ..] = args.as_slice() else {
        eprintln!("usage: bake FROM TO PRODUCT VERSION CA_FILE...");
        return ExitCode::from(2);
    };
    match run(from, to, product, version, cas) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(
    from: &str,
    to: &str,
    product: &str,
    version: &str,
    cas: &[String],
) -> Result<(), trustbake::Error> {
    let cas = trustbake::load_cas(cas, trustbake::Policy::at(trustbake::process::now()))?;
    let request = trustbake::BakeRequest::new(from, to, &cas)?
        .target(trustbake::Target::parse(product, version)?)
        // A pipeline wants the same digest on every run: the time comes from the environment
        // when it is set, else from the base image (never the clock).
        .source_date_epoch(trustbake::process::source_date_epoch());
    // What would be written, first: a pipeline can stop here on a surprise.
    let preview = trustbake::preview(&request)?;
    for platform in &preview.platforms {
        for note in &platform.notes {
            println!("note: {note}");
        }
    }
    let outcome = trustbake::bake(&request)?;
    assert_eq!(
        outcome.digest, preview.digest,
        "the preview predicts the digest"
    );
    println!("{} {}", outcome.to, outcome.digest);
    for platform in &outcome.platforms {
        for store in &platform.stores {
            println!(
                "  {:<17} {}  added {}, present {}, skipped {}",
                store.kind,
                store.path,
                store.added.len(),
                store.present.len(),
                store.skipped.len()
            );
        }
    }
    Ok(())
}
