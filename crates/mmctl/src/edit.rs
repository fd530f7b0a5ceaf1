//! Edits of a variable that holds a list (`monitored_services`, `healthcheck_services`) in
//! the user's own YAML file, through a lossless syntax tree (yaml-edit): comments, blank lines,
//! key order, quoting and flow or block style stay byte for byte outside the entry added or
//! removed. Every edit is checked by parsing the result again: the variable must hold exactly
//! the intended list and every other value of the file must be unchanged, or nothing is written.

use crate::inventory::Place;
use serde_json::Value;
use std::str::FromStr;
use yaml_edit::{Document, Mapping, MappingBuilder, Sequence, SequenceBuilder, YamlFile};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot edit this file: {0}")]
    Unsupported(String),
    #[error("the edit did not give the intended result, so nothing was written: {0}")]
    Check(String),
}

/// A list entry to add, keys in the order they are written.
#[derive(Debug, Clone)]
pub enum Entry {
    Name(String),
    Map(Vec<(String, Value)>),
}

impl Entry {
    pub fn to_value(&self) -> Value {
        match self {
            Entry::Name(n) => Value::String(n.clone()),
            Entry::Map(pairs) => Value::Object(pairs.iter().cloned().collect()),
        }
    }
}

/// The file's text with `item` appended to the list `var` at `place` (the list is created
/// when the variable is not in that mapping yet).
pub fn append(text: &str, place: &Place, var: &str, item: &Entry) -> Result<String, EditError> {
    let before = data(text)?;
    let out = match mapping_at(text, &place.keys)? {
        Some((file, m)) => {
            match m.get_sequence(var) {
                Some(seq) => push(&seq, item),
                None if m.get(var).is_some_and(|n| !is_null(&n)) => {
                    return Err(EditError::Unsupported(format!(
                        "'{var}' is not a list here (an expression?); edit it by hand"
                    )));
                }
                None => {
                    let seq = SequenceBuilder::new().build_document();
                    let seq = seq.as_sequence().expect("a sequence");
                    push(&seq, item);
                    m.set(var, &seq);
                }
            }
            file.to_string()
        }
        None if place.keys.is_empty() && before.is_null() => {
            // A new or comment-only file: the variable goes after what is there.
            let doc = Document::new_mapping();
            let seq = SequenceBuilder::new().build_document();
            let seq = seq.as_sequence().expect("a sequence");
            push(&seq, item);
            doc.as_mapping().expect("a mapping").set(var, &seq);
            let mut t = text.to_string();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
            t.push_str(&doc.to_string());
            if !t.ends_with('\n') {
                t.push('\n');
            }
            t
        }
        None => {
            return Err(EditError::Unsupported(format!(
                "no mapping at {} to add '{var}' to",
                place.keys.join(".")
            )));
        }
    };
    let out = same_ending(text, out);
    let mut expected = before.clone();
    let mut list = list_at(&before, &place.keys, var).unwrap_or_default();
    list.push(item.to_value());
    set_at(&mut expected, &place.keys, var, Value::Array(list));
    check(&out, &expected)?;
    Ok(out)
}

/// The file's text with the entries of list `var` at `place` named `name` removed (an entry
/// is a mapping with that `name:` or the bare name). `None` when there is none.
pub fn remove(
    text: &str,
    place: &Place,
    var: &str,
    name: &str,
) -> Result<Option<String>, EditError> {
    let before = data(text)?;
    let Some((file, m)) = mapping_at(text, &place.keys)? else {
        return Ok(None);
    };
    let Some(seq) = m.get_sequence(var) else {
        return Ok(None);
    };
    let list = list_at(&before, &place.keys, var).unwrap_or_default();
    let keep: Vec<Value> = list
        .iter()
        .filter(|v| entry_name(v) != Some(name))
        .cloned()
        .collect();
    if keep.len() == list.len() {
        return Ok(None);
    }
    for (i, v) in list.iter().enumerate().rev() {
        if entry_name(v) == Some(name) {
            seq.remove(i);
        }
    }
    let out = same_ending(text, file.to_string());
    let mut expected = before.clone();
    set_at(&mut expected, &place.keys, var, Value::Array(keep));
    check(&out, &expected)?;
    Ok(Some(out))
}

/// The file's text without the variable `var` at `place` (for a list left empty whose
/// absence means the same).
pub fn remove_key(text: &str, place: &Place, var: &str) -> Result<String, EditError> {
    let before = data(text)?;
    let Some((file, m)) = mapping_at(text, &place.keys)? else {
        return Ok(text.to_string());
    };
    m.remove(var);
    let out = same_ending(text, file.to_string());
    let mut expected = before;
    let mut cur = &mut expected;
    for k in &place.keys {
        cur = &mut cur[k.as_str()];
    }
    if let Value::Object(o) = cur {
        o.remove(var);
    }
    let got = data(&out)?;
    // A file left without keys reads as nothing at all.
    if got != expected && !(got.is_null() && expected.as_object().is_some_and(|o| o.is_empty())) {
        return Err(EditError::Check(
            "the file would hold other values than intended".into(),
        ));
    }
    Ok(out)
}

/// An edit at the end of a file keeps the file's last line ending as it was.
fn same_ending(before: &str, mut after: String) -> String {
    if before.ends_with('\n') && !after.ends_with('\n') {
        after.push('\n');
    }
    after
}

/// The name of a list entry: `name:` of a mapping, or a bare string.
pub fn entry_name(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("name").and_then(Value::as_str),
        _ => None,
    }
}

/// The 1-based line of `key` in the mapping that variable `var` holds at `place` (the
/// `from:` of `self_healing_email`), for error messages.
pub fn line_of_key(text: &str, place: &Place, var: &str, key: &str) -> Option<usize> {
    let (_, m) = mapping_at(text, &place.keys).ok()??;
    let offset = m.get(var)?.get(key)?.byte_range().start as usize;
    Some(text[..offset.min(text.len())].matches('\n').count() + 1)
}

/// The 1-based line of the entry named `name` in list `var` at `place`, for error messages.
pub fn line_of(text: &str, place: &Place, var: &str, name: Option<&str>) -> Option<usize> {
    let (_, m) = mapping_at(text, &place.keys).ok()??;
    let offset = match (name, m.get_sequence(var)) {
        (Some(name), Some(seq)) => {
            let items: Vec<_> = seq.values().collect();
            let list = list_at(&data(text).ok()?, &place.keys, var)?;
            let i = list.iter().position(|v| entry_name(v) == Some(name))?;
            items.get(i)?.byte_range().start as usize
        }
        _ => m.get(var)?.byte_range().start as usize,
    };
    Some(text[..offset.min(text.len())].matches('\n').count() + 1)
}

fn push(seq: &Sequence, item: &Entry) {
    match item {
        Entry::Map(pairs) => {
            let doc = mapping(pairs).build_document();
            seq.push(doc.as_mapping().expect("a mapping"));
        }
        Entry::Name(s) => seq.push(string(s)),
    }
}

/// A string for the editor: quoted when YAML 1.1, as Ansible reads the file, would take it
/// plain for something else (`on`, `12:30`, `1_000`); the editor's own rules (YAML 1.2's)
/// decide the rest.
fn string(s: &str) -> yaml_edit::ScalarValue {
    if crate::inventory::plain_reads_as_string(s) {
        yaml_edit::ScalarValue::string(s)
    } else {
        yaml_edit::ScalarValue::single_quoted(s)
    }
}

/// A mapping for the editor, in the order given.
fn mapping(pairs: &[(String, Value)]) -> MappingBuilder {
    let mut b = MappingBuilder::new();
    {
        for (k, v) in pairs {
            b = match v {
                Value::String(s) => b.pair(k.clone(), string(s)),
                Value::Bool(x) => b.pair(k.clone(), *x),
                Value::Number(n) if n.is_i64() => b.pair(k.clone(), n.as_i64().unwrap_or_default()),
                Value::Number(n) => b.pair(k.clone(), n.as_f64().unwrap_or_default()),
                Value::Array(items) => {
                    // Lists of names in flow style (`[a, b]`), as the user guide writes them.
                    let seq = Sequence::new_flow();
                    for i in items {
                        seq.push(string(i.as_str().unwrap_or_default()));
                    }
                    b.pair(k.clone(), &seq)
                }
                Value::Object(m) => {
                    let inner: Vec<(String, Value)> =
                        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    b.insert_mapping(k.clone(), mapping(&inner))
                }
                Value::Null => b,
            };
        }
    }
    b
}

fn is_null(n: &yaml_edit::YamlNode) -> bool {
    n.as_scalar().is_some_and(|s| {
        let t = s.as_string();
        t.is_empty() || t == "~" || t == "null"
    })
}

/// The parsed file and the mapping at `keys` in it (`None` when the file has no mapping there).
fn mapping_at(text: &str, keys: &[String]) -> Result<Option<(YamlFile, Mapping)>, EditError> {
    let file = YamlFile::from_str(text).map_err(|e| EditError::Unsupported(e.to_string()))?;
    if file.documents().count() > 1 {
        return Err(EditError::Unsupported(
            "it holds more than one YAML document".into(),
        ));
    }
    let Some(mut m) = file.document().and_then(|d| d.as_mapping()) else {
        return Ok(None);
    };
    for k in keys {
        match m.get_mapping(k.as_str()) {
            Some(next) => m = next,
            None => return Ok(None),
        }
    }
    Ok(Some((file, m)))
}

fn data(text: &str) -> Result<Value, EditError> {
    crate::inventory::parse_yaml(text).map_err(|e| EditError::Unsupported(e.to_string()))
}

fn list_at(v: &Value, keys: &[String], var: &str) -> Option<Vec<Value>> {
    let mut cur = v;
    for k in keys {
        cur = cur.get(k)?;
    }
    cur.get(var)?.as_array().cloned()
}

fn set_at(v: &mut Value, keys: &[String], var: &str, new: Value) {
    if v.is_null() {
        *v = Value::Object(Default::default());
    }
    let mut cur = v;
    for k in keys {
        cur = &mut cur[k.as_str()];
    }
    cur[var] = new;
}

fn check(out: &str, expected: &Value) -> Result<(), EditError> {
    let got = data(out).map_err(|e| EditError::Check(format!("the result does not parse: {e}")))?;
    if &got != expected {
        return Err(EditError::Check(
            "the file would hold other values than intended (please report this with the file's shape)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn top() -> Place {
        Place {
            file: PathBuf::from("x.yml"),
            keys: vec![],
        }
    }

    #[test]
    fn an_entry_added_then_removed_leaves_the_file_byte_for_byte() {
        let files = [
            "---\n# lead\nmonitored_services:\n  # first\n  - name: a   # beside\n    port: 1\n    healing_strategies: [service_restart]\n  # trailing\n\nother: 'q'  # kept\n",
            "monitored_services: [{name: a, port: 1}]  # flow\nother: \"x\"\n",
            "monitored_services: []\n",
            "other: 1\n",
            "# nothing but a comment\n",
            "",
        ];
        let item = Entry::Map(vec![
            ("name".into(), json!("new")),
            ("port".into(), json!(3000)),
            (
                "healing_strategies".into(),
                json!(["service_restart", "port_conflict"]),
            ),
        ]);
        for f in files {
            let added = append(f, &top(), "monitored_services", &item).unwrap();
            assert!(added.contains("new"), "{added}");
            let removed = remove(&added, &top(), "monitored_services", "new")
                .unwrap()
                .unwrap();
            if f.contains("monitored_services") {
                assert_eq!(removed, f, "after adding:\n{added}");
            }
        }
    }

    #[test]
    fn bare_names_and_mappings_are_both_entries() {
        let f = "healthcheck_services:\n  - story   # c\n  - name: passgo\n";
        let out = remove(f, &top(), "healthcheck_services", "story")
            .unwrap()
            .unwrap();
        assert_eq!(out, "healthcheck_services:\n  - name: passgo\n");
        assert_eq!(
            line_of(f, &top(), "healthcheck_services", Some("passgo")),
            Some(3)
        );
        let f = "x: 1\nself_healing_email:\n  smtp_host: a\n  # c\n  from: b\n";
        assert_eq!(
            line_of_key(f, &top(), "self_healing_email", "from"),
            Some(5)
        );
        assert_eq!(line_of_key(f, &top(), "self_healing_email", "to"), None);
    }

    #[test]
    fn a_variable_that_is_an_expression_is_not_edited() {
        let f = "monitored_services: \"{{ base + extra }}\"\n";
        let e = append(f, &top(), "monitored_services", &Entry::Name("x".into())).unwrap_err();
        assert!(e.to_string().contains("not a list"), "{e}");
    }
}
