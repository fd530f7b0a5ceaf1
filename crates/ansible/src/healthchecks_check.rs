//! `healthchecks_check`: ensures a Healthchecks check exists with the wanted settings (upsert on
//! slug), is absent, or is paused, and returns its uuid (and, when asked with
//! `return_ping_url`, its ping_url) so playbooks never need a human to copy a ping URL.
//! `changed` only when something differs; check mode writes nothing; diff mode shows the
//! settings before and after. The API key is never echoed, and the ping URL, a secret (anyone
//! who has it can make the check report up), is returned only to a task that asks for it,
//! so a caller that forgot `no_log` does not print it.

use super::spec::{Default, Opt, Spec};
use super::{Args, ModuleError};
use miraclemax::heartbeat::api::{Api, HOSTED};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// What `plugins/modules/healthchecks_check.yml` documents.
pub const SPEC: Spec = Spec {
    module: "healthchecks_check",
    options: &[
        Opt::str("api_key").required(),
        Opt::str("api_url").default(Default::Str(HOSTED)),
        Opt::str("name"),
        Opt::str("slug").required(),
        Opt::str("tags"),
        Opt::str("desc"),
        Opt::int("timeout"),
        Opt::int("grace"),
        Opt::str("schedule"),
        Opt::str("tz"),
        Opt::str("channels").default(Default::Str("*")),
        Opt::str("state")
            .choices(&["present", "absent", "paused"])
            .default(Default::Str("present")),
        Opt::bool("return_ping_url").default(Default::Bool(false)),
    ],
};

/// The settings compared and shown in diffs, in this order.
const SETTINGS: &[&str] = &[
    "name", "slug", "tags", "desc", "timeout", "grace", "schedule", "tz", "channels",
];

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    let args = &args.validate(&SPEC)?;
    // Required and defaulted in SPEC, so present once validated.
    let text = |k: &str| args.str(k).map(Option::unwrap_or_default);
    let key = text("api_key")?;
    let api_url = text("api_url")?;
    let slug = text("slug")?;
    if slug.is_empty()
        || slug
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'))
    {
        return Err(ModuleError::refused(format!(
            "slug '{slug}' may only hold a-z, 0-9, - and _"
        )));
    }
    let state = text("state")?;
    let mut out = super::block_on(ensure(args, Api::new(&api_url, &key), &slug, &state))??;
    if args.bool("return_ping_url")? != Some(true) {
        out.remove("ping_url");
    }
    Ok(out)
}

/// The settings the task asks for (only those it names), channels still as written.
fn wanted(args: &Args, slug: &str) -> Result<Map<String, Value>, ModuleError> {
    let mut w = Map::new();
    w.insert("slug".into(), json!(slug));
    for k in ["name", "tags", "desc", "schedule", "tz"] {
        if let Some(v) = args.str(k)? {
            w.insert(k.into(), json!(v));
        }
    }
    for k in ["timeout", "grace"] {
        if let Some(v) = args.int(k)? {
            w.insert(k.into(), json!(v));
        }
    }
    w.insert(
        "channels".into(),
        json!(args.str("channels")?.unwrap_or_else(|| "*".into())),
    );
    Ok(w)
}

fn settings(check: &Value) -> Map<String, Value> {
    SETTINGS
        .iter()
        .filter_map(|k| check.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// Channels as a set of integration ids, whether written as "*", "", names or ids.
fn channel_set(spec: &str, all: &[(String, String)]) -> BTreeSet<String> {
    match spec.trim() {
        "*" => all.iter().map(|(id, _)| id.clone()).collect(),
        "" => BTreeSet::new(),
        list => list
            .split(',')
            .map(str::trim)
            .map(|c| {
                all.iter()
                    .find(|(id, name)| id == c || name == c)
                    .map_or(c.to_string(), |(id, _)| id.clone())
            })
            .collect(),
    }
}

/// Healthchecks' refusal or silence, as the module's error.
fn refused(e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Healthchecks(e.to_string())
}

/// `state: absent`: the check deleted if there is one.
async fn absent(
    args: &Args,
    api: &Api,
    slug: &str,
    existing: Option<&Value>,
    before: Map<String, Value>,
) -> Result<Map<String, Value>, ModuleError> {
    let mut out = Map::new();
    if let Some(c) = existing {
        if !args.check_mode() {
            api.delete(c["uuid"].as_str().unwrap_or(""))
                .await
                .map_err(refused)?;
        }
        out.insert("changed".into(), json!(true));
    }
    if args.diff() {
        out.insert(
            "diff".into(),
            json!({ "before": before, "after": {}, "before_header": slug, "after_header": slug }),
        );
    }
    Ok(out)
}

/// `state: paused` with no `name`: the check of a service no longer watched, paused as it is
/// (no setting compared or sent), or nothing when there is no such check.
async fn pause_only(
    args: &Args,
    api: &Api,
    slug: &str,
    existing: Option<Value>,
) -> Result<Map<String, Value>, ModuleError> {
    let mut out = Map::new();
    let Some(mut check) = existing else {
        out.insert("changed".into(), json!(false));
        out.insert(
            "msg".into(),
            json!(format!("no check has slug '{slug}': nothing to pause")),
        );
        return Ok(out);
    };
    let was = check["status"].clone();
    let changed = pause_or_resume(api, &mut check, "paused", args.check_mode()).await?;
    out.insert("changed".into(), json!(changed));
    for k in ["uuid", "status"] {
        out.insert(k.into(), check.get(k).cloned().unwrap_or(Value::Null));
    }
    if args.check_mode() && changed {
        out.insert("status".into(), json!("paused"));
    }
    if args.diff() {
        out.insert(
            "diff".into(),
            json!({ "before": { "status": was }, "after": { "status": "paused" },
                    "before_header": slug, "after_header": slug }),
        );
    }
    Ok(out)
}

/// `paused` pauses the check, `present` resumes a paused one (present means watched: a paused
/// check alerts no one); whether that is a change.
async fn pause_or_resume(
    api: &Api,
    check: &mut Value,
    state: &str,
    check_mode: bool,
) -> Result<bool, ModuleError> {
    let paused = check["status"].as_str() == Some("paused");
    let uuid = check["uuid"].as_str().unwrap_or("").to_string();
    if state == "paused" && !paused {
        if !check_mode {
            *check = api.pause(&uuid).await.map_err(refused)?;
        }
        Ok(true)
    } else if state == "present" && paused {
        if !check_mode {
            *check = api.resume(&uuid).await.map_err(refused)?;
        }
        Ok(true)
    } else {
        Ok(false)
    }
}

async fn ensure(
    args: &Args,
    api: Api,
    slug: &str,
    state: &str,
) -> Result<Map<String, Value>, ModuleError> {
    let existing = api.find_by_slug(slug).await.map_err(refused)?;
    let check_mode = args.check_mode();
    let mut out = Map::new();
    let before = existing.as_ref().map(settings).unwrap_or_default();

    if state == "absent" {
        return absent(args, &api, slug, existing.as_ref(), before).await;
    }
    if state == "paused" && !args.given("name") {
        return pause_only(args, &api, slug, existing).await;
    }

    let want = wanted(args, slug)?;
    if existing.is_none() && !want.contains_key("name") {
        return Err(ModuleError::refused(format!(
            "name is required to create check '{slug}'"
        )));
    }
    let all_channels = api.channels().await.map_err(refused)?;
    let differs = |k: &str, v: &Value| -> bool {
        let Some(c) = &existing else { return true };
        if k == "channels" {
            let have = c["channels"].as_str().unwrap_or("");
            return channel_set(v.as_str().unwrap_or(""), &all_channels)
                != channel_set(have, &all_channels);
        }
        c.get(k) != Some(v)
    };
    let changed_fields: Vec<&String> = want
        .iter()
        .filter(|(k, v)| differs(k, v))
        .map(|(k, _)| k)
        .collect();
    let mut check = existing.clone().unwrap_or(Value::Null);
    let mut changed = !changed_fields.is_empty();
    if changed && !check_mode {
        let mut body = want.clone();
        body.insert("unique".into(), json!(["slug"]));
        check = api.upsert(&Value::Object(body)).await.map_err(refused)?;
    }
    if pause_or_resume(&api, &mut check, state, check_mode).await? {
        changed = true;
    }
    let mut after = before.clone();
    for (k, v) in &want {
        if differs(k, v) {
            after.insert(k.clone(), v.clone());
        }
    }
    out.insert("changed".into(), json!(changed));
    for k in ["uuid", "ping_url", "status"] {
        out.insert(k.into(), check.get(k).cloned().unwrap_or(Value::Null));
    }
    out.insert(
        "check".into(),
        Value::Object(if check.is_null() {
            after.clone()
        } else {
            settings(&check)
        }),
    );
    if args.diff() {
        out.insert("diff".into(), json!({ "before": before, "after": after, "before_header": slug, "after_header": slug }));
    }
    if check_mode && changed {
        out.insert(
            "msg".into(),
            json!(format!(
                "check mode: would change {}",
                changed_fields
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    Ok(out)
}
