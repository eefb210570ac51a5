//! The one way Rust threads call into Python: the shared dispatcher thread
//! (`roster_bindings::dispatch`), taking the GIL once per batch of callbacks and asyncio
//! results. A callback's caller waits until it ran, so the core's coalescing holds.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use roster_bindings::dispatch::{Dispatcher, Job};
use roster_core::SubscriberData as CoreData;

use crate::data::SubscriberData;

fn batch(next: &mut dyn FnMut() -> bool) {
    // SAFETY: a plain query of the interpreter's state, callable without the GIL.
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        return; // the interpreter has exited: the jobs are dropped (their waiters released)
    }
    Python::attach(|_py| while next() {});
}

static DISPATCHER: Dispatcher = Dispatcher::new("roster-callbacks", batch);

/// Queues `job` to run with the GIL. Returns false when it cannot run any more.
pub fn submit(job: impl FnOnce(Python<'_>) + Send + 'static) -> bool {
    let job: Job = Box::new(move || Python::attach(job));
    DISPATCHER.submit(job)
}

/// Runs `callback(data)` on the dispatcher thread and waits until it has run.
pub fn deliver(callback: &Arc<Py<PyAny>>, data: Arc<CoreData>) {
    let callback = callback.clone();
    DISPATCHER.run_and_wait(Box::new(move || {
        Python::attach(|py| call(py, &callback, data));
    }));
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
