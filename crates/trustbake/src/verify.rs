//! `verify`: would each TLS client of an image trust a server's chain? The chain comes from a
//! PEM file ([`load_chain`]) or from a live server's handshake ([`fetch_chain`]); each
//! consumer's certificates are read from the image as that consumer reads them
//! (`trustbake_store::consumers`), and the chain is validated against them
//! (`trustbake_certs::verify`).

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use trustbake_certs::{Certificate, Chain, read_bundle};
use trustbake_image::Platform;
use trustbake_image::registry::Access;
use trustbake_store::Env;

use crate::consumers::{PlatformConsumers, consumer_verdict, image_consumers};
use crate::error::Error;
use crate::load::{MAX_FILE, read_limited};
use crate::outcome::{ChainCert, ConsumerVerdict, SCHEMA_VERSION, VerifyOutcome, VerifyPlatform};

/// How long a handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// What to verify. Build with [`VerifyRequest::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyRequest {
    source: String,
    chain: Chain,
    chain_from: String,
    hostname: Option<String>,
    at: i64,
    platform: Option<Platform>,
    access: Access,
    runtime_certs: Option<Vec<Certificate>>,
    env: Env,
}

impl VerifyRequest {
    /// Verify `chain` (read from `chain_from`, a file or a URL, for the output) against every
    /// consumer of `source` (an image reference, or a directory holding a root file system) at
    /// time `at` (Unix seconds).
    pub fn new(source: &str, chain: Chain, chain_from: &str, at: i64) -> Self {
        VerifyRequest {
            source: source.to_owned(),
            chain,
            chain_from: redacted(chain_from),
            hostname: None,
            at,
            platform: None,
            access: Access::default(),
            runtime_certs: None,
            env: Env::new(),
        }
    }

    /// The name the clients connect to (checked against the leaf's subject alternative names).
    pub fn hostname(mut self, hostname: Option<String>) -> Self {
        self.hostname = hostname;
        self
    }

    /// Only this platform of an index.
    pub fn platform(mut self, platform: Option<Platform>) -> Self {
        self.platform = platform;
        self
    }

    /// How to reach a registry source.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// Also model the Helm charts' runtime mount with these certificates (see
    /// [`load_runtime_certs`]).
    pub fn runtime_certs(mut self, certs: Option<Vec<Certificate>>) -> Self {
        self.runtime_certs = certs;
        self
    }

    /// Environment variables laid over the image's own `Env` (for a root directory, which
    /// has none).
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }
}

/// Reads a server chain from a PEM file (the server certificate first, then intermediates);
/// returns it with notes on blocks that were not read (a private key beside the chain).
pub fn load_chain(path: &Path) -> Result<(Chain, Vec<String>), Error> {
    let (bytes, _) = read_limited(path, MAX_FILE).map_err(|reason| Error::ChainInput {
        from: path.display().to_string(),
        reason,
    })?;
    Chain::from_pem(&bytes).map_err(|e| Error::ChainInput {
        from: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Reads the files of a runtime-certificates directory as the Anchore entrypoint does: every
/// file holding `BEGIN CERTIFICATE`, every certificate in it.
pub fn load_runtime_certs(dir: &Path) -> Result<Vec<Certificate>, Error> {
    let bad = |reason: String| Error::ChainInput {
        from: dir.display().to_string(),
        reason,
    };
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| bad(e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut certs = Vec::new();
    for path in names {
        let (bytes, _) =
            read_limited(&path, MAX_FILE).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        if bytes.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
            certs.extend(read_bundle(&bytes).certificates);
        }
    }
    Ok(certs)
}

/// `url` as messages show it: userinfo (`user:password@`) replaced by `***@`.
pub(crate) fn redacted(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// A `https://HOST[:PORT][/…]` URL or `HOST:PORT`, split; the port defaults to 443.
pub fn parse_url(url: &str) -> Result<(String, u16), Error> {
    let bad = |reason: &str| Error::ChainInput {
        from: redacted(url),
        reason: reason.to_owned(),
    };
    let rest = match url.split_once("://") {
        Some(("https", rest)) => rest,
        Some((scheme, _)) => {
            return Err(bad(&format!(
                "only https:// URLs carry a certificate chain, not {scheme}://"
            )));
        }
        None => url,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not used (only the handshake is made)",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("unexpected text after the IPv6 address")),
        };
        (host.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&format!("'{p}' is not a port")))?,
        None => 443,
    };
    Ok((host, port))
}

/// Captures what the server presents and accepts it: the handshake is made only to read the
/// chain, nothing is sent after it but `close_notify`.
#[derive(Debug)]
struct Capture {
    chain: Mutex<Vec<Vec<u8>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self
            .chain
            .lock()
            .map_err(|_| rustls::Error::General("poisoned".into()))?;
        chain.push(end_entity.to_vec());
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// Connects to `url` (`https://HOST:PORT` or `HOST:PORT`), completes a TLS handshake sending
/// `sni` as the server name (the URL's host when `None`; no name for an IP address), and
/// returns the chain the server presented. Nothing but the handshake is sent.
pub fn fetch_chain(url: &str, sni: Option<&str>) -> Result<Chain, Error> {
    let (host, port) = parse_url(url)?;
    let fail = |reason: String| Error::Fetch {
        url: redacted(url),
        reason,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let capture = Arc::new(Capture {
        chain: Mutex::new(Vec::new()),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let name = sni.unwrap_or(&host);
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|_| fail(format!("'{name}' is neither a DNS name nor an IP address")))?;
    let addrs: Vec<_> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = String::from("no address");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    let mut tcp = tcp.ok_or_else(|| fail(format!("cannot connect: {last}")))?;
    tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .and_then(|()| tcp.set_write_timeout(Some(HANDSHAKE_TIMEOUT)))
        .map_err(|e| fail(e.to_string()))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server_name)
        .map_err(|e| fail(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| fail(format!("TLS handshake: {e}")))?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    let _ = tcp.flush();
    let mut sink = [0u8; 1];
    let _ = tcp.read(&mut sink);
    let ders = capture.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let certs = ders
        .iter()
        .enumerate()
        .map(|(i, der)| {
            Certificate::from_der(der)
                .map_err(|e| fail(format!("certificate {} the server sent: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Chain::new(certs).map_err(|e| fail(e.to_string()))
}

/// Verifies the request's chain against every consumer of every selected platform.
pub fn verify(request: &VerifyRequest) -> Result<VerifyOutcome, Error> {
    let platforms = image_consumers(
        &request.source,
        request.platform.as_ref(),
        &request.access,
        &request.env,
        request.runtime_certs.as_deref(),
    )?
    .into_iter()
    .map(|p| judge(request, p))
    .collect::<Vec<_>>();
    let trusted = platforms.iter().all(|p| p.trusted);
    Ok(VerifyOutcome {
        schema_version: SCHEMA_VERSION,
        source: request.source.clone(),
        chain_from: request.chain_from.clone(),
        hostname: request.hostname.clone(),
        at: crate::outcome::rfc3339(request.at),
        chain: request
            .chain
            .certificates()
            .iter()
            .map(ChainCert::from)
            .collect(),
        trusted,
        platforms,
    })
}

fn judge(request: &VerifyRequest, p: PlatformConsumers) -> VerifyPlatform {
    let consumers: Vec<ConsumerVerdict> = p
        .consumers
        .iter()
        .map(|c| consumer_verdict(c, &request.chain, request.hostname.as_deref(), request.at))
        .collect();
    VerifyPlatform {
        platform: p.platform,
        trusted: consumers.iter().all(|c| c.trusted || !c.required),
        consumers,
        notes: p.notes,
    }
}
