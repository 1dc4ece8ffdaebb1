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
        &Policy::at(trustbake::process::now()),
    )
    .unwrap();
    assert_eq!(intake.cas().len(), count, "certifi {version}");
}

/// Whether Python's `ssl`, trusting only `cafile`, completes a verified handshake with the
/// server as `localhost`.
fn python_verifies(cafile: &std::path::Path, port: u16) -> bool {
    let script = "import socket,ssl,sys\n\
                  ctx=ssl.create_default_context(cafile=sys.argv[1])\n\
                  s=socket.create_connection(('127.0.0.1',int(sys.argv[2])),timeout=10)\n\
                  try:\n    ctx.wrap_socket(s,server_hostname='localhost').close(); print('verified')\n\
                  except ssl.SSLCertVerificationError as e:\n    print('refused', e)\n";
    let out = tests::output(
        tests::tool("python3", "python3")
            .args(["-c", script])
            .arg(cafile)
            .arg(port.to_string()),
    );
    out.starts_with("verified")
}

#[test]
fn patched_certifi_releases_verify_a_server_the_new_ca_issued() {
    let server = tests::TlsServer::start();
    for (version, _) in certifi_fixtures() {
        let work = tests::scratch(&format!("certifi-{version}"));
        let site = work.join("home/anchore/venv/lib/python3.11/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(work.join("etc/pki/ca-trust/extracted")).unwrap();
        std::fs::write(
            work.join("home/anchore/venv/pyvenv.cfg"),
            "version = 3.11.7\n",
        )
        .unwrap();
        let wheel = std::fs::read_dir(tests::root().join("target/fixtures/certifi").join(&version))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .unwrap();
        tests::output(
            tests::tool("python3", "python3")
                .args([
                    "-c",
                    "import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
                ])
                .arg(&wheel)
                .arg(&site),
        );
        let cacert = site.join("certifi/cacert.pem");
        let original = std::fs::read(&cacert).unwrap();
        assert!(
            !python_verifies(&cacert, server.port),
            "certifi {version}: the base must not trust the test CA"
        );

        let cas = trustbake::load_cas(
            &[tests::fixture("root-rsa.pem")],
            trustbake::Policy::at(trustbake::process::now()),
        )
        .unwrap();
        let request = trustbake::ApplyRequest::new(&work, &cas, trustbake::process::now())
            .target(trustbake::Target::parse("enterprise", "5.1").unwrap());
        let report = trustbake::apply(&request).unwrap();
        assert!(
            report.notes.is_empty(),
            "certifi {version}: the root matches the 5.1 map: {:?}",
            report.notes
        );

        let patched = std::fs::read(&cacert).unwrap();
        assert!(
            patched.starts_with(&original),
            "certifi {version}: every original byte kept"
        );
        let before = trustbake_certs::read_bundle(&original).certificates.len();
        assert_eq!(
            trustbake_certs::read_bundle(&patched).certificates.len(),
            before + 1,
            "certifi {version}"
        );
        assert!(
            python_verifies(&cacert, server.port),
            "certifi {version}: Python ssl trusts the patched bundle"
        );

        // The wheel's RECORD still tells the truth about cacert.pem (checked by Python).
        let check = "import base64,glob,hashlib,sys\n\
                     site=sys.argv[1]\n\
                     rec=glob.glob(site+'/certifi-*.dist-info/RECORD')[0]\n\
                     line=[l for l in open(rec) if l.startswith('certifi/cacert.pem,')][0].strip().split(',')\n\
                     data=open(site+'/certifi/cacert.pem','rb').read()\n\
                     want='sha256='+base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()\n\
                     print('ok' if line[1]==want and int(line[2])==len(data) else 'mismatch %s %s' % (line, want))\n";
        let out = tests::output(
            tests::tool("python3", "python3")
                .args(["-c", check])
                .arg(&site),
        );
        assert_eq!(out.trim(), "ok", "certifi {version}: RECORD");
    }
}
