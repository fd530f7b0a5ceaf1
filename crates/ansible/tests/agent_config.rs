//! `agent_config` checks its options as its documentation states them, in Ansible's words,
//! before it renders anything.

use miraclemax::config::render;
use miraclemax_ansible::{Args, ModuleError, agent_config};
use serde_json::{Value, json};

/// The rendered text.
fn run(args: Value) -> Result<String, ModuleError> {
    let args = Args::from_json(&args.to_string()).unwrap();
    agent_config::run(&args).map(|out| out["content"].as_str().unwrap().to_string())
}

/// The module's error message.
fn refusal(args: Value) -> String {
    run(args.clone()).expect_err(&args.to_string()).to_string()
}

#[test]
fn the_agent_configuration_needs_a_host_name_a_heartbeat_fragment_does_not() {
    assert!(refusal(json!({})).starts_with("missing required arguments: host"));
    let fragment = run(json!({"heartbeat": {"ping_url": "https://hc.example/ping/x"}})).unwrap();
    assert!(fragment.starts_with("# /etc/miraclemax/"), "{fragment}");
}

#[test]
fn options_of_another_type_than_documented_are_refused() {
    assert_eq!(
        refusal(json!({"host": "lab1", "email": "ops@example.org"})),
        "argument 'email' is of type str and we were unable to convert to dict"
    );
    assert_eq!(
        refusal(json!({"host": "lab1", "monitored_services": ["passgo"]})),
        "Elements value for option 'monitored_services' is of type str and we were unable to \
         convert to dict"
    );
    assert_eq!(
        refusal(json!({"host": "lab1", "smtp_password": "maybe"})),
        "argument 'smtp_password' is of type str and we were unable to convert to bool"
    );
}

#[test]
fn documented_defaults_render_as_leaving_the_options_out_did() {
    let bare = run(json!({"host": "lab1"})).unwrap();
    // What the module rendered before it filled in defaults: nothing set at all.
    let unset = render::agent_config(&render::AgentVars {
        host: "lab1".into(),
        ssh_target: String::new(),
        monitored_services: Vec::new(),
        email: Value::Null,
        notify: Vec::new(),
        limits: Value::Null,
        protected_processes: Vec::new(),
        smtp_password: false,
        metrics_textfile: String::new(),
        host_checks: Value::Null,
    });
    assert_eq!(bare, unset);
    let explicit = run(json!({
        "host": "lab1",
        "ssh_target": "",
        "monitored_services": [],
        "email": {},
        "notify": [],
        "limits": {},
        "protected_processes": [],
        "smtp_password": false,
        "metrics_textfile": "",
        "host_checks": {},
    }))
    .unwrap();
    assert_eq!(bare, explicit);
    assert_eq!(
        run(json!({"host": "lab1", "smtp_password": "True"})).unwrap(),
        run(json!({"host": "lab1", "smtp_password": true})).unwrap(),
        "a templated boolean arrives as text"
    );
}
