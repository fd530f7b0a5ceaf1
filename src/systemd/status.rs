//! What systemd says about a unit, as plain data: captured once per detection so root-cause
//! classification and reports work from the same facts, and tests can feed captured values.

use super::states::{ActiveState, JobType, LoadState, ServiceResult, SubState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitStatus {
    pub load_state: LoadState,
    pub active_state: ActiveState,
    pub sub_state: SubState,
    /// Service `Result=`: success, exit-code, signal, core-dump, oom-kill, timeout,
    /// start-limit-hit, resources, watchdog, ...
    pub result: ServiceResult,
    pub main_pid: u32,
    pub exec_main_code: ExecCode,
    pub exec_main_status: i32,
    pub n_restarts: u32,
    pub control_group: String,
    /// The type of the job systemd has queued or running for the unit (`start`, `restart`,
    /// `stop`, ...), `None` when there is none.
    #[serde(default)]
    pub job: JobType,
}

/// How the main process last ended (`ExecMainCode=`, the CLD_* codes of waitid(2)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecCode {
    #[default]
    None,
    Exited,
    Killed,
    Dumped,
}

impl ExecCode {
    pub fn from_raw(v: i32) -> ExecCode {
        match v {
            1 => ExecCode::Exited,
            2 => ExecCode::Killed,
            3 => ExecCode::Dumped,
            _ => ExecCode::None,
        }
    }
}

impl UnitStatus {
    pub fn active(&self) -> ActiveState {
        self.active_state
    }

    pub fn is_active(&self) -> bool {
        self.active() == ActiveState::Active
    }

    /// systemd is itself in the middle of starting, stopping or auto-restarting the unit, or
    /// has a job queued that brings it up: an operator's or a deploy's `systemctl restart`
    /// shows the unit `inactive` for a moment between its stop and its start, with the
    /// restart job, turned into a start, still queued. A stop job is no such promise.
    pub fn systemd_is_acting(&self) -> bool {
        matches!(
            self.active(),
            ActiveState::Activating | ActiveState::Deactivating | ActiveState::Reloading
        ) || self.sub_state == SubState::AutoRestart
            || (!self.is_active() && self.job_brings_it_up())
    }

    /// The queued job ends with the unit up, if it succeeds.
    pub fn job_brings_it_up(&self) -> bool {
        matches!(
            self.job,
            JobType::Start
                | JobType::Restart
                | JobType::TryRestart
                | JobType::ReloadOrStart
                | JobType::VerifyActive
        )
    }

    /// Parses `systemctl show` output (KEY=VALUE lines), for tests and tools.
    pub fn from_show(text: &str) -> UnitStatus {
        let mut st = UnitStatus::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "LoadState" => st.load_state = LoadState::parse(v),
                "ActiveState" => st.active_state = v.into(),
                "SubState" => st.sub_state = SubState::parse(v),
                "Result" => st.result = ServiceResult::parse(v),
                "MainPID" => st.main_pid = v.parse().unwrap_or(0),
                "ExecMainCode" => st.exec_main_code = ExecCode::from_raw(v.parse().unwrap_or(0)),
                "ExecMainStatus" => st.exec_main_status = v.parse().unwrap_or(0),
                "NRestarts" => st.n_restarts = v.parse().unwrap_or(0),
                "ControlGroup" => st.control_group = v.into(),
                _ => {}
            }
        }
        st
    }
}
