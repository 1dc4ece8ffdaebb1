//! TLS for registry connections, as skopeo and podman set it up: the host's trust store, plus
//! the registry's certificate directory (`--cert-dir`, else `/etc/containers/certs.d/HOST:PORT/`
//! and `/etc/docker/certs.d/HOST:PORT/`): `*.crt` files are extra roots, a `NAME.cert` with its
//! `NAME.key` is the client certificate.

use std::path::{Path, PathBuf};

use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use super::access::Access;
use crate::registry_error::RegistryError;

/// The system's certificate directories for a registry, in the order they are read.
pub(crate) fn default_cert_dirs(registry: &str) -> Vec<PathBuf> {
    ["/etc/containers/certs.d", "/etc/docker/certs.d"]
        .iter()
        .map(|base| Path::new(base).join(registry))
        .collect()
}

/// The TLS configurations for `registry` under `access`: the registry's own (with the client
/// certificate of its directory, when there is one) and the one for every other origin (the
/// same trust, no client certificate: it was chosen for this registry only). With verification
/// off the client certificate is still presented: mutual TLS without verifying the server is
/// still mutual TLS.
pub(crate) fn config(
    registry: &str,
    access: &Access,
) -> Result<(TlsConfig, TlsConfig), RegistryError> {
    let mut roots: Vec<Certificate<'static>> = if access.tls_verify {
        rustls_native_certs::load_native_certs()
            .certs
            .into_iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect()
    } else {
        Vec::new()
    };
    for der in &access.extra_roots {
        roots.push(Certificate::from_der(der).to_owned());
    }
    let dirs = match &access.cert_dir {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(RegistryError::Config {
                    registry: registry.to_owned(),
                    detail: format!("{}: not a directory of certificates", dir.display()),
                });
            }
            vec![dir.clone()]
        }
        None => default_cert_dirs(registry),
    };
    let mut client = None;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            let bad = |detail: String| RegistryError::Config {
                registry: registry.to_owned(),
                detail: format!("{}: {detail}", path.display()),
            };
            match path.extension().and_then(|e| e.to_str()) {
                Some("crt") if access.tls_verify => {
                    let pem =
                        super::settings::read_setting(&path).map_err(|e| bad(e.to_string()))?;
                    let mut found = 0;
                    for item in ureq::tls::parse_pem(&pem) {
                        if let ureq::tls::PemItem::Certificate(cert) =
                            item.map_err(|e| bad(e.to_string()))?
                        {
                            roots.push(cert);
                            found += 1;
                        }
                    }
                    if found == 0 {
                        return Err(bad("holds no PEM certificate".into()));
                    }
                }
                Some("cert") if client.is_none() => {
                    let key_path = path.with_extension("key");
                    let pem =
                        super::settings::read_setting(&path).map_err(|e| bad(e.to_string()))?;
                    let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                        .filter_map(|item| match item {
                            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                            _ => None,
                        })
                        .collect();
                    let key = super::settings::read_setting(&key_path).map_err(|e| {
                        bad(format!(
                            "a client certificate needs its key {}: {e}",
                            key_path.display()
                        ))
                    })?;
                    let key = PrivateKey::from_pem(&key).map_err(|e| {
                        bad(format!(
                            "{}: not a PEM private key: {e}",
                            key_path.display()
                        ))
                    })?;
                    if chain.is_empty() {
                        return Err(bad("holds no PEM certificate".into()));
                    }
                    client = Some(ClientCert::new_with_certs(&chain, key));
                }
                _ => {}
            }
        }
    }
    let builder = || {
        if access.tls_verify {
            TlsConfig::builder().root_certs(RootCerts::from(roots.clone()))
        } else {
            TlsConfig::builder().disable_verification(true)
        }
    };
    Ok((builder().client_cert(client).build(), builder().build()))
}
