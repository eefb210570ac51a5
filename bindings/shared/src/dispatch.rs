//! The one way Rust threads call into a host language that has a lock of its own (Python's
//! GIL, a JVM thread attachment): one thread per process runs queued jobs (subscriber
//! callbacks, async results) in batches, taking the host's lock once per batch (many threads
//! each taking it for one call convoy on it). A callback's caller can wait until its job ran
//! (`run_and_wait`), so the core's per-subscriber coalescing still holds: a slow callback gets
//! the newest data next, and network tasks never wait for the host.

use std::sync::mpsc::{sync_channel, Receiver, Sender};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A call into the host; it finds the host's context itself (its lock is already held by
/// the batch, so taking it again is cheap).
pub type Job = Box<dyn FnOnce() + Send>;

/// Longest one batch holds the host's lock.
pub const MAX_BATCH: Duration = Duration::from_millis(5);

/// Runs one batch: takes the host's lock, then calls `next` until it returns false. A host
/// that is gone (an interpreter that exited) returns without calling it: the jobs are
/// dropped, which releases their waiters.
pub type Batch = fn(next: &mut dyn FnMut() -> bool);

pub struct Dispatcher {
    name: &'static str,
    batch: Batch,
    /// The queue of this process's thread (a forked child starts its own).
    queue: Mutex<Option<(u32, Sender<Job>)>>,
}

impl Dispatcher {
    pub const fn new(name: &'static str, batch: Batch) -> Dispatcher {
        Dispatcher {
            name,
            batch,
            queue: parking_lot::const_mutex(None),
        }
    }

    /// Queues `job`; false when it cannot run any more.
    pub fn submit(&self, job: Job) -> bool {
        let pid = std::process::id();
        let tx = {
            let mut slot = self.queue.lock();
            match slot.as_ref() {
                Some((owner, tx)) if *owner == pid => tx.clone(),
                _ => {
                    let (tx, rx) = std::sync::mpsc::channel();
                    let batch = self.batch;
                    std::thread::Builder::new()
                        .name(self.name.into())
                        .spawn(move || run(rx, batch))
                        .expect("the dispatcher thread starts");
                    *slot = Some((pid, tx.clone()));
                    tx
                }
            }
        };
        tx.send(job).is_ok()
    }

    /// Runs `job` on the dispatcher and waits until it has run (or was dropped).
    pub fn run_and_wait(&self, job: Job) {
        let (done, finished) = sync_channel::<()>(1);
        let job: Job = Box::new(move || {
            job();
            let _ = done.send(());
        });
        if self.submit(job) {
            let _ = finished.recv();
        }
    }
}

fn run(jobs: Receiver<Job>, batch: Batch) {
    // Blocks without the host's lock; then holds it for whatever else is queued (bounded).
    while let Ok(first) = jobs.recv() {
        let mut first = Some(first);
        let start = Instant::now();
        batch(&mut || {
            let job = match first.take() {
                Some(job) => job,
                None if start.elapsed() >= MAX_BATCH => return false,
                None => match jobs.try_recv() {
                    Ok(job) => job,
                    Err(_) => return false,
                },
            };
            job();
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    static BATCHES: AtomicUsize = AtomicUsize::new(0);

    fn counting(next: &mut dyn FnMut() -> bool) {
        BATCHES.fetch_add(1, Ordering::SeqCst);
        while next() {}
    }

    fn gone(_next: &mut dyn FnMut() -> bool) {}

    #[test]
    fn jobs_run_in_batches_and_waiters_are_released() {
        static D: Dispatcher = Dispatcher::new("test-dispatch", counting);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let r = ran.clone();
            D.submit(Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let r = ran.clone();
        D.run_and_wait(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(ran.load(Ordering::SeqCst), 101);
        assert!(BATCHES.load(Ordering::SeqCst) <= 101);

        // A host that is gone: the job is dropped and the waiter is not left hanging.
        static GONE: Dispatcher = Dispatcher::new("test-gone", gone);
        GONE.run_and_wait(Box::new(|| unreachable!("the host is gone")));
    }
}
