//! This build reads the files an earlier one kept: `tests/fixtures/format-1/` holds the state
//! (an incident open on example, second's last one) and a report queued for the mail server
//! exactly as the earlier build's daemon wrote them on a real host (the upgrade test,
//! `MM_WRITE_FIXTURES=1`). Each is read, said to be of format 1, carried over without losing a
//! field, and written back as this build's format.

use miraclemax::formats::CURRENT;
use miraclemax::notify::outbox::{Outbox, carry_over};
use miraclemax::state::Dirs;
use serde_json::Value;
use std::path::Path;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/format-1")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_state_an_earlier_build_wrote_is_read_with_its_incidents_and_saved_as_this_builds_format() {
    let text = fixture("state.json");
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert!(raw.get("format").is_none(), "a file of format 1 has none");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("state.json"), &text).unwrap();
    let dirs = Dirs::new(dir.path());

    let (state, note) = dirs.read_state().unwrap();
    let note = note.expect("format 1 is said");
    assert!(!note.later);
    assert_eq!(
        note.text,
        format!(
            "{}: the state written by an earlier MiracleMax (format 1): read and carried over, \
             written as format {CURRENT} from now on",
            dirs.state().display()
        )
    );
    assert_eq!(state.format, CURRENT);
    let example = &state.services["example"];
    let open = example
        .open
        .as_ref()
        .expect("the incident open when it was written");
    assert_eq!(
        open.id,
        raw["services"]["example"]["open"]["id"].as_str().unwrap()
    );
    assert_eq!(example.machine.phase.name(), "healing");
    assert_eq!(
        open.steps,
        raw["services"]["example"]["open"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    let last = state.services["second"]
        .last
        .as_ref()
        .expect("second's last incident");
    assert_eq!(
        last.id,
        raw["services"]["second"]["last"]["id"].as_str().unwrap()
    );

    // Saved as this build's format, every field of the earlier one kept as it was.
    dirs.save_state(&state).unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(dirs.state()).unwrap()).unwrap();
    assert_eq!(saved["format"], CURRENT);
    let mut without = saved.as_object().unwrap().clone();
    without.remove("format");
    assert_eq!(Value::Object(without), raw);
    assert_eq!(
        dirs.read_state().unwrap().1,
        None,
        "nothing to say the second time"
    );
}

#[test]
fn a_report_an_earlier_build_queued_is_carried_over_and_delivered_as_it_was() {
    let text = fixture("outbox-report.json");
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert!(raw.get("format").is_none(), "a file of format 1 has none");
    let id = raw["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{id}.json"));
    std::fs::write(&file, &text).unwrap();

    let said = carry_over(dir.path(), "the mail server");
    assert_eq!(
        said,
        [format!(
            "{}: a report waiting for the mail server ({id}) written by an earlier MiracleMax \
             (format 1): read and carried over, written as format {CURRENT} from now on",
            file.display()
        )]
    );
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(rewritten["format"], CURRENT);
    let mut without = rewritten.as_object().unwrap().clone();
    without.remove("format");
    assert_eq!(Value::Object(without), raw, "nothing else changed");
    assert!(carry_over(dir.path(), "the mail server").is_empty());

    let waiting = Outbox::open(dir.path()).unwrap().pending();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, id);
    assert_eq!(
        waiting[0].email.subject,
        raw["email"]["subject"].as_str().unwrap()
    );
    assert_eq!(
        waiting[0].email.body,
        raw["email"]["body"].as_str().unwrap()
    );
    assert_eq!(
        waiting[0].about.service,
        raw["about"]["service"].as_str().unwrap()
    );
}

#[test]
fn a_report_of_a_later_build_is_said_and_left_and_an_unreadable_one_is_kept_for_a_person() {
    let mut later: Value = serde_json::from_str(&fixture("outbox-report.json")).unwrap();
    later["format"] = (CURRENT + 1).into();
    later["only_the_later_build_knows"] = "this".into();
    let dir = tempfile::tempdir().unwrap();
    let later_file = dir.path().join("later.json");
    let later_text = serde_json::to_string_pretty(&later).unwrap();
    std::fs::write(&later_file, &later_text).unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"id\": ").unwrap();

    let mut said = carry_over(dir.path(), "channel 'phone' (ntfy)");
    said.sort();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with(&format!(
            "{}: a report waiting for channel 'phone' (ntfy) cannot be read (",
            broken.display()
        )) && said[0].ends_with("left in place, and not delivered by this build"),
        "{}",
        said[0]
    );
    assert!(
        said[1].contains(&format!(
            "written by a later MiracleMax (format {}; this one writes format {CURRENT})",
            CURRENT + 1
        )),
        "{}",
        said[1]
    );
    assert_eq!(std::fs::read_to_string(&later_file).unwrap(), later_text);
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{\"id\": ");
    // The later one is still delivered, for what this build knows of it.
    let waiting = Outbox::open(dir.path()).unwrap().pending();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, later["id"].as_str().unwrap());
}

#[test]
fn the_heartbeat_record_of_format_1_is_read_as_it_was() {
    // The record's fields have not changed since format 1; a file without `format` is one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("heartbeat.json"),
        r#"{"last_run_ms": 1796000000000, "last_success_ms": 1795999700000,
            "last_signal": "fail", "last_delivered": true, "last_error": null}"#,
    )
    .unwrap();
    let record = miraclemax::heartbeat::load_record(&Dirs::new(dir.path()));
    assert_eq!(record.format, 1);
    assert_eq!(
        (
            record.last_run_ms,
            record.last_success_ms,
            record.last_signal.as_str()
        ),
        (1_796_000_000_000, 1_795_999_700_000, "fail")
    );
}
