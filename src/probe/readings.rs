//! The resource readings of the looks due together, read by one blocking task. The looks of one
//! grid slot wake at the same moment and ask for their unit's figures within a fraction of a
//! millisecond of each other. Each asking on its own would cost two thread hand-offs (to the
//! blocking pool and back), which at rest cost more than the few small files read. Here the
//! first to ask starts one blocking task; every reading asked while it runs joins its queue,
//! and it ends when the queue is empty. At rest that is one hand-off a slot, not one a look.

use super::procs::lock;
use super::usage::{self, Usage, Wanted};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// One reading asked for: the unit's cgroup, the figures, and where to answer.
type Asked = (String, Wanted, oneshot::Sender<Usage>);

#[derive(Default)]
struct Queue {
    asked: Vec<Asked>,
    /// A blocking task is reading the queue: the next one asked joins it.
    reading: bool,
    /// Blocking tasks started, for the tests.
    #[cfg(test)]
    started: usize,
}

/// The queue of readings, shared by every look (cloned with the process table).
#[derive(Clone, Default)]
pub struct Readings {
    queue: Arc<Mutex<Queue>>,
}

impl std::fmt::Debug for Readings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readings").finish_non_exhaustive()
    }
}

impl Readings {
    /// What the unit in `control_group` uses now, read off the runtime's thread with whatever
    /// else is asked meanwhile. `read` is `usage::read` but in tests.
    pub async fn read(&self, control_group: &str, wanted: Wanted) -> Usage {
        self.read_with(control_group, wanted, usage::read).await
    }

    async fn read_with(
        &self,
        control_group: &str,
        wanted: Wanted,
        read: fn(&str, Wanted) -> Usage,
    ) -> Usage {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut q = lock(&self.queue);
            q.asked.push((control_group.to_string(), wanted, answer));
            let start = !std::mem::replace(&mut q.reading, true);
            #[cfg(test)]
            {
                q.started += usize::from(start);
            }
            start
        };
        if start {
            let queue = self.queue.clone();
            // Not awaited: the answers come through the queue. A runtime shutting down may never
            // run it, and then cancels the looks waiting with it.
            drop(tokio::task::spawn_blocking(move || read_all(&queue, read)));
        }
        answered.await.unwrap_or_default()
    }
}

/// Reads the queue until it is empty. A reading that panics is answered empty (as from a
/// unit that just stopped) and the rest are read as ever.
fn read_all(queue: &Mutex<Queue>, read: fn(&str, Wanted) -> Usage) {
    // The batch in hand; its buffer and the queue's are swapped, so neither grows anew.
    let mut batch = Vec::new();
    loop {
        {
            let mut q = lock(queue);
            if q.asked.is_empty() {
                // Marked under the same lock that saw the queue empty: a look that asks after
                // it starts a task of its own.
                q.reading = false;
                return;
            }
            std::mem::swap(&mut q.asked, &mut batch);
        }
        for (cgroup, wanted, answer) in batch.drain(..) {
            let usage = std::panic::catch_unwind(|| read(&cgroup, wanted)).unwrap_or_default();
            // The look may have been cancelled (a reload): nobody to answer.
            let _ = answer.send(usage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static READ: AtomicUsize = AtomicUsize::new(0);

    fn fake(cgroup: &str, _: Wanted) -> Usage {
        READ.fetch_add(1, Ordering::SeqCst);
        match cgroup {
            "/panics" => panic!("a reading that panics"),
            "/slow" => std::thread::sleep(std::time::Duration::from_millis(200)),
            _ => {}
        }
        Usage {
            tasks: cgroup.trim_start_matches("/u").parse().ok(),
            ..Usage::default()
        }
    }

    #[tokio::test]
    async fn every_look_gets_its_own_units_reading_and_a_panic_stops_nothing_after_it() {
        let r = Readings::default();
        let looks: Vec<_> = (0..200u64)
            .map(|i| {
                let r = r.clone();
                tokio::spawn(async move {
                    (
                        i,
                        r.read_with(&format!("/u{i}"), Wanted::default(), fake)
                            .await,
                    )
                })
            })
            .collect();
        for look in looks {
            let (i, usage) = look.await.unwrap();
            assert_eq!(usage.tasks, Some(i));
        }
        assert!(READ.load(Ordering::SeqCst) >= 200);
        // A reading that panics is answered empty, and the next look is read as ever.
        let panicked = r.read_with("/panics", Wanted::default(), fake).await;
        assert_eq!(panicked, Usage::default());
        let after = r.read_with("/u7", Wanted::default(), fake).await;
        assert_eq!(after.tasks, Some(7));
    }

    #[tokio::test]
    async fn the_looks_asking_while_a_task_reads_are_read_by_that_task() {
        let r = Readings::default();
        // The first asks and its task reads slowly; the other two ask meanwhile and join it.
        let (slow, a, b) = tokio::join!(
            r.read_with("/slow", Wanted::default(), fake),
            r.read_with("/u1", Wanted::default(), fake),
            r.read_with("/u2", Wanted::default(), fake),
        );
        assert_eq!((slow.tasks, a.tasks, b.tasks), (None, Some(1), Some(2)));
        assert_eq!(lock(&r.queue).started, 1);
        // Asked after the queue was empty: a task of its own.
        assert_eq!(
            r.read_with("/u3", Wanted::default(), fake).await.tasks,
            Some(3)
        );
        assert_eq!(lock(&r.queue).started, 2);
    }
}
