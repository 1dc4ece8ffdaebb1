//! EFI signature lists (`cacerts.bin`): never a panic.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::edk2(data));
