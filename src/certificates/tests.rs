use super::*;

const NOW: u64 = 1_800_000_000_000;

fn served(serial: &str, days_left: f64) -> Served {
    Served {
        serial: serial.into(),
        not_before_ms: NOW - 80 * DAY_MS,
        not_after_ms: (NOW as f64 + days_left * DAY_MS as f64) as u64,
        issuer: "R11".into(),
    }
}

#[test]
fn a_certificate_is_warned_of_once_then_reported_expired_once_then_renewed() {
    let cert = served("AB", 3.0);
    let (seen, n) = judge(None, &cert, 14, NOW);
    assert_eq!(n, Some(Notice::Expiring));
    // Read again a day later, and after a restart: the same certificate is not warned of twice.
    let (seen, n) = judge(Some(&seen), &cert, 14, NOW + DAY_MS);
    assert_eq!(n, None);
    assert_eq!(next_read_ms(Some(&seen)), NOW + 2 * DAY_MS);
    // Read with less than a day left: the next read is due the moment it expires.
    let (seen, n) = judge(Some(&seen), &cert, 14, NOW + 5 * DAY_MS / 2);
    assert_eq!(n, None);
    assert_eq!(next_read_ms(Some(&seen)), cert.not_after_ms);
    let (seen, n) = judge(Some(&seen), &cert, 14, cert.not_after_ms);
    assert_eq!(n, Some(Notice::Expired));
    assert_eq!(next_read_ms(Some(&seen)), cert.not_after_ms + DAY_MS);
    let (seen, n) = judge(Some(&seen), &cert, 14, cert.not_after_ms + DAY_MS);
    assert_eq!(n, None);
    let (seen, n) = judge(Some(&seen), &served("CD", 90.0), 14, NOW + 5 * DAY_MS);
    assert_eq!(n, Some(Notice::Renewed));
    assert!(!seen.warned && !seen.expired);
    let (_, n) = judge(Some(&seen), &served("CD", 89.0), 14, NOW + 6 * DAY_MS);
    assert_eq!(n, None);
}

#[test]
fn a_certificate_far_from_expiry_says_nothing_and_one_already_expired_is_reported_expired_only() {
    assert_eq!(judge(None, &served("AB", 15.0), 14, NOW).1, None);
    let (seen, n) = judge(None, &served("AB", -1.0), 14, NOW);
    assert_eq!(n, Some(Notice::Expired));
    assert!(seen.warned && seen.expired);
    // A renewal that is itself about to expire is warned of as itself.
    assert_eq!(
        judge(Some(&seen), &served("EF", 2.0), 14, NOW).1,
        Some(Notice::Expiring)
    );
}

#[test]
fn a_failed_read_keeps_what_was_known_and_is_retried_a_day_later() {
    let (seen, _) = judge(None, &served("AB", 3.0), 14, NOW);
    let f = failed(Some(&seen), "refused".into(), NOW + 10);
    assert_eq!((f.serial.as_str(), f.warned), ("AB", true));
    assert_eq!(f.error.as_deref(), Some("refused"));
    let (back, n) = judge(Some(&f), &served("AB", 3.0), 14, NOW + DAY_MS);
    assert_eq!(n, None);
    assert_eq!(back.error, None);
    assert!(!due(Some(&back), NOW + DAY_MS + 1));
    assert!(due(Some(&back), NOW + 2 * DAY_MS));
    // The clock set back past the last read: read again rather than wait for it.
    assert!(due(Some(&back), NOW));
    let never = failed(None, "refused".into(), NOW);
    assert_eq!(next_read_ms(Some(&never)), NOW + DAY_MS);
    assert_eq!(next_read_ms(None), 0);
}

#[test]
fn the_reports_name_the_certificate_where_it_was_read_and_what_to_run() {
    use super::report::{Said, render};
    let config = crate::config::parse(
        "monitored_services:\n  - {name: shop, domain: shop.example.org}\n",
        std::path::Path::new("c"),
    )
    .unwrap();
    let svc = &config.services[0];
    let check = svc.certificate.as_ref().unwrap();
    let cert = served("0A1B", 2.5);
    let (seen, notice) = judge(None, &cert, 14, NOW);
    let said = Said {
        host: "web1",
        ssh_target: "admin@web1",
        service: svc,
        check,
        seen: &seen,
        notice: notice.unwrap(),
    };
    let e = render(&said).unwrap();
    assert_eq!(e.subject, "⚠️ MiracleMax: shop - CERTIFICATE EXPIRING");
    for expected in [
        "Service: shop (shop.example.org)\nHost: web1\n⚠️ EXPIRING: the certificate for shop.example.org expires in 2 days 12 h, on ",
        "CERTIFICATE: serial 0A1B, issued by R11, valid until ",
        "READ FROM: 127.0.0.1:443 (server name shop.example.org) at ",
        "You hear of this certificate again only if it expires, or when a new one replaces it.",
        "2. See the certificate served: openssl s_client -connect 127.0.0.1:443 -servername shop.example.org",
    ] {
        assert!(e.body.contains(expected), "{expected}\n---\n{}", e.body);
    }
    assert_eq!(said.id(), "shop-certificate-0A1B-expiring");
    assert_eq!(said.about().outcome.as_str(), "WARNING");
}
