//! The HTTP health probe: one GET with a timeout, healthy when the status is the expected one.
//!
//! A probe needs the status line and nothing else, so it speaks just enough HTTP/1.1 itself:
//! one request with `Connection: close`, the status line read, the connection dropped. Not
//! reqwest (the heartbeat's and the channels' client): its pool, resolver threads and hyper's
//! state machine would sit in the daemon at rest on every host that probes HTTP, for a status
//! line. The URL is taken apart by the parser validation uses (`config::ProbeUrl`).
//! Redirects are answers like any other (a 301 is not the expected 200). HTTPS goes through
//! rustls, set up the first time an https:// URL is probed (a host that probes only plain HTTP
//! never pays for TLS), checking the certificate as the service's `health` says: against the
//! bundled web PKI roots, against its own `ca_file`, or (`tls_verify: false`) not at all.

use super::error::{CaFileError, ProbeError};
use crate::config::{Health, TlsTrust};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one probe saw, phrased for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    Healthy,
    WrongStatus(u16),
    Failed(String),
}

/// The longest status line read before giving up on the answer.
const STATUS_LINE_MAX: usize = 8 * 1024;

/// The probes' client: stateless but for the TLS set-ups, one per way of trusting, each made on
/// first use and then shared.
#[derive(Clone, Default)]
pub struct Client {
    tls: Arc<Mutex<HashMap<TlsTrust, tokio_rustls::TlsConnector>>>,
}

pub fn client() -> Client {
    Client::default()
}

impl Client {
    fn connector(&self, trust: &TlsTrust) -> Result<tokio_rustls::TlsConnector, CaFileError> {
        let mut made = self.tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = made.get(trust) {
            return Ok(c.clone());
        }
        let c = connector(trust)?;
        made.insert(trust.clone(), c.clone());
        Ok(c)
    }
}

/// One probe of `url` as `health` says (expected status, timeout, how TLS is trusted).
pub async fn check(client: &Client, url: &str, health: &Health) -> HttpOutcome {
    let (expected, timeout) = (health.expected_status, health.timeout);
    // Boxed: the TLS handshake's state is large, and a probe is a rare, short-lived thing next to
    // the worker that waits between probes (its future stays small).
    match tokio::time::timeout(timeout, Box::pin(status(client, url, health))).await {
        Ok(Ok(s)) if s == expected => HttpOutcome::Healthy,
        Ok(Ok(s)) => HttpOutcome::WrongStatus(s),
        Ok(Err(why)) => HttpOutcome::Failed(why.to_string()),
        Err(_) => HttpOutcome::Failed(format!("no answer within {timeout:?}")),
    }
}

/// The status code `url` answers a GET with.
async fn status(client: &Client, url: &str, health: &Health) -> Result<u16, ProbeError> {
    let target = crate::config::ProbeUrl::parse(url).map_err(|why| ProbeError::Url {
        url: url.to_string(),
        why,
    })?;
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: miraclemax-self-heal/{}\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        target.path,
        target.authority,
        env!("CARGO_PKG_VERSION")
    );
    if !target.tls {
        return exchange(tcp, &request).await;
    }
    let host = health.server_name.clone().unwrap_or(target.host);
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|why| ProbeError::ServerName { host, why })?;
    let tls = client
        .connector(&health.tls)?
        .connect(name, tcp)
        .await
        .map_err(|source| ProbeError::Handshake {
            // The usual cause on a local endpoint: the service's own certificate.
            own_certificate: source.to_string().contains("certificate")
                && health.tls == TlsTrust::WebPki,
            source,
        })?;
    exchange(tls, &request).await
}

/// The certificates of a PEM file, for `ca_file`: `--check-config` reads it the same way, so a
/// file the probe could not use stops a deploy.
pub fn read_ca_file(path: &std::path::Path) -> Result<rustls::RootCertStore, CaFileError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let pem = |source| CaFileError::Pem {
        path: path.to_path_buf(),
        source,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(pem)? {
        roots
            .add(cert.map_err(pem)?)
            .map_err(|source| CaFileError::Rejected {
                path: path.to_path_buf(),
                source,
            })?;
    }
    if roots.is_empty() {
        return Err(CaFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(roots)
}

fn connector(trust: &TlsTrust) -> Result<tokio_rustls::TlsConnector, CaFileError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let config = match trust {
        TlsTrust::WebPki => builder.with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        TlsTrust::CaFile(path) => builder.with_root_certificates(read_ca_file(path)?),
        TlsTrust::Unverified => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
    }
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `tls_verify: false`: any certificate is taken; the handshake's signatures are still checked,
/// so the connection is encrypted to whoever holds the key.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Sends the request and reads the status code off the answer's first line.
async fn exchange(
    mut io: impl AsyncRead + AsyncWrite + Unpin,
    request: &str,
) -> Result<u16, ProbeError> {
    io.write_all(request.as_bytes()).await?;
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !got.contains(&b'\n') {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(ProbeError::Closed);
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > STATUS_LINE_MAX {
            return Err(ProbeError::NoStatusLine);
        }
    }
    let line = String::from_utf8_lossy(&got[..got.iter().position(|b| *b == b'\n').unwrap_or(0)])
        .into_owned();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") && (100..1000).contains(&code) => Ok(code),
        _ => Err(ProbeError::NotHttp(line.trim_end().to_string())),
    }
}

impl HttpOutcome {
    pub fn describe(&self, url: &str, expected: u16) -> String {
        match self {
            HttpOutcome::Healthy => format!("{url} answered {expected}"),
            HttpOutcome::WrongStatus(s) => format!("{url} answered {s}, expected {expected}"),
            HttpOutcome::Failed(why) => format!("{url} failed: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A one-connection server that answers `reply` and hands back the request it got.
    fn server(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = vec![0u8; 4096];
            let n = s.read(&mut req).unwrap();
            let _ = s.write_all(reply);
            String::from_utf8_lossy(&req[..n]).into_owned()
        });
        (port, t)
    }

    fn health(tls: TlsTrust, server_name: Option<&str>) -> Health {
        Health {
            target: crate::config::HealthTarget::Path("/".into()),
            expected_status: 200,
            timeout: Duration::from_millis(500),
            tls,
            server_name: server_name.map(str::to_string),
        }
    }

    async fn probe(url: &str) -> HttpOutcome {
        check(&client(), url, &health(TlsTrust::WebPki, None)).await
    }

    #[tokio::test]
    async fn the_status_line_decides_and_the_request_names_host_and_path() {
        let (port, t) = server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        let url = format!("http://127.0.0.1:{port}/health?deep=1");
        assert_eq!(probe(&url).await, HttpOutcome::Healthy);
        let req = t.join().unwrap();
        assert!(req.starts_with("GET /health?deep=1 HTTP/1.1\r\n"), "{req}");
        assert!(
            req.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{req}"
        );
        assert!(req.contains("\r\nConnection: close\r\n"), "{req}");
    }

    #[tokio::test]
    async fn another_status_and_a_redirect_are_wrong_statuses_not_followed() {
        let (port, _t) = server(b"HTTP/1.0 503 Service Unavailable\r\n\r\n");
        let got = probe(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, HttpOutcome::WrongStatus(503));
        let (port, _t) = server(b"HTTP/1.1 301 Moved\r\nLocation: http://elsewhere/\r\n\r\n");
        let got = probe(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, HttpOutcome::WrongStatus(301));
    }

    #[tokio::test]
    async fn silence_refusal_and_garbage_are_failures_that_say_what_happened() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = probe(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, HttpOutcome::Failed("no answer within 500ms".into()));
        drop(l);
        match probe(&format!("http://127.0.0.1:{port}/")).await {
            HttpOutcome::Failed(why) => assert!(why.contains("refused"), "{why}"),
            other => panic!("{other:?}"),
        }
        let (port, _t) = server(b"SSH-2.0-OpenSSH_9.2\r\n");
        let got = probe(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(
            got,
            HttpOutcome::Failed("the answer is not HTTP: \"SSH-2.0-OpenSSH_9.2\"".into())
        );
        let (port, _t) = server(b"");
        let got = probe(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(
            got,
            HttpOutcome::Failed("the connection closed without an answer".into())
        );
    }

    #[tokio::test]
    async fn https_sets_up_tls_and_a_server_that_does_not_speak_it_is_a_failure() {
        let (port, t) = server(b"HTTP/1.1 200 OK\r\n\r\n");
        match probe(&format!("https://127.0.0.1:{port}/")).await {
            HttpOutcome::Failed(why) => assert!(!why.is_empty()),
            other => panic!("a plain HTTP answer to a TLS hello is no answer: {other:?}"),
        }
        let hello = t.join().unwrap();
        assert!(
            hello.as_bytes()[0] == 0x16,
            "a TLS handshake record was sent"
        );
    }

    /// A TLS server on 127.0.0.1 with a self-signed certificate for `name`, answering 200 to
    /// every connection; the certificate's PEM file.
    async fn tls_server(name: &str, dir: &std::path::Path) -> (u16, std::path::PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pem = dir.join("service.pem");
        std::fs::write(&pem, cert.pem()).unwrap();
        (super::super::test_tls::serve(&cert, &key).await, pem)
    }

    #[tokio::test]
    async fn a_local_https_endpoint_with_its_own_certificate_is_trusted_only_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let (port, pem) = tls_server("example.lab.test", dir.path()).await;
        let url = format!("https://127.0.0.1:{port}/health");
        let c = client();
        // The public roots do not know it: the failure says which setting to add.
        match check(
            &c,
            &url,
            &health(TlsTrust::WebPki, Some("example.lab.test")),
        )
        .await
        {
            HttpOutcome::Failed(why) => assert!(
                why.contains(
                    "set health.ca_file to its CA or certificate, or health.tls_verify: false"
                ),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        // Its certificate as the CA, checked against the service's domain: healthy.
        let trusted = health(TlsTrust::CaFile(pem.clone()), Some("example.lab.test"));
        assert_eq!(check(&c, &url, &trusted).await, HttpOutcome::Healthy);
        // The same certificate, checked against another name: refused.
        let other = health(TlsTrust::CaFile(pem.clone()), Some("other.lab.test"));
        match check(&c, &url, &other).await {
            HttpOutcome::Failed(why) => assert!(why.contains("certificate"), "{why}"),
            got => panic!("{got:?}"),
        }
        // Not verified at all, as asked.
        let unverified = health(TlsTrust::Unverified, None);
        assert_eq!(check(&c, &url, &unverified).await, HttpOutcome::Healthy);
        assert_eq!(
            unverified.trust_note(),
            " (certificate not verified: tls_verify is false)"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let e = read_ca_file(&file).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "ca_file {}: no PEM certificate in it",
                file.display()
            )),
            "{e}"
        );
        let e = read_ca_file(&dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.pem"), "{e}");
    }
}
