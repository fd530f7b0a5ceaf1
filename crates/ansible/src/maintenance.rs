//! `miraclemax.stack.maintenance`: a deploy window from a play. `state: paused` writes the same
//! pause files as `miraclemax-self-heal pause` (one per service, or the global one when no
//! service is named), each ending `for` from now (at most 24 h): the end is the guarantee a
//! failed play relies on, since nothing else would resume healing. `state: resumed` removes
//! them. `changed` is honest: a pause that already ends later is kept as it is (a play never
//! shortens an operator's longer pause), resuming what is not paused changes nothing. Check
//! mode reports what would change and writes nothing; `--diff` shows the pauses before and
//! after.

use super::spec::{Default, Elements, Opt, Spec};
use super::{Args, ModuleError};
use miraclemax::config::{Config, parse_span};
use miraclemax::daemon::control::Control;
use miraclemax::notify::report::utc;
use serde_json::{Map, Value, json};
use std::time::Duration;

const DEFAULT_FOR: Duration = Duration::from_secs(30 * 60);
const MAX_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// What the task asks for, validated.
#[derive(Debug, PartialEq)]
enum Want {
    Paused(Duration),
    Resumed,
}

/// What `plugins/modules/maintenance.yml` documents. `for`'s default is DEFAULT_FOR's.
pub const SPEC: Spec = Spec {
    module: "maintenance",
    options: &[
        Opt::str("state").required().choices(&["paused", "resumed"]),
        Opt::list("services", Elements::Str),
        Opt::str("for").default(Default::Str("30m")),
        Opt::path("config").default(Default::Str(miraclemax::config::DEFAULT_PATH)),
        Opt::path("state_dir").default(Default::Str(miraclemax::state::DEFAULT_DIR)),
    ],
};

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    let args = &args.validate(&SPEC)?;
    let (path, dirs) = args.host_paths()?;
    let want = want(args)?;
    let config = miraclemax::config::load(&path)?;
    let names = services(args, &config, &path)?;
    let now = miraclemax::heal::incident::now_ms() / 1000;
    let plan = plan(&Control::new(&dirs.root), &names, &config, &want, now);
    let mut out = Map::new();
    out.insert("changed".into(), json!(plan.changed()));
    out.insert("msg".into(), json!(plan.msg(&want)));
    out.insert("services".into(), json!(plan.targets()));
    if let Want::Paused(_) = want {
        out.insert("paused_until".into(), json!(utc(plan.until * 1000)));
        out.insert("paused_until_epoch".into(), json!(plan.until));
    }
    if !plan.warnings.is_empty() {
        out.insert("warnings".into(), json!(plan.warnings));
    }
    if args.diff() {
        out.insert(
            "diff".into(),
            json!({
                "before": plan.show(|s| s.before, now),
                "after": plan.show(|s| s.after, now),
                "before_header": "healing pauses",
                "after_header": "healing pauses",
            }),
        );
    }
    if !args.check_mode() {
        plan.apply(&Control::new(&dirs.root))?;
    }
    Ok(out)
}

/// Only what SPEC cannot say is checked here: `for` goes with `paused` only, and its bounds.
fn want(args: &Args) -> Result<Want, ModuleError> {
    let span = args.str("for")?.filter(|_| args.given("for"));
    match args.str("state")?.as_deref() {
        Some("paused") => {
            let d = match span {
                None => DEFAULT_FOR,
                Some(s) => parse_span(&s).map_err(|e| ModuleError::refused(format!("for: {e}")))?,
            };
            if d.is_zero() || d > MAX_FOR {
                return Err(ModuleError::refused(format!(
                    "for: {} is out of range: a pause lasts more than 0 s and at most 24h, so \
                     healing always comes back by itself",
                    humantime::format_duration(d)
                )));
            }
            Ok(Want::Paused(d))
        }
        Some("resumed") if span.is_some() => Err(ModuleError::refused(
            "for applies to state: paused only (a resume takes effect at once)",
        )),
        // Validated against SPEC: required, one of paused, resumed.
        _ => Ok(Want::Resumed),
    }
}

/// The services named (`None`: all of them, through the global pause), each checked against
/// the configuration. A comma-separated string is a list, as for Python modules.
fn services(
    args: &Args,
    config: &Config,
    path: &std::path::Path,
) -> Result<Option<Vec<String>>, ModuleError> {
    // Validated against SPEC: a list of strings (a comma-separated string already split).
    let names: Vec<String> = match args.value("services").and_then(Value::as_array) {
        None => return Ok(None),
        Some(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
    };
    if names.is_empty() {
        return Err(ModuleError::refused(
            "services is empty: name the services to pause or resume, or leave the option out \
             for all of them",
        ));
    }
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| config.service(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let watched: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        return Err(ModuleError::refused(format!(
            "service(s) {} not watched in {} (watched: {}): name those as in \
             monitored_services, or leave services out to pause every one",
            unknown.join(", "),
            path.display(),
            if watched.is_empty() {
                "none".to_string()
            } else {
                watched.join(", ")
            }
        )));
    }
    Ok(Some(names))
}

/// One pause file: `None` names the global one. Ends are unix seconds, kept only while in
/// force.
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    service: Option<String>,
    before: Option<u64>,
    after: Option<u64>,
}

#[derive(Debug)]
struct Plan {
    slots: Vec<Slot>,
    until: u64,
    warnings: Vec<String>,
}

fn plan(
    control: &Control,
    names: &Option<Vec<String>>,
    config: &Config,
    want: &Want,
    now: u64,
) -> Plan {
    let in_force = |s: Option<&str>| control.pause_end(s).filter(|end| *end > now);
    let until = match want {
        Want::Paused(d) => now + d.as_secs(),
        Want::Resumed => now,
    };
    // Resuming everything ends every service's own pause too; pausing everything is the one
    // global file.
    let targets: Vec<Option<String>> = match (names, want) {
        (Some(n), _) => n.iter().cloned().map(Some).collect(),
        (None, Want::Paused(_)) => vec![None],
        (None, Want::Resumed) => std::iter::once(None)
            .chain(config.services.iter().map(|s| Some(s.name.to_string())))
            .collect(),
    };
    let mut warnings = Vec::new();
    let slots = targets
        .into_iter()
        .map(|service| {
            let before = in_force(service.as_deref());
            let after = match want {
                Want::Paused(_) => Some(before.map_or(until, |b| b.max(until))),
                Want::Resumed => None,
            };
            Slot {
                service,
                before,
                after,
            }
        })
        .collect::<Vec<_>>();
    if let (Some(_), Want::Resumed, Some(all)) = (names, want, in_force(None)) {
        warnings.push(format!(
            "healing of every service is paused until {} (a pause without services): the \
             services named stay paused until that ends or a resume without services",
            utc(all * 1000)
        ));
    }
    Plan {
        slots,
        until,
        warnings,
    }
}

impl Plan {
    fn changed(&self) -> bool {
        self.slots.iter().any(|s| s.before != s.after)
    }

    fn targets(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter_map(|s| s.service.clone())
            .collect()
    }

    fn msg(&self, want: &Want) -> String {
        let who = |s: &Slot| s.service.clone().unwrap_or_else(|| "every service".into());
        let moved: Vec<String> = self
            .slots
            .iter()
            .filter(|s| s.before != s.after)
            .map(who)
            .collect();
        match want {
            Want::Paused(_) if moved.is_empty() => {
                "healing was already paused at least that long; nothing changed".into()
            }
            Want::Paused(_) => format!(
                "healing of {} paused until {} (it resumes by itself then)",
                moved.join(", "),
                utc(self.until * 1000)
            ),
            Want::Resumed if moved.is_empty() => "healing was not paused; nothing changed".into(),
            Want::Resumed => format!("healing of {} resumed", moved.join(", ")),
        }
    }

    /// The pauses as `--diff` shows them, one line per pause file concerned.
    fn show(&self, side: impl Fn(&Slot) -> Option<u64>, now: u64) -> String {
        self.slots
            .iter()
            .map(|s| {
                let who = s.service.as_deref().unwrap_or("(every service)");
                match side(s) {
                    Some(end) => format!(
                        "{who}: paused until {} ({} from now)\n",
                        utc(end * 1000),
                        humantime::format_duration(Duration::from_secs(end - now))
                    ),
                    None => format!("{who}: not paused\n"),
                }
            })
            .collect()
    }

    fn apply(&self, control: &Control) -> Result<(), ModuleError> {
        for s in &self.slots {
            match s.after {
                Some(end) if s.before != s.after => control
                    .pause(s.service.as_deref(), end)
                    .map_err(|source| ModuleError::Write {
                        what: "the pause",
                        source,
                    })?,
                Some(_) => {}
                // An expired file is removed too, so what is left on disk is what is in force.
                None => {
                    let _ = control.resume(s.service.as_deref());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
