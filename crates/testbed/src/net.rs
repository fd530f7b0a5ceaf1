//! One network namespace and veth pair per test host: host side 10.77.N.1/24, container side
//! 10.77.N.2/24 with a default route back to the host, so a host-side test server at 10.77.N.1
//! is reachable from inside and nothing else is.

use super::cmd::{quietly, run};
use anyhow::Result;
use std::net::Ipv4Addr;

#[derive(Debug, Clone)]
pub struct Net {
    pub slot: u8,
}

impl Net {
    pub fn netns(&self) -> String {
        format!("mmlab{}", self.slot)
    }
    pub fn host_veth(&self) -> String {
        format!("mmv{}", self.slot)
    }
    fn guest_veth(&self) -> String {
        format!("mmc{}", self.slot)
    }
    /// The address the host has on this host's network (where test servers listen).
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.slot, 1)
    }
    /// The test host's own address.
    pub fn address(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.slot, 2)
    }

    pub fn create(&self) -> Result<()> {
        let (ns, hv, gv) = (self.netns(), self.host_veth(), self.guest_veth());
        let gw = format!("{}/24", self.gateway());
        let addr = format!("{}/24", self.address());
        let via = self.gateway().to_string();
        run("ip", &["netns", "add", &ns])?;
        run(
            "ip",
            &["link", "add", &hv, "type", "veth", "peer", "name", &gv],
        )?;
        run("ip", &["link", "set", &gv, "netns", &ns])?;
        run("ip", &["addr", "add", &gw, "dev", &hv])?;
        run("ip", &["link", "set", &hv, "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run("ip", &["-n", &ns, "addr", "add", &addr, "dev", &gv])?;
        run("ip", &["-n", &ns, "link", "set", &gv, "up"])?;
        run("ip", &["-n", &ns, "route", "add", "default", "via", &via])?;
        Ok(())
    }

    /// Removes the namespace and the veth pair; safe to call when either is already gone.
    pub fn remove(&self) {
        quietly("ip", &["netns", "del", &self.netns()]);
        quietly("ip", &["link", "del", &self.host_veth()]);
    }

    pub fn netns_exists(&self) -> bool {
        std::path::Path::new("/run/netns")
            .join(self.netns())
            .exists()
    }

    pub fn veth_exists(&self) -> bool {
        std::path::Path::new("/sys/class/net")
            .join(self.host_veth())
            .exists()
    }
}
