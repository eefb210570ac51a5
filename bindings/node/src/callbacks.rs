//! `onData` callbacks. The core runs a subscriber's callback off its network tasks, one call
//! at a time; here that call hands the data to the JS thread and waits until JS has run it,
//! so while the event loop is busy the core keeps only the newest data for the next call
//! (coalescing), and network tasks never wait for JS.
//!
//! One threadsafe function per client (not per subscription: each one costs a libuv handle
//! and kilobytes) calls the client's JavaScript dispatcher with `(callbackId, data)`; the
//! dispatcher finds the subscription's function. It is weak: it never keeps the process
//! alive. The JavaScript layer catches what a user's function throws and reports it, so
//! nothing reaches Node's uncaught-exception handler.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use roster_core::Callback;

use crate::data::NativeData;

type Args = FnArgs<(u32, NativeData)>;
type Tsfn = ThreadsafeFunction<(u32, NativeData), (), Args, Status, false, true>;

/// How long a callback may keep the next one of its subscriber waiting before the core
/// moves on (a teardown can drop a queued call without telling anyone).
const PATIENCE: Duration = Duration::from_secs(60);

/// A client's way to its JavaScript dispatcher.
#[derive(Clone)]
pub(crate) struct Dispatcher(Arc<Tsfn>);

impl Dispatcher {
    pub(crate) fn new(f: Function<'_, Args, ()>) -> napi::Result<Dispatcher> {
        let tsfn: Tsfn = f
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(|ctx| Ok(FnArgs::from(ctx.value)))?;
        Ok(Dispatcher(Arc::new(tsfn)))
    }

    /// A core callback that runs the dispatcher with `id` on the JS thread and waits for it.
    pub(crate) fn callback(&self, id: u32) -> Callback {
        let tsfn = self.0.clone();
        Arc::new(move |data| {
            let (done, finished) = sync_channel::<()>(1);
            let status = tsfn.call_with_return_value(
                (id, NativeData(data)),
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
        })
    }
}
