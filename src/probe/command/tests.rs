use super::*;

fn check(argv: &[&str]) -> CommandCheck {
    CommandCheck {
        argv: argv.iter().map(|a| a.to_string()).collect(),
        user: None,
    }
}

fn sh(script: &str) -> CommandCheck {
    check(&["/bin/sh", "-c", script])
}

const LONG: Duration = Duration::from_secs(10);

/// Whether `pid` has ended within a second (a killed process is reaped by its new parent).
async fn gone(pid: u32) -> bool {
    for _ in 0..50 {
        if !crate::probe::procs::alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn exit_0_passes_and_any_other_exit_fails_with_its_status_and_output() {
    assert_eq!(
        run(&check(&["/bin/true"]), LONG).await,
        CommandOutcome::Passed
    );
    let failed = run(&sh("echo to stdout; echo refused >&2; exit 3"), LONG).await;
    assert_eq!(
        failed,
        CommandOutcome::Failed {
            exit: "exited with status 3".into(),
            output: "to stdout\nrefused\n".into(),
        }
    );
    assert_eq!(
        failed.describe(&sh(""), LONG),
        "check command /bin/sh exited with status 3: to stdout refused"
    );
    let killed = run(&sh("kill -9 $$"), LONG).await;
    assert!(
        matches!(&killed, CommandOutcome::Failed { exit, .. } if exit == "was killed by signal 9"),
        "{killed:?}"
    );
}

#[tokio::test]
async fn a_hung_command_is_killed_with_its_whole_group_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The command and a child of it both hang; both must be gone afterwards.
    let script = format!(
        "sleep 300 & echo $! > {p}; echo $$ >> {p}; echo started; wait",
        p = pids.display()
    );
    let started = Instant::now();
    let outcome = run(&sh(&script), Duration::from_millis(500)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcome,
        CommandOutcome::TimedOut {
            output: "started\n".into()
        }
    );
    assert!(
        outcome
            .describe(&sh(""), Duration::from_millis(500))
            .starts_with("check command /bin/sh did not finish within 500ms and was killed"),
        "{outcome:?}"
    );
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        let pid: u32 = pid.parse().unwrap();
        assert!(
            gone(pid).await,
            "process {pid} of the hung check is still running"
        );
    }
}

#[tokio::test]
async fn what_an_exited_check_leaves_in_its_group_is_killed_and_does_not_hold_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // Exits at once, leaving a child that holds the output pipe open.
    let script = format!("sleep 300 & echo $! > {}; exit 0", pid_file.display());
    let started = Instant::now();
    assert_eq!(run(&sh(&script), LONG).await, CommandOutcome::Passed);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        gone(pid).await,
        "the check's leftover {pid} is still running"
    );
}

#[tokio::test]
async fn only_the_end_of_a_long_output_is_kept() {
    let outcome = run(
        &sh("i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; exit 1"),
        LONG,
    )
    .await;
    let CommandOutcome::Failed { output, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(output.len(), OUTPUT_KEPT);
    assert!(output.ends_with("line 1999\n"), "{output}");
    let said = outcome.describe(&sh(""), LONG);
    assert!(said.ends_with("line 1998 line 1999"), "{said}");
    assert!(said.len() < 400, "{said}");
}

#[tokio::test]
async fn a_program_that_cannot_start_or_a_user_unknown_is_not_run() {
    let missing = run(&check(&["/nonexistent/program"]), LONG).await;
    assert!(
        matches!(&missing, CommandOutcome::NotRun(why) if why.contains("No such file")),
        "{missing:?}"
    );
    let mut as_nobody_known = check(&["/bin/true"]);
    as_nobody_known.user = Some("no-such-user-mm".into());
    assert_eq!(
        run(&as_nobody_known, LONG).await,
        CommandOutcome::NotRun(
            "user no-such-user-mm does not exist on this host (create it, or name another)".into()
        )
    );
}

#[tokio::test]
async fn the_check_runs_with_a_clean_environment_in_the_root_folder() {
    // cargo sets this in the test's environment: it must not reach the check.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let outcome = run(
        &sh(
            "test \"$PWD\" = / && test -z \"$CARGO_MANIFEST_DIR\" && test -n \"$PATH\" \
             && test -n \"$HOME\" && test -n \"$USER\" && exit 7",
        ),
        LONG,
    )
    .await;
    assert!(
        matches!(&outcome, CommandOutcome::Failed { exit, .. } if exit == "exited with status 7"),
        "{outcome:?}"
    );
}

#[test]
fn the_report_names_the_program_never_its_arguments() {
    let c = check(&["/usr/bin/mysqladmin", "--password=hunter2", "ping"]);
    let said = CommandOutcome::Failed {
        exit: "exited with status 1".into(),
        output: String::new(),
    }
    .describe(&c, LONG);
    assert_eq!(
        said,
        "check command /usr/bin/mysqladmin exited with status 1"
    );
    assert!(!said.contains("hunter2"));
}

#[tokio::test]
async fn the_check_runs_as_its_user_with_that_users_home_and_no_other_group() {
    if !rustix::process::geteuid().is_root() {
        return; // only root can run a program as another user (CI runs as root)
    }
    let mut c = sh("test \"$(id -u)\" = 65534 && test \"$USER\" = nobody \
                    && test \"$(id -G)\" = \"$(id -g)\" && exit 9");
    c.user = Some("nobody".into());
    let outcome = run(&c, LONG).await;
    assert!(
        matches!(&outcome, CommandOutcome::Failed { exit, .. } if exit == "exited with status 9"),
        "{outcome:?}"
    );
}
