//! Which of the problems `validate` finds concern a run: the hosts its `--limit` selects and
//! the layer its `--only` deploys. `validate` and `deploy` judge alike through this, so a
//! setup that validates clean deploys without being refused.

use crate::deploy::Only;
use crate::fleet::Issue;
use crate::inventory::{Inventory, PatternError};

/// Keeps the problems of the hosts `limit` selects (all hosts when none is given) and, with
/// `--only self-healing`, those of that layer: the heartbeat layer needs the agent's
/// configuration too, so `--only healthchecks` keeps every problem.
pub fn retain(
    issues: &mut Vec<Issue>,
    inv: &Inventory,
    limit: Option<&str>,
    only: Option<Only>,
) -> Result<(), PatternError> {
    if let Some(l) = limit {
        let reached = inv.matching(l)?;
        issues.retain(|i| reached.contains(&i.host));
    }
    if only == Some(Only::SelfHealing) {
        issues.retain(|i| !i.is_heartbeat());
    }
    Ok(())
}

/// The hosts `limit` selects, or every host of the inventory.
pub fn hosts(inv: &Inventory, limit: Option<&str>) -> Result<Vec<String>, PatternError> {
    Ok(match limit {
        Some(l) => inv.matching(l)?,
        None => inv.hosts.keys().cloned().collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::inventory::Vault;

    /// web1, web2 in group web; db1 in group db.
    pub(crate) fn fleet() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "[web]\nweb1\nweb2\n[db]\ndb1\n").unwrap();
        Inventory::load(&[hosts], &Vault::default()).unwrap()
    }

    pub(crate) fn issue(host: &str, object: &str) -> Issue {
        Issue {
            file: None,
            line: None,
            host: host.into(),
            object: object.into(),
            message: "wrong".into(),
        }
    }

    fn found() -> Vec<Issue> {
        vec![
            issue("web1", "monitored_services[0].port"),
            issue("web2", "heartbeat.ping_url"),
            issue("db1", "healthcheck_services[0]"),
            issue("db1", "notifications.smtp"),
        ]
    }

    fn hosts_and_objects(issues: &[Issue]) -> Vec<(&str, &str)> {
        issues
            .iter()
            .map(|i| (i.host.as_str(), i.object.as_str()))
            .collect()
    }

    #[test]
    fn without_limit_or_only_every_problem_is_kept() {
        let mut issues = found();
        retain(&mut issues, &fleet(), None, None).unwrap();
        assert_eq!(issues, found());
    }

    #[test]
    fn a_limit_keeps_only_the_problems_of_the_hosts_it_selects() {
        let inv = fleet();
        let mut issues = found();
        retain(&mut issues, &inv, Some("web"), None).unwrap();
        assert_eq!(
            hosts_and_objects(&issues),
            [
                ("web1", "monitored_services[0].port"),
                ("web2", "heartbeat.ping_url")
            ]
        );
        let mut issues = found();
        retain(&mut issues, &inv, Some("all:!web1"), None).unwrap();
        assert_eq!(
            hosts_and_objects(&issues),
            [
                ("web2", "heartbeat.ping_url"),
                ("db1", "healthcheck_services[0]"),
                ("db1", "notifications.smtp")
            ]
        );
    }

    #[test]
    fn a_limit_that_selects_no_host_keeps_no_problem() {
        let mut issues = found();
        retain(&mut issues, &fleet(), Some("nosuchhost"), None).unwrap();
        assert!(issues.is_empty());
    }

    #[test]
    fn only_self_healing_drops_the_heartbeat_layers_problems() {
        let mut issues = found();
        retain(&mut issues, &fleet(), None, Some(Only::SelfHealing)).unwrap();
        assert_eq!(
            hosts_and_objects(&issues),
            [
                ("web1", "monitored_services[0].port"),
                ("db1", "notifications.smtp")
            ]
        );
    }

    #[test]
    fn only_healthchecks_keeps_the_agents_problems_too() {
        let mut issues = found();
        retain(&mut issues, &fleet(), None, Some(Only::Healthchecks)).unwrap();
        assert_eq!(issues, found());
    }

    #[test]
    fn limit_and_only_apply_together() {
        let mut issues = found();
        retain(&mut issues, &fleet(), Some("db"), Some(Only::SelfHealing)).unwrap();
        assert_eq!(hosts_and_objects(&issues), [("db1", "notifications.smtp")]);
    }

    #[test]
    fn a_regular_expression_limit_is_refused_not_guessed() {
        let mut issues = found();
        let e = retain(&mut issues, &fleet(), Some("~web.*"), None).unwrap_err();
        assert!(e.to_string().contains("regular expression"), "{e}");
    }

    #[test]
    fn the_hosts_of_no_limit_are_every_host() {
        let inv = fleet();
        assert_eq!(hosts(&inv, None).unwrap(), ["db1", "web1", "web2"]);
        assert_eq!(hosts(&inv, Some("web*")).unwrap(), ["web1", "web2"]);
    }
}
