//! Resource rules with `action: alert`: a rule held for its looks is reported once (OVER ITS
//! LIMITS), and once more when every rule holds again (WITHIN ITS LIMITS); the service is never
//! touched. When it went over is kept in the service's state (`ServiceState::over_limits_ms`),
//! so a restart of the daemon reports neither again.

use super::Shared;
use crate::config::Service;
use crate::notify::outbox::{About, ReportOutcome};
use crate::notify::report::{Email, ReportError, render_builtin, utc};
use minijinja::context;

const TEMPLATE: &str = include_str!("../../templates/email/limits.txt.j2");
const NAME: &str = "limits.txt.j2";

/// A look found rules held for their looks (`said`, one line each) with the unit's `figures`.
pub(super) async fn over(sh: &Shared, svc: &Service, said: &[String], figures: &str) {
    let name = svc.name.as_str();
    let now = sh.ctx.clock.now_ms();
    let mut first = false;
    let since = sh.update_service(name, |s| {
        first = s.over_limits_ms.is_none();
        *s.over_limits_ms.get_or_insert(now)
    });
    if !first {
        return;
    }
    let headline = said.join("; ");
    tracing::warn!(
        service = name,
        event = "over_limits",
        result = "alert",
        "{name}: over its limits, reported (action: alert): {headline}"
    );
    let word = "OVER ITS LIMITS";
    let id = format!("{name}-limits-{since}-over");
    let about = about(sh, svc, ReportOutcome::Warning);
    sh.report(&id, &about, || {
        render(sh, svc, word, &headline, figures, since, now)
    })
    .await;
}

/// A look found the service within every rule: if it was reported over them, that ends.
pub(super) async fn within(sh: &Shared, svc: &Service, figures: impl FnOnce() -> String) {
    let name = svc.name.as_str();
    let over = sh
        .lock_state()
        .services
        .get(name)
        .and_then(|s| s.over_limits_ms);
    let Some(since) = over else {
        return;
    };
    let now = sh.ctx.clock.now_ms();
    sh.update_service(name, |s| s.over_limits_ms = None);
    let figures = figures();
    tracing::info!(
        service = name,
        event = "within_limits",
        result = "ok",
        "{name}: back within its limits: {figures}"
    );
    let id = format!("{name}-limits-{since}-within");
    let about = about(sh, svc, ReportOutcome::Recovered);
    let headline = "back within every limit";
    sh.report(&id, &about, || {
        render(sh, svc, "WITHIN ITS LIMITS", headline, &figures, since, now)
    })
    .await;
}

fn about(sh: &Shared, svc: &Service, outcome: ReportOutcome) -> About {
    About {
        host: sh.host.clone(),
        service: svc.name.to_string(),
        outcome,
    }
}

fn render(
    sh: &Shared,
    svc: &Service,
    word: &str,
    headline: &str,
    figures: &str,
    since: u64,
    now: u64,
) -> Result<Email, ReportError> {
    let unit = svc.unit.as_str();
    let manual = [
        format!("SSH to server: ssh {}", sh.ssh_target),
        format!("See its processes and their use: systemctl status {unit}"),
        format!("Check logs: journalctl -u {unit} -n 100"),
        format!("Restart it when convenient: systemctl restart {unit}"),
    ];
    render_builtin(
        NAME,
        TEMPLATE,
        context! {
            icon => if word == "WITHIN ITS LIMITS" { "✅" } else { "⚠️" },
            word => word,
            service => svc.name.as_str(),
            domain => &svc.domain,
            host => &sh.host,
            headline => headline,
            figures => figures,
            within => word == "WITHIN ITS LIMITS",
            since => utc(since),
            now => utc(now),
            manual => manual,
        },
    )
}
