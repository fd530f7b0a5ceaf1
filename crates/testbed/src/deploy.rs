//! Installing the self-healing daemon on a test host by hand, the way the playbooks will:
//! binaries to /usr/local/bin, the config, the systemd unit; then start it and wait until it
//! is looking at its services.

use super::Host;
use anyhow::{Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

const UNIT: &str = include_str!("../../../templates/miraclemax-self-heal.service");

/// `bin_dir` holds the built `miraclemax-self-heal`, `miraclemax-status` and `miraclemax-heartbeat`.
pub fn install_daemon(host: &Host, bin_dir: &Path, config: &str) -> Result<()> {
    for name in [
        "miraclemax-self-heal",
        "miraclemax-status",
        "miraclemax-heartbeat",
    ] {
        host.copy(&bin_dir.join(name), &format!("/usr/local/bin/{name}"))?;
    }
    host.write("/etc/miraclemax/config.yaml", config)?;
    host.write("/etc/systemd/system/miraclemax-self-heal.service", UNIT)?;
    host.ssh_ok(&["systemctl", "daemon-reload"])?;
    host.ssh_ok(&[
        "systemctl",
        "enable",
        "--now",
        "miraclemax-self-heal.service",
    ])?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host
        .ssh(&["test", "-e", "/var/lib/miraclemax/alive"])?
        .status
        .success()
    {
        if Instant::now() > deadline {
            bail!(
                "{}: the daemon did not start looking within 20 s",
                host.name
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The agent config for a test host: its example service, email to the host-side SMTP
/// server, and short intervals so tests and the demo are quick.
pub fn lab_config(host: &Host, services: &str) -> String {
    format!(
        "host: {name}\n\
         monitored_services:\n{services}\
         notifications:\n  email:\n    smtp_host: {gw}\n    smtp_port: {port}\n    tls: none\n    \
         from: miraclemax@{name}.test\n    to: [ops@example.org]\n\
         limits:\n  check_interval: 1s\n  settle_time: 1s\n  kill_grace: 2s\n  start_timeout: 10s\n  probe_timeout: 1s\n",
        name = host.name,
        gw = host.gateway(),
        port = super::smtp::SMTP_PORT,
    )
}

/// The example service every test host runs, with all the probes it supports.
pub const EXAMPLE_SERVICE: &str = "  - name: example\n    port: 8080\n    domain: example.lab.test\n    \
    health: {path: /health}\n    healing_strategies: [service_restart, port_conflict, kill_hung]\n";

/// How Ansible (and mmctl, which reaches hosts through it) logs in to the test hosts. Each
/// host has all three logins; the harness's own commands (`Host::ssh`) run as root whatever
/// the inventory says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Login {
    /// As the example inventory says: `ansible_user: deploy`, `ansible_become: true`, and
    /// deploy's sudo asks for no password.
    #[default]
    Sudo,
    /// As root, no become: the other login the example inventory describes.
    Root,
    /// As `ops`, whose sudo asks for its password: `ansible_become_password` comes from the
    /// vault's `vault_become_password`, which the test writes (`SUDO_PASSWORD`).
    SudoWithPassword,
}

/// The inventory variables for `login`, with the testbed's SSH key and no host-key checks
/// (fresh hosts each run).
pub fn connection_vars(login: Login) -> String {
    let user = match login {
        Login::Sudo => "ansible_user: deploy\nansible_become: true\n",
        Login::Root => "ansible_user: root\nansible_become: false\n",
        Login::SudoWithPassword => {
            "ansible_user: ops\nansible_become: true\n\
             ansible_become_password: \"{{ vault_become_password }}\"\n"
        }
    };
    format!(
        "{user}ansible_python_interpreter: /usr/bin/python3\n\
         ansible_ssh_private_key_file: {}\n\
         ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n",
        super::state_dir().join("id_ed25519").display()
    )
}

/// What test hosts need on top of a user's inventory (as `mmctl init` writes it): how they are
/// reached (`connection_vars` of the default login, deploy with sudo), reports to the SMTP
/// server on each host's gateway, a fast check interval, and the Healthchecks stand-in's API
/// when given. Kept in a file of its own (`group_vars/miraclemax/testbed.yml`), as a user keeps
/// site specifics.
pub fn testbed_vars(api_url: Option<&str>) -> String {
    testbed_vars_as(Login::default(), api_url)
}

fn testbed_vars_as(login: Login, api_url: Option<&str>) -> String {
    let mut v = format!(
        "# The test hosts' specifics (mm-testbed).\n{}\
         self_healing_email:\n  smtp_host: \"{{{{ ansible_host | regex_replace('\\\\.2$', '.1') }}}}\"\n  \
         smtp_port: {}\n  tls: none\n  from: \"miraclemax@{{{{ inventory_hostname }}}}.test\"\n  to: [ops@example.org]\n\
         self_healing_limits: {{check_interval: 2s, settle_time: 1s}}\n",
        connection_vars(login),
        super::smtp::SMTP_PORT
    );
    if let Some(url) = api_url {
        v.push_str(&format!("heartbeat_api_url: {url}\n"));
    }
    v
}

/// The test hosts' services and heartbeat settings (the example service, the heartbeat's
/// secrets from a vault the test writes); `testbed_vars` holds the rest.
pub const GROUP_VARS: &str = include_str!("files/group_vars.yml");

/// An Ansible inventory for these hosts in `dir`: their real addresses, `GROUP_VARS` and
/// `testbed_vars`. The repository's own `inventory/` is the example for real servers; nothing
/// of the testbed is in it.
pub fn inventory(hosts: &[Host], dir: &Path) -> Result<()> {
    inventory_as(Login::default(), hosts, dir)
}

/// `inventory`, with Ansible logging in as `login` says.
pub fn inventory_as(login: Login, hosts: &[Host], dir: &Path) -> Result<()> {
    let vars = dir.join("group_vars/miraclemax");
    std::fs::create_dir_all(&vars)?;
    std::fs::write(vars.join("main.yml"), GROUP_VARS)?;
    std::fs::write(vars.join("testbed.yml"), testbed_vars_as(login, None))?;
    hosts_file(hosts, dir)
}

/// An inventory for these hosts in `dir` with the given group variables file (e.g. one written
/// for an earlier release of the roles) and only how the hosts are reached (the default login)
/// beside it.
pub fn inventory_with(group_vars: &Path, hosts: &[Host], dir: &Path) -> Result<()> {
    let vars = dir.join("group_vars/miraclemax");
    std::fs::create_dir_all(&vars)?;
    std::fs::copy(group_vars, vars.join("main.yml"))?;
    std::fs::write(vars.join("testbed.yml"), connection_vars(Login::default()))?;
    hosts_file(hosts, dir)
}

fn hosts_file(hosts: &[Host], dir: &Path) -> Result<()> {
    let mut yaml = String::from("miraclemax:\n  hosts:\n");
    for h in hosts {
        yaml.push_str(&format!(
            "    {}:\n      ansible_host: {}\n",
            h.name,
            h.address()
        ));
    }
    std::fs::write(dir.join("hosts.yml"), yaml)?;
    Ok(())
}
