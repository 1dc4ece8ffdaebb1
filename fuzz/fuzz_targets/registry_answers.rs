//! What a registry answers, as the client parses it: `WWW-Authenticate` challenges, token
//! JSON, `Location`, `Link` and `Content-Range` headers, URLs as messages show them.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::registry_answers(data));
