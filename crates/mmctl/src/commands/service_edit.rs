//! `mmctl add-service` and `mmctl remove-service`: the edit is worked out and checked by
//! `services`; here it is shown or written, followed by the deploy that puts it on the hosts.

use super::done;
use crate::services::{self, NewService, Source, Target};

/// The deploy that brings an added service to its hosts: a service without a Healthchecks
/// check of its own needs only the self-healing layer.
pub fn next_deploy(healthcheck: bool) -> &'static str {
    if healthcheck {
        ""
    } else {
        " --only self-healing"
    }
}

pub fn add(source: &Source, s: &NewService, target: &Target, dry_run: bool) -> anyhow::Result<()> {
    let plan = services::add(source, s, target)?;
    done(&plan, dry_run, &format!("added service '{}'", s.name))?;
    if !dry_run {
        let layer = next_deploy(s.healthcheck);
        println!("next: mmctl deploy{layer}   (mmctl render HOST shows what a host will receive)");
    }
    Ok(())
}

pub fn remove(source: &Source, name: &str, target: &Target, dry_run: bool) -> anyhow::Result<()> {
    let plan = services::remove(source, name, target)?;
    done(&plan, dry_run, &format!("removed service '{name}'"))?;
    if !dry_run {
        println!("next: mmctl deploy");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_with_its_own_check_needs_both_layers_deployed() {
        assert_eq!(next_deploy(true), "");
        assert_eq!(next_deploy(false), " --only self-healing");
    }
}
