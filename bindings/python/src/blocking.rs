//! Runs core futures from Python threads: on the process's runtime, with the GIL released,
//! waking every 100 ms to let Ctrl-C (and other signals) through.

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;

use crate::runtime;

pub fn wait<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime::get();
    let mut fut = Box::pin(fut);
    loop {
        let done = py.detach(|| {
            rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(100), fut.as_mut()).await
            })
        });
        if let Ok(out) = done {
            return Ok(out);
        }
        py.check_signals()?;
    }
}

/// Seconds from Python as a `Duration`, or an error naming the argument.
pub fn seconds(name: &str, v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v).map_err(|_| {
        crate::errors::InvalidArgumentError::new_err(format!(
            "INVALID_ARGUMENT: {name} must be a non-negative number of seconds, got {v}"
        ))
    })
}
