//! The RHEL family against the real p11-kit: trustbake's outputs for added CAs hold the same
//! certificates, labels, trust data, aliases and names as a fresh `trust extract` with those
//! CAs in `anchors/`; and a later `trust extract` over trustbake's result changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tests::{fixture, jks_entries, p11_kit_extract, scratch};
use trustbake_certs::{Certificate, read_bundle, render_pem};
use trustbake_store::formats;

const ADDED: &[&str] = &[
    "root-rsa.pem",
    "root-ec.pem",
    "intermediate.pem",
    "v1-root.pem",
    "demo-root.pem",
    "bmp-subject.pem",
    "t61-subject.pem",
    "odd-subject.pem",
    "multi-rdn.pem",
];
const EXTRACTED: &str = "etc/pki/ca-trust/extracted";

/// A source tree with Mozilla's roots as anchors (what the RPM ships).
fn mozilla_source(dir: &Path) {
    let anchors = dir.join("anchors");
    std::fs::create_dir_all(&anchors).unwrap();
    for (i, der) in webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().enumerate() {
        std::fs::write(
            anchors.join(format!("mozilla-{i:03}.pem")),
            render_pem("CERTIFICATE", der.as_ref()),
        )
        .unwrap();
    }
}

/// The shipped source (`WORK/usr-share-pki`, Mozilla's roots) and a base root (`WORK/base`, EL9)
/// whose outputs p11-kit extracted from it.
fn p11_kit_base(work: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let source = work.join("usr-share-pki");
    mozilla_source(&source);
    let base = work.join("base");
    std::fs::create_dir_all(base.join("etc/pki/ca-trust/source/anchors")).unwrap();
    std::fs::write(
        base.join("etc/os-release"),
        "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n",
    )
    .unwrap();
    p11_kit_extract(&[&source], &base);
    (source, base)
}

/// The [`ADDED`] CAs.
fn added() -> trustbake::Intake {
    trustbake::load_cas(
        &ADDED.iter().map(|n| fixture(n)).collect::<Vec<_>>(),
        trustbake::Policy::at(trustbake::process::now()),
    )
    .unwrap()
}

/// (sha256 → comment label) of a p11-kit pem-bundle with comments.
fn pem_entries(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    for chunk in text.split("\n\n") {
        let label = chunk
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .unwrap_or_default()
            .to_owned();
        let certs = read_bundle(chunk.as_bytes()).certificates;
        assert_eq!(
            certs.len(),
            1,
            "{}: one certificate per entry",
            path.display()
        );
        out.insert(certs[0].sha256().hex(), label);
    }
    out
}

/// (sha256 → hex of the CertAux DER) of an openssl-bundle.
fn trusted_entries(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    for block in text.split("-----BEGIN TRUSTED CERTIFICATE-----").skip(1) {
        let body: String = block.split("-----END").next().unwrap().lines().collect();
        let bytes = base64_decode(&body);
        let (cert, rest) = Certificate::from_der_prefix(&bytes).unwrap();
        out.insert(
            cert.sha256().hex(),
            rest.iter().map(|b| format!("{b:02x}")).collect(),
        );
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let pem = format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");
    read_bundle(pem.as_bytes());
    // The PEM reader only yields parsed certificates; decode the raw body through DER helpers.
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = table.iter().position(|t| *t == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn edk2_entries(path: &Path) -> BTreeSet<Vec<u8>> {
    formats::edk2_certificates(&std::fs::read(path).unwrap())
        .unwrap()
        .into_iter()
        .collect()
}

/// name → (link target or "file:<sha256>") of a directory-hash.
fn directory_hash(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let value = if e.file_type().unwrap().is_symlink() {
                std::fs::read_link(e.path()).unwrap().display().to_string()
            } else {
                let certs = read_bundle(&std::fs::read(e.path()).unwrap()).certificates;
                format!("file:{}", certs[0].sha256().hex())
            };
            (name, value)
        })
        .collect()
}

/// Every output of a root as comparable sets.
#[derive(Debug, PartialEq)]
struct Outputs {
    pem: Vec<BTreeMap<String, String>>,
    openssl: BTreeMap<String, String>,
    jks: BTreeSet<(String, String)>,
    edk2: BTreeSet<Vec<u8>>,
    directory_hash: BTreeMap<String, String>,
}

fn outputs(root: &Path) -> Outputs {
    let d = root.join(EXTRACTED);
    Outputs {
        pem: ["tls", "email", "objsign"]
            .iter()
            .map(|p| pem_entries(&d.join(format!("pem/{p}-ca-bundle.pem"))))
            .collect(),
        openssl: trusted_entries(&d.join("openssl/ca-bundle.trust.crt")),
        jks: jks_entries(&d.join("java/cacerts")),
        edk2: edk2_entries(&d.join("edk2/cacerts.bin")),
        directory_hash: directory_hash(&d.join("pem/directory-hash")),
    }
}

fn compare(what: &str, ours: &Outputs, theirs: &Outputs) {
    for (i, (a, b)) in ours.pem.iter().zip(&theirs.pem).enumerate() {
        assert_eq!(a, b, "{what}: pem bundle {i} (sha256 → label)");
    }
    assert_eq!(
        ours.openssl, theirs.openssl,
        "{what}: openssl bundle (sha256 → CertAux)"
    );
    assert_eq!(ours.jks, theirs.jks, "{what}: java cacerts (alias, sha256)");
    assert_eq!(ours.edk2, theirs.edk2, "{what}: edk2 certificates");
    assert_eq!(
        ours.directory_hash, theirs.directory_hash,
        "{what}: directory-hash names and links"
    );
}

#[test]
fn outputs_match_a_fresh_trust_extract_and_survive_a_later_one() {
    let work = scratch("rhel-p11-kit");
    // The base image: outputs made by p11-kit from the shipped roots.
    let (source, base) = p11_kit_base(&work);
    let before = outputs(&base);

    // trustbake adds the CAs.
    let cas = added();
    let report = trustbake::apply(&trustbake::ApplyRequest::new(
        &base,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    assert_eq!(
        report.detected.rhel_outputs.len(),
        6,
        "{:?}",
        report.detected
    );
    let ours = outputs(&base);

    // The reference: p11-kit with the same CAs in anchors/.
    let reference = work.join("reference");
    let anchors = work.join("reference-source/anchors");
    std::fs::create_dir_all(&anchors).unwrap();
    for name in ADDED {
        std::fs::copy(fixture(name), anchors.join(name)).unwrap();
    }
    p11_kit_extract(&[&source, &work.join("reference-source")], &reference);
    let theirs = outputs(&reference);
    compare("trustbake vs trust extract", &ours, &theirs);
    assert_ne!(before.pem[0], ours.pem[0], "the CAs were added");
    assert_eq!(ours.pem[0].len(), before.pem[0].len() + ADDED.len());

    // Every output keeps p11-kit's mode.
    for rel in [
        "pem/tls-ca-bundle.pem",
        "openssl/ca-bundle.trust.crt",
        "java/cacerts",
        "edk2/cacerts.bin",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(base.join(EXTRACTED).join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o444, "{rel}");
    }

    // A later update-ca-trust in the image (sources: the shipped roots and the image's own
    // /etc/pki/ca-trust/source, where trustbake put the anchors) gives the same sets.
    let later = work.join("later");
    p11_kit_extract(&[&source, &base.join("etc/pki/ca-trust/source")], &later);
    compare(
        "trustbake vs a later trust extract",
        &ours,
        &outputs(&later),
    );

    // And trustbake over its own result plans nothing.
    let again = trustbake::apply_preview(&trustbake::ApplyRequest::new(
        &base,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    assert!(
        again.entries.is_empty(),
        "{:?}",
        again.entries.iter().map(|i| &i.path).collect::<Vec<_>>()
    );
}

#[test]
fn removal_matches_trust_extract_with_the_blocklist_and_survives_a_later_one() {
    let work = scratch("rhel-remove");
    let (source, base) = p11_kit_base(&work);
    let cas = added();
    trustbake::apply(&trustbake::ApplyRequest::new(
        &base,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    let before = outputs(&base);

    // Distrust: a shipped root by fingerprint, an added one by file, one nobody holds.
    let shipped =
        Certificate::from_der(webpki_root_certs::TLS_SERVER_ROOT_CERTS[5].as_ref()).unwrap();
    let removals = trustbake::load_removals(&[
        shipped.sha256().colon_hex().to_uppercase(),
        fixture("root-rsa.pem").display().to_string(),
        fixture("expired.pem").display().to_string(),
    ])
    .unwrap();
    let report = trustbake::apply(
        &trustbake::ApplyRequest::new(
            &base,
            &trustbake::Intake::default(),
            trustbake::process::now(),
        )
        .remove(removals),
    )
    .unwrap();
    let blocklist = base.join("etc/pki/ca-trust/source/blocklist");
    assert_eq!(std::fs::read_dir(&blocklist).unwrap().count(), 3);
    assert!(
        !std::fs::read_dir(base.join("etc/pki/ca-trust/source/anchors"))
            .unwrap()
            .any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("trustbake-test-root-rsa")),
        "the added anchor is gone"
    );
    assert!(
        report
            .stores
            .iter()
            .any(|s| s.kind == trustbake::types::StoreKind::PemBundle && s.removed.len() == 2)
    );
    let ours = outputs(&base);
    assert_eq!(ours.pem[0].len(), before.pem[0].len() - 2);

    // The reference: p11-kit with the remaining added CAs in anchors/ and the three in the
    // blocklist.
    let reference = work.join("reference");
    let src = work.join("reference-source");
    std::fs::create_dir_all(src.join("anchors")).unwrap();
    std::fs::create_dir_all(src.join("blocklist")).unwrap();
    for name in ADDED.iter().filter(|n| **n != "root-rsa.pem") {
        std::fs::copy(fixture(name), src.join("anchors").join(name)).unwrap();
    }
    std::fs::copy(fixture("root-rsa.pem"), src.join("blocklist/a.pem")).unwrap();
    std::fs::copy(fixture("expired.pem"), src.join("blocklist/b.pem")).unwrap();
    std::fs::write(src.join("blocklist/c.pem"), shipped.to_pem()).unwrap();
    p11_kit_extract(&[&source, &src], &reference);
    compare(
        "trustbake vs trust extract with a blocklist",
        &ours,
        &outputs(&reference),
    );

    // A later update-ca-trust in the image keeps them out.
    let later = work.join("later");
    p11_kit_extract(&[&source, &base.join("etc/pki/ca-trust/source")], &later);
    compare(
        "trustbake vs a later trust extract",
        &ours,
        &outputs(&later),
    );
}

/// Fedora 41 and later mirror directory-hash's links into /etc/pki/tls/certs; after a bake
/// every link of directory-hash has its mirror there, and OpenSSL's default CApath finds each
/// added CA through them.
#[test]
fn fedoras_tls_certs_links_mirror_directory_hash_and_openssl_finds_the_cas() {
    let work = scratch("rhel-fedora-mirror");
    let (_, base) = p11_kit_base(&work);
    let hashed = base.join(EXTRACTED).join("pem/directory-hash");
    let tls = base.join("etc/pki/tls/certs");
    std::fs::create_dir_all(&tls).unwrap();
    for e in std::fs::read_dir(&hashed).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_symlink() {
            let name = e.file_name().to_string_lossy().into_owned();
            std::os::unix::fs::symlink(
                format!("../../ca-trust/extracted/pem/directory-hash/{name}"),
                tls.join(&name),
            )
            .unwrap();
        }
    }
    std::fs::write(base.join("etc/os-release"), "ID=fedora\nVERSION_ID=41\n").unwrap();
    let cas = added();
    trustbake::apply(&trustbake::ApplyRequest::new(
        &base,
        &cas,
        trustbake::process::now(),
    ))
    .unwrap();
    let links = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_symlink())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.split_once('.').is_some_and(|(h, _)| h.len() == 8))
            .collect()
    };
    assert_eq!(links(&tls), links(&hashed), "every link mirrored");
    for name in ADDED {
        let cert = read_bundle(&std::fs::read(fixture(name)).unwrap())
            .certificates
            .remove(0);
        // p11-kit writes no new-style link for a subject its decoder rejects (T61String):
        // OpenSSL cannot find those in p11-kit's own directory either.
        if !cert.is_authority() || cert.subject_hash_p11_kit().is_none() {
            continue;
        }
        tests::output(
            tests::tool("openssl", "openssl")
                .args(["verify", "-no-CAfile", "-CApath"])
                .arg(&tls)
                .arg(fixture(name)),
        );
    }
}
