//! Writing the state file and the events log off the runtime thread. Workers hand over the
//! latest state (already serialised, outside any lock) and events to append; one blocking task
//! at a time writes them (write, fsync, rename for the state), keeping only the newest state
//! when several arrive while it writes, so a burst of changes costs one write, not one each.
//! The runtime thread never waits on the disk; `flush` lets a caller that must know its change
//! is on disk (before acting on a service, before a reload reads the file back) wait for it.
//! The metrics file (`crate::metrics`) goes the same way, the newest text only.

use crate::state::{Dirs, Event, write_atomic, write_atomic_mode};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

pub(crate) struct Persist {
    inner: Arc<Inner>,
}

struct Inner {
    dirs: Dirs,
    queue: Mutex<Queue>,
    /// The generation of the last batch written (or whose failure was logged).
    written: watch::Sender<u64>,
}

#[derive(Default)]
struct Queue {
    state: Option<Vec<u8>>,
    events: Vec<Event>,
    /// The metrics file and its newest text.
    metrics: Option<(PathBuf, Vec<u8>)>,
    /// Bumped with every hand-over, so `flush` knows what it waits for.
    generation: u64,
    writing: bool,
}

impl Persist {
    pub(crate) fn new(dirs: &Dirs) -> Persist {
        Persist {
            inner: Arc::new(Inner {
                dirs: dirs.clone(),
                queue: Mutex::default(),
                written: watch::Sender::new(0),
            }),
        }
    }

    /// Replaces whatever state was waiting to be written with this one.
    pub(crate) fn save_state(&self, json: Vec<u8>) {
        let mut q = self.inner.queue();
        q.state = Some(json);
        q.generation += 1;
        self.start_writer(q);
    }

    /// Replaces whatever metrics text was waiting to be written with this one.
    pub(crate) fn save_metrics(&self, path: PathBuf, text: Vec<u8>) {
        let mut q = self.inner.queue();
        q.metrics = Some((path, text));
        q.generation += 1;
        self.start_writer(q);
    }

    pub(crate) fn append_event(&self, ev: Event) {
        let mut q = self.inner.queue();
        q.events.push(ev);
        q.generation += 1;
        self.start_writer(q);
    }

    /// Waits until everything handed over so far is written (or its failure logged).
    pub(crate) async fn flush(&self) {
        let target = self.inner.queue().generation;
        let mut written = self.inner.written.subscribe();
        let _ = written.wait_for(|w| *w >= target).await;
    }

    fn start_writer(&self, mut q: MutexGuard<'_, Queue>) {
        if q.writing {
            return; // the running writer picks it up
        }
        q.writing = true;
        drop(q);
        let inner = self.inner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(move || inner.write_all());
            }
            // Outside the daemon's runtime (a tool, a test without one): write in place.
            Err(_) => inner.write_all(),
        }
    }
}

impl Inner {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while holding this lock leaves a queue that is still consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes batches until none is waiting. Failures are logged, never fatal: healing goes on
    /// even on a full disk.
    fn write_all(&self) {
        loop {
            let (state, events, metrics, generation) = {
                let mut q = self.queue();
                if q.state.is_none() && q.events.is_empty() && q.metrics.is_none() {
                    q.writing = false;
                    return;
                }
                let events = std::mem::take(&mut q.events);
                (q.state.take(), events, q.metrics.take(), q.generation)
            };
            for ev in &events {
                if let Err(e) = self.dirs.append_event(ev) {
                    tracing::error!("cannot write {}: {e}", self.dirs.events().display());
                }
            }
            if let Some(json) = state
                && let Err(e) = write_atomic(&self.dirs.state(), &json)
            {
                tracing::error!("cannot save {}: {e}", self.dirs.state().display());
            }
            if let Some((path, text)) = metrics {
                // node_exporter reads it as its own user: 0644, in a folder it can enter.
                let dir = path.parent().unwrap_or(std::path::Path::new("/"));
                if let Err(e) = std::fs::create_dir_all(dir)
                    .and_then(|_| write_atomic_mode(&path, &text, 0o644))
                {
                    tracing::error!("cannot write {}: {e}", path.display());
                }
            }
            self.written.send_replace(generation);
        }
    }
}
