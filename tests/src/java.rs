//! Java trust stores made by the real `keytool`, listed by it, and a Java TLS client that
//! trusts only one store.

use std::path::Path;

use crate::{fixture, output, tool};

/// A trust store at `path` of `storetype` (`JKS`, `PKCS12`) made with keytool's `form` options, holding `names`
/// (fixtures) as `debian:NAME` entries.
pub fn keystore(path: &Path, storetype: &str, form: &[&str], names: &[&str]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for name in names {
        output(
            tool("keytool", "openjdk-17-jre-headless")
                .args(form)
                .args(["-importcert", "-noprompt", "-storetype", storetype])
                .args(["-storepass", "changeit", "-alias"])
                .arg(format!("debian:{name}"))
                .arg("-file")
                .arg(fixture(name))
                .arg("-keystore")
                .arg(path),
        );
    }
}

/// (alias, entry type) of every entry, as keytool lists them.
pub fn listed(path: &Path) -> Vec<(String, String)> {
    let out = output(
        tool("keytool", "openjdk-17-jre-headless")
            .args(["-list", "-v", "-storepass", "changeit", "-keystore"])
            .arg(path),
    );
    let mut entries = Vec::new();
    let mut alias = String::new();
    for line in out.lines() {
        if let Some(a) = line.strip_prefix("Alias name: ") {
            alias = a.to_owned();
        }
        if let Some(t) = line.strip_prefix("Entry type: ") {
            entries.push((alias.clone(), t.to_owned()));
        }
    }
    entries.sort();
    entries
}

/// A Java TLS client: a handshake with 127.0.0.1 at the port given, then `trusted` printed.
pub const CLIENT_JAVA: &str = "import javax.net.ssl.*;\npublic class Client {\n  public static void main(String[] a) throws Exception {\n    SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket(\"127.0.0.1\", Integer.parseInt(a[0]));\n    s.startHandshake();\n    s.close();\n    System.out.println(\"trusted\");\n  }\n}\n";

/// Whether a Java TLS client trusting only `store` completes a handshake with `port`.
pub fn java_connects(work: &Path, store: &Path, port: u16) -> bool {
    let source = work.join("Client.java");
    std::fs::write(&source, CLIENT_JAVA).unwrap();
    tool("java", "openjdk-17-jdk-headless")
        .arg(format!("-Djavax.net.ssl.trustStore={}", store.display()))
        .arg("-Djavax.net.ssl.trustStorePassword=changeit")
        .arg(&source)
        .arg(port.to_string())
        .output()
        .unwrap()
        .status
        .success()
}
