//! Consumers on in-memory roots: which programs are found, what each reads (defaults,
//! variables, the JDK's keystore, Node's roots), and the runtime mount of the Helm charts.

use trustbake_certs::Certificate;
use trustbake_store::{ConsumerKind, Env, MemRoot, Meta, consumers, detect, plan, runtime_overlay};

use super::rhel::ubi9;
use super::{OPTIONS, fixture, mozilla};

const EXE: Meta = Meta::root(0o755, 1);

/// UBI 9 with skopeo, a JDK whose keystore links to the extracted one, node, and a libcrypto
/// that names its OPENSSLDIR.
fn fleet(base: &[Certificate]) -> MemRoot {
    let mut r = ubi9(base);
    r.symlink(
        "/etc/pki/tls/cert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    );
    r.file("/usr/bin/skopeo", "\x7fELF", EXE);
    r.file("/usr/lib/jvm/jre-17/bin/java", "\x7fELF", EXE);
    r.symlink("/usr/bin/java", "/usr/lib/jvm/jre-17/bin/java");
    r.symlink(
        "/usr/lib/jvm/jre-17/lib/security/cacerts",
        "/etc/pki/ca-trust/extracted/java/cacerts",
    );
    r.file("/usr/bin/node", "\x7fELF", EXE);
    r.file(
        "/usr/lib64/libcrypto.so.3.0.7",
        b"\x7fELF\0junk\0OPENSSLDIR: \"/etc/pki/tls\"\0more".to_vec(),
        EXE,
    );
    r.symlink("/usr/lib64/libcrypto.so.3", "libcrypto.so.3.0.7");
    r
}

fn holds(c: &trustbake_store::Consumer, cert: &Certificate) -> bool {
    c.anchors.iter().any(|a| a.der() == cert.der())
}

fn by_kind(list: &[trustbake_store::Consumer], kind: ConsumerKind) -> &trustbake_store::Consumer {
    list.iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} in {list:#?}"))
}

#[test]
fn every_consumer_reads_its_own_files() {
    let base = mozilla(5);
    let mut root = fleet(&base);
    let corp = fixture("root-rsa.pem");
    let (p, _) = plan(&root, std::slice::from_ref(&corp), None, &OPTIONS).unwrap();
    root.apply(&p);
    let layout = detect(&root).unwrap();
    let list = consumers(&root, &layout, &Env::new()).unwrap();
    let kinds: Vec<ConsumerKind> = list.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ConsumerKind::Requests,
            ConsumerKind::Openssl,
            ConsumerKind::Go,
            ConsumerKind::Java,
            ConsumerKind::Node
        ]
    );
    for kind in [
        ConsumerKind::Requests,
        ConsumerKind::Openssl,
        ConsumerKind::Go,
        ConsumerKind::Java,
    ] {
        let c = by_kind(&list, kind);
        assert!(holds(c, &corp), "{kind:?}: {c:#?}");
        assert!(base.iter().all(|b| holds(c, b)), "{kind:?}");
    }
    let openssl = by_kind(&list, ConsumerKind::Openssl);
    assert_eq!(openssl.sources[0].path, "/etc/pki/tls/cert.pem");
    assert_eq!(
        openssl.sources[0].from,
        "OPENSSLDIR of /usr/lib64/libcrypto.so.3.0.7"
    );
    assert_eq!(openssl.sources[1].path, "/etc/pki/tls/certs");
    assert!(
        !openssl.partial_chain,
        "Python 3.11 and OpenSSL need the root"
    );
    let go = by_kind(&list, ConsumerKind::Go);
    assert_eq!(go.programs, ["/usr/bin/skopeo"]);
    assert_eq!(
        go.sources[0].path, "/etc/pki/tls/certs/ca-bundle.crt",
        "Go's first existing file"
    );
    assert!(go.partial_chain);
    let java = by_kind(&list, ConsumerKind::Java);
    assert_eq!(
        java.sources[0].path,
        "/usr/lib/jvm/jre-17/lib/security/cacerts"
    );
    assert_eq!(java.sources[0].how, "keystore");
    // Node: its own roots only, until NODE_EXTRA_CA_CERTS names a file.
    let node = by_kind(&list, ConsumerKind::Node);
    assert!(!holds(node, &corp));
    assert!(node.sources[0].certificates > 100);
    let env: Env = [(
        "NODE_EXTRA_CA_CERTS".to_owned(),
        "/etc/pki/tls/certs/ca-bundle.crt".to_owned(),
    )]
    .into();
    let list = consumers(&root, &layout, &env).unwrap();
    assert!(holds(by_kind(&list, ConsumerKind::Node), &corp));
}

#[test]
fn variables_of_the_image_move_what_is_read() {
    let base = mozilla(3);
    let root = fleet(&base);
    let layout = detect(&root).unwrap();
    let env: Env = [
        (
            "REQUESTS_CA_BUNDLE".to_owned(),
            "/etc/pki/ca-trust/extracted/pem/email-ca-bundle.pem".to_owned(),
        ),
        ("SSL_CERT_FILE".to_owned(), "/nonexistent.pem".to_owned()),
        (
            "SSL_CERT_DIR".to_owned(),
            "/etc/pki/ca-trust/extracted/pem/directory-hash:/opt/none".to_owned(),
        ),
    ]
    .into();
    let list = consumers(&root, &layout, &env).unwrap();
    let requests: Vec<_> = list
        .iter()
        .filter(|c| c.kind == ConsumerKind::Requests)
        .collect();
    assert_eq!(
        requests.len(),
        1,
        "one line: the variable replaces every certifi"
    );
    assert_eq!(requests[0].name, "requests (REQUESTS_CA_BUNDLE)");
    assert_eq!(requests[0].anchors.len(), 3);
    let openssl = by_kind(&list, ConsumerKind::Openssl);
    assert!(!openssl.sources[0].exists);
    assert_eq!(openssl.sources.len(), 3, "{:#?}", openssl.sources);
    assert_eq!(
        openssl.anchors.len(),
        0,
        "an empty hashed directory, a missing file"
    );
    let go = by_kind(&list, ConsumerKind::Go);
    assert_eq!(go.sources[0].path, "/nonexistent.pem");
    assert_eq!(go.sources[1].how, "dir");
}

#[test]
fn the_runtime_mount_reaches_requests_and_go_but_not_openssl() {
    let base = mozilla(3);
    let mut root = fleet(&base);
    let corp = fixture("root-rsa.pem");
    let layout = detect(&root).unwrap();
    // Without an entrypoint that handles it, the mount changes nothing.
    let (view, env, notes) =
        runtime_overlay(&root, &layout, &Env::new(), std::slice::from_ref(&corp)).unwrap();
    assert!(notes[0].contains("changes nothing"), "{notes:?}");
    assert!(
        consumers(&view, &layout, &env)
            .unwrap()
            .iter()
            .all(|c| !holds(c, &corp))
    );
    root.file(
        "/docker-entrypoint.sh",
        "#!/usr/bin/env bash\nmkdir -p /home/anchore/certs_override/python\ncp \"$(python3 -m certifi)\" /home/anchore/certs_override/python/cacert.pem\nexport SSL_CERT_DIR=/home/anchore/certs_override/os/\n",
        EXE,
    );
    let (view, env, _) =
        runtime_overlay(&root, &layout, &Env::new(), std::slice::from_ref(&corp)).unwrap();
    assert_eq!(
        env["REQUESTS_CA_BUNDLE"],
        "/home/anchore/certs_override/python/cacert.pem"
    );
    let list = consumers(&view, &layout, &env).unwrap();
    let requests = by_kind(&list, ConsumerKind::Requests);
    assert!(holds(requests, &corp) && base.iter().all(|b| holds(requests, b)));
    assert!(
        holds(by_kind(&list, ConsumerKind::Go), &corp),
        "Go reads every file of SSL_CERT_DIR"
    );
    assert!(
        !holds(by_kind(&list, ConsumerKind::Openssl), &corp),
        "OpenSSL looks up hash names only"
    );
    assert!(
        !holds(by_kind(&list, ConsumerKind::Java), &corp),
        "the keystore is not touched"
    );
}
