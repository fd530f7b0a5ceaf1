//! A service's certificate check, `certificate:` in its entry: the TLS certificate the service
//! serves for its `domain` is read once a day, and reported before it expires. On for every
//! service with a `domain`, read from `127.0.0.1:443` (where a reverse proxy such as traefik
//! serves it) with the domain as the server name:
//!
//! ```yaml
//! certificate: false                          # not read
//! certificate: {port: 8443, warn_days: 21}    # 127.0.0.1:8443, warned 21 days before
//! certificate: {url: "https://10.0.0.5:443"}  # another address (the server name stays the domain)
//! ```

use super::probe_url::ProbeUrl;
use super::raw::Unknown;
use super::scalar::Flag;
use serde::Deserialize;

pub const CERTIFICATE_KEYS: &[&str] = &["port", "url", "warn_days"];
/// Days before expiry a certificate is reported when `warn_days` is not given.
pub const DEFAULT_WARN_DAYS: u32 = 14;
/// Where a service's certificate is read when neither `port` nor `url` says.
pub const DEFAULT_PORT: u16 = 443;

/// `certificate:` as written: a flag, or a mapping.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawCertificate {
    Flag(Flag),
    Map(RawCertificateMap),
}

#[derive(Debug, Default, Deserialize)]
pub struct RawCertificateMap {
    pub port: Option<i64>,
    pub url: Option<String>,
    pub warn_days: Option<i64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Where and how a service's certificate is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateCheck {
    /// The address connected to (an IP address or a host name) and its port.
    pub host: String,
    pub port: u16,
    /// The name asked for in the handshake (SNI): the service's domain.
    pub server_name: String,
    /// Reported this many days before it expires.
    pub warn_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CertificateError {
    #[error(
        "certificate needs the service's domain (the name its certificate is for); add `domain`, \
         or write `certificate: false`"
    )]
    NoDomain,
    #[error("certificate.port {0} is out of range 1-65535")]
    Port(i64),
    #[error("certificate.url: give `port` or `url`, not both")]
    Both,
    #[error("certificate.url: {0}")]
    Url(String),
    #[error("certificate.url must start with https:// (a certificate is read over TLS)")]
    NotTls,
    #[error("certificate.warn_days {0} is out of range; give days before expiry, 1 to 365")]
    WarnDays(i64),
}

/// The check a service gets: `None` when it has no domain and no `certificate`, or it says
/// `false`.
pub(crate) fn check(
    raw: Option<RawCertificate>,
    domain: Option<&str>,
) -> Result<Option<CertificateCheck>, CertificateError> {
    let map = match raw {
        None if domain.is_none() => return Ok(None),
        None | Some(RawCertificate::Flag(Flag(true))) => RawCertificateMap::default(),
        Some(RawCertificate::Flag(Flag(false))) => return Ok(None),
        Some(RawCertificate::Map(m)) => m,
    };
    let server_name = domain.ok_or(CertificateError::NoDomain)?.to_string();
    let warn_days = match map.warn_days {
        None => DEFAULT_WARN_DAYS,
        Some(d) if (1..=365).contains(&d) => d as u32,
        Some(d) => return Err(CertificateError::WarnDays(d)),
    };
    let (host, port) = match (map.port, map.url) {
        (Some(_), Some(_)) => return Err(CertificateError::Both),
        (Some(p), None) => match u16::try_from(p) {
            Ok(port) if port > 0 => ("127.0.0.1".to_string(), port),
            _ => return Err(CertificateError::Port(p)),
        },
        (None, Some(url)) => {
            let u = ProbeUrl::parse(&url).map_err(|e| CertificateError::Url(e.to_string()))?;
            if !u.tls {
                return Err(CertificateError::NotTls);
            }
            (u.host, u.port)
        }
        (None, None) => ("127.0.0.1".to_string(), DEFAULT_PORT),
    };
    Ok(Some(CertificateCheck {
        host,
        port,
        server_name,
        warn_days,
    }))
}

impl CertificateCheck {
    /// `127.0.0.1:443 (server name books.example.org)`.
    pub fn shown(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{host}:{} (server name {})", self.port, self.server_name)
    }
}

#[cfg(test)]
mod tests {
    use super::CertificateCheck;
    use std::path::Path;

    fn parse(entry: &str) -> Result<Option<CertificateCheck>, crate::ConfigError> {
        crate::parse(
            &format!("monitored_services:\n  - {entry}\n"),
            Path::new("config.yaml"),
        )
        .map(|c| c.services[0].certificate.clone())
    }

    #[test]
    fn a_service_with_a_domain_has_its_certificate_read_from_443_unless_told_otherwise() {
        let at = |host: &str, port| CertificateCheck {
            host: host.into(),
            port,
            server_name: "books.example.org".into(),
            warn_days: 14,
        };
        assert_eq!(parse("{name: a}").unwrap(), None);
        assert_eq!(
            parse("{name: a, domain: books.example.org}").unwrap(),
            Some(at("127.0.0.1", 443))
        );
        for off in ["false", "no", "'off'"] {
            let entry = format!("{{name: a, domain: books.example.org, certificate: {off}}}");
            assert_eq!(parse(&entry).unwrap(), None, "{off}");
        }
        assert_eq!(
            parse("{name: a, domain: books.example.org, certificate: {port: 8443, warn_days: 21}}")
                .unwrap(),
            Some(CertificateCheck {
                warn_days: 21,
                ..at("127.0.0.1", 8443)
            })
        );
        let by_url = parse(
            "{name: a, domain: books.example.org, certificate: {url: 'https://[::1]:9443/'}}",
        )
        .unwrap()
        .unwrap();
        assert_eq!(by_url, at("::1", 9443));
        assert_eq!(by_url.shown(), "[::1]:9443 (server name books.example.org)");
    }

    #[test]
    fn nonsense_is_refused_naming_the_service_and_the_fix() {
        for (entry, says) in [
            (
                "{name: a, certificate: true}",
                "service 'a': certificate needs the service's domain",
            ),
            (
                "{name: a, domain: b.example.org, certificate: {port: 70000}}",
                "certificate.port 70000 is out of range",
            ),
            (
                "{name: a, domain: b.example.org, certificate: {url: 'http://x:80'}}",
                "must start with https://",
            ),
            (
                "{name: a, domain: b.example.org, certificate: {url: 'https://x', port: 1}}",
                "give `port` or `url`, not both",
            ),
            (
                "{name: a, domain: b.example.org, certificate: {warn_days: 0}}",
                "warn_days 0 is out of range",
            ),
            (
                "{name: a, domain: b.example.org, certificate: {warn_day: 3}}",
                "did you mean 'warn_days'?",
            ),
        ] {
            let e = parse(entry).unwrap_err().to_string();
            assert!(
                e.contains(says) && e.contains("config.yaml"),
                "{entry}: {e}"
            );
        }
    }
}
