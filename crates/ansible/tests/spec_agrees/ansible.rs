//! Ansible's own answer for a batch of argument sets: one process of the project venv's
//! Python runs `ArgumentSpecValidator` on each, then reports what `AnsibleModule` (the class
//! every Python module starts with; `ansible/module_utils/basic.py`) makes of the result: the
//! `_ansible_*` keys it takes out first, its first error only, the `Unsupported parameters
//! for (MODULE) module: ` prefix it adds, and `_ansible_ignore_unknown_opts`. Nothing between
//! a play and `AnsibleModule` changes a null: a Python module run by `ansible` with
//! `{"name": null}` (required `str`) received `''`, and with `{"timeout": null}` (an `int`
//! defaulting to 120) failed with the validator's type error, as here.

use miraclemax_ansible::spec::{Kind, Spec};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const HARNESS: &str = r#"
import json, sys, traceback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean

def run(case):
    params = dict(case["args"])
    ignore_unknown = False
    for k in PASS_VARS:  # AnsibleModule._set_internal_properties
        key = "_ansible_" + k
        if key in params:
            if k == "ignore_unknown_opts":
                ignore_unknown = boolean(params[key])
            del params[key]
    result = ArgumentSpecValidator(dict(case["spec"])).validate(params)
    errors = result.errors.errors
    if errors and isinstance(errors[0], UnsupportedError) and ignore_unknown:
        errors = []
    if not errors:
        return {"ok": True, "params": result.validated_parameters}
    msg = errors[0].msg
    if isinstance(errors[0], UnsupportedError):
        msg = "Unsupported parameters for (%s) module: %s" % (case["module"], msg)
    return {"ok": False, "msg": msg, "messages": [e.msg for e in errors]}

out = []
for case in json.load(sys.stdin):
    try:
        out.append(run(case))
    except Exception:
        out.append({"ok": False, "crash": traceback.format_exc()})
json.dump(out, sys.stdout)
"#;

/// The project venv's Python (`scripts/install-deps` makes it), found as the other tests
/// find it; there is no Ansible to compare with without it, so its absence fails the test.
fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{}: no Python with ansible-core to compare the modules' option checks with; run \
         scripts/install-deps to create the project's .venv",
        python.display()
    );
    python
}

/// The spec as the `argument_spec` a Python module would declare, as `[name, options]` pairs
/// in the order it declares them (Ansible checks types in that order and reports the first).
pub fn argument_spec(spec: &Spec) -> Value {
    let mut options = Vec::new();
    for opt in spec.options {
        let mut o = Map::new();
        o.insert("type".into(), json!(opt.kind.name()));
        if let Kind::List(elements) = opt.kind {
            o.insert("elements".into(), json!(elements.name()));
        }
        if opt.required {
            o.insert("required".into(), json!(true));
        }
        if !opt.choices.is_empty() {
            o.insert("choices".into(), json!(opt.choices));
        }
        if let Some(default) = opt.default.value() {
            o.insert("default".into(), default);
        }
        options.push(json!([opt.name, Value::Object(o)]));
    }
    Value::Array(options)
}

/// Ansible's verdicts, in the order of `cases` (each: spec, JSON text of the arguments).
pub fn verdicts(cases: &[(&Spec, String)]) -> Vec<Value> {
    // The arguments go as their own text, as Ansible would write them (key order included).
    let input: Vec<String> = cases
        .iter()
        .map(|(spec, args)| {
            format!(
                r#"{{"module": {}, "spec": {}, "args": {args}}}"#,
                json!(spec.module),
                argument_spec(spec)
            )
        })
        .collect();
    let input = format!("[{}]", input.join(",\n"));
    let python = python();
    let mut child = Command::new(&python)
        .args(["-c", HARNESS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: cannot run: {e}", python.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        let mut stdin = stdin;
        stdin.write_all(input.as_bytes())
    });
    let out = child.wait_with_output().expect("the Python harness runs");
    writer
        .join()
        .unwrap()
        .expect("the cases reach the Python harness");
    assert!(
        out.status.success(),
        "{} -c HARNESS failed ({}): {}",
        python.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Value> =
        serde_json::from_slice(&out.stdout).expect("the Python harness prints a JSON list");
    assert_eq!(verdicts.len(), cases.len(), "one verdict per case");
    verdicts
}
