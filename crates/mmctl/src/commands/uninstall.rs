//! `mmctl uninstall PATTERN`: takes MiracleMax off the hosts PATTERN names with the
//! collection's `remove_monitoring` playbook (their Healthchecks checks paused, or deleted with
//! `--delete-checks`; the daemon, its unit, the binaries, the cron line and /etc/miraclemax
//! removed; /var/lib/miraclemax too with `--remove-state`). A pattern that reaches hosts it does
//! not name (a group, a wildcard) is refused without `--yes`, listing them: removal is the one
//! command whose typo takes monitoring off a fleet.

use super::NAME;
use crate::deploy::{self, PlaybookArgs};
use crate::inventory::Inventory;
use crate::services::Source;
use std::process::ExitCode;

/// What removal does beyond the defaults.
#[derive(Debug, Default, Clone, Copy, clap::Args)]
pub struct Removal {
    /// Delete the hosts' Healthchecks checks instead of pausing them (their history lost).
    #[arg(long)]
    pub delete_checks: bool,
    /// Also remove /var/lib/miraclemax (incidents, reports not yet delivered) and the
    /// heartbeat's log.
    #[arg(long)]
    pub remove_state: bool,
    /// Take it off every host the pattern reaches, though it does not name them.
    #[arg(long)]
    pub yes: bool,
}

/// The hosts `pattern` reaches, refused when it reaches none, or (without `yes`) one it does
/// not name word for word.
pub fn reached(inv: &Inventory, pattern: &str, yes: bool) -> anyhow::Result<Vec<String>> {
    let hosts = inv.matching(pattern)?;
    if hosts.is_empty() {
        anyhow::bail!("'{pattern}' matches no host of the inventory; nothing was removed");
    }
    let named: Vec<&str> = pattern.split([',', ':']).map(str::trim).collect();
    let unnamed: Vec<&String> = hosts
        .iter()
        .filter(|h| !named.contains(&h.as_str()))
        .collect();
    if !yes && !unnamed.is_empty() {
        anyhow::bail!(
            "'{pattern}' reaches {} host(s) it does not name: {}; nothing was removed. Name the \
             hosts one by one (mmctl uninstall {}), or add --yes to take MiracleMax off all of \
             them",
            unnamed.len(),
            join(&unnamed),
            hosts.join(",")
        );
    }
    Ok(hosts)
}

fn join(hosts: &[&String]) -> String {
    hosts
        .iter()
        .map(|h| h.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(
    source: &Source,
    pattern: &str,
    removal: Removal,
    mut playbook: PlaybookArgs,
) -> anyhow::Result<ExitCode> {
    let hosts = reached(&source.load()?, pattern, removal.yes)?;
    println!(
        "{NAME}: taking MiracleMax off {}",
        join(&hosts.iter().collect::<Vec<_>>())
    );
    // The play's own hosts are exactly these: the pattern handed on as one variable.
    playbook.extra_vars.push(
        serde_json::json!({
            "miraclemax_hosts": pattern,
            "heartbeat_removed_checks": if removal.delete_checks { "absent" } else { "paused" },
            "self_healing_remove_state": removal.remove_state,
        })
        .to_string(),
    );
    let vault = source.vault.for_ansible()?;
    let o = deploy::Options {
        inventory: source.paths.clone(),
        play: "miraclemax.stack.remove_monitoring",
        vault: vault.args.clone(),
        playbook,
    };
    super::deploy::play(&o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::scope::tests::fleet;

    #[test]
    fn hosts_named_one_by_one_are_removed_and_a_group_or_wildcard_needs_yes() {
        let inv = fleet(); // web1, web2 in web; db1 in db
        assert_eq!(reached(&inv, "web1", false).unwrap(), ["web1"]);
        assert_eq!(reached(&inv, "web1,db1", false).unwrap(), ["db1", "web1"]);
        for pattern in ["web", "web*", "all"] {
            let e = reached(&inv, pattern, false).unwrap_err().to_string();
            assert!(e.contains("it does not name"), "{pattern}: {e}");
            assert!(e.contains("nothing was removed"), "{e}");
        }
        let e = reached(&inv, "web", false).unwrap_err().to_string();
        assert_eq!(
            e,
            "'web' reaches 2 host(s) it does not name: web1, web2; nothing was removed. Name \
             the hosts one by one (mmctl uninstall web1,web2), or add --yes to take MiracleMax \
             off all of them"
        );
        assert_eq!(reached(&inv, "web", true).unwrap(), ["web1", "web2"]);
        let none = reached(&inv, "nosuch", true).unwrap_err().to_string();
        assert_eq!(
            none,
            "'nosuch' matches no host of the inventory; nothing was removed"
        );
    }
}
