//! The certificates' task: reads each service's certificate when it is due
//! (`certificates::next_read_ms`: once a day, and the moment the last one read expires), one
//! service after another, judges it, keeps it in the service's state and queues its report. At
//! rest it is one timer, set for the next read due. A read that fails is said in the journal
//! when its reason changes, never by email: a service without TLS on that port is no incident.

use super::Shared;
use crate::certificates::report::{Said, render};
use crate::certificates::{Notice, Seen, due, failed, judge, next_read_ms};
use crate::config::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest sleep between two passes (a clock set forward is noticed within it).
const AT_MOST: Duration = Duration::from_secs(3600);

pub(super) async fn run(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let services: Vec<&Service> = sh
        .config
        .services
        .iter()
        .filter(|s| s.certificate.is_some())
        .collect();
    if services.is_empty() {
        return;
    }
    loop {
        let mut next = u64::MAX;
        for svc in &services {
            let now = sh.ctx.clock.now_ms();
            if due(seen(&sh, svc).as_ref(), now) {
                read_one(&sh, svc).await;
            }
            next = next.min(next_read_ms(seen(&sh, svc).as_ref()));
        }
        let wait = Duration::from_millis(next.saturating_sub(sh.ctx.clock.now_ms())).min(AT_MOST);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

fn seen(sh: &Shared, svc: &Service) -> Option<Seen> {
    let st = sh.lock_state();
    st.services
        .get(svc.name.as_str())
        .and_then(|s| s.certificate.as_deref().cloned())
}

async fn read_one(sh: &Shared, svc: &Service) {
    let Some(check) = &svc.certificate else {
        return;
    };
    let before = seen(sh, svc);
    let now = sh.ctx.clock.now_ms();
    let name = svc.name.as_str();
    let (after, notice) =
        match crate::probe::certificate::read(check, sh.config.limits.probe_timeout).await {
            Ok(served) => {
                let (after, notice) = judge(before.as_ref(), &served, check.warn_days, now);
                if before
                    .as_ref()
                    .is_none_or(|b| b.serial != after.serial || b.error.is_some())
                {
                    tracing::info!(
                        service = name,
                        event = "certificate",
                        "certificate read from {}: serial {}, valid until {}",
                        check.shown(),
                        after.serial,
                        crate::notify::report::utc(after.not_after_ms)
                    );
                }
                (after, notice)
            }
            Err(e) => {
                let why = e.to_string();
                if before.as_ref().and_then(|b| b.error.as_ref()) != Some(&why) {
                    tracing::info!(
                        service = name,
                        event = "certificate",
                        "certificate not read: {why}; tried again in a day"
                    );
                }
                (failed(before.as_ref(), why, now), None)
            }
        };
    if let Some(notice) = notice {
        let said = Said {
            host: &sh.host,
            ssh_target: &sh.ssh_target,
            service: svc,
            check,
            seen: &after,
            notice,
        };
        let message = format!("certificate {}: {}", notice.word(), said.headline());
        match notice {
            Notice::Renewed => tracing::info!(
                service = name,
                event = "certificate",
                result = "ok",
                "{message}"
            ),
            _ => tracing::warn!(
                service = name,
                event = "certificate",
                result = notice.word(),
                "{message}"
            ),
        }
        sh.append_event(crate::state::Event {
            time_ms: now,
            service: name.to_string(),
            event: "certificate".into(),
            incident: String::new(),
            result: notice.word().to_lowercase(),
            message,
        });
        sh.report(&said.id(), &said.about(), || render(&said)).await;
    }
    sh.update_service(name, |s| s.certificate = Some(Box::new(after)));
}
