//! `add-service`, `remove-service` and `list`: the services each host watches, edited in the
//! file that defines them. An edit is worked out in memory, the inventory read again as it would
//! be, and every host it reaches checked with the daemon's own validation; only an edit that
//! adds no problem is written (or, with `--dry-run`, shown).

use crate::edit::{self, Entry};
use crate::fleet::{self, Issue};
use crate::inventory::{Inventory, InventoryError, Overlay, Place, Vault, template::Resolver};
use crate::write::{self, Snapshot};
use miraclemax_config::{ServiceName, Strategy};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

mod error;
pub use error::ServicesError;

pub const SERVICES: &str = "monitored_services";
pub const HEALTHCHECKS: &str = "healthcheck_services";

/// The inventory to work on.
pub struct Source {
    pub paths: Vec<PathBuf>,
    pub vault: Vault,
}

impl Source {
    pub fn load(&self) -> Result<Inventory, InventoryError> {
        Inventory::load(&self.paths, &self.vault)
    }
}

/// Where an edit goes: the file that defines the list for this host or group, or, when not
/// said, the one file that defines it.
#[derive(Debug, Clone)]
pub enum Target {
    Host(String),
    Group(String),
    Auto,
}

#[derive(Debug, Default, Clone)]
pub struct NewService {
    pub name: String,
    pub port: u32,
    pub domain: Option<String>,
    pub unit: Option<String>,
    pub health_path: Option<String>,
    pub health_url: Option<String>,
    /// The check command's argv, and the user it runs as.
    pub check_command: Option<Vec<String>>,
    pub check_user: Option<String>,
    /// The `certificate` key: `false`, or `{port, warn_days}`; `None`: left to the default.
    pub certificate: Option<Value>,
    pub critical: Option<bool>,
    pub strategies: Vec<String>,
    pub depends_on: Vec<String>,
    pub healthcheck: bool,
    pub limits: ResourceFlags,
}

/// The service's resource rules as given on the command line (`--memory-limit 1GiB`), written
/// as its `limits` mapping; the daemon's own validation judges them with the rest.
#[derive(Debug, Clone, Default)]
pub struct ResourceFlags {
    pub memory: Option<String>,
    pub cpu: Option<String>,
    pub tasks: Option<u32>,
    pub fds: Option<u32>,
    pub for_looks: Option<u32>,
    /// `restart` or `alert`.
    pub action: Option<String>,
}

impl ResourceFlags {
    /// The `limits` mapping, or `None` when no rule was given (`--limit-for` alone says nothing).
    fn mapping(&self) -> Option<Value> {
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.memory {
            m.insert("memory".into(), json!(v));
        }
        if let Some(v) = &self.cpu {
            m.insert("cpu".into(), json!(v));
        }
        if let Some(v) = self.tasks {
            m.insert("tasks".into(), json!(v));
        }
        if let Some(v) = self.fds {
            m.insert("fds".into(), json!(v));
        }
        if m.is_empty() {
            return None;
        }
        if let Some(v) = self.for_looks {
            m.insert("for".into(), json!(v));
        }
        if let Some(v) = &self.action {
            m.insert("action".into(), json!(v));
        }
        Some(Value::Object(m))
    }
}

/// File edits ready to be written, and what they reach.
pub struct Plan {
    pub edits: Vec<(Snapshot, String)>,
    pub hosts: Vec<String>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn diff(&self) -> String {
        self.edits
            .iter()
            .map(|(s, new)| write::diff(&s.path, s.text.as_deref().unwrap_or(""), new))
            .collect()
    }

    /// Writes each edit; a file an edit left empty is removed.
    pub fn write(&self) -> Result<(), ServicesError> {
        for (snap, new) in &self.edits {
            if new.is_empty() && snap.text.is_some() {
                write::remove(snap)?;
            } else {
                write::replace(snap, new)?;
            }
        }
        Ok(())
    }

    pub fn files(&self) -> Vec<String> {
        self.edits
            .iter()
            .map(|(s, _)| s.path.display().to_string())
            .collect()
    }
}

/// The entry as it is written in the inventory, keys in the user guide's order.
fn entry(s: &NewService) -> Entry {
    let mut m: Vec<(String, Value)> = vec![("name".into(), json!(s.name))];
    if let Some(u) = &s.unit {
        m.push(("unit".into(), json!(u)));
    }
    m.push(("port".into(), json!(s.port)));
    if let Some(d) = &s.domain {
        m.push(("domain".into(), json!(d)));
    }
    if let Some(c) = s.critical {
        m.push(("critical".into(), json!(c)));
    }
    if !s.strategies.is_empty() {
        m.push(("healing_strategies".into(), json!(s.strategies)));
    }
    if !s.depends_on.is_empty() {
        m.push(("depends_on".into(), json!(s.depends_on)));
    }
    match (&s.health_path, &s.health_url, &s.check_command) {
        (Some(p), _, _) => m.push(("health".into(), json!({ "path": p }))),
        (None, Some(u), _) => m.push(("health".into(), json!({ "url": u }))),
        (None, None, Some(argv)) => {
            let mut h = serde_json::Map::new();
            h.insert("command".into(), json!(argv));
            if let Some(user) = &s.check_user {
                h.insert("user".into(), json!(user));
            }
            m.push(("health".into(), Value::Object(h)));
        }
        _ => {}
    }
    if let Some(limits) = s.limits.mapping() {
        m.push(("limits".into(), limits));
    }
    if let Some(c) = &s.certificate {
        m.push(("certificate".into(), c.clone()));
    }
    Entry::Map(m)
}

/// What can be said about the new entry before looking at any host.
fn precheck(s: &NewService) -> Result<(), ServicesError> {
    if let Err(reason) = ServiceName::parse(&s.name) {
        return Err(ServicesError::BadName {
            name: s.name.clone(),
            reason,
        });
    }
    if s.port == 0 || s.port > 65535 {
        return Err(ServicesError::PortOutOfRange {
            name: s.name.clone(),
            port: s.port,
        });
    }
    if let Some(st) = s.strategies.iter().find(|st| Strategy::parse(st).is_none()) {
        return Err(ServicesError::UnknownStrategy {
            name: s.name.clone(),
            strategy: st.clone(),
        });
    }
    Ok(())
}

pub fn add(src: &Source, s: &NewService, target: &Target) -> Result<Plan, ServicesError> {
    precheck(s)?;
    let inv = src.load()?;
    let place = place_for(&inv, target, SERVICES)?;
    let mut texts: BTreeMap<PathBuf, (Snapshot, String)> = BTreeMap::new();
    let mut notes = Vec::new();
    let mut own = |t: &str, place: &Place, var: &str| -> Result<String, ServicesError> {
        match inherited(&inv, target, var) {
            Some((items, from)) => {
                notes.push(own_copy_note(target, var, items.len(), &from, place));
                with_own_copy(t, place, var, &items)
            }
            None => Ok(t.to_string()),
        }
    };
    let (snap, text) = current(&inv, &texts, &place.file)?;
    let text = own(&text, &place, SERVICES)?;
    let text =
        edit::append(&text, &place, SERVICES, &entry(s)).map_err(|e| at_file(&place.file, e))?;
    texts.insert(place.file.clone(), (snap, text));
    if s.healthcheck {
        // Beside the services when the host has no list of its own yet.
        let hc = place_for(&inv, target, HEALTHCHECKS)
            .ok()
            .filter(|p| !p.file.starts_with("roles/"))
            .unwrap_or_else(|| place.clone());
        let bare = Entry::Name(s.name.clone());
        let (snap, text) = current(&inv, &texts, &hc.file)?;
        let text = own(&text, &hc, HEALTHCHECKS)?;
        let text =
            edit::append(&text, &hc, HEALTHCHECKS, &bare).map_err(|e| at_file(&hc.file, e))?;
        texts.insert(hc.file.clone(), (snap, text));
    }
    let mut plan = finish(src, &inv, texts, &place, SERVICES)?;
    plan.warnings.extend(notes);
    Ok(plan)
}

pub fn remove(src: &Source, name: &str, target: &Target) -> Result<Plan, ServicesError> {
    let inv = src.load()?;
    let mut places: Vec<(Place, &str)> = Vec::new();
    for var in [SERVICES, HEALTHCHECKS] {
        match target {
            Target::Auto => places.extend(all_places(&inv, var).into_iter().map(|p| (p, var))),
            t => places.extend(place_for(&inv, t, var).ok().map(|p| (p, var))),
        }
    }
    let mut texts: BTreeMap<PathBuf, (Snapshot, String)> = BTreeMap::new();
    let mut first = None;
    let mut notes = Vec::new();
    for (place, var) in &places {
        let mut snap = current(&inv, &texts, &place.file)?;
        let mut note = None;
        if let Some((items, from)) = inherited(&inv, target, var)
            && items.iter().any(|i| edit::entry_name(i) == Some(name))
        {
            snap.1 = with_own_copy(&snap.1, place, var, &items)?;
            note = Some(own_copy_note(target, var, items.len(), &from, place));
        }
        if let Some(mut new) =
            edit::remove(&snap.1, place, var, name).map_err(|e| at_file(&place.file, e))?
        {
            if first.is_none() && *var == SERVICES {
                first = Some(place.clone());
            }
            if left_empty(&new, place, var) {
                new = drop_if_same(src, &texts, place, var, new)?;
            }
            match drop_own_copy(&inv, target, var, place, &new)? {
                Some((dropped, fallback)) => {
                    new = dropped;
                    // The host now takes the list from there: the edit is judged where it
                    // reaches.
                    if *var == SERVICES {
                        first = Some(fallback);
                    }
                }
                None => notes.extend(note),
            }
            texts.insert(place.file.clone(), (snap.0, new));
        }
    }
    if texts.is_empty() {
        return Err(ServicesError::NotListed {
            name: name.to_string(),
            target: target.clone(),
        });
    }
    let reach = first.unwrap_or_else(|| places[0].0.clone());
    let mut plan = finish(src, &inv, texts, &reach, SERVICES)?;
    plan.warnings.extend(notes);
    Ok(plan)
}

/// A host's own list that, after the removal, holds what the host would take from its group
/// anyway is taken out (and its file with it, when nothing else is left there): `add-service
/// --host` then `remove-service --host` leaves the inventory as it was. Gives the new text and
/// the place the host then takes the list from.
fn drop_own_copy(
    inv: &Inventory,
    target: &Target,
    var: &str,
    place: &Place,
    new: &str,
) -> Result<Option<(String, Place)>, ServicesError> {
    let Target::Host(h) = target else {
        return Ok(None);
    };
    let mut hv = inv.host_vars(h);
    let Some(layers) = hv.layers.remove(var) else {
        return Ok(None);
    };
    // What the host takes when its own definition is gone: the next layer down.
    let fallback = layers
        .iter()
        .rev()
        .find(|d| d.at != *place && !is_own(inv, h, var, &d.at));
    let mut now = crate::inventory::parse_yaml(new)?;
    for k in &place.keys {
        now = now[k.as_str()].take();
    }
    let fallback = match fallback {
        Some(d) if now.get(var) == Some(&d.value) => d.at.clone(),
        _ => return Ok(None),
    };
    let without = edit::remove_key(new, place, var).map_err(|e| at_file(&place.file, e))?;
    let bare = without.trim();
    let text = if matches!(bare, "" | "---" | "{}" | "--- {}") {
        String::new()
    } else {
        without
    };
    Ok(Some((text, fallback)))
}

fn left_empty(text: &str, place: &Place, var: &str) -> bool {
    let Ok(mut v) = crate::inventory::parse_yaml(text) else {
        return false;
    };
    for k in &place.keys {
        v = v[k.as_str()].take();
    }
    v.get(var)
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
}

/// A list the removal left empty is taken out whole when every host that used it then gets
/// an empty list anyway (so `add-service` then `remove-service` gives the file back as it
/// was); a list that empties a group's list for a host stays, as `[]`.
fn drop_if_same(
    src: &Source,
    texts: &BTreeMap<PathBuf, (Snapshot, String)>,
    place: &Place,
    var: &str,
    emptied: String,
) -> Result<String, ServicesError> {
    let Ok(without) = edit::remove_key(&emptied, place, var) else {
        return Ok(emptied);
    };
    let mut overlay: BTreeMap<PathBuf, String> = texts
        .iter()
        .map(|(p, (_, t))| (p.clone(), t.clone()))
        .collect();
    overlay.insert(place.file.clone(), emptied.clone());
    let with = Inventory::load_with(&src.paths, &src.vault, &Overlay(overlay.clone()))?;
    overlay.insert(place.file.clone(), without.clone());
    let after = Inventory::load_with(&src.paths, &src.vault, &Overlay(overlay))?;
    let users: Vec<&String> = with
        .hosts
        .keys()
        .filter(|h| with.host_vars(h).defined_at(var) == Some(place))
        .collect();
    let empty = |inv: &Inventory, h: &str| {
        let hv = inv.host_vars(h);
        matches!(Resolver::new(&hv).get(var), Ok(Value::Array(a)) if a.is_empty())
    };
    if users.iter().all(|h| empty(&after, h)) {
        Ok(without)
    } else {
        Ok(emptied)
    }
}

/// Reads the inventory again with the edits in place, and refuses if any host they reach
/// gets a problem it did not have.
fn finish(
    src: &Source,
    inv: &Inventory,
    texts: BTreeMap<PathBuf, (Snapshot, String)>,
    place: &Place,
    var: &str,
) -> Result<Plan, ServicesError> {
    let overlay = Overlay(
        texts
            .iter()
            .map(|(p, (_, t))| (p.clone(), t.clone()))
            .collect(),
    );
    let after = Inventory::load_with(&src.paths, &src.vault, &overlay)?;
    let hosts: Vec<String> = after
        .hosts
        .keys()
        .filter(|h| after.host_vars(h).defined_at(var) == Some(place))
        .cloned()
        .collect();
    let mut warnings = Vec::new();
    if let Some((_, used)) = after.shadowed.iter().find(|(file, _)| *file == place.file) {
        return Err(ServicesError::Shadowed {
            file: place.file.clone(),
            used: used.clone(),
        });
    }
    if hosts.is_empty() {
        return Err(ServicesError::NoHostWouldUse {
            file: place.file.clone(),
            var: var.to_string(),
        });
    }
    let mut new_issues: Vec<Issue> = Vec::new();
    // What was wrong before, said once per problem (keyed without its host) with the hosts
    // it concerns.
    let mut already: BTreeMap<Issue, Vec<String>> = BTreeMap::new();
    for h in &hosts {
        let before: Vec<(String, String)> = fleet::check(inv, h)
            .into_iter()
            .map(|i| (i.object, i.message))
            .collect();
        for mut i in fleet::check(&after, h) {
            if !before.contains(&(i.object.clone(), i.message.clone())) {
                new_issues.push(i);
            } else {
                let host = std::mem::take(&mut i.host);
                already.entry(i).or_default().push(host);
            }
        }
    }
    for (issue, hosts) in already {
        warnings.push(format!(
            "already wrong before this edit: {}",
            issue.shown_for(&hosts)
        ));
    }
    if !new_issues.is_empty() {
        return Err(ServicesError::Refused {
            problems: fleet::said_once(&new_issues),
        });
    }
    warnings.sort();
    warnings.dedup();
    Ok(Plan {
        edits: texts.into_values().collect(),
        hosts,
        warnings,
    })
}

/// The file as read, and its text with the edits so far; refused when mmctl may not edit it.
fn current(
    inv: &Inventory,
    texts: &BTreeMap<PathBuf, (Snapshot, String)>,
    file: &PathBuf,
) -> Result<(Snapshot, String), ServicesError> {
    inv.editable(file)?;
    if let Some((s, t)) = texts.get(file) {
        return Ok((
            Snapshot {
                path: s.path.clone(),
                text: s.text.clone(),
            },
            t.clone(),
        ));
    }
    let snap = write::snapshot(file)?;
    let text = snap.text.clone().unwrap_or_default();
    Ok((snap, text))
}

fn at_file(file: &std::path::Path, reason: edit::EditError) -> ServicesError {
    ServicesError::Edit {
        file: file.to_path_buf(),
        reason,
    }
}

/// Where the list `var` is (or is to be) defined for the target.
fn place_for(inv: &Inventory, target: &Target, var: &str) -> Result<Place, ServicesError> {
    match target {
        Target::Host(h) => {
            if !inv.hosts.contains_key(h) {
                return Err(no_host(inv, h));
            }
            // The host's own list, never a group's it takes it from (see `inherited`).
            if let Some(p) = inv.host_vars(h).defined_at(var)
                && is_own(inv, h, var, p)
            {
                return Ok(p.clone());
            }
            let file = new_place(&inv.hosts[h].files, &var_dir(inv).join("host_vars"), h);
            Ok(Place { file, keys: vec![] })
        }
        Target::Group(g) => {
            let Some(group) = inv.groups.get(g) else {
                return Err(ServicesError::NoGroup {
                    group: g.clone(),
                    groups: inv.groups.keys().cloned().collect(),
                });
            };
            if let Some(f) = group.files.iter().rev().find(|f| f.vars.contains_key(var)) {
                return Ok(f.vars[var].at.clone());
            }
            if let Some(d) = group.vars.get(var) {
                return Ok(d.at.clone());
            }
            let file = new_place(&group.files, &var_dir(inv).join("group_vars"), g);
            Ok(Place { file, keys: vec![] })
        }
        Target::Auto => {
            let places = all_places(inv, var);
            // Only defined where mmctl may not edit (an inventory plugin's or script's data).
            if let Some(p) = places.first()
                && places.iter().all(|p| inv.editable(&p.file).is_err())
            {
                inv.editable(&p.file)?;
            }
            match places.as_slice() {
                [one] => Ok(one.clone()),
                [] => {
                    let groups: Vec<&String> = inv
                        .groups
                        .keys()
                        .filter(|g| *g != "all" && *g != "ungrouped" && !inv.hosts_in(g).is_empty())
                        .collect();
                    match groups.as_slice() {
                        [g] => place_for(inv, &Target::Group((*g).clone()), var),
                        _ => Err(ServicesError::NowhereYet {
                            var: var.to_string(),
                        }),
                    }
                }
                many => {
                    let files: Vec<String> =
                        many.iter().map(|p| p.file.display().to_string()).collect();
                    Err(ServicesError::SeveralFiles {
                        var: var.to_string(),
                        files,
                    })
                }
            }
        }
    }
}

/// Whether `place` is the host's own: one of its host_vars files, or its own entry in a hosts
/// file.
fn is_own(inv: &Inventory, h: &str, var: &str, place: &Place) -> bool {
    let host = &inv.hosts[h];
    host.files.iter().any(|f| f.path == place.file)
        || host.vars.get(var).is_some_and(|d| d.at == *place)
}

/// When the target is a host that so far takes `var` from a group (or `all`), that list's
/// entries as written, and where they are: an edit for this host alone first gives it a list
/// of its own with them, then changes that.
fn inherited(inv: &Inventory, target: &Target, var: &str) -> Option<(Vec<Value>, Place)> {
    let Target::Host(h) = target else {
        return None;
    };
    let hv = inv.host_vars(h);
    let def = hv.defs.get(var)?;
    if def.at.file.starts_with("roles/") || is_own(inv, h, var, &def.at) {
        return None;
    }
    match &def.value {
        Value::Array(items) => Some((items.clone(), def.at.clone())),
        _ => None,
    }
}

/// `text` with the inherited entries (see `inherited`) written as the host's own list.
fn with_own_copy(
    text: &str,
    place: &Place,
    var: &str,
    items: &[Value],
) -> Result<String, ServicesError> {
    let mut out = text.to_string();
    for item in items {
        let entry = match item {
            Value::String(s) => Entry::Name(s.clone()),
            Value::Object(m) => {
                // `name:` first, as the guides write an entry.
                let mut pairs: Vec<(String, Value)> = m
                    .get("name")
                    .map(|n| ("name".to_string(), n.clone()))
                    .into_iter()
                    .collect();
                pairs.extend(
                    m.iter()
                        .filter(|(k, _)| *k != "name")
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                Entry::Map(pairs)
            }
            other => {
                return Err(ServicesError::CannotCopy {
                    var: var.to_string(),
                    entry: other.clone(),
                });
            }
        };
        out = edit::append(&out, place, var, &entry).map_err(|e| at_file(&place.file, e))?;
    }
    Ok(out)
}

/// Said when a host got a list of its own.
fn own_copy_note(target: &Target, var: &str, n: usize, from: &Place, place: &Place) -> String {
    let h = match target {
        Target::Host(h) => h.as_str(),
        _ => "",
    };
    format!(
        "host '{h}' now has its own {var} in {}: the {n} entries it had from {}, changed for it alone; later edits of that list no longer reach it",
        place.file.display(),
        from.file.display()
    )
}

/// The file a variable new to a group or host goes in: its last vars file that is not a
/// sealed vault, else `main.yml` in its folder if it has one, else `<dir>/<name>.yml`.
fn new_place(files: &[crate::inventory::VarsFile], dir: &std::path::Path, name: &str) -> PathBuf {
    if let Some(f) = files.iter().rev().find(|f| !f.sealed) {
        return f.path.clone();
    }
    let folder = dir.join(name);
    if folder.is_dir() {
        folder.join("main.yml")
    } else {
        dir.join(format!("{name}.yml"))
    }
}

/// What validation could not read for want of the vault password: each vaulted file, and
/// each inline `!vault` value a host is given (its variable and file), once.
pub fn not_opened(inv: &Inventory) -> Vec<String> {
    let mut out: Vec<String> = inv
        .sealed_files()
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    if inv.vault.has_secrets() {
        return out;
    }
    let mut inline = std::collections::BTreeSet::new();
    for h in inv.hosts.keys() {
        for (name, d) in inv.host_vars(h).defs {
            if let Value::String(s) = &d.value
                && crate::inventory::vault::is_vault(s)
            {
                inline.insert(format!("{}: {name}", d.at.file.display()));
            }
        }
    }
    out.extend(inline);
    out
}

/// Every place in the inventory that gives some host its `var`.
fn all_places(inv: &Inventory, var: &str) -> Vec<Place> {
    let mut v: Vec<Place> = Vec::new();
    for h in inv.hosts.keys() {
        if let Some(p) = inv.host_vars(h).defined_at(var)
            && !v.contains(p)
        {
            v.push(p.clone());
        }
    }
    v
}

fn var_dir(inv: &Inventory) -> PathBuf {
    inv.var_dirs
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."))
}

fn no_host(inv: &Inventory, host: &str) -> ServicesError {
    ServicesError::NoHost {
        host: host.to_string(),
        hosts: inv.hosts.keys().cloned().collect(),
    }
}

/// One host's services, as `mmctl list` shows them.
#[derive(Debug, serde::Serialize)]
pub struct HostServices {
    pub host: String,
    pub file: Option<String>,
    pub services: Vec<Value>,
    pub healthchecks: Vec<String>,
    pub problem: Option<String>,
}

pub fn list(
    src: &Source,
    only: Option<&str>,
    limit: Option<&str>,
) -> Result<Vec<HostServices>, ServicesError> {
    let inv = src.load()?;
    let selected = match limit {
        Some(l) => Some(inv.matching(l)?),
        None => None,
    };
    if let Some(h) = only
        && !inv.hosts.contains_key(h)
    {
        return Err(no_host(&inv, h));
    }
    let mut out = Vec::new();
    for h in inv
        .hosts
        .keys()
        .filter(|h| only.is_none_or(|o| o == h.as_str()))
        .filter(|h| selected.as_ref().is_none_or(|s| s.contains(h)))
    {
        let hv = inv.host_vars(h);
        let r = Resolver::new(&hv);
        let mut problem = None;
        let services = match r.get(SERVICES) {
            Ok(Value::Array(a)) => a,
            Ok(_) => Vec::new(),
            Err(e) => {
                problem = Some(e.to_string());
                Vec::new()
            }
        };
        let healthchecks = match r.get(HEALTHCHECKS) {
            Ok(Value::Array(a)) => a
                .iter()
                .filter_map(edit::entry_name)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        out.push(HostServices {
            host: h.clone(),
            file: hv
                .defined_at(SERVICES)
                .map(|p| p.file.display().to_string()),
            services,
            healthchecks,
            problem,
        });
    }
    Ok(out)
}

/// Every problem of every host, for `mmctl validate`.
pub fn validate(src: &Source) -> Result<(Inventory, Vec<Issue>), ServicesError> {
    let inv = src.load().map_err(ServicesError::ReadingInventory)?;
    let mut all = Vec::new();
    for h in inv.hosts.keys() {
        all.extend(fleet::check(&inv, h));
    }
    Ok((inv, all))
}

/// `mmctl list` as a table: one line per service, hosts in name order.
pub fn table(hosts: &[HostServices]) -> String {
    let mut rows: Vec<[String; 6]> = Vec::new();
    let blank = String::new;
    for h in hosts {
        let file = h.file.clone().unwrap_or_default();
        if let Some(p) = &h.problem {
            rows.push([
                h.host.clone(),
                format!("(cannot tell: {p})"),
                blank(),
                blank(),
                blank(),
                blank(),
            ]);
            continue;
        }
        if h.services.is_empty() {
            rows.push([
                h.host.clone(),
                "(none)".into(),
                blank(),
                blank(),
                blank(),
                file.clone(),
            ]);
        }
        for s in &h.services {
            let name = edit::entry_name(s).unwrap_or("?").to_string();
            let port = s.get("port").map(|p| p.to_string()).unwrap_or_default();
            let strategies = match s.get("healing_strategies") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => "(default)".into(),
            };
            let hc = if h.healthchecks.contains(&name) {
                "yes"
            } else {
                "-"
            };
            rows.push([
                h.host.clone(),
                name,
                port,
                strategies,
                hc.into(),
                file.clone(),
            ]);
        }
    }
    crate::table::render(
        [
            "HOST",
            "SERVICE",
            "PORT",
            "STRATEGIES",
            "HEALTHCHECK",
            "DEFINED IN",
        ],
        rows,
    )
}
