//! `roster._roster`: the Python extension over `roster-core` (pyo3). The Python package
//! (`python/roster`) re-exports it and adds `roster.aio` and `roster.testing`.
//!
//! | module | what it does |
//! | --- | --- |
//! | `runtime` | one tokio runtime per process, fresh in a forked child |
//! | `blocking` | runs core futures with the GIL released, letting signals through |
//! | `asyncio` | runs core futures as tasks that resolve asyncio futures (`roster.aio`) |
//! | `errors` | one exception class per core error kind, under `RosterError` |
//! | `client` | `Client`, `Publisher`, `Subscriber`, update iteration, callbacks |
//! | `data` | `SubscriberData`, shared with the core without copying |
//! | `server` | the reference server in-process, for `roster.testing` |

mod asyncio;
mod blocking;
mod client;
mod data;
mod errors;
mod runtime;
mod server;

use pyo3::prelude::*;

#[pymodule]
fn _roster(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records (and `tracing` ones, through its log bridge) go to Python's logging.
    let _ = pyo3_log::try_init();
    errors::register(m)?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::Publisher>()?;
    m.add_class::<client::Subscriber>()?;
    m.add_class::<client::Updates>()?;
    m.add_class::<data::SubscriberData>()?;
    m.add_class::<server::TestServer>()?;
    Ok(())
}
