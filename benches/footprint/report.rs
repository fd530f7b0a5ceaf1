//! The footprint results as Markdown, rendered from `results/footprint.json` only. Shared by the
//! benchmark (which writes `results/footprint.md` and the README section) and the fast test
//! `tests/integration/readme_results.rs` (which checks the README section is exactly this
//! rendering of the committed JSON), so the README cannot drift from the results file.

use serde_json::Value;

pub const BEGIN: &str = "<!-- footprint:begin -->";
pub const END: &str = "<!-- footprint:end -->";

/// Median, min, max and count of a set of measurements; `null` fields when there are none.
pub fn stat(values: &[f64]) -> Value {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return serde_json::json!({"median": null, "min": null, "max": null, "n": 0});
    }
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    serde_json::json!({"median": median, "min": v[0], "max": v[n - 1], "n": n})
}

fn decimals(unit: &str) -> usize {
    match unit {
        "% of a core" => 3,
        "MiB" => 1,
        _ => 0,
    }
}

fn number(x: f64, unit: &str) -> String {
    format!("{:.*}", decimals(unit), x)
}

/// `10.9 MiB (10.8-11.0)`: the median, then the spread over rounds when there was more than one.
pub fn value(stat: &Value, unit: &str) -> String {
    let Some(median) = stat["median"].as_f64() else {
        return "-".into();
    };
    let unit_text = if unit == "% of a core" { "%" } else { unit };
    let mut s = format!("{} {unit_text}", number(median, unit));
    if stat["n"].as_u64().unwrap_or(0) > 1 {
        let (lo, hi) = (stat["min"].as_f64().unwrap(), stat["max"].as_f64().unwrap());
        s.push_str(&format!(" ({}-{})", number(lo, unit), number(hi, unit)));
    }
    s.trim_end().to_string()
}

fn cell(v: &Value) -> String {
    v.as_str().unwrap_or("").replace('|', "\\|")
}

/// The figures: one row per measurement, both healers side by side.
pub fn figures_table(doc: &Value) -> String {
    let mut s = String::from(
        "| what | services | setting | MiracleMax | Monit | note |\n|---|---|---|---|---|---|\n",
    );
    for f in doc["figures"].as_array().into_iter().flatten() {
        let unit = f["unit"].as_str().unwrap_or("");
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&f["what"]),
            f["services"],
            cell(&f["setting"]),
            value(&f["miraclemax"], unit),
            value(&f["monit"], unit),
            cell(&f["note"]),
        ));
    }
    s
}

/// The targets from the issue: measured value, met or not, by how much a miss misses and why
/// (worked out from the figures themselves).
pub fn targets_table(doc: &Value) -> String {
    let mut s =
        String::from("| target | measured | met | missed by | why |\n|---|---|---|---|---|\n");
    for t in doc["targets"].as_array().into_iter().flatten() {
        let met = t["met"].as_bool().unwrap_or(false);
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&t["target"]),
            cell(&t["measured"]),
            if met { "yes" } else { "**no**" },
            if met {
                "-".to_string()
            } else {
                cell(&t["missed_by"])
            },
            if met {
                "-".to_string()
            } else {
                cell(&t["why"])
            },
        ));
    }
    s
}

/// What sits between the README's footprint markers (without the markers).
pub fn readme_section(doc: &Value) -> String {
    format!(
        "\n## Footprint and scale, next to Monit\n\
         `{}` (root; boots two testbed hosts, one per healer, at the same time; {}). \
         Median over rounds, spread (min-max) in brackets. Measured {} on {}, kernel {}, {} cores, \
         {} GiB; method and raw figures in `results/footprint.md` and `results/footprint.json`, \
         plot in `results/footprint.png`.\n\n{}\n{}\n",
        doc["command"].as_str().unwrap_or(""),
        doc["settings_text"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or(""),
        doc["machine"]["cpu"].as_str().unwrap_or(""),
        doc["machine"]["kernel"].as_str().unwrap_or(""),
        doc["machine"]["cores"],
        doc["machine"]["memory_gib"],
        figures_table(doc),
        targets_table(doc),
    )
}

/// MiracleMax's memory and idle CPU in an earlier run (`results/before/footprint.json`) next to
/// this one's: what the daemon's cost-at-rest work changed, measured the same way.
pub fn before_after(before: &Value, after: &Value) -> String {
    let mut s = format!(
        "\n## Before and after\nMiracleMax in {} (the daemon before its cost-at-rest work; \
         `results/before/`) and in this run, the same benchmark:\n\n\
         | what | services | setting | before | after | after / before |\n|---|---|---|---|---|---|\n",
        before["date"].as_str().unwrap_or("an earlier run"),
    );
    let kept = [
        "VmRSS at rest",
        "RssAnon at rest",
        "idle CPU",
        "VmHWM (peak, start and heals)",
    ];
    for f in after["figures"].as_array().into_iter().flatten() {
        if !kept.iter().any(|k| f["what"] == *k) {
            continue;
        }
        let old = before["figures"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| {
                b["what"] == f["what"]
                    && b["services"] == f["services"]
                    && b["setting"] == f["setting"]
            });
        let (Some(a), Some(b)) = (
            f["miraclemax"]["median"].as_f64(),
            old.and_then(|o| o["miraclemax"]["median"].as_f64()),
        ) else {
            continue;
        };
        let unit = f["unit"].as_str().unwrap_or("");
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} |\n",
            cell(&f["what"]),
            f["services"],
            cell(&f["setting"]),
            value(&old.unwrap()["miraclemax"], unit),
            value(&f["miraclemax"], unit),
            if b > 0.0 { a / b } else { f64::NAN },
        ));
    }
    s
}

/// `results/footprint.md`: date, machine and method, then the same tables as the README.
pub fn results_markdown(doc: &Value) -> String {
    format!(
        "# MiracleMax footprint and scale, next to Monit\n\n\
         - date: {}\n- command: `{}`\n- machine: {}, {} cores, {} GiB memory, kernel {}\n\
         - settings: {}\n- wall time of the run: {} s\n\n## Method\n{}\n\n## Figures\n{}\n## Targets\n{}",
        doc["date"].as_str().unwrap_or(""),
        doc["command"].as_str().unwrap_or(""),
        doc["machine"]["cpu"].as_str().unwrap_or(""),
        doc["machine"]["cores"],
        doc["machine"]["memory_gib"],
        doc["machine"]["kernel"].as_str().unwrap_or(""),
        doc["settings_text"].as_str().unwrap_or(""),
        doc["wall_secs"],
        doc["method"].as_str().unwrap_or(""),
        figures_table(doc),
        targets_table(doc),
    )
}

/// The text between the markers, if both are there in order.
pub fn section_of(readme: &str) -> Option<&str> {
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = start + readme[start..].find(END)?;
    Some(&readme[start..end])
}

/// The README with its section replaced (or appended, markers included, when it has none).
pub fn with_section(readme: &str, section: &str) -> String {
    match (readme.find(BEGIN), readme.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{BEGIN}{section}{}", &readme[..b], &readme[e..]),
        _ => format!("{}\n{BEGIN}{section}{END}\n", readme.trim_end()),
    }
}
