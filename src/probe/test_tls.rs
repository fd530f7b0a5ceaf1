//! A TLS server for the probes' tests: 127.0.0.1, the certificate given, answering
//! `HTTP/1.1 200 OK` to whatever each connection sends first.

use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves until the test's runtime ends; its port.
pub async fn serve(cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}
