//! A test PKI made by the real `openssl` command line: a root, an intermediate, one server
//! certificate per Anchore service (RSA, EC and Ed25519 keys; the service's name, `localhost`
//! and `127.0.0.1` as subject alternative names), and the broken variants operators meet — a
//! key that does not match, a wrong host name, expired, not yet valid, client-auth only, issued
//! by an unknown root, self-signed.

use std::path::{Path, PathBuf};

use crate::{output, tool};

/// A self-signed P-256 certificate by `openssl req -x509`: `key` and `cert` written (relative
/// paths are under `dir`), valid for `days`, with `extra` arguments (`-addext …`) appended.
pub fn self_signed_ec(dir: &Path, key: &str, cert: &str, subject: &str, days: u32, extra: &[&str]) {
    let days = days.to_string();
    output(
        tool("openssl", "openssl")
            .current_dir(dir)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                &days,
                "-subj",
                subject,
                "-keyout",
                key,
                "-out",
                cert,
            ])
            .args(extra),
    );
}

/// A P-256 key pair by `openssl genpkey` (cosign's key type), in `dir`: (`NAME.key` PKCS#8,
/// `NAME.pub` its public key).
pub fn p256_keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    output(
        tool("openssl", "openssl")
            .args(["genpkey", "-algorithm", "EC", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-out"])
            .arg(&key),
    );
    output(
        tool("openssl", "openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public),
    );
    (key, public)
}

/// The services of the Anchore-shaped config: (config key, host name, key type).
pub const SERVICES: &[(&str, &str, &str)] = &[
    ("apiext", "anchore-api", "rsa"),
    ("catalog", "anchore-catalog", "rsa"),
    ("simplequeue", "anchore-simplequeue", "ec"),
    ("analyzer", "anchore-analyzer", "ec"),
    ("policy_engine", "anchore-policy", "ed25519"),
    ("reports", "anchore-reports", "rsa"),
];

/// The broken server certificates: (name, what is wrong).
pub const BROKEN: &[(&str, &str)] = &[
    ("wrong-key", "the key file holds another key"),
    ("wrong-host", "only other.example in its names"),
    ("expired", "valid 2020-2021"),
    ("not-yet-valid", "valid from 2100"),
    ("client-only", "extended key usage clientAuth only"),
    ("unknown-root", "issued by a root no store holds"),
    ("self-signed", "its own issuer"),
];

const CONFIG: &str = "\
[ca]
default_ca = test_ca
[test_ca]
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
organizationName = optional
commonName = optional
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[req]
distinguished_name = dn
[dn]
";

/// The generated PKI's directory.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
}

impl Pki {
    /// Generates the PKI into `dir` (which must exist and be empty).
    pub fn generate(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir.join("issued")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "2000\n").unwrap();
        std::fs::write(dir.join("openssl.cnf"), CONFIG).unwrap();
        let pki = Pki {
            dir: dir.to_owned(),
        };
        let valid = ("20200101000000Z", "21000101000000Z");
        pki.key("root.key", "rsa");
        pki.sign(
            "root",
            "root.key",
            None,
            "/O=Trustbake PKI/CN=Trustbake PKI Root",
            "root",
            valid,
        );
        pki.key("intermediate.key", "ec");
        pki.sign(
            "intermediate",
            "intermediate.key",
            Some(("root.pem", "root.key")),
            "/O=Trustbake PKI/CN=Trustbake PKI Intermediate",
            "intermediate",
            valid,
        );
        pki.key("other-root.key", "rsa");
        pki.sign(
            "other-root",
            "other-root.key",
            None,
            "/O=Elsewhere/CN=Elsewhere Root",
            "root",
            valid,
        );
        let issuer = Some(("intermediate.pem", "intermediate.key"));
        for (service, host, key) in SERVICES {
            pki.leaf(
                service,
                key,
                host,
                &[host, "localhost"],
                "serverAuth,clientAuth",
                issuer,
                valid,
            );
        }
        pki.leaf(
            "wrong-key",
            "rsa",
            "anchore-wrong-key",
            &["anchore-wrong-key", "localhost"],
            "serverAuth",
            issuer,
            valid,
        );
        pki.key("wrong-key.key", "rsa");
        pki.leaf(
            "wrong-host",
            "rsa",
            "other.example",
            &["other.example"],
            "serverAuth",
            issuer,
            valid,
        );
        pki.leaf(
            "expired",
            "rsa",
            "anchore-expired",
            &["anchore-expired", "localhost"],
            "serverAuth",
            issuer,
            ("20200101000000Z", "20210101000000Z"),
        );
        pki.leaf(
            "not-yet-valid",
            "rsa",
            "anchore-future",
            &["anchore-future", "localhost"],
            "serverAuth",
            issuer,
            ("21000101000000Z", "21010101000000Z"),
        );
        pki.leaf(
            "client-only",
            "rsa",
            "anchore-client",
            &["anchore-client", "localhost"],
            "clientAuth",
            issuer,
            valid,
        );
        pki.leaf(
            "unknown-root",
            "rsa",
            "anchore-elsewhere",
            &["anchore-elsewhere", "localhost"],
            "serverAuth",
            Some(("other-root.pem", "other-root.key")),
            valid,
        );
        pki.leaf(
            "self-signed",
            "rsa",
            "anchore-self",
            &["anchore-self", "localhost"],
            "serverAuth",
            None,
            valid,
        );
        std::fs::copy(dir.join("intermediate.pem"), dir.join("chain.pem")).unwrap();
        pki
    }

    /// A file of the PKI.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The PEM text of `NAME.pem`.
    pub fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap()
    }

    /// Writes `NAME-chain.pem`: the server certificate and what its server would send after it
    /// (the intermediate; the other root for `unknown-root`; nothing for `self-signed`).
    pub fn full_chain(&self, name: &str) -> PathBuf {
        let mut text = self.pem(name);
        match name {
            "self-signed" => {}
            "unknown-root" => text.push_str(&self.pem("other-root")),
            _ => text.push_str(&self.pem("intermediate")),
        }
        let path = self.path(&format!("{name}-chain.pem"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn openssl(&self, args: &[&str]) {
        output(tool("openssl", "openssl").args(args).current_dir(&self.dir));
    }

    fn key(&self, name: &str, kind: &str) {
        match kind {
            "rsa" => self.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                name,
            ]),
            "ec" => self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                name,
            ]),
            _ => self.openssl(&["genpkey", "-algorithm", "ED25519", "-out", name]),
        }
    }

    fn sign(
        &self,
        name: &str,
        key: &str,
        issuer: Option<(&str, &str)>,
        subject: &str,
        extensions: &str,
        (start, end): (&str, &str),
    ) {
        self.sign_with(
            name,
            key,
            issuer,
            subject,
            &["-extensions", extensions],
            (start, end),
        );
    }

    fn sign_with(
        &self,
        name: &str,
        key: &str,
        issuer: Option<(&str, &str)>,
        subject: &str,
        extensions: &[&str],
        (start, end): (&str, &str),
    ) {
        let csr = format!("{name}.csr");
        let cert = format!("{name}.pem");
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-key",
            key,
            "-subj",
            subject,
            "-out",
            &csr,
        ]);
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "openssl.cnf",
            "-in",
            &csr,
            "-out",
            &cert,
            "-startdate",
            start,
            "-enddate",
            end,
        ];
        match issuer {
            None => args.extend(["-selfsign", "-keyfile", key]),
            Some((cert, issuer_key)) => args.extend(["-cert", cert, "-keyfile", issuer_key]),
        }
        args.extend(extensions);
        self.openssl(&args);
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &self,
        name: &str,
        key_type: &str,
        cn: &str,
        dns: &[&str],
        eku: &str,
        issuer: Option<(&str, &str)>,
        validity: (&str, &str),
    ) {
        let key = format!("{name}.key");
        self.key(&key, key_type);
        let mut san: Vec<String> = dns.iter().map(|d| format!("DNS:{d}")).collect();
        if dns.contains(&"localhost") {
            san.push("IP:127.0.0.1".into());
        }
        let ext = format!(
            "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = {eku}\nsubjectAltName = {}\n",
            san.join(",")
        );
        let ext_file = format!("{name}.ext");
        std::fs::write(self.dir.join(&ext_file), ext).unwrap();
        self.sign_with(
            name,
            &key,
            issuer,
            &format!("/O=Trustbake PKI/CN={cn}"),
            &["-extfile", &ext_file, "-extensions", "leaf"],
            validity,
        );
    }
}
