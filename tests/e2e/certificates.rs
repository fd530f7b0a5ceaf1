//! Certificate expiry on real hosts, with the daemon's real unit: a service serving a
//! certificate that expires in under 3 days is warned of exactly once, one serving an expired
//! certificate is reported exactly once, through a restart and a lost state. On a Debian 12 and
//! a Debian 13 host.

use crate::failure_modes::certs::{SERVICES, certificate_expiring, install};
use crate::failure_modes::lab::Lab;
use crate::support::*;
use mm_testbed::Testbed;
use mm_testbed::healthchecks::Healthchecks;
use std::net::IpAddr;

#[test]
fn a_certificate_about_to_expire_and_one_expired_are_each_reported_once() {
    let mut tb = Testbed::start_on(&BOTH).unwrap();
    std::thread::scope(|s| {
        for host in tb.hosts_mut() {
            s.spawn(move || {
                let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
                let url = hc.add_check();
                install(host);
                let services = format!("{EXAMPLE}{SERVICES}");
                install_daemon(host, &test_config(host, &services));
                let lab = Lab {
                    smtp: mm_testbed::smtp::Smtp::start(host.gateway()).unwrap(),
                    uuid: url.rsplit('/').next().unwrap().to_string(),
                    hc: &hc,
                    host,
                };
                let row = lab.or_journal(certificate_expiring(&lab));
                assert_eq!(row.id, "18-certificate-expiring");
                let status = lab.ssh(&["miraclemax-status"]).unwrap_or_default();
                assert!(
                    status.contains("Certificate of web: EXPIRING valid until ")
                        && status.contains("Certificate of legacy: EXPIRED valid until "),
                    "{status}"
                );
            });
        }
    });
}
