//! Blocking calls: a core future run on the process's runtime from the caller's thread,
//! bounded by the call's `timeout_ms` (0: only the client's request timeout bounds it).

use std::future::Future;
use std::time::Duration;

use roster_bindings::blocking;
use roster_core::{Error, ErrorKind, Result};

/// Waits for `fut`; `TIMEOUT` naming `what` when `timeout_ms` (not 0) passes first. The
/// operation was applied when called, so it stays in effect either way.
pub(crate) fn wait<T>(
    fut: impl Future<Output = Result<T>>,
    timeout_ms: u64,
    what: &str,
) -> Result<T> {
    if timeout_ms == 0 {
        return blocking::block_on(fut);
    }
    let limit = Duration::from_millis(timeout_ms);
    blocking::block_on(async { tokio::time::timeout(limit, fut).await }).unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Timeout,
            format!("{what} did not finish within {timeout_ms} ms"),
        ))
    })
}
