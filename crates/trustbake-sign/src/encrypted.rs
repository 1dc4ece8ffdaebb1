//! cosign's encrypted key file (`cosign generate-key-pair`): the PEM body is a JSON document —
//! `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":"nacl/secretbox",
//! "nonce"},"ciphertext"}` (go-securesystemslib's `encrypted` format, which sigstore uses) —
//! whose ciphertext is the PKCS#8 key sealed by NaCl secretbox under the scrypt-derived key.

use base64::Engine as _;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::SignError;

/// The most memory scrypt may take for a key file (`128 · N · r` bytes): cosign's files take
/// 32 MiB; a file asking for more is refused rather than obeyed.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;

#[derive(Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct ScryptParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The PKCS#8 key sealed in `body` (the PEM section's bytes), opened with `password`.
pub(crate) fn open(
    body: &[u8],
    password: &[u8],
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, SignError> {
    let bad = |reason: String| SignError::Key {
        what: what.to_owned(),
        reason: format!("not a cosign encrypted key file: {reason}"),
    };
    let sealed: Sealed = serde_json::from_slice(body).map_err(|e| bad(format!("its JSON: {e}")))?;
    if sealed.kdf.name != "scrypt" {
        return Err(bad(format!(
            "key derivation '{}', not scrypt",
            sealed.kdf.name
        )));
    }
    if sealed.cipher.name != "nacl/secretbox" {
        return Err(bad(format!(
            "cipher '{}', not nacl/secretbox",
            sealed.cipher.name
        )));
    }
    let b64 = |field: &str, text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| bad(format!("{field}: {e}")))
    };
    let salt = b64("salt", &sealed.kdf.salt)?;
    let nonce = b64("nonce", &sealed.cipher.nonce)?;
    let ciphertext = b64("ciphertext", &sealed.ciphertext)?;
    let ScryptParams { N: n, r, p } = sealed.kdf.params;
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
        return Err(bad(format!("scrypt parameters N={n} r={r} p={p}")));
    }
    if 128u64.saturating_mul(n).saturating_mul(u64::from(r)) > MAX_SCRYPT_MEMORY || p > 16 {
        return Err(bad(format!(
            "scrypt parameters N={n} r={r} p={p} ask for more than {} MiB",
            MAX_SCRYPT_MEMORY >> 20
        )));
    }
    let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p, 32)
        .map_err(|e| bad(format!("scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, &salt, &params, key.as_mut_slice())
        .map_err(|e| bad(format!("scrypt: {e}")))?;
    if nonce.len() != 24 {
        return Err(bad(format!("a nonce of {} bytes, not 24", nonce.len())));
    }
    let cipher = XSalsa20Poly1305::new(key.as_slice().into());
    cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| SignError::WrongPassword {
            what: what.to_owned(),
        })
}
