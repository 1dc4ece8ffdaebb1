//! Every entry of real certifi releases, from several years, rendered by trustbake from the
//! certificate alone, must equal certifi's own comment lines byte for byte (the `# Label` line
//! is Mozilla's nickname, not derived from the certificate, so it is left out).

use tests::certifi_fixtures;
use trustbake_certs::Certificate;
use trustbake_certs::{Policy, Source, intake};

/// Splits a `cacert.pem` into (comment lines, PEM block) entries.
fn entries(text: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut comments = Vec::new();
    let mut pem: Option<String> = None;
    for line in text.lines() {
        if let Some(block) = pem.as_mut() {
            block.push_str(line);
            block.push('\n');
            if line.starts_with("-----END") {
                out.push((
                    std::mem::take(&mut comments),
                    pem.take().unwrap_or_default(),
                ));
            }
        } else if line.starts_with("-----BEGIN") {
            pem = Some(format!("{line}\n"));
        } else if line.starts_with('#') {
            comments.push(line.to_owned());
        }
    }
    out
}

#[test]
fn certifi_entries_are_rendered_exactly_as_certifi_renders_them() {
    for (version, path) in certifi_fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let entries = entries(&text);
        assert!(
            entries.len() > 100,
            "certifi {version}: only {} entries",
            entries.len()
        );
        for (comments, pem) in &entries {
            let intake = intake(
                &[Source::new("entry", pem.as_bytes())],
                &Policy {
                    allow_expired: true,
                    allow_non_ca: true,
                    now: 0,
                },
            )
            .unwrap_or_else(|e| panic!("certifi {version}: {e}"));
            let cert: &Certificate = &intake.cas()[0].certificate;
            let ours = cert.certifi_entry();
            let ours: Vec<&str> = ours
                .lines()
                .filter(|l| l.starts_with('#') && !l.starts_with("# Label:"))
                .collect();
            let theirs: Vec<&str> = comments
                .iter()
                .map(String::as_str)
                .filter(|l| !l.starts_with("# Label:"))
                .collect();
            assert_eq!(ours, theirs, "certifi {version}");
            assert_eq!(
                &cert.to_pem(),
                pem,
                "certifi {version}: PEM re-rendering differs"
            );
        }
    }
}

#[test]
fn a_certifi_bundle_is_accepted_as_ca_input_with_every_root() {
    let (version, path) = certifi_fixtures().pop().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let count = entries(&String::from_utf8_lossy(&bytes)).len();
    let intake = intake(
        &[Source::new("cacert.pem", bytes)],
        &Policy::at(trustbake::now()),
    )
    .unwrap();
    assert_eq!(intake.cas().len(), count, "certifi {version}");
}
