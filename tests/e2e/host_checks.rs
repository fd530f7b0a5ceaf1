//! Host checks on real hosts, with the daemon's real unit (its sandbox hides /home and gives
//! it its own /tmp, so disks are measured as the host's service manager sees them): a small
//! file system filled past its warning, then its critical threshold, then freed, on a Debian 12
//! and a Debian 13 host. One report at each step, the heartbeat's /fail while it is critical.

use crate::failure_modes::host::{HOST_CHECKS, disk_full, mount_data};
use crate::failure_modes::lab::Lab;
use crate::support::*;
use mm_testbed::Testbed;
use mm_testbed::healthchecks::Healthchecks;
use std::net::IpAddr;

#[test]
fn a_disk_filled_past_each_threshold_and_freed_is_reported_once_each_and_fails_the_heartbeat_while_critical()
 {
    let mut tb = Testbed::start_on(&BOTH).unwrap();
    std::thread::scope(|s| {
        for host in tb.hosts_mut() {
            s.spawn(move || {
                let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
                let [url] = api_checks(&hc, ["server"]);
                mount_data(host);
                let config = format!(
                    "{}heartbeat:\n  ping_url: {url}\nhost_checks: {HOST_CHECKS}\n",
                    test_config(host, EXAMPLE)
                );
                install_daemon(host, &config);
                let status = host.ssh_ok(&["miraclemax-status"]).unwrap_or_default();
                assert!(
                    status.contains("Host checks: all 2 within their thresholds"),
                    "{status}"
                );
                let lab = Lab {
                    smtp: mm_testbed::smtp::Smtp::start(host.gateway()).unwrap(),
                    uuid: url.rsplit('/').next().unwrap().to_string(),
                    hc: &hc,
                    host,
                };
                let row = lab.or_journal(disk_full(&lab));
                assert_eq!(row.id, "17-disk-full");
            });
        }
    });
}
