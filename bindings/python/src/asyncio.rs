//! Core futures as asyncio futures: each runs as a task on the process's runtime (no thread
//! per call) and resolves an asyncio future of the calling event loop through
//! `call_soon_threadsafe`. Cancelling the asyncio future does not stop the operation (a
//! registration still completes); its result is dropped.

use std::future::Future;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::dispatch;
use roster_bindings::runtime;

pub fn future<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let resolve = py.import("roster.aio")?.getattr("_resolve")?.unbind();
    let (event_loop, target) = (event_loop.unbind(), py_future.clone().unbind());
    runtime::get().spawn(async move {
        let out = fut.await;
        // Taking the GIL may wait for Python code on other threads: the dispatcher does it,
        // never a network task.
        dispatch::submit(move |py| {
            let (ok, value) = match out.and_then(|v| v.into_py_any(py)) {
                Ok(v) => (true, v),
                Err(e) => (false, e.into_value(py).into_any()),
            };
            let args = (resolve, target, ok, value);
            if let Err(e) = event_loop.call_method1(py, "call_soon_threadsafe", args) {
                // The loop was closed: nobody waits for this any more.
                tracing::debug!("an asyncio result had no loop to go to: {e}");
            }
        });
    });
    Ok(py_future)
}
