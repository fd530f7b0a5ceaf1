//! A health URL taken apart, `http[s]://host[:port][/path][?query]`: the one parser that both
//! validation and the HTTP probe use, so a URL the probe could not use is a configuration error
//! at `validate`, `--check-config` and reload, never a failed probe that restarts a healthy
//! service. Its messages never quote the URL: it may hold credentials.

/// A probe URL as the probe connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeUrl {
    pub tls: bool,
    /// The host as connected to (an IPv6 address without its brackets).
    pub host: String,
    pub port: u16,
    /// What the Host header says: the URL's host and port as written.
    pub authority: String,
    /// The request target: path and query, `/` when the URL has none.
    pub path: String,
}

/// Why a health URL cannot be probed. No variant holds the whole URL: it may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeUrlError {
    #[error("it must start with http:// or https://")]
    Scheme,
    #[error("it holds a space or control character (write a space as %20)")]
    SpaceOrControl,
    #[error(
        "credentials (user:password@) in a health URL are not supported: the probe sends none, \
         and they would show in reports"
    )]
    Credentials,
    #[error("an unclosed [ in the host")]
    UnclosedBracket,
    #[error("[{0}] is not an IPv6 address")]
    NotIpv6(String),
    #[error("text after the ] of the host")]
    AfterBracket,
    #[error("it has no host")]
    NoHost,
    #[error("the host {0:?} is not a host name or address (letters, digits, '-', '.')")]
    BadHost(String),
    #[error("the port {0:?} is not a number 1-65535")]
    BadPort(String),
}

impl ProbeUrl {
    pub fn parse(url: &str) -> Result<ProbeUrl, ProbeUrlError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(ProbeUrlError::Scheme);
        };
        // A space or control character would end the request line early (or start a header).
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProbeUrlError::SpaceOrControl);
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(ProbeUrlError::Credentials);
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or(ProbeUrlError::UnclosedBracket)?;
                if host.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(ProbeUrlError::NotIpv6(host.to_string()));
                }
                match after {
                    "" => (host, None),
                    a => (
                        host,
                        Some(a.strip_prefix(':').ok_or(ProbeUrlError::AfterBracket)?),
                    ),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(ProbeUrlError::NoHost);
        }
        if !authority.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(ProbeUrlError::BadHost(host.to_string()));
        }
        let port = match port {
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(ProbeUrlError::BadPort(p.to_string())),
                Ok(n) => n,
            },
            None if tls => 443,
            None => 80,
        };
        Ok(ProbeUrl {
            tls,
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_taken_apart_as_written() {
        let t = ProbeUrl::parse("https://[::1]:8443?x=1#frag").unwrap();
        assert_eq!(
            t,
            ProbeUrl {
                tls: true,
                host: "::1".into(),
                port: 8443,
                authority: "[::1]:8443".into(),
                path: "/?x=1".into(),
            }
        );
        let t = ProbeUrl::parse("http://example.org").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        assert_eq!(ProbeUrl::parse("https://example.org/a").unwrap().port, 443);
        assert_eq!(ProbeUrl::parse("http://[::1]/").unwrap().port, 80);
    }

    #[test]
    fn what_the_probe_cannot_use_is_refused_without_quoting_the_url() {
        for (url, why) in [
            ("http://user:s3cret@example.org/", "credentials"),
            (
                "http://example.org:http/",
                "the port \"http\" is not a number 1-65535",
            ),
            (
                "http://example.org:70000/",
                "the port \"70000\" is not a number 1-65535",
            ),
            (
                "http://example.org:0/",
                "the port \"0\" is not a number 1-65535",
            ),
            ("ftp://example.org/", "must start with http:// or https://"),
            ("http:///health", "no host"),
            ("http://exa mple.org/", "space or control character"),
            ("http://example.org/a b", "space or control character"),
            ("http://example.org/\r\nX: y", "space or control character"),
            ("http://[::1/", "unclosed ["),
            ("http://[nope]/", "not an IPv6 address"),
            ("http://[::1]x/", "text after the ]"),
            ("http://exa$mple.org/", "is not a host name"),
        ] {
            let e = ProbeUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }
}
