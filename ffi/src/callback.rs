//! Subscriber callbacks into C: run one at a time on one Roster thread
//! (`roster-callbacks`), coalesced by the core to the newest data when a callback is slow,
//! and stopped for good when the subscription ends (after `roster_subscriber_unsubscribe`
//! or `roster_client_close` returns, no call starts and none is running).

use std::ffi::c_void;
use std::sync::Arc;
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};
use roster_bindings::dispatch::Dispatcher;
use roster_core::Callback;

use crate::data::roster_subscriber_data_t;

/// A subscriber callback: `user_data` as given to `roster_client_subscribe`, and the data,
/// borrowed for the call (copy what you keep). Called on a Roster thread, not the caller's:
/// one call at a time for the whole process. It may call any `roster_*` function, blocking
/// ones included, and must not unwind (no C++ exception may leave it).
#[allow(non_camel_case_types)]
pub type roster_subscriber_callback_t =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const roster_subscriber_data_t)>;

/// The one thread that calls into C.
static DISPATCHER: Dispatcher = Dispatcher::new("roster-callbacks", |next| while next() {});

/// Lets calls through until closed; closing waits for a call in progress (unless it is the
/// closing thread's own: a callback may unsubscribe itself).
#[derive(Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
    idle: Condvar,
}

#[derive(Default)]
struct GateState {
    closed: bool,
    running: Option<ThreadId>,
}

impl Gate {
    fn pass(&self, call: impl FnOnce()) {
        {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            st.running = Some(std::thread::current().id());
        }
        call();
        self.state.lock().running = None;
        self.idle.notify_all();
    }

    pub(crate) fn close(&self) {
        let me = std::thread::current().id();
        let mut st = self.state.lock();
        st.closed = true;
        while st.running.is_some_and(|t| t != me) {
            self.idle.wait(&mut st);
        }
    }
}

/// The caller's pointer, handed back untouched on the Roster thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);
// SAFETY: the header tells the caller that the callback runs on another thread with it.
unsafe impl Send for UserData {}
// SAFETY: as above; Roster never dereferences it.
unsafe impl Sync for UserData {}

/// The core callback for a C callback, and the gate that stops it.
pub(crate) fn callback(
    f: unsafe extern "C" fn(*mut c_void, *const roster_subscriber_data_t),
    user_data: *mut c_void,
) -> (Callback, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let (g, user) = (gate.clone(), UserData(user_data));
    let cb: Callback = Arc::new(move |data| {
        let g = g.clone();
        // Waits until C has run it, so a slow callback makes the core coalesce.
        DISPATCHER.run_and_wait(Box::new(move || {
            let user = user;
            g.pass(|| {
                let d = roster_subscriber_data_t::new(&data);
                // SAFETY: a C function pointer given with this user data.
                unsafe { f(user.0, &d) };
            });
        }));
    });
    (cb, gate)
}
