//! The daemon's unit runs with least privilege, and docs/self-healing.md ("Least privilege")
//! gives the reason for each option it sets and for each one it leaves off.

use std::path::Path;

/// The sandboxing and privilege directives of a unit's [Service] section.
const SANDBOXING: &[&str] = &[
    "User",
    "DynamicUser",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "PrivateUsers",
    "PrivatePIDs",
    "ProtectProc",
    "ProcSubset",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "RestrictAddressFamilies",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "UMask",
    "StateDirectory",
    "StateDirectoryMode",
    "IPAddressDeny",
];

#[test]
fn every_hardening_option_of_the_daemons_unit_is_set_or_documented_as_off() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit =
        std::fs::read_to_string(repo.join("templates/miraclemax-self-heal.service")).unwrap();
    let doc = std::fs::read_to_string(repo.join("docs/self-healing.md")).unwrap();
    let section = doc
        .split("### Least privilege")
        .nth(1)
        .expect("docs/self-healing.md has a Least privilege section");
    let section = section.split("\n## ").next().unwrap();
    let (used, off) = section
        .split_once("Left off, and why:")
        .expect("a list of options left off");
    let set: Vec<(&str, &str)> = unit
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| SANDBOXING.contains(k))
        .collect();
    for key in [
        "CapabilityBoundingSet",
        "NoNewPrivileges",
        "ProtectSystem",
        "StateDirectory",
        "PrivateTmp",
        "PrivateDevices",
        "RestrictAddressFamilies",
        "SystemCallFilter",
    ] {
        assert!(set.iter().any(|(k, _)| *k == key), "the unit sets {key}");
    }
    for (key, value) in &set {
        if *key == "User" {
            continue;
        }
        assert!(
            used.contains(&format!("`{key}={value}`")) || used.contains(&format!("{key}={value}`")),
            "docs/self-healing.md explains {key}={value}"
        );
    }
    for key in SANDBOXING {
        if !set.iter().any(|(k, _)| k == key) {
            assert!(
                off.contains(&format!("`{key}")),
                "docs/self-healing.md says why {key} is off"
            );
        }
    }
    let caps = set
        .iter()
        .find(|(k, _)| *k == "CapabilityBoundingSet")
        .unwrap()
        .1;
    assert!(!caps.contains("CAP_SYS_ADMIN"), "{caps}");
}
