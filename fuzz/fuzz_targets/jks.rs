//! Java keystores: never a panic; a parsed keystore written again parses to the same
//! certificates.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::jks(data));
