//! `cargo xtask gen-test-cas`: regenerates the committed test certificates in
//! `tests/fixtures/cas/` with the real `openssl` command line.
//!
//! OpenSSL (not our own code) makes the fixtures so that what the tests check is independent of
//! what is tested. `openssl ca` gives full control over validity dates (expired, not yet valid),
//! certificate version (v1 when no extensions are given) and string types (`string_mask`);
//! `openssl req -x509` keeps multi-valued RDNs, which `openssl ca` would split.
//! The list of files written is `tests/fixtures/cas/MANIFEST`; tests compare against it.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util::{require_tool, root, run};

const CA_CONFIG: &str = "\
[ca]
default_ca = fixture_ca
[fixture_ca]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes
[anything]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
emailAddress = optional
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier = keyid
[req]
distinguished_name = dn
string_mask = MASK
[dn]
[multi]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
";

/// Always valid while the tests live: 2020-01-01 to 2120-01-01.
const VALID: (&str, &str) = ("20200101000000Z", "21200101000000Z");

/// Every file `generate` writes, in the order written; also committed as `MANIFEST`.
pub(crate) const FILES: &[&str] = &[
    "root-rsa.pem",
    "root-rsa.key",
    "root-ec.pem",
    "intermediate.pem",
    "leaf.pem",
    "leaf.key",
    "expired.pem",
    "not-yet-valid.pem",
    "v1-root.pem",
    "odd-subject.pem",
    "bmp-subject.pem",
    "t61-subject.pem",
    "multi-rdn.pem",
    "weak-rsa.pem",
    "sha1-root.pem",
    "demo-root.pem",
    "bundle.pem",
    "root-rsa.der",
    "trusted.pem",
    "cert-and-key.pem",
    "csr.pem",
    "garbage.pem",
    "bad-der.pem",
    "empty.pem",
    "text-only.pem",
];

pub(crate) fn generate() -> Result<()> {
    require_tool("openssl", "openssl")?;
    let out = root().join("tests/fixtures/cas");
    let work = root().join("target/gen-test-cas");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(work.join("issued"))?;
    fs::create_dir_all(&out)?;
    fs::write(work.join("index.txt"), "")?;
    fs::write(work.join("serial"), "1000\n")?;
    let g = Gen { work: &work };

    g.key("root-rsa.key", "rsa", 2048)?;
    g.ca_cert(
        "root-rsa",
        "root-rsa.key",
        None,
        "/C=DE/O=Trustbake Test/CN=Trustbake Test Root RSA",
        "root",
        VALID,
        "default",
    )?;
    g.key("root-ec.key", "ec", 256)?;
    g.ca_cert(
        "root-ec",
        "root-ec.key",
        None,
        "/C=DE/O=Trustbake Test/OU=Elliptic/CN=Trustbake Test Root EC",
        "root",
        VALID,
        "default",
    )?;
    g.key("intermediate.key", "rsa", 2048)?;
    g.ca_cert(
        "intermediate",
        "intermediate.key",
        Some(("root-rsa.pem", "root-rsa.key")),
        "/C=DE/O=Trustbake Test/CN=Trustbake Test Intermediate",
        "intermediate",
        VALID,
        "default",
    )?;
    g.key("leaf.key", "rsa", 2048)?;
    g.ca_cert(
        "leaf",
        "leaf.key",
        Some(("intermediate.pem", "intermediate.key")),
        "/O=Trustbake Test/CN=localhost",
        "leaf",
        VALID,
        "default",
    )?;
    g.key("expired.key", "rsa", 2048)?;
    g.ca_cert(
        "expired",
        "expired.key",
        None,
        "/O=Trustbake Test/CN=Trustbake Expired Root",
        "root",
        ("20100101000000Z", "20110101000000Z"),
        "default",
    )?;
    g.key("future.key", "rsa", 2048)?;
    g.ca_cert(
        "not-yet-valid",
        "future.key",
        None,
        "/O=Trustbake Test/CN=Trustbake Future Root",
        "root",
        ("21000101000000Z", "21200101000000Z"),
        "default",
    )?;
    g.key("v1.key", "rsa", 2048)?;
    // No extensions section: `openssl ca` then writes a version 1 certificate.
    g.ca_cert(
        "v1-root",
        "v1.key",
        None,
        "/C=US/O=Trustbake Legacy/OU=Version One/CN=Trustbake V1 Root",
        "",
        VALID,
        "default",
    )?;
    g.key("odd.key", "ec", 256)?;
    g.ca_cert(
        "odd-subject",
        "odd.key",
        None,
        "/C=CH/O=  Zürich   Ωmega  AG /OU=Mixed CASE   Unit/CN=  Odd   Whitespace   CA  ",
        "root",
        VALID,
        "utf8only",
    )?;
    g.key("bmp.key", "ec", 256)?;
    // With the `default` mask OpenSSL picks BMPString for characters beyond Latin-1.
    g.ca_cert(
        "bmp-subject",
        "bmp.key",
        None,
        "/O=Trustbake Test/CN=Ωmega Root Ⅱ",
        "root",
        VALID,
        "default",
    )?;
    g.key("t61.key", "ec", 256)?;
    // `_` and `é` are not PrintableString characters and fit Latin-1: OpenSSL picks T61String.
    g.ca_cert(
        "t61-subject",
        "t61.key",
        None,
        "/O=Trustbake_Test/CN=Teletex_Root Café",
        "root",
        VALID,
        "default",
    )?;
    g.key("multi.key", "ec", 256)?;
    g.multi_rdn(
        "multi-rdn",
        "multi.key",
        "/C=DE/O=Trustbake Test+OU=Multi Valued/CN=Trustbake Multi RDN Root+serialNumber=42",
    )?;
    g.key("weak.key", "rsa", 1024)?;
    g.ca_cert(
        "weak-rsa",
        "weak.key",
        None,
        "/O=Trustbake Test/CN=Trustbake Weak RSA Root",
        "root",
        VALID,
        "default",
    )?;
    g.key("sha1.key", "rsa", 2048)?;
    g.ca_cert_md(
        "sha1-root",
        "sha1.key",
        "/O=Trustbake Test/CN=Trustbake SHA1 Root",
        "sha1",
    )?;
    g.key("demo.key", "rsa", 2048)?;
    g.ca_cert(
        "demo-root",
        "demo.key",
        None,
        "/C=US/O=Example Corp/OU=Security/CN=Example Corp Root CA",
        "root",
        VALID,
        "default",
    )?;

    let read =
        |name: &str| fs::read_to_string(work.join(name)).with_context(|| format!("reading {name}"));
    fs::write(
        work.join("bundle.pem"),
        format!(
            "Two roots with commentary between them, as corporate bundles often have.\n\n# Trustbake Test Root RSA\n{}\nsome text between blocks\n\n# Trustbake Test Root EC\n{}",
            read("root-rsa.pem")?,
            read("root-ec.pem")?
        ),
    )?;
    g.openssl(&[
        "x509",
        "-in",
        "root-rsa.pem",
        "-outform",
        "DER",
        "-out",
        "root-rsa.der",
    ])?;
    g.openssl(&[
        "x509",
        "-in",
        "root-ec.pem",
        "-trustout",
        "-addtrust",
        "serverAuth",
        "-setalias",
        "EC alias",
        "-out",
        "trusted.pem",
    ])?;
    fs::write(
        work.join("cert-and-key.pem"),
        format!("{}{}", read("root-rsa.pem")?, read("root-rsa.key")?),
    )?;
    g.openssl(&[
        "req",
        "-new",
        "-key",
        "leaf.key",
        "-subj",
        "/CN=localhost",
        "-config",
        "openssl.cnf",
        "-out",
        "csr.pem",
    ])?;
    fs::write(
        work.join("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB!!not*base64@@\n-----END CERTIFICATE-----\n",
    )?;
    fs::write(
        work.join("bad-der.pem"),
        "-----BEGIN CERTIFICATE-----\naGVsbG8sIHRoaXMgaXMgbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )?;
    fs::write(work.join("empty.pem"), "")?;
    fs::write(
        work.join("text-only.pem"),
        "This file talks about certificates but holds none.\n",
    )?;

    for name in FILES {
        fs::copy(work.join(name), out.join(name)).with_context(|| format!("copying {name}"))?;
    }
    fs::write(out.join("MANIFEST"), FILES.join("\n") + "\n")?;
    println!("wrote {} fixtures to {}", FILES.len(), out.display());
    Ok(())
}

struct Gen<'a> {
    work: &'a Path,
}

impl Gen<'_> {
    fn openssl(&self, args: &[&str]) -> Result<()> {
        run(Command::new("openssl").args(args).current_dir(self.work))
    }

    fn config(&self, mask: &str) -> Result<()> {
        fs::write(
            self.work.join("openssl.cnf"),
            CA_CONFIG.replace("MASK", mask),
        )?;
        Ok(())
    }

    fn key(&self, name: &str, kind: &str, bits: u32) -> Result<()> {
        let opt = match kind {
            "ec" => format!("ec_paramgen_curve:P-{bits}"),
            _ => format!("rsa_keygen_bits:{bits}"),
        };
        let alg = if kind == "ec" { "EC" } else { "RSA" };
        self.openssl(&["genpkey", "-algorithm", alg, "-pkeyopt", &opt, "-out", name])
    }

    /// Issues `<name>.pem` with `openssl ca`; self-signed when `issuer` is `None`.
    #[allow(clippy::too_many_arguments)]
    fn ca_cert(
        &self,
        name: &str,
        key: &str,
        issuer: Option<(&str, &str)>,
        subject: &str,
        extensions: &str,
        (start, end): (&str, &str),
        mask: &str,
    ) -> Result<()> {
        self.config(mask)?;
        let csr = format!("{name}.csr");
        let out = format!("{name}.pem");
        self.openssl(&[
            "req",
            "-new",
            "-utf8",
            "-key",
            key,
            "-subj",
            subject,
            "-config",
            "openssl.cnf",
            "-out",
            &csr,
        ])?;
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-utf8",
            "-config",
            "openssl.cnf",
            "-in",
            &csr,
            "-out",
            &out,
            "-startdate",
            start,
            "-enddate",
            end,
        ];
        match issuer {
            None => args.extend(["-selfsign", "-keyfile", key]),
            Some((cert, issuer_key)) => args.extend(["-cert", cert, "-keyfile", issuer_key]),
        }
        if !extensions.is_empty() {
            args.extend(["-extensions", extensions]);
        }
        self.openssl(&args)
    }

    fn ca_cert_md(&self, name: &str, key: &str, subject: &str, md: &str) -> Result<()> {
        self.config("default")?;
        let csr = format!("{name}.csr");
        let out = format!("{name}.pem");
        self.openssl(&[
            "req",
            "-new",
            "-key",
            key,
            "-subj",
            subject,
            "-config",
            "openssl.cnf",
            "-out",
            &csr,
        ])?;
        self.openssl(&[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "openssl.cnf",
            "-in",
            &csr,
            "-out",
            &out,
            "-selfsign",
            "-keyfile",
            key,
            "-md",
            md,
            "-startdate",
            VALID.0,
            "-enddate",
            VALID.1,
            "-extensions",
            "root",
        ])
    }

    fn multi_rdn(&self, name: &str, key: &str, subject: &str) -> Result<()> {
        self.config("utf8only")?;
        let out = format!("{name}.pem");
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-utf8",
            "-multivalue-rdn",
            "-key",
            key,
            "-subj",
            subject,
            "-config",
            "openssl.cnf",
            "-extensions",
            "multi",
            "-days",
            "36500",
            "-out",
            &out,
        ])
    }
}
