//! `onData` callbacks. The core runs a subscriber's callback off its network tasks, one call
//! at a time; here that call hands the data to the JS thread through a threadsafe function
//! and waits until JS has run it, so while the event loop is busy the core keeps only the
//! newest data for the next call (coalescing), and network tasks never wait for JS.
//!
//! The threadsafe function is weak: it never keeps the process alive. The JavaScript layer
//! wraps the user's function so that a throw is reported there and never reaches Node's
//! uncaught-exception handler.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use roster_core::Callback;

use crate::data::NativeData;

type Tsfn = ThreadsafeFunction<NativeData, (), NativeData, Status, false, true>;

/// How long a callback may keep the next one of its subscriber waiting before the core
/// moves on (a teardown can drop a queued call without telling anyone).
const PATIENCE: Duration = Duration::from_secs(60);

/// A core callback that calls `f` on the JS thread and waits for it.
pub(crate) fn callback(f: Function<'_, NativeData, ()>) -> napi::Result<Callback> {
    let tsfn: Tsfn = f
        .build_threadsafe_function()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(|ctx| Ok(ctx.value))?;
    let tsfn = Arc::new(tsfn);
    Ok(Arc::new(move |data| {
        let (done, finished) = sync_channel::<()>(1);
        let status = tsfn.call_with_return_value(
            NativeData(data),
            ThreadsafeFunctionCallMode::NonBlocking,
            move |_, _| {
                let _ = done.send(());
                Ok(())
            },
        );
        if status == Status::Ok && finished.recv_timeout(PATIENCE).is_err() {
            tracing::warn!(
                "a JavaScript callback did not finish within {PATIENCE:?}; later pushes go on"
            );
        }
    }))
}
