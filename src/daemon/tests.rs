//! The daemon's main loop on a fake host, driven by requests instead of signals: one worker
//! per configured service, a reload that swaps the configuration (or keeps the running one when
//! the new file is invalid), and a clean stop.

use super::fake::{self, FakeClock, FakeHost, T0, TempDir};
use super::*;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

fn yaml(services: &[&str]) -> String {
    let mut y =
        String::from("host: testhost\nlimits:\n  check_interval: 20ms\nmonitored_services:\n");
    for s in services {
        y.push_str(&format!("  - name: {s}\n"));
    }
    y
}

struct Daemon {
    host: Arc<FakeHost>,
    opts: Options,
    requests: mpsc::UnboundedSender<Request>,
    task: JoinHandle<Result<()>>,
    _dir: TempDir,
}

/// The loop running on a fake host whose units are all active, with these services configured.
fn start(services: &[&str]) -> Daemon {
    let dir = TempDir::new("daemon");
    let opts = Options {
        config_path: dir.path().join("config.yaml"),
        state_dir: dir.path().join("state"),
        template_dir: dir.path().join("templates"),
    };
    std::fs::write(&opts.config_path, yaml(services)).unwrap();
    let host = Arc::new(FakeHost::new());
    for unit in ["a.service", "b.service", "c.service"] {
        host.active(unit);
    }
    let system = fake::system(&host, &Arc::new(FakeClock::at(T0)));
    let dirs = Dirs::new(&opts.state_dir);
    dirs.create().unwrap();
    let config = config::load(&opts.config_path).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let requests = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let task_opts = opts.clone();
    let task = tokio::spawn(async move { serve(&task_opts, config, dirs, system, requests).await });
    Daemon {
        host,
        opts,
        requests: tx,
        task,
        _dir: dir,
    }
}

impl Daemon {
    /// Waits (at most 2 s) until every named service has been looked at and saved.
    async fn until_watching(&self, services: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !services.iter().all(|s| self.probed(s)) {
            assert!(Instant::now() < deadline, "not all of {services:?} watched");
            sleep(Duration::from_millis(5)).await;
        }
    }

    fn probed(&self, service: &str) -> bool {
        let st = Dirs::new(&self.opts.state_dir)
            .load_state()
            .unwrap_or_default();
        let looked = st
            .services
            .get(service)
            .is_some_and(|s| s.last_probe.is_some());
        looked && self.host.count(&format!("watch {service}.service")) == 1
    }

    fn saved_services(&self) -> Vec<String> {
        let st = Dirs::new(&self.opts.state_dir).load_state().unwrap();
        st.services.keys().cloned().collect()
    }

    async fn stop(self) {
        self.requests.send(Request::Stop).unwrap();
        let ended = timeout(Duration::from_secs(1), self.task).await;
        ended
            .expect("the loop stops within a second")
            .unwrap()
            .unwrap();
        // Every worker has ended: nothing looks at systemd any more.
        let calls = self.host.calls().len();
        sleep(Duration::from_millis(60)).await;
        assert_eq!(self.host.calls().len(), calls, "a worker outlived the loop");
    }
}

#[tokio::test]
async fn the_loop_starts_one_worker_per_service_and_stops_cleanly_when_asked() {
    let d = start(&["a", "b"]);
    d.until_watching(&["a", "b"]).await;
    assert_eq!(d.saved_services(), ["a", "b"]);
    assert_eq!(d.host.count("watch c.service"), 0, "c is not configured");
    assert_eq!(
        d.host.actions(),
        Vec::<String>::new(),
        "healthy: nothing done"
    );
    assert!(
        d.opts.state_dir.join("alive").exists(),
        "the liveness stamp"
    );
    d.stop().await;
}

#[tokio::test]
async fn a_reload_replaces_the_workers_and_forgets_services_no_longer_configured() {
    let d = start(&["a", "b"]);
    d.until_watching(&["a", "b"]).await;
    std::fs::write(&d.opts.config_path, yaml(&["b", "c"])).unwrap();
    d.requests.send(Request::Reload).unwrap();
    d.until_watching(&["c"]).await;
    assert_eq!(d.saved_services(), ["b", "c"]);
    assert_eq!(d.host.count("watch b.service"), 2, "b's worker restarted");
    d.stop().await;
}

#[tokio::test]
async fn an_invalid_configuration_on_reload_keeps_the_running_one() {
    let d = start(&["a", "b"]);
    d.until_watching(&["a", "b"]).await;
    std::fs::write(
        &d.opts.config_path,
        "monitored_services:\n  - port: 99999\n",
    )
    .unwrap();
    d.requests.send(Request::Reload).unwrap();
    let before = d.host.count("status a.service");
    sleep(Duration::from_millis(100)).await;
    assert!(
        d.host.count("status a.service") > before,
        "a is still watched"
    );
    assert_eq!(d.host.count("watch a.service"), 1, "by the same worker");
    assert_eq!(d.saved_services(), ["a", "b"]);
    d.stop().await;
}
