//! A layer blob, as the image scan reads it (the first byte picks the media type: plain tar,
//! gzip or zstd): never a panic, never a path outside the root.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::layer_scan(data));
