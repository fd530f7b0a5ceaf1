use super::{CertificateReadError, parse, read};
use crate::config::CertificateCheck;
use std::time::Duration;

/// A self-signed certificate for `name` valid until `until` (y, m, d), serial 0x00ab12.
fn certificate(name: &str, until: (i32, u8, u8)) -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2019, 1, 2);
    params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    params.serial_number = Some(rcgen::SerialNumber::from(vec![0x00, 0xab, 0x12]));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Lab");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Lab CA R11");
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

#[test]
fn a_certificates_serial_validity_and_issuer_are_read_from_its_der() {
    let (cert, _) = certificate("books.example.org", (2031, 3, 4));
    let s = parse(cert.der()).unwrap();
    assert_eq!(s.serial, "AB12");
    assert_eq!(s.issuer, "Lab CA R11");
    assert_eq!(
        crate::notify::report::utc(s.not_before_ms),
        "2019-01-02 00:00:00 UTC"
    );
    assert_eq!(
        crate::notify::report::utc(s.not_after_ms),
        "2031-03-04 00:00:00 UTC"
    );
    // GeneralizedTime after 2049, as RFC 5280 writes it.
    let (late, _) = certificate("books.example.org", (2051, 12, 31));
    let s = parse(late.der()).unwrap();
    assert_eq!(
        crate::notify::report::utc(s.not_after_ms),
        "2051-12-31 00:00:00 UTC"
    );
    assert_eq!(parse(b"\x30\x03\x02\x01\x01"), None);
    assert_eq!(parse(b"not der"), None);
}

fn check(port: u16) -> CertificateCheck {
    CertificateCheck {
        host: "127.0.0.1".into(),
        port,
        server_name: "books.example.org".into(),
        warn_days: 14,
    }
}

#[tokio::test]
async fn the_certificate_served_is_read_even_expired_and_a_silent_or_closed_port_says_why() {
    let (cert, key) = certificate("books.example.org", (2020, 5, 6));
    let port = crate::probe::test_tls::serve(&cert, &key).await;
    let s = read(&check(port), Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        crate::notify::report::utc(s.not_after_ms),
        "2020-05-06 00:00:00 UTC"
    );
    assert_eq!(s.serial, "AB12");

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let quiet = silent.local_addr().unwrap().port();
    match read(&check(quiet), Duration::from_millis(300)).await {
        Err(e @ CertificateReadError::Timeout(..)) => assert_eq!(
            e.to_string(),
            format!(
                "no TLS handshake with 127.0.0.1:{quiet} (server name books.example.org) within 300ms"
            )
        ),
        other => panic!("{other:?}"),
    }
    drop(silent);
    match read(&check(quiet), Duration::from_secs(2)).await {
        Err(e @ CertificateReadError::Connect(..)) => {
            assert!(
                e.to_string().starts_with(&format!(
                    "127.0.0.1:{quiet} (server name books.example.org) cannot be reached: "
                )),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
}
