//! A docker archive's `manifest.json`: never a panic, no member name that leaves the archive.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::docker_manifest(data));
