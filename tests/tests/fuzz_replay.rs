//! Every input of the committed fuzz corpora (`fuzz/corpus/TARGET/`) and every input a fuzzer
//! ever crashed on (`fuzz/regressions/TARGET/`), through the same checks the fuzz targets make
//! (`fuzz/checks.rs`), on the stable toolchain: a fixed finding stays fixed without nightly.

#[path = "../../fuzz/checks.rs"]
mod checks;

use tests::root;

/// A fuzz target's name and its check.
type Target = (&'static str, fn(&[u8]));

#[test]
fn every_fuzz_corpus_and_crash_input_passes_its_check() {
    let targets: [Target; 10] = [
        ("pem_intake", checks::pem_intake),
        ("der_certificate", checks::der_certificate),
        ("layer_scan", checks::layer_scan),
        ("documents", checks::documents),
        ("references", checks::references),
        ("jks", checks::jks),
        ("edk2", checks::edk2),
        ("certifi_bundle", checks::certifi_bundle),
        ("docker_manifest", checks::docker_manifest),
        ("registry_answers", checks::registry_answers),
    ];
    for (target, check) in targets {
        let mut seen = 0;
        for dir in ["fuzz/corpus", "fuzz/regressions"] {
            let Ok(entries) = std::fs::read_dir(root().join(dir).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                // A fuzzer running meanwhile may replace corpus files: a vanished one is skipped.
                let Ok(input) = std::fs::read(entry.path()) else {
                    continue;
                };
                let result = std::panic::catch_unwind(|| check(&input));
                assert!(
                    result.is_ok(),
                    "{target}: {} fails its check",
                    entry.path().display()
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "{target}: no corpus in fuzz/corpus/{target}");
    }
}
