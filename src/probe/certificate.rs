//! Reads the TLS certificate a service serves: a handshake with its address, its domain as the
//! server name, and the certificate it presented taken apart for its serial number, validity
//! and issuer. The certificate is not judged here (expired, self-signed, another name: all are
//! read), only recorded; what it means is `certificates`' business.

use crate::config::CertificateCheck;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// What the service presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The serial number in hex, as `openssl x509 -serial` prints it.
    pub serial: String,
    pub not_before_ms: u64,
    pub not_after_ms: u64,
    /// The issuer's common name (or organisation), `R11`; empty when it has neither.
    pub issuer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateReadError {
    #[error("{0} cannot be reached: {1}")]
    Connect(String, std::io::Error),
    #[error("no TLS handshake with {0} within {1:?}")]
    Timeout(String, Duration),
    #[error("the TLS handshake with {0} failed: {1}")]
    Handshake(String, std::io::Error),
    #[error("{0} presented no certificate")]
    None(String),
    #[error("{0} presented a certificate that cannot be read (not X.509 DER)")]
    Unreadable(String),
    #[error("{0} is not a name a TLS handshake can ask for")]
    Name(String),
}

/// Accepts whatever the server presents (signatures still checked): the point is to read the
/// certificate, including one that has expired or that no public root vouches for.
#[derive(Debug)]
struct Recorder(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate `check` names, read within `timeout` (connection and handshake together).
pub async fn read(
    check: &CertificateCheck,
    timeout: Duration,
) -> Result<Served, CertificateReadError> {
    let at = check.shown();
    let name = ServerName::try_from(check.server_name.clone())
        .map_err(|_| CertificateReadError::Name(check.server_name.clone()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((check.host.as_str(), check.port))
            .await
            .map_err(|e| CertificateReadError::Connect(at.clone(), e))?;
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| CertificateReadError::Handshake(at.clone(), e))
    };
    let tls = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| CertificateReadError::Timeout(at.clone(), timeout))??;
    let der = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| CertificateReadError::None(at.clone()))?;
    parse(der).ok_or(CertificateReadError::Unreadable(at))
}

/// One DER element: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |l, &b| (l << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A certificate's serial, validity and issuer, from its DER.
pub fn parse(der: &[u8]) -> Option<Served> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    let (mut tag, mut value, mut rest) = element(tbs)?;
    // [0] EXPLICIT version, absent in version 1 certificates.
    if tag == 0xa0 {
        (tag, value, rest) = element(rest)?;
    }
    if tag != 0x02 {
        return None;
    }
    let serial = value
        .iter()
        .skip_while(|&&b| b == 0 && value.len() > 1)
        .map(|b| format!("{b:02X}"))
        .collect();
    let (_signature, _, rest) = element(rest)?;
    let (SEQUENCE, issuer, rest) = element(rest)? else {
        return None;
    };
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (t1, before, rest) = element(validity)?;
    let (t2, after, _) = element(rest)?;
    Some(Served {
        serial,
        not_before_ms: time(t1, before)?,
        not_after_ms: time(t2, after)?,
        issuer: issuer_name(issuer),
    })
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) in ms since the epoch.
fn time(tag: u8, v: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let days = days_from_civil(year, n(0)?, n(2)?);
    let secs = days * 86_400 + n(4)? * 3600 + n(6)? * 60 + n(8)?;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The issuer's common name, else its organisation, else empty.
fn issuer_name(name: &[u8]) -> String {
    const CN: [u8; 3] = [0x55, 0x04, 0x03];
    const O: [u8; 3] = [0x55, 0x04, 0x0a];
    let mut found: [Option<String>; 2] = [None, None];
    // Name ::= SEQUENCE OF SET OF SEQUENCE { OID, value }
    let mut sets = name;
    while let Some((_, set, rest)) = element(sets) {
        sets = rest;
        let Some((_, pair, _)) = element(set) else {
            continue;
        };
        let Some((0x06, oid, value)) = element(pair) else {
            continue;
        };
        let Some((_, text, _)) = element(value) else {
            continue;
        };
        let slot = if oid == CN {
            0
        } else if oid == O {
            1
        } else {
            continue;
        };
        found[slot].get_or_insert_with(|| String::from_utf8_lossy(text).into_owned());
    }
    let [cn, o] = found;
    cn.or(o).unwrap_or_default()
}

#[cfg(test)]
mod tests;
