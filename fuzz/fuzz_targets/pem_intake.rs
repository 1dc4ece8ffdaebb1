//! CA input, as `--ca` reads it: never a panic; what is accepted renders as PEM and is
//! accepted again as the same certificates.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pem_intake(data));
