//! Third-party bundles (certifi's `cacert.pem`, the OS bundles), read best-effort: never a
//! panic; every block is either a certificate or counted as skipped.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::certifi_bundle(data));
