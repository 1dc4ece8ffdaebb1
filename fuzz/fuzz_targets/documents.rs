//! Manifests, indexes and configs: never a panic; a document edited to no change keeps its
//! bytes, and a changed one parses again with the change.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::documents(data));
