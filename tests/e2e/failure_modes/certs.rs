//! The row of a certificate about to expire: a service serving a certificate that expires in
//! under 3 days is warned of once, one serving an expired certificate is reported once, and
//! neither is reported again, not even after the daemon lost its state and read them again.

use super::lab::{Lab, TEST, line_of, wait};
use mm_testbed::anyhow::{Result, ensure};
use mm_testbed::matrix::Row;
use std::time::Duration;

/// A TLS server on 127.0.0.1:PORT presenting CERT (KEY): it completes each handshake and
/// closes.
const TLS_SERVER: &str = r#"#!/usr/bin/python3
import socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        t = ctx.wrap_socket(c, server_side=True)
        t.recv(1)
        t.close()
    except Exception:
        c.close()
"#;

/// The two services, as monitored_services entries.
pub const SERVICES: &str = "  - {name: web, port: 8443, domain: web.lab.test, critical: false, certificate: {port: 8443}}\n  - {name: legacy, port: 8444, domain: legacy.lab.test, critical: false, certificate: {port: 8444}}\n";

/// The date `days` from now (UTC), as rcgen takes it.
fn date_in(days: i64) -> (i32, u8, u8) {
    let now = miraclemax::heal::incident::now_ms() as i64;
    let then = miraclemax::notify::report::utc((now + days * 86_400_000) as u64);
    let n = |r: std::ops::Range<usize>| then[r].parse::<i32>().unwrap();
    (n(0..4), n(5..7) as u8, n(8..10) as u8)
}

/// A certificate for `name`, valid until midnight UTC of the day `days` from now.
fn certificate(name: &str, days: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let (y, m, d) = date_in(-30);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = date_in(days);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Lab CA");
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The TLS server and the two services' units and certificates: web's expires in under 3
/// days, legacy's expired yesterday.
pub fn install(host: &mm_testbed::Host) {
    host.write("/usr/local/bin/mm-tls-server", TLS_SERVER)
        .unwrap();
    host.ssh_ok(&["chmod", "755", "/usr/local/bin/mm-tls-server"])
        .unwrap();
    for (name, port, days) in [("web", 8443, 3), ("legacy", 8444, -1)] {
        let (cert, key) = certificate(&format!("{name}.lab.test"), days);
        host.write(&format!("/etc/{name}.crt"), &cert).unwrap();
        host.write(&format!("/etc/{name}.key"), &key).unwrap();
        host.write(
            &format!("/etc/systemd/system/{name}.service"),
            &format!(
                "[Service]\nExecStart=/usr/local/bin/mm-tls-server {port} /etc/{name}.crt /etc/{name}.key\n"
            ),
        )
        .unwrap();
    }
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", "web.service", "legacy.service"])
        .unwrap();
}

pub fn expiring() -> String {
    "⚠️ MiracleMax: web - CERTIFICATE EXPIRING".into()
}

pub fn expired() -> String {
    "❌ MiracleMax: legacy - CERTIFICATE EXPIRED".into()
}

/// How many times the journal says a certificate was read from `port`.
fn reads(lab: &Lab, port: u16) -> usize {
    let needle = format!("certificate read from 127.0.0.1:{port}");
    lab.ssh(&["journalctl", "-t", "miraclemax-self-heal", "-o", "cat"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&needle))
        .count()
}

pub fn certificate_expiring(lab: &Lab) -> Result<Row> {
    let warning = lab.mail(&expiring(), Duration::from_secs(60))?;
    let headline = line_of(&warning.body, "⚠️ EXPIRING: ");
    ensure!(
        headline.starts_with("the certificate for web.lab.test expires in 2 days ")
            && headline.ends_with(" 00:00:00 UTC"),
        "EXPIRING report: {}",
        warning.body
    );
    ensure!(
        warning.body.contains("issued by Lab CA")
            && warning
                .body
                .contains("READ FROM: 127.0.0.1:8443 (server name web.lab.test)"),
        "{}",
        warning.body
    );
    let gone = lab.mail(&expired(), Duration::from_secs(60))?;
    let expired_line = line_of(&gone.body, "❌ EXPIRED: ");
    ensure!(
        expired_line.starts_with("the certificate for legacy.lab.test expired on "),
        "EXPIRED report: {}",
        gone.body
    );
    let (web, legacy) = (reads(lab, 8443), reads(lab, 8444));
    // A restart does not read them again before a day has passed; a daemon that lost its state
    // reads them again, and still sends nothing twice (one report per certificate).
    lab.ssh(&["systemctl", "restart", "miraclemax-self-heal"])?;
    std::thread::sleep(Duration::from_secs(5));
    ensure!(reads(lab, 8443) == web, "read again after a restart");
    lab.ssh(&["systemctl", "stop", "miraclemax-self-heal"])?;
    lab.ssh(&["rm", "/var/lib/miraclemax/state.json"])?;
    lab.ssh(&["systemctl", "start", "miraclemax-self-heal"])?;
    wait(
        Duration::from_secs(30),
        "both certificates read again",
        || Ok(reads(lab, 8443) == web + 1 && reads(lab, 8444) == legacy + 1),
    )?;
    std::thread::sleep(Duration::from_secs(5));
    let counts = [lab.smtp.count(&expiring()), lab.smtp.count(&expired())];
    ensure!(counts == [1, 1], "EXPIRING/EXPIRED reports: {counts:?}");
    Ok(Row {
        id: "18-certificate-expiring".into(),
        failure: "Certificate expiring".into(),
        injected: "one service serves a certificate that expires in under 3 days, another one \
                   that expired yesterday (read at 127.0.0.1 with each domain as the server name)"
            .into(),
        self_healing: format!(
            "Nothing done to the services (certificates are only reported): \"EXPIRING: \
             {headline}\"; \"EXPIRED: {expired_line}\""
        ),
        healthchecks: "Nothing: a certificate is told by email".into(),
        received: format!(
            "1 email each, '{}' and '{}'; none after a daemon restart, nor after it lost its \
             state and read both again",
            expiring(),
            expired()
        ),
        recovery: "both reports at the daemon's first read after it started; certificates are \
                   read once a day, and again the moment the one read expires"
            .into(),
        test: TEST.into(),
    })
}
