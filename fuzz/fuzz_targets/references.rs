//! Image references and platforms as users type them: never a panic; what parses prints as
//! text that parses to the same value.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::references(data));
