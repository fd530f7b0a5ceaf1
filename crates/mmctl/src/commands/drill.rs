//! `mmctl test heal|heartbeat|notify`: the drills, run on a host through Ansible. A service
//! is looked up in the inventory first, so a typo is refused before the host is touched.

use super::on_host;
use crate::ops::{self, Ran};
use crate::services::Source;
use crate::watched;

pub fn heal(source: &Source, host: &str, service: &str, timeout: u32) -> anyhow::Result<()> {
    let inv = source.load()?;
    watched::require(&inv, host, service, "drill one of those")?;
    let report = on_host(source, host, |t| ops::test_heal(t, service, timeout))?;
    print!("{report}");
    Ok(())
}

/// What the host printed, as it printed it: Ansible drops a command's last newline.
fn show_stdout(r: &Ran) {
    if !r.stdout.is_empty() {
        println!("{}", r.stdout);
    }
}

pub fn heartbeat(source: &Source, host: &str) -> anyhow::Result<()> {
    let r = on_host(source, host, |t| ops::run(t, &[ops::HEARTBEAT]))?;
    show_stdout(&r);
    if r.rc != 0 {
        anyhow::bail!("{}", ops::heartbeat_failure(host, &r));
    }
    eprint!("{}", r.stderr);
    Ok(())
}

pub fn notify(source: &Source, host: &str) -> anyhow::Result<()> {
    let r = on_host(source, host, |t| {
        ops::run(t, &[ops::SELF_HEAL, "test-notify"])
    })?;
    show_stdout(&r);
    if r.rc != 0 {
        anyhow::bail!("{}", ops::notify_failure(host, &r));
    }
    Ok(())
}
