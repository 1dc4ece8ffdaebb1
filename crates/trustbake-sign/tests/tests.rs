//! Known answers: signatures and key files made by cosign itself verify and open here, and
//! what trustbake signs verifies with the public key alone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use trustbake_sign::{
    Envelope, IN_TOTO_PAYLOAD_TYPE, PublicKey, SignError, SigningKey, SimpleSigning, attached_tag,
    envelope, pae,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn a_signature_cosign_made_verifies() {
    let key = PublicKey::from_pem(&data("containers-image-cosign.pub"), "cosign.pub").unwrap();
    let signature: serde_json::Value =
        serde_json::from_slice(&data("containers-image-signature-1.json")).unwrap();
    let payload = b64(signature["payload"].as_str().unwrap());
    let sig = b64(
        signature["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .unwrap(),
    );
    assert!(key.verifies(&payload, &sig));
    // The payload names the manifest it signs, by the digest of its bytes.
    let parsed = SimpleSigning::parse(&payload).unwrap();
    let manifest = data("containers-image-manifest.json");
    let hex: String = Sha256::digest(&manifest)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(parsed.manifest_digest, format!("sha256:{hex}"));
    assert_eq!(
        parsed.docker_reference,
        "192.168.64.2:5000/cosign-signed-single-sample"
    );
    // One changed byte, or another key, and it does not.
    let mut changed = payload.clone();
    changed[10] ^= 1;
    assert!(!key.verifies(&changed, &sig));
    let other = PublicKey::from_pem(&data("pkcs8.pub"), "pkcs8.pub").unwrap();
    assert!(!other.verifies(&payload, &sig));
}

#[test]
fn trustbake_writes_the_payload_bytes_cosign_writes() {
    let signature: serde_json::Value =
        serde_json::from_slice(&data("containers-image-signature-1.json")).unwrap();
    let payload = b64(signature["payload"].as_str().unwrap());
    let parsed = SimpleSigning::parse(&payload).unwrap();
    assert_eq!(parsed.to_bytes(), payload);
}

#[test]
fn a_key_file_cosign_generated_opens_and_signs() {
    let file = data("cosign-generated.key");
    let key = SigningKey::from_pem(&file, "cosign-generated.key", Some(b"")).unwrap();
    let sig = key.sign(b"payload").unwrap();
    assert!(key.public_key().verifies(b"payload", &sig));
    // The public key as cosign.pub holds it round-trips.
    let public = PublicKey::from_pem(key.public_key().to_pem().as_bytes(), "cosign.pub").unwrap();
    assert!(public.verifies(b"payload", &sig));
    // The wrong password, or none, is said as such.
    let wrong = SigningKey::from_pem(&file, "cosign-generated.key", Some(b"x"));
    assert!(
        matches!(wrong, Err(SignError::WrongPassword { .. })),
        "{wrong:?}"
    );
    let none = SigningKey::from_pem(&file, "cosign-generated.key", None)
        .unwrap_err()
        .to_string();
    assert!(none.contains("COSIGN_PASSWORD"), "{none}");
}

#[test]
fn openssl_keys_sign_in_pkcs8_and_sec1() {
    let public = PublicKey::from_pem(&data("pkcs8.pub"), "pkcs8.pub").unwrap();
    for name in ["pkcs8.key", "sec1.key"] {
        let key = SigningKey::from_pem(&data(name), name, None).unwrap();
        assert_eq!(key.public_key(), &public, "{name}");
        let sig = key.sign(b"message").unwrap();
        assert!(public.verifies(b"message", &sig), "{name}");
    }
    // The public key round-trips through PEM.
    assert_eq!(
        PublicKey::from_pem(public.to_pem().as_bytes(), "again").unwrap(),
        public
    );
}

#[test]
fn other_keys_are_refused_with_the_way_to_make_one() {
    let rsa = b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let err = SigningKey::from_pem(rsa, "rsa.key", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("P-256") && err.contains("generate-key-pair"),
        "{err}"
    );
    let err = PublicKey::from_pem(&data("pkcs8.key"), "pkcs8.key")
        .unwrap_err()
        .to_string();
    assert!(err.contains("'PRIVATE KEY'"), "{err}");
    let encrypted =
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let err = SigningKey::from_pem(encrypted, "enc.key", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cosign import-key-pair"), "{err}");
}

#[test]
fn a_hostile_key_file_cannot_ask_for_unbounded_memory() {
    let body = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << 30, "r": 8, "p": 1}, "salt": "AAAA"},
        "cipher": {"name": "nacl/secretbox", "nonce": "AAAA"},
        "ciphertext": "AAAA"
    });
    let pem = format!(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(body.to_string())
    );
    let err = SigningKey::from_pem(pem.as_bytes(), "hostile.key", Some(b""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("MiB"), "{err}");
}

#[test]
fn a_dsse_envelope_is_signed_over_the_pae_and_opens_only_with_its_key() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    let key = SigningKey::from_pem(&data("pkcs8.key"), "pkcs8.key", None).unwrap();
    let bytes = envelope(&key, IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}").unwrap();
    let env = Envelope::parse(&bytes).unwrap();
    assert_eq!(env.payload_type, IN_TOTO_PAYLOAD_TYPE);
    assert_eq!(env.open(key.public_key()).unwrap(), b"{\"a\":1}");
    let sig = b64(&env.signatures[0].sig);
    assert!(
        key.public_key()
            .verifies(&pae(IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}"), &sig)
    );
    let other = SigningKey::from_pem(&data("cosign-generated.key"), "k", Some(b"")).unwrap();
    assert!(matches!(
        env.open(other.public_key()),
        Err(SignError::BadSignature { .. })
    ));
    let mut tampered = env.clone();
    tampered.payload = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":2}");
    assert!(tampered.open(key.public_key()).is_err());
}

#[test]
fn attached_tags_are_cosigns() {
    assert_eq!(
        attached_tag(&format!("sha256:{}", "ab".repeat(32)), "sig"),
        format!("sha256-{}.sig", "ab".repeat(32))
    );
}
