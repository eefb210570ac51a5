//! The reference server in-process, for tests (`roster.testing`).

use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use roster_server::{Config, Server};

use crate::blocking::{seconds, wait};
use crate::errors::RosterError;
use crate::runtime;

/// A reference registry on loopback (free ports unless `port` is given).
#[pyclass(module = "roster._roster", name = "TestServer", frozen)]
pub struct TestServer {
    inner: Mutex<Option<Server>>,
    endpoint: String,
    http: Option<String>,
}

#[pymethods]
impl TestServer {
    #[new]
    #[pyo3(signature = (port=0, *, grace_period=2.0, keepalive_interval=1.0))]
    fn new(
        py: Python<'_>,
        port: u16,
        grace_period: f64,
        keepalive_interval: f64,
    ) -> PyResult<Self> {
        let mut config = Config {
            grace_period: seconds("grace_period", grace_period)?,
            keepalive_interval: seconds("keepalive_interval", keepalive_interval)?
                .max(Duration::from_millis(100)),
            ..Config::ephemeral()
        };
        config.listen.set_port(port);
        let rt = runtime::get();
        let server = wait(py, async move { rt.spawn(Server::start(config)).await })?
            .map_err(|e| RosterError::new_err(format!("the server task failed: {e}")))?
            .map_err(|e| RosterError::new_err(format!("cannot start the server: {e}")))?;
        Ok(TestServer {
            endpoint: server.endpoint(),
            http: server.http_addr().map(|a| a.to_string()),
            inner: Mutex::new(Some(server)),
        })
    }

    /// `host:port` to give a `Client`.
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `host:port` of `/health` and `/metrics`.
    #[getter]
    fn http_address(&self) -> Option<&str> {
        self.http.as_deref()
    }

    /// `(sessions, publishers, subscribers)` held now.
    fn counts(&self) -> (usize, usize, usize) {
        self.inner.lock().as_ref().map_or((0, 0, 0), |s| {
            let st = s.stats();
            (st.sessions_attached, st.publishers, st.subscribers)
        })
    }

    /// Stops the server (its registrations are gone; clients redo them on the next one).
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let Some(server) = self.inner.lock().take() else {
            return Ok(());
        };
        wait(py, server.shutdown())
    }
}
