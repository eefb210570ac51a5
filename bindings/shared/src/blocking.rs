//! Runs core futures from host threads (a Python thread, a C caller) on the process's
//! runtime. A host that must stay responsive to signals waits in slices and checks between
//! them (Python: with the GIL released, `check_signals()` every 100 ms).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use roster_core::{Error, ErrorKind, Result};

use crate::runtime;

/// How long one slice of a blocking wait lasts before the host gets to check for signals.
pub const SLICE: Duration = Duration::from_millis(100);

/// Runs `fut` to completion on the runtime, blocking this thread.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    runtime::get().block_on(fut)
}

/// Runs `fut` for at most `slice`: `Some(output)` when it finished, `None` when the slice
/// ran out (call again with the same future to go on).
pub fn run_for<F: Future>(fut: &mut Pin<Box<F>>, slice: Duration) -> Option<F::Output> {
    let rt = runtime::get();
    rt.block_on(async { tokio::time::timeout(slice, fut.as_mut()).await })
        .ok()
}

/// A duration from the host's seconds, or an `INVALID_ARGUMENT` naming the argument.
pub fn seconds(name: &str, v: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(v).map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} must be a non-negative number of seconds, got {v}"),
        )
    })
}

/// A duration from the host's milliseconds, or an `INVALID_ARGUMENT` naming the argument.
pub fn millis(name: &str, v: f64) -> Result<Duration> {
    if v.is_finite() && v >= 0.0 {
        Ok(Duration::from_secs_f64(v / 1000.0))
    } else {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} must be a non-negative number of milliseconds, got {v}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_resume_the_same_future() {
        let mut fut = Box::pin(async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            7
        });
        let mut slices = 0;
        let out = loop {
            slices += 1;
            if let Some(v) = run_for(&mut fut, Duration::from_millis(5)) {
                break v;
            }
        };
        assert_eq!(out, 7);
        assert!(slices > 1);
    }

    #[test]
    fn bad_durations_name_the_argument() {
        let e = seconds("timeout", -1.0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            e.message(),
            "timeout must be a non-negative number of seconds, got -1"
        );
        assert!(millis("timeoutMs", f64::NAN).is_err());
        assert_eq!(millis("x", 1500.0).unwrap(), Duration::from_millis(1500));
    }
}
