//! The one way Rust threads call into Python: a thread per process runs queued jobs (subscriber
//! callbacks, asyncio results), taking the GIL once for a batch instead of once per job (many
//! threads each taking the GIL for one call convoy on it). A callback's caller waits until its
//! job ran (`deliver`), so the core's per-subscriber coalescing still holds: a slow callback
//! gets the newest data next, and network tasks never wait for Python.

use std::sync::mpsc::{sync_channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use roster_core::SubscriberData as CoreData;

use crate::data::SubscriberData;

type Job = Box<dyn FnOnce(Python<'_>) + Send>;

/// Longest the dispatcher holds the GIL for one batch.
const MAX_BATCH: Duration = Duration::from_millis(5);

static QUEUE: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

/// Queues `job` to run with the GIL on this process's dispatcher (a forked child starts its
/// own). Returns false when it cannot run any more.
pub fn submit(job: Job) -> bool {
    let pid = std::process::id();
    let tx = {
        let mut slot = QUEUE.lock();
        match slot.as_ref() {
            Some((owner, tx)) if *owner == pid => tx.clone(),
            _ => {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::Builder::new()
                    .name("roster-callbacks".into())
                    .spawn(move || run(rx))
                    .expect("the callback thread starts");
                *slot = Some((pid, tx.clone()));
                tx
            }
        }
    };
    tx.send(job).is_ok()
}

/// Runs `callback(data)` on the dispatcher thread and waits until it has run.
pub fn deliver(callback: &Arc<Py<PyAny>>, data: Arc<CoreData>) {
    let (done, finished) = sync_channel(1);
    let callback = callback.clone();
    let job: Job = Box::new(move |py| {
        call(py, &callback, data);
        let _ = done.send(());
    });
    if submit(job) {
        let _ = finished.recv();
    }
}

fn run(jobs: Receiver<Job>) {
    // Blocks with the GIL released; then holds it for whatever else is queued (bounded).
    while let Ok(first) = jobs.recv() {
        // SAFETY: a plain query of the interpreter's state, callable without the GIL.
        if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
            continue; // the interpreter has exited: drop the job (a waiter is released)
        }
        Python::attach(|py| {
            let start = Instant::now();
            first(py);
            while start.elapsed() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => job(py),
                    Err(_) => break,
                }
            }
        });
    }
}

fn call(py: Python<'_>, callback: &Py<PyAny>, data: Arc<CoreData>) {
    let id = data.data_info_id.to_string();
    if let Err(e) = callback.call1(py, (SubscriberData(data),)) {
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
}
