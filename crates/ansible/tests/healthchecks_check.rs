//! The `healthchecks_check` Ansible module (the real binary, run the way Ansible runs it: one
//! JSON args file) against the local Healthchecks-contract server's Management API.

use mm_testbed::healthchecks::{API_KEY, CHANNEL, Forced, Healthchecks};
use serde_json::{Value, json};
use std::process::Command;

fn module(args: Value) -> (bool, Value) {
    let dir = std::env::temp_dir().join(format!("mm-module-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!(
        "args-{}.json",
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    std::fs::write(&file, args.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_miraclemax-module-healthchecks-check"))
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !stdout.contains(API_KEY),
        "the API key is never echoed: {stdout}"
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object ({e}): {stdout}"));
    assert_eq!(
        out.status.success(),
        v["failed"] == false,
        "exit code follows `failed`"
    );
    (v["failed"] == false, v)
}

fn server_check(hc: &Healthchecks) -> Value {
    json!({ "api_key": API_KEY, "api_url": hc.api_url, "name": "MiracleMax Server", "slug": "lab1", "timeout": 300, "grace": 600 })
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn hc() -> Healthchecks {
    Healthchecks::start("127.0.0.1".parse().unwrap()).unwrap()
}

#[test]
fn creating_reports_changed_and_returns_the_servers_ping_url_when_asked() {
    let hc = hc();
    let (ok, r) = module(with(server_check(&hc), json!({ "return_ping_url": true })));
    assert!(ok, "{r}");
    assert_eq!(r["changed"], true);
    let checks = hc.checks();
    assert_eq!(checks.len(), 1);
    let c = &checks[0];
    assert_eq!(
        (c.name.as_str(), c.slug.as_str(), c.timeout, c.grace),
        ("MiracleMax Server", "lab1", 300, 600)
    );
    assert_eq!(
        c.channels, CHANNEL,
        "channels default to all, so the owner is notified"
    );
    assert_eq!(r["uuid"], c.uuid.as_str());
    assert_eq!(
        r["ping_url"],
        format!("{}/{}", hc.api_url.replace("/api/v3", "/ping"), c.uuid).as_str()
    );
    assert_eq!(r["status"], "new");
    assert_eq!(r["check"]["grace"], 600);
}

#[test]
fn the_ping_url_a_secret_is_returned_only_to_a_task_that_asks_for_it() {
    let hc = hc();
    for asked in [json!({}), json!({ "return_ping_url": false })] {
        let (ok, r) = module(with(server_check(&hc), asked.clone()));
        assert!(ok, "{r}");
        assert!(r.get("ping_url").is_none(), "{asked}: {r}");
        let uuid = hc.checks()[0].uuid.clone();
        assert_eq!(r["uuid"], uuid.as_str(), "the uuid is no secret");
        assert!(
            !r.to_string().contains("/ping/"),
            "{asked}: no ping URL anywhere in the result: {r}"
        );
    }
    let (_, r) = module(with(server_check(&hc), json!({ "return_ping_url": "yes" })));
    assert!(
        r["ping_url"].as_str().is_some_and(|u| u.contains("/ping/")),
        "{r}"
    );
}

#[test]
fn the_same_settings_again_change_nothing() {
    let hc = hc();
    module(server_check(&hc));
    let writes = hc.writes();
    let (ok, r) = module(server_check(&hc));
    assert!(ok, "{r}");
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(hc.writes(), writes, "no request that writes");
    assert_eq!(hc.checks().len(), 1);
    // Options written as key=value arrive as strings; they mean the same.
    let (_, r) = module(with(
        server_check(&hc),
        json!({ "timeout": "300", "grace": "600" }),
    ));
    assert_eq!(r["changed"], false, "{r}");
}

#[test]
fn a_changed_grace_is_changed_and_the_diff_shows_it() {
    let hc = hc();
    module(server_check(&hc));
    let (ok, r) = module(with(
        server_check(&hc),
        json!({ "grace": 900, "_ansible_diff": true }),
    ));
    assert!(ok, "{r}");
    assert_eq!(r["changed"], true);
    assert_eq!(r["diff"]["before"]["grace"], 600);
    assert_eq!(r["diff"]["after"]["grace"], 900);
    assert_eq!(
        r["diff"]["before"]["timeout"],
        r["diff"]["after"]["timeout"]
    );
    assert_eq!(hc.checks()[0].grace, 900);
}

#[test]
fn check_mode_reports_the_change_and_writes_nothing() {
    let hc = hc();
    module(server_check(&hc));
    let writes = hc.writes();
    let (ok, r) = module(with(
        server_check(&hc),
        json!({ "grace": 1200, "_ansible_check_mode": true, "_ansible_diff": true }),
    ));
    assert!(ok, "{r}");
    assert_eq!(r["changed"], true);
    assert_eq!(r["msg"], "check mode: would change grace");
    assert_eq!(r["diff"]["after"]["grace"], 1200);
    assert_eq!(
        hc.writes(),
        writes,
        "check mode sends no request that writes"
    );
    assert_eq!(hc.checks()[0].grace, 600);
    let (_, r) = module(with(
        server_check(&hc),
        json!({ "slug": "new-one", "_ansible_check_mode": true }),
    ));
    assert_eq!(r["changed"], true);
    assert_eq!(hc.checks().len(), 1, "nothing created in check mode");
}

#[test]
fn absent_deletes_once() {
    let hc = hc();
    module(server_check(&hc));
    let (_, r) = module(with(server_check(&hc), json!({ "state": "absent" })));
    assert_eq!(r["changed"], true);
    assert!(hc.checks().is_empty());
    let (_, r) = module(with(server_check(&hc), json!({ "state": "absent" })));
    assert_eq!(r["changed"], false);
}

#[test]
fn paused_pauses_once() {
    let hc = hc();
    let (_, r) = module(with(server_check(&hc), json!({ "state": "paused" })));
    assert_eq!(
        (r["changed"].clone(), r["status"].clone()),
        (json!(true), json!("paused"))
    );
    assert_eq!(hc.checks()[0].status, "paused");
    let (_, r) = module(with(server_check(&hc), json!({ "state": "paused" })));
    assert_eq!(r["changed"], false, "{r}");
    let (_, r) = module(server_check(&hc));
    assert_eq!(r["changed"], true, "present resumes a paused check: {r}");
    assert_eq!(r["status"], "new");
}

#[test]
fn paused_with_only_a_slug_pauses_the_check_as_it_is_and_a_missing_one_is_no_change() {
    let hc = hc();
    // A service check whose settings differ from the module's defaults: no integration.
    let created = with(
        server_check(&hc),
        json!({ "slug": "lab1-web", "channels": "" }),
    );
    assert!(module(created).0);
    let writes = hc.writes();
    let retire =
        json!({ "api_key": API_KEY, "api_url": hc.api_url, "slug": "lab1-web", "state": "paused" });
    let (ok, r) = module(with(
        retire.clone(),
        json!({ "_ansible_check_mode": true, "_ansible_diff": true }),
    ));
    assert!(ok, "{r}");
    assert_eq!(
        (&r["changed"], &r["status"]),
        (&json!(true), &json!("paused"))
    );
    assert_eq!(r["diff"]["after"]["status"], "paused", "{r}");
    assert_eq!(hc.writes(), writes, "check mode writes nothing");
    let (ok, r) = module(retire.clone());
    assert!(ok, "{r}");
    assert_eq!(
        (&r["changed"], &r["status"]),
        (&json!(true), &json!("paused"))
    );
    let c = &hc.checks()[0];
    assert_eq!(
        (c.status.as_str(), c.channels.as_str()),
        ("paused", ""),
        "only paused"
    );
    assert_eq!(
        hc.writes(),
        writes + 1,
        "one request that writes: the pause"
    );
    let (ok, r) = module(retire.clone());
    assert!(ok && r["changed"] == false, "{r}");
    // Deleted meanwhile by its owner: nothing to pause, and no check created.
    let (ok, r) = module(with(retire, json!({ "slug": "lab1-gone" })));
    assert!(ok && r["changed"] == false, "{r}");
    assert_eq!(r["msg"], "no check has slug 'lab1-gone': nothing to pause");
    assert_eq!(hc.checks().len(), 1);
}

#[test]
fn each_error_names_its_cause() {
    let hc = hc();
    let (ok, r) = module(with(
        server_check(&hc),
        json!({ "api_key": "x".repeat(32) }),
    ));
    assert!(!ok);
    assert_eq!(
        r["msg"],
        "Healthchecks rejected the API key (wrong api key): use the project's read-write API key from its Settings page"
    );
    let (_, r) = module(with(server_check(&hc), json!({ "timeout": 59 })));
    assert_eq!(
        r["msg"],
        "Healthchecks refused the check's settings: json validation error: timeout is too small"
    );
    hc.limit_checks(0);
    let (_, r) = module(server_check(&hc));
    assert_eq!(
        r["msg"],
        "Healthchecks refused: the plan's limit on checks is reached (Checks limit reached)"
    );
    let (_, r) = module(with(
        server_check(&hc),
        json!({ "api_url": "http://127.0.0.1:9/api/v3" }),
    ));
    assert_eq!(
        r["msg"],
        "cannot reach Healthchecks at http://127.0.0.1:9/api/v3: Connection refused (os error 111)"
    );
    let (_, r) = module(with(
        server_check(&hc),
        json!({ "api_url": format!("{}/nowhere", hc.api_url) }),
    ));
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("Healthchecks answered 404 Not Found for GET: is api_url ("),
        "{r}"
    );
    let (_, r) = module(with(server_check(&hc), json!({ "grcae": 600 })));
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("Unsupported parameters for (healthchecks_check) module: grcae. Supported parameters include: api_key, "),
        "{r}"
    );
}

#[test]
fn a_rate_limit_is_retried() {
    let hc = hc();
    hc.force(Forced::Status(429, "{\"error\": \"rate limited\"}"));
    let (ok, r) = module(server_check(&hc));
    assert!(ok, "{r}");
    assert_eq!(r["changed"], true);
    assert_eq!(hc.checks().len(), 1);
}

#[test]
fn a_reply_that_is_not_the_apis_json_is_an_error_that_quotes_little_of_it() {
    let html = "<html><body>Welcome to nginx!</body></html>".to_string();
    let garbage = [
        (200, "text/html", html.clone()),
        (200, "application/json", "{\"checks\": [1, 2".to_string()),
        (201, "application/json", "[]".to_string()),
        (
            502,
            "text/html",
            format!("<html>{}</html>", "Bad Gateway ".repeat(500_000)),
        ),
    ];
    for (status, content_type, body) in garbage {
        let hc = hc();
        hc.force(Forced::Reply {
            status,
            content_type,
            body: body.clone(),
        });
        let (ok, r) = module(server_check(&hc));
        assert!(!ok, "{status} {content_type}: {r}");
        let msg = r["msg"].as_str().unwrap();
        assert!(msg.len() < 400, "a short message: {} bytes", msg.len());
        if status < 300 {
            assert!(msg.contains("not the API's JSON"), "{msg}");
        } else {
            assert!(msg.contains("HTTP 502"), "{msg}");
        }
        assert!(hc.checks().is_empty());
    }
}
