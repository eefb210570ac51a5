//! `roster._roster`: the Python extension over `roster-core` (pyo3). The Python package
//! (`python/roster`) re-exports it and adds `roster.aio` and `roster.testing`.
//!
//! What is not Python-specific (the process runtime, blocking in slices, the dispatcher
//! thread, held handles, options, names, the test server) is `roster_bindings`'; this crate
//! translates.
//!
//! | module | what it does |
//! | --- | --- |
//! | `blocking` | runs core futures with the GIL released, letting signals through |
//! | `asyncio` | runs core futures as tasks that resolve asyncio futures (`roster.aio`) |
//! | `errors` | one exception class per core error kind, under `RosterError` |
//! | `client` | `Client`, `Publisher`, `Subscriber`, update iteration |
//! | `dispatch` | Python jobs on the shared dispatcher thread, the GIL taken once per batch |
//! | `data` | `SubscriberData`, shared with the core without copying |
//! | `server` | the reference server in-process, for `roster.testing` |

mod asyncio;
mod blocking;
mod client;
mod data;
mod dispatch;
mod errors;
mod server;

use pyo3::prelude::*;

static LOGGING: parking_lot::Mutex<Option<pyo3_log::ResetHandle>> = parking_lot::Mutex::new(None);

/// Re-reads Python's logging levels: the bridge caches them, so call this after changing
/// a level at run time (configure logging before the first client to need none).
#[pyfunction]
fn reset_logging() {
    if let Some(handle) = LOGGING.lock().as_ref() {
        handle.reset();
    }
}

#[pymodule]
fn _roster(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records (and `tracing` ones, through its log bridge) go to Python's logging,
    // under the Rust module path (`roster_core.connection`, ...).
    if let Ok(handle) = pyo3_log::try_init() {
        *LOGGING.lock() = Some(handle);
    }
    m.add_function(wrap_pyfunction!(reset_logging, m)?)?;
    errors::register(m)?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::Publisher>()?;
    m.add_class::<client::Subscriber>()?;
    m.add_class::<client::Updates>()?;
    m.add_class::<client::Wait>()?;
    m.add_class::<data::SubscriberData>()?;
    m.add_class::<server::TestServer>()?;
    Ok(())
}
