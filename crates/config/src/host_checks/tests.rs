use super::{DISK_DEFAULT, Disk, HostChecks, Thresholds};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn parse(section: &str) -> Result<Option<HostChecks>, crate::ConfigError> {
    crate::parse(
        &format!("monitored_services: []\n{section}"),
        Path::new("config.yaml"),
    )
    .map(|c| c.host_checks)
}

#[test]
fn no_section_checks_nothing_and_a_disk_alone_gets_dfs_thresholds() {
    assert_eq!(parse("").unwrap(), None);
    let c = parse("host_checks: {disks: [{path: /}]}\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        c,
        HostChecks {
            interval: Duration::from_secs(60),
            step: 5.0,
            disks: vec![Disk {
                path: PathBuf::from("/"),
                space: DISK_DEFAULT,
                inodes: DISK_DEFAULT,
            }],
            memory: None,
            swap: None,
            pressure: None,
        }
    );
}

#[test]
fn every_threshold_is_read_as_written() {
    let c = parse(
        "host_checks:\n  interval: 10s\n  step: 2%\n  disks:\n    - {path: /var/lib/pg, space: {warn: 80%, critical: 90}, inodes: {critical: 99.5%}}\n  memory: {warn: 90%, critical: 97%}\n  swap: {warn: 50}\n  pressure: {warn: '20 %', critical: 50%}\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.step, 2.0);
    let t = |w, c| Thresholds {
        warn: w,
        critical: c,
    };
    assert_eq!(c.disks[0].space, t(Some(80.0), Some(90.0)));
    assert_eq!(c.disks[0].inodes, t(None, Some(99.5)));
    assert_eq!(c.memory, Some(t(Some(90.0), Some(97.0))));
    assert_eq!(c.swap, Some(t(Some(50.0), None)));
    assert_eq!(c.pressure, Some(t(Some(20.0), Some(50.0))));
}

#[test]
fn nonsense_is_refused_naming_the_key_and_the_fix() {
    for (section, says) in [
        (
            "host_checks: {disks: [{path: var}]}",
            "host_checks disk 'var': 'var' is not an absolute path",
        ),
        (
            "host_checks: {disks: [{space: {warn: 80%}}]}",
            "host_checks.disks[0]: missing required key 'path'",
        ),
        (
            "host_checks: {disks: [{path: /}, {path: /}]}",
            "'/' is listed twice",
        ),
        (
            "host_checks: {memory: {warn: 97%, critical: 90%}}",
            "warn 97% is not below critical 90%",
        ),
        (
            "host_checks: {swap: {}}",
            "needs at least one of warn or critical",
        ),
        (
            "host_checks: {memory: {warn: 120%}}",
            "'120%' is not a percentage from 0 to 100",
        ),
        (
            "host_checks: {pressure: {warn: lots}}",
            "'lots' is not a percentage",
        ),
        ("host_checks: {disk: []}", "did you mean 'disks'?"),
        (
            "host_checks: {disks: [{path: /, space: {warm: 80%}}]}",
            "did you mean 'warn'?",
        ),
        (
            "host_checks: {interval: 100ms}",
            "read the host at most once a second",
        ),
        ("host_checks: {step: 0%}", "step 0% must be above 0"),
    ] {
        let e = parse(&format!("{section}\n")).unwrap_err().to_string();
        assert!(e.contains(says), "{section}: {e}");
        assert!(e.contains("config.yaml"), "{section}: {e}");
    }
}
