//! One DER certificate: never a panic; everything the stores need is computed, and a parsed
//! certificate round-trips through PEM.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::der_certificate(data));
