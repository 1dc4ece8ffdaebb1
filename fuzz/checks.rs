//! What each fuzz target checks, shared by the fuzz targets (`fuzz_targets/*.rs`, which the
//! nightly fuzzer runs) and the stable test that replays every committed corpus and crash
//! input (`tests/tests/fuzz_replay.rs`). Each function panics on a finding.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a finding is a panic, by design
#![allow(dead_code)] // each fuzz target uses one of these

use trustbake_certs::{Certificate, Policy, Source, intake, read_bundle};
use trustbake_image::model::{Config, Index, Manifest};
use trustbake_image::{Document, ImageRef, Platform};
use trustbake_store::formats::jks::Keystore;

/// CA input, as `--ca` reads it: never a panic; what is accepted renders as PEM and is
/// accepted again as the same certificates.
pub(crate) fn pem_intake(data: &[u8]) {
    let policy = Policy::at(1_700_000_000);
    let Ok(cas) = intake(&[Source::new("fuzz", data.to_vec())], &policy) else {
        return;
    };
    let pem: String = cas.cas().iter().map(|c| c.certificate.to_pem()).collect();
    let again = intake(&[Source::new("again", pem)], &policy).expect("rendered PEM is taken");
    let shas = |i: &trustbake_certs::Intake| -> Vec<_> {
        i.cas().iter().map(|c| c.certificate.sha256()).collect()
    };
    assert_eq!(shas(&cas), shas(&again));
}

/// One DER certificate: never a panic; everything the stores need is computed, and a parsed
/// certificate round-trips through PEM.
pub(crate) fn der_certificate(data: &[u8]) {
    let Ok(cert) = Certificate::from_der(data) else {
        return;
    };
    let _ = (cert.label(), cert.file_stem(), cert.certifi_entry());
    let _ = (
        cert.subject_hash(),
        cert.subject_hash_old(),
        cert.subject_hash_p11_kit(),
    );
    let again = read_bundle(cert.to_pem().as_bytes());
    assert_eq!(again.certificates.len(), 1);
    assert_eq!(again.certificates[0].sha256(), cert.sha256());
}

const TYPES: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

/// A layer blob, as the image scan reads it (the first byte picks the media type: plain tar,
/// gzip or zstd): never a panic, never a path outside the root.
pub(crate) fn layer_scan(data: &[u8]) {
    let Some((&kind, blob)) = data.split_first() else {
        return;
    };
    let media_type = TYPES[usize::from(kind) % TYPES.len()];
    if let Ok(root) = trustbake_image::fuzzing::scan_layer(blob, media_type) {
        for path in root.paths() {
            assert!(path.starts_with('/'), "{path}");
            assert!(!path.split('/').any(|p| p == ".."), "{path}");
        }
    }
}

/// Manifests, indexes and configs: never a panic; a document edited to no change keeps its
/// bytes, and a changed one parses again with the change.
pub(crate) fn documents(data: &[u8]) {
    if let Ok(doc) = Document::<Manifest>::parse(data.to_vec(), "fuzz") {
        assert_eq!(doc.edit(|_| {}).expect("unchanged").bytes(), data);
        if let Ok(changed) = doc.edit(|m| {
            m.annotations
                .get_or_insert_with(Default::default)
                .insert("fuzz".into(), "x".into());
        }) {
            let again = Document::<Manifest>::parse(changed.bytes().to_vec(), "again")
                .expect("a written manifest parses");
            assert_eq!(again.value(), changed.value());
        }
    }
    if let Ok(doc) = Document::<Index>::parse(data.to_vec(), "fuzz") {
        assert_eq!(doc.edit(|_| {}).expect("unchanged").bytes(), data);
    }
    if let Ok(doc) = Document::<Config>::parse(data.to_vec(), "fuzz") {
        assert_eq!(doc.edit(|_| {}).expect("unchanged").bytes(), data);
        if let Ok(changed) = doc.edit(|c| c.created = Some("2024-01-01T00:00:00Z".into())) {
            let again = Document::<Config>::parse(changed.bytes().to_vec(), "again")
                .expect("a written config parses");
            assert_eq!(again.value(), changed.value());
        }
    }
}

/// Image references and platforms as users type them: never a panic; what parses prints as
/// text that parses to the same value.
pub(crate) fn references(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = ImageRef::parse(text) {
        assert_eq!(ImageRef::parse(&r.to_string()).expect("printed parses"), r);
    }
    if let Ok(p) = text.parse::<Platform>() {
        assert_eq!(
            p.to_string().parse::<Platform>().expect("printed parses"),
            p
        );
    }
}

/// Java keystores: never a panic; a parsed keystore written again parses to the same
/// certificates.
pub(crate) fn jks(data: &[u8]) {
    let Ok(ks) = Keystore::parse(data) else {
        return;
    };
    let again = Keystore::parse(&ks.to_bytes()).expect("a written keystore parses");
    assert!(ks.certificates().eq(again.certificates()));
    // Removing the first certificate leaves the others, and the keystore parses.
    if let Some(first) = ks.certificates().next().map(<[u8]>::to_vec) {
        let mut less = ks.clone();
        less.remove_trusted(|d| d == first.as_slice());
        let again = Keystore::parse(&less.to_bytes()).expect("a written keystore parses");
        assert!(again.certificates().all(|d| d != first.as_slice()));
    }
}

/// EFI signature lists (`cacerts.bin`): never a panic; removing the lists that hold the first
/// certificate leaves exactly the others.
pub(crate) fn edk2(data: &[u8]) {
    let Some(ders) = trustbake_store::formats::edk2_certificates(data) else {
        return;
    };
    let Some(first) = ders.first() else { return };
    let rest = trustbake_store::formats::edk2_remove(data, |d| d == first.as_slice())
        .expect("a list of lists stays one");
    let left = trustbake_store::formats::edk2_certificates(&rest).expect("still parses");
    assert!(left.iter().all(|d| d != first));
    assert!(left.len() <= ders.len());
}

/// Third-party bundles (certifi's `cacert.pem`, the OS bundles), read best-effort: never a
/// panic; every block is either a certificate or counted as skipped.
pub(crate) fn certifi_bundle(data: &[u8]) {
    let found = read_bundle(data);
    for cert in &found.certificates {
        let _ = cert.certifi_entry();
    }
    // Removing a certificate (`--remove`) takes out every copy of it and nothing else.
    if let Some(first) = found.certificates.first() {
        let gone = first.sha256();
        let rest = trustbake_store::formats::remove_entries(data, |c| c.sha256() == gone)
            .expect("a certificate the bundle holds is removed");
        let want: Vec<_> = found
            .certificates
            .iter()
            .map(Certificate::sha256)
            .filter(|s| *s != gone)
            .collect();
        let got: Vec<_> = read_bundle(&rest)
            .certificates
            .iter()
            .map(Certificate::sha256)
            .collect();
        assert_eq!(got, want);
    }
}

/// A docker archive's `manifest.json`: never a panic, no member name that leaves the archive.
pub(crate) fn docker_manifest(data: &[u8]) {
    let _ = trustbake_image::fuzzing::docker_manifest(data);
}

/// What a registry answers, as the client parses it (the first byte chooses the parser, the
/// rest is the header or body): never a panic; a `Location` or `Link` resolves only to an
/// http(s) URL with a host and no control characters; a URL as shown carries no query and no
/// userinfo; a token is printable ASCII of at most 64 KiB; a `Content-Range` is ordered.
pub(crate) fn registry_answers(data: &[u8]) {
    use trustbake_image::registry::fuzzing as f;
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let base = "https://registry.example:5000/v2/a/b/blobs/uploads/";
    let url_ok = |url: &str| {
        assert!(f::origin(url).is_some(), "{url:?}");
        assert!(!url.chars().any(char::is_control), "{url:?}");
    };
    match which % 6 {
        0 => {
            if let Some(realm) = f::challenge(&text) {
                assert!(realm.len() <= text.len(), "{realm:?}");
            }
        }
        1 => {
            if let Some((token, lifetime)) = f::token(&text) {
                assert!(!token.is_empty() && token.len() <= 64 * 1024);
                assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
                assert!((20..=24 * 3600).contains(&lifetime));
            }
        }
        2 => {
            if let Some(url) = f::location(base, &text) {
                url_ok(&url);
            }
        }
        3 => {
            if let Some(url) = f::next_link(base, &text) {
                url_ok(&url);
            }
        }
        4 => {
            if let Some((start, end)) = f::content_range(&text) {
                assert!(start <= end);
            }
        }
        _ => {
            let shown = f::shown_url(&text);
            assert!(!shown.contains('?'), "{shown:?}");
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            if let Some((_, rest)) = shown.split_once("://") {
                let authority = rest.split('/').next().unwrap_or("");
                assert!(!authority.contains('@'), "{shown:?}");
            }
        }
    }
}
