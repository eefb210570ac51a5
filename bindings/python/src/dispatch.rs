//! The callback dispatcher: one thread per process runs every subscriber callback, taking
//! the GIL once for a batch of queued calls instead of once per call (many threads each
//! taking the GIL for one call convoy on it). The core calls `deliver` on its blocking
//! pool and it waits there until its call ran, so the core's per-subscriber coalescing
//! still holds: a slow callback gets the newest data next, and network tasks never wait.

use std::sync::mpsc::{sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use roster_core::SubscriberData as CoreData;

use crate::data::SubscriberData;

struct Job {
    callback: Arc<Py<PyAny>>,
    data: Arc<CoreData>,
    done: SyncSender<()>,
}

/// Longest the dispatcher holds the GIL for one batch.
const MAX_BATCH: Duration = Duration::from_millis(5);

static QUEUE: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

/// This process's dispatcher (a forked child starts its own).
fn queue() -> Sender<Job> {
    let pid = std::process::id();
    let mut slot = QUEUE.lock();
    if let Some((owner, tx)) = slot.as_ref() {
        if *owner == pid {
            return tx.clone();
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("roster-callbacks".into())
        .spawn(move || run(rx))
        .expect("the callback thread starts");
    *slot = Some((pid, tx.clone()));
    tx
}

/// Runs `callback(data)` on the dispatcher thread and waits until it has run.
pub fn deliver(callback: &Arc<Py<PyAny>>, data: Arc<CoreData>) {
    let (done, finished) = sync_channel(1);
    let job = Job {
        callback: callback.clone(),
        data,
        done,
    };
    if queue().send(job).is_ok() {
        let _ = finished.recv();
    }
}

fn run(jobs: Receiver<Job>) {
    // Blocks with the GIL released; then holds it for whatever else is queued (bounded).
    while let Ok(first) = jobs.recv() {
        // SAFETY: a plain query of the interpreter's state, callable without the GIL.
        if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
            continue; // the interpreter has exited: drop the call (its waiter is released)
        }
        Python::attach(|py| {
            let start = Instant::now();
            call(py, first);
            while start.elapsed() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => call(py, job),
                    Err(_) => break,
                }
            }
        });
    }
}

fn call(py: Python<'_>, job: Job) {
    let id = job.data.data_info_id.to_string();
    if let Err(e) = job.callback.call1(py, (SubscriberData(job.data),)) {
        let logged = (|| -> PyResult<()> {
            let logger = py
                .import("logging")?
                .call_method1("getLogger", ("roster",))?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("exc_info", e.value(py))?;
            logger.call_method(
                "error",
                (
                    "the subscriber callback for %s raised; later pushes still come",
                    id,
                ),
                Some(&kwargs),
            )?;
            Ok(())
        })();
        if logged.is_err() {
            e.print(py);
        }
    }
    let _ = job.done.send(());
}
