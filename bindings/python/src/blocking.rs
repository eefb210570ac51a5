//! Runs core futures from Python threads: on the process's runtime, with the GIL released,
//! in slices so that Ctrl-C (and other signals) get through between them.

use std::future::Future;

use pyo3::prelude::*;
use roster_bindings::blocking::{run_for, SLICE};

pub fn wait<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = Box::pin(fut);
    loop {
        if let Some(out) = py.detach(|| run_for(&mut fut, SLICE)) {
            return Ok(out);
        }
        py.check_signals()?;
    }
}

/// Seconds from Python as a `Duration`, or an `InvalidArgumentError` naming the argument.
pub fn seconds(name: &str, v: f64) -> PyResult<std::time::Duration> {
    roster_bindings::blocking::seconds(name, v).map_err(crate::errors::to_py)
}
