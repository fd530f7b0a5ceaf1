//! The HTTP health probe: one GET with a timeout, healthy when the status is the expected one.
//!
//! A probe needs the status line and nothing else, so it speaks just enough HTTP/1.1 itself:
//! one request with `Connection: close`, the status line read, the connection dropped.
//! Redirects are answers like any other (a 301 is not the expected 200). HTTPS goes through
//! rustls with the bundled web PKI roots, set up the first time an https:// URL is probed, so
//! a host that probes only plain HTTP never pays for TLS.

use std::sync::{Arc, OnceLock};
use std::time::Duration;
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

/// The probes' client: stateless but for the TLS setup, made on first use and then shared.
#[derive(Clone, Default)]
pub struct Client {
    tls: Arc<OnceLock<tokio_rustls::TlsConnector>>,
}

pub fn client() -> Client {
    Client::default()
}

pub async fn check(client: &Client, url: &str, expected: u16, timeout: Duration) -> HttpOutcome {
    // Boxed: the TLS handshake's state is large, and a probe is a rare, short-lived thing next to
    // the worker that waits between probes (its future stays small).
    match tokio::time::timeout(timeout, Box::pin(status(client, url))).await {
        Ok(Ok(s)) if s == expected => HttpOutcome::Healthy,
        Ok(Ok(s)) => HttpOutcome::WrongStatus(s),
        Ok(Err(why)) => HttpOutcome::Failed(why),
        Err(_) => HttpOutcome::Failed(format!("no answer within {timeout:?}")),
    }
}

/// The status code `url` answers a GET with.
async fn status(client: &Client, url: &str) -> Result<u16, String> {
    let target = crate::config::ProbeUrl::parse(url).map_err(|why| format!("{url}: {why}"))?;
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| e.to_string())?;
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
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{}: {e}", target.host))?;
    let tls = client
        .tls
        .get_or_init(connector)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    exchange(tls, &request).await
}

fn connector() -> tokio_rustls::TlsConnector {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends the request and reads the status code off the answer's first line.
async fn exchange(
    mut io: impl AsyncRead + AsyncWrite + Unpin,
    request: &str,
) -> Result<u16, String> {
    io.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !got.contains(&b'\n') {
        let n = io.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the connection closed without an answer".into());
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > STATUS_LINE_MAX {
            return Err("the answer is not HTTP (no status line)".into());
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
        _ => Err(format!("the answer is not HTTP: {:?}", line.trim_end())),
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

    async fn probe(url: &str) -> HttpOutcome {
        check(&client(), url, 200, Duration::from_millis(500)).await
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
}
