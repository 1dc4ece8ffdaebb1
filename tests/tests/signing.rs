//! Signed and attested bakes, proven with independent tools: openssl verifies trustbake's
//! signatures (over the payload fetched from a real docker-registry by skopeo) and attestations
//! (over the DSSE PAE); verify-image accepts the result, and refuses another key, an unsigned
//! image, and an image that is more than its attested base plus the attested layer — naming the
//! difference.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use indexmap::IndexMap;
use serde_json::Value;
use tests::images::enterprise_layout;
use tests::registry::{Auth, Registry};
use tests::{fixture, output, scratch, tool, trustbake};
use trustbake_image::artifact::{Attached, attach, sibling};
use trustbake_image::registry::Session;
use trustbake_image::{Descriptor, ImageRef, LayerEntry, build_layer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `openssl dgst -sha256 -verify PUB -signature SIG MESSAGE` accepts.
fn openssl_verifies(dir: &Path, public: &Path, message: &[u8], signature: &[u8]) -> bool {
    let m = dir.join("message.bin");
    let s = dir.join("signature.der");
    std::fs::write(&m, message).unwrap();
    std::fs::write(&s, signature).unwrap();
    tool("openssl", "openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(&s)
        .arg(&m)
        .output()
        .unwrap()
        .status
        .success()
}

/// The DSSE pre-authentication encoding, written here from the specification (not the crate's).
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    [
        b"DSSEv1".as_slice(),
        format!(" {} ", payload_type.len()).as_bytes(),
        payload_type.as_bytes(),
        format!(" {} ", body.len()).as_bytes(),
        body,
    ]
    .concat()
}

/// Asserts `predicate` is valid under the JSON schema `docs/attestation.md` documents (checked by
/// Python's jsonschema, Debian's python3-jsonschema).
fn valid_under_the_documented_schema(work: &Path, predicate: &Value) {
    let doc = std::fs::read_to_string(tests::root().join("docs/attestation.md")).unwrap();
    let section = &doc[doc
        .find("## JSON schema")
        .expect("docs/attestation.md has a JSON schema")..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let end = section[start..].find("```").unwrap() + start;
    let schema = work.join("schema.json");
    let instance = work.join("predicate.json");
    std::fs::write(&schema, &section[start..end]).unwrap();
    std::fs::write(&instance, serde_json::to_vec(predicate).unwrap()).unwrap();
    output(
        tool("/usr/bin/python3", "python3-jsonschema")
            .arg("-c")
            .arg("import json, sys, jsonschema; s = json.load(open(sys.argv[1])); jsonschema.Draft202012Validator.check_schema(s); jsonschema.validate(json.load(open(sys.argv[2])), s, cls=jsonschema.Draft202012Validator)")
            .arg(&schema)
            .arg(&instance),
    );
}

/// `verify-image` with `args`: (JSON outcome, exit code 0 or 1).
fn verify_image(args: &[&str]) -> (Value, i32) {
    tests::verdict("verify-image", args)
}

#[test]
fn signatures_and_attestations_on_a_real_registry_verify_with_openssl_and_verify_image() {
    let work = scratch("signing-registry");
    let registry = Registry::start(&work.join("registry"), false, Auth::None);
    let host = registry.host();
    let layout = work.join("base");
    enterprise_layout(&layout, "5.1.0", 2);
    output(
        tool("skopeo", "skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:5.1.0", layout.display()))
            .arg(format!("docker://{host}/anchore/enterprise:5.1.0")),
    );
    let (key, public) = tests::pki::p256_keypair(&work, "cosign");
    let to = format!("docker://{host}/corp/enterprise:5.1.0-corp");
    let bake = |key: &Path, extra: &[&str]| -> Value {
        let out = trustbake()
            .args([
                "bake",
                "--from",
                &format!("docker://{host}/anchore/enterprise:5.1.0"),
                "--to",
                &to,
            ])
            .arg("--ca")
            .arg(fixture("demo-root.pem"))
            .args([
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--no-cache",
                "--json",
            ])
            .arg("--sign-by-sigstore-private-key")
            .arg(key)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let baked = bake(&key, &["--attest", "--sign-platforms"]);
    let digest = baked["digest"].as_str().unwrap().to_owned();
    let signed = &baked["signed"];
    assert_eq!(
        signed["signatures"].as_array().unwrap().len(),
        3,
        "{signed:#}"
    );
    let sig_tag = format!("{}.sig", digest.replace(':', "-"));
    let att_tag = format!("{}.att", digest.replace(':', "-"));
    assert_eq!(signed["signatures"][0]["tag"], sig_tag.as_str());
    assert_eq!(signed["attestation"]["tag"], att_tag.as_str());

    // skopeo (another client) fetches what was pushed; openssl verifies it.
    let fetched = work.join("fetched");
    for tag in [&sig_tag, &att_tag] {
        output(
            tool("skopeo", "skopeo")
                .args(["copy", "--quiet", "--src-tls-verify=false"])
                .arg(format!("docker://{host}/corp/enterprise:{tag}"))
                .arg(format!("oci:{}:{tag}", fetched.display())),
        );
    }
    let sig_manifest = tests::layout_manifest(&fetched, &sig_tag);
    let layer = &sig_manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = tests::layout_blob(&fetched, layer["digest"].as_str().unwrap());
    let signature = B64
        .decode(
            layer["annotations"]["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert!(openssl_verifies(&work, &public, &payload, &signature));
    let payload: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(
        payload["critical"]["identity"]["docker-reference"],
        format!("{host}/corp/enterprise")
    );
    assert_eq!(
        payload["critical"]["type"],
        "cosign container image signature"
    );

    let att_manifest = tests::layout_manifest(&fetched, &att_tag);
    let layer = &att_manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(
        layer["annotations"]["predicateType"],
        "https://trustbake.dev/attestation/bake/v1"
    );
    let envelope: Value = serde_json::from_slice(&tests::layout_blob(
        &fetched,
        layer["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let body = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let sig = B64
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    assert!(openssl_verifies(
        &work,
        &public,
        &pae("application/vnd.in-toto+json", &body),
        &sig
    ));
    let statement: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    let predicate = &statement["predicate"];
    assert_eq!(
        predicate["base"]["reference"],
        format!("docker://{host}/anchore/enterprise:5.1.0")
    );
    assert_eq!(predicate["platforms"].as_array().unwrap().len(), 2);
    for p in predicate["platforms"].as_array().unwrap() {
        assert!(
            p["files"].as_array().unwrap().iter().any(|f| f["path"]
                == "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
                && f["sha256"].as_str().unwrap().starts_with("sha256:")),
            "{p:#}"
        );
        assert!(
            p["configChanges"]
                .as_array()
                .unwrap()
                .contains(&Value::from("/rootfs/diff_ids"))
        );
    }
    assert_eq!(predicate["added"][0]["sha256"].as_str().unwrap().len(), 71);
    valid_under_the_documented_schema(&work, predicate);
    // The schema is not a formality: a predicate without its base is refused.
    let mut broken = predicate.clone();
    broken.as_object_mut().unwrap().remove("base");
    let refused = std::panic::catch_unwind(|| valid_under_the_documented_schema(&work, &broken));
    assert!(refused.is_err());

    // verify-image: the key accepts; another key does not.
    let image = format!("docker://{host}/corp/enterprise:5.1.0-corp");
    let verify_with = |public: &Path| {
        verify_image(&[
            "--key",
            public.to_str().unwrap(),
            &image,
            "--tls-verify=false",
        ])
    };
    let (json, code) = verify_with(&public);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["verified"], true);
    assert!(
        json["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["matches"] == true)
    );
    let (_, other_public) = tests::pki::p256_keypair(&work, "other");
    let (json, code) = verify_with(&other_public);
    assert_eq!(code, 1);
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("none by the key"),
        "{json:#}"
    );

    // Signatures are appended, as cosign does: another key's signature joins the first;
    // signing again with the same key adds nothing.
    let (other_key, _) = (work.join("other.key"), ());
    let again = bake(&other_key, &[]);
    assert_eq!(again["digest"], digest.as_str());
    assert_eq!(again["signed"]["signatures"][0]["added"], true);
    let same = bake(&key, &[]);
    assert_eq!(same["signed"]["signatures"][0]["added"], false);
    let (json, code) = verify_with(&public);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["signatures"]["found"], 2);
    let (json, _) = verify_with(&other_public);
    assert_eq!(json["signatures"]["verified"], 1, "{json:#}");

    // An image baked without signing (another tag, another CA: another digest) is refused.
    output(
        trustbake()
            .args([
                "bake",
                "--from",
                &format!("docker://{host}/anchore/enterprise:5.1.0"),
            ])
            .args(["--to", &format!("docker://{host}/corp/enterprise:unsigned")])
            .arg("--ca")
            .arg(fixture("root-rsa.pem"))
            .args([
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--no-cache",
            ]),
    );
    let (json, code) = verify_image(&[
        "--key",
        public.to_str().unwrap(),
        &format!("docker://{host}/corp/enterprise:unsigned"),
        "--tls-verify=false",
    ]);
    assert_eq!(code, 1);
    let problems = json["problems"].to_string();
    assert!(
        problems.contains("no signature at") && problems.contains("no attestation"),
        "{json:#}"
    );
}

/// Writes `manifest` and `config` (and `layers`) into `layout`, tagged `tag`; returns the
/// manifest's digest.
fn put_image(
    layout: &Path,
    tag: &str,
    manifest: &Value,
    config: &Value,
    layers: &[Vec<u8>],
) -> String {
    let put = |bytes: &[u8]| -> String {
        let d = trustbake_image::Digest::of(bytes).to_string();
        std::fs::write(
            layout
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
        d
    };
    for l in layers {
        put(l);
    }
    let config_bytes = serde_json::to_vec(config).unwrap();
    let mut manifest = manifest.clone();
    manifest["config"]["digest"] = Value::from(put(&config_bytes));
    manifest["config"]["size"] = Value::from(config_bytes.len());
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = put(&bytes);
    let index_path = layout.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    digest
}

/// Signs `digest` in `layout` and attests it with `statement`'s predicate, as a bake would,
/// through the library (what someone holding the key could push).
fn sign_and_attest(
    layout: &Path,
    digest: &str,
    key: &trustbake_sign::SigningKey,
    predicate: &Value,
) {
    let session = Session::default();
    let at = |suffix: &str| {
        sibling(
            &ImageRef::parse(&format!("oci:{}:x", layout.display())).unwrap(),
            &format!("{}.{suffix}", digest.replace(':', "-")),
        )
        .unwrap()
    };
    let payload = trustbake_sign::SimpleSigning {
        docker_reference: "tampered".into(),
        manifest_digest: digest.to_owned(),
    }
    .to_bytes();
    let sig = B64.encode(key.sign(&payload).unwrap());
    let never = |_: &Attached, _: &Attached| false;
    attach(
        &at("sig"),
        &session,
        vec![Attached::new(
            trustbake_sign::SIMPLE_SIGNING,
            payload,
            IndexMap::from([(trustbake_sign::SIGNATURE_ANNOTATION.to_owned(), sig)]),
        )],
        "dev.cosignproject.cosign/sigs",
        &never,
    )
    .unwrap();
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "tampered", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": "https://trustbake.dev/attestation/bake/v1",
        "predicate": predicate,
    });
    let envelope = trustbake_sign::envelope(
        key,
        trustbake_sign::IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(&statement).unwrap(),
    )
    .unwrap();
    attach(
        &at("att"),
        &session,
        vec![Attached::new(
            trustbake_sign::ATTESTATION_LAYER,
            envelope,
            IndexMap::from([(
                "predicateType".to_owned(),
                "https://trustbake.dev/attestation/bake/v1".to_owned(),
            )]),
        )],
        "dev.cosignproject.cosign/atts",
        &never,
    )
    .unwrap();
}

#[test]
fn an_image_that_is_more_than_its_attested_base_and_layer_is_refused_with_the_difference_named() {
    let work = scratch("signing-tampered");
    let base = work.join("base");
    enterprise_layout(&base, "5.1.0", 1);
    let (key_path, public) = tests::pki::p256_keypair(&work, "cosign");
    let out = work.join("out");
    output(
        trustbake()
            .args(["bake", "--from", &format!("oci:{}:5.1.0", base.display())])
            .args(["--to", &format!("oci:{}:corp", out.display()), "--ca"])
            .arg(fixture("demo-root.pem"))
            .arg("--sign-by-sigstore-private-key")
            .arg(&key_path)
            .args(["--attest", "--no-cache"]),
    );
    let corp = format!("oci:{}:corp", out.display());
    let (json, code) = verify_image(&["--key", public.to_str().unwrap(), &corp]);
    assert_eq!(code, 0, "{json:#}");
    // cosign save's layout shape: the artifacts' index entries say what they are.
    let index = std::fs::read_to_string(out.join("index.json")).unwrap();
    assert!(
        index.contains("dev.cosignproject.cosign/sigs")
            && index.contains("dev.cosignproject.cosign/atts"),
        "{index}"
    );

    // The attested predicate, read back from the layout.
    let digest = json["digest"].as_str().unwrap().to_owned();
    let att = tests::layout_manifest(&out, &format!("{}.att", digest.replace(':', "-")));
    let envelope: Value = serde_json::from_slice(&tests::layout_blob(
        &out,
        att["layers"][0]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let statement: Value =
        serde_json::from_slice(&B64.decode(envelope["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    let manifest: Value = serde_json::from_slice(&tests::layout_blob(&out, &digest)).unwrap();
    let config: Value = serde_json::from_slice(&tests::layout_blob(
        &out,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let key = trustbake::signing::load_key(&key_path, None).unwrap();

    // What someone holding the key could push: an image put in the layout, signed, and
    // attested with the bake's predicate (naming the new manifest).
    let forge = |tag: &str, manifest: &Value, config: &Value, layers: &[Vec<u8>]| {
        let digest = put_image(&out, tag, manifest, config, layers);
        let mut predicate = statement["predicate"].clone();
        predicate["platforms"][0]["manifest"] = Value::from(digest.clone());
        sign_and_attest(&out, &digest, &key, &predicate);
        verify_image(&[
            "--key",
            public.to_str().unwrap(),
            &format!("oci:{}:{tag}", out.display()),
        ])
    };

    // One more layer (and its diff ID).
    let extra = build_layer(&[LayerEntry::file("/etc/evil", b"x".to_vec(), 0o644, 0)]).unwrap();
    let mut more = manifest.clone();
    more["layers"].as_array_mut().unwrap().push(
        serde_json::to_value(Descriptor::of(
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &extra.blob,
        ))
        .unwrap(),
    );
    let mut more_config = config.clone();
    more_config["rootfs"]["diff_ids"]
        .as_array_mut()
        .unwrap()
        .push(Value::from(extra.diff_id.to_string()));
    let (json, code) = forge(
        "more",
        &more,
        &more_config,
        std::slice::from_ref(&extra.blob),
    );
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["signatures"]["verified"], 1);
    let problems = json["problems"].to_string();
    assert!(problems.contains("layers, not the base's"), "{json:#}");
    assert!(problems.contains("diff IDs"), "{json:#}");

    // A changed config field (an environment variable).
    let mut env_config = config.clone();
    env_config["config"]["Env"]
        .as_array_mut()
        .unwrap()
        .push(Value::from("LD_PRELOAD=/etc/evil.so"));
    let (json, code) = forge("env", &manifest, &env_config, &[]);
    assert_eq!(code, 1, "{json:#}");
    let problems = json["problems"].to_string();
    assert!(
        problems.contains("/config/Env") && problems.contains("NODE_EXTRA_CA_CERTS"),
        "{json:#}"
    );
}

#[test]
fn a_key_cosign_generated_signs_and_archives_are_refused_before_any_work() {
    let work = scratch("signing-cosign-key");
    let base = work.join("base");
    enterprise_layout(&base, "5.1.0", 1);
    let key = tests::root().join("crates/trustbake-sign/tests/data/cosign-generated.key");
    let public = work.join("cosign.pub");
    std::fs::write(
        &public,
        trustbake::signing::load_key(&key, Some(b""))
            .unwrap()
            .public_key()
            .to_pem(),
    )
    .unwrap();
    let bake = |to: &str, password: Option<&str>| -> std::process::Output {
        let mut cmd: Command = trustbake();
        cmd.args([
            "bake",
            "--from",
            &format!("oci:{}:5.1.0", base.display()),
            "--to",
            to,
            "--ca",
        ])
        .arg(fixture("demo-root.pem"))
        .arg("--sign-by-sigstore-private-key")
        .arg(&key)
        .args(["--attest", "--no-cache"])
        .env_remove("COSIGN_PASSWORD");
        if let Some(p) = password {
            cmd.env("COSIGN_PASSWORD", p);
        }
        cmd.output().unwrap()
    };
    let to = format!("oci:{}:corp", work.join("out").display());
    let out = bake(&to, Some(""));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (json, code) = verify_image(&["--key", public.to_str().unwrap(), &to]);
    assert_eq!(code, 0, "{json:#}");
    // Without the password, or with a wrong one: said, nothing written.
    for password in [None, Some("wrong")] {
        let to = format!("oci:{}:x", work.join("nothing").display());
        let out = bake(&to, password);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("COSIGN_PASSWORD"), "{err}");
        assert!(!work.join("nothing").exists());
    }
    // An archive has no place for a signature: refused before the bake.
    let out = bake(
        &format!("oci-archive:{}", work.join("out.tar").display()),
        Some(""),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("signatures and attestations go beside the image")
    );
    assert!(!work.join("out.tar").exists());
}
