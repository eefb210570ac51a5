//! The reference server in-process, for tests (`roster.testing`): the shared one.

use pyo3::prelude::*;
use roster_bindings::testing;

use crate::blocking::{seconds, wait};
use crate::errors::to_py;

/// A reference registry on loopback (free ports unless `port` is given).
#[pyclass(module = "roster._roster", name = "TestServer", frozen)]
pub struct TestServer(testing::TestServer);

#[pymethods]
impl TestServer {
    #[new]
    #[pyo3(signature = (port=0, *, grace_period=2.0, keepalive_interval=1.0, secure=false))]
    fn new(
        py: Python<'_>,
        port: u16,
        grace_period: f64,
        keepalive_interval: f64,
        secure: bool,
    ) -> PyResult<Self> {
        let grace = seconds("grace_period", grace_period)?;
        let keepalive = seconds("keepalive_interval", keepalive_interval)?;
        let server = if secure {
            wait(
                py,
                testing::TestServer::start_secure(port, grace, keepalive),
            )?
        } else {
            wait(py, testing::TestServer::start(port, grace, keepalive))?
        };
        Ok(TestServer(server.map_err(to_py)?))
    }

    /// A secure server's CA bundle (a client's `tls_ca_file`); `None` for a plain one.
    #[getter]
    fn ca_file(&self) -> Option<std::path::PathBuf> {
        self.0.secrets().map(|s| s.ca_file())
    }

    /// A secure server's keys: `(access_key, secret_key)` of the key that may do anything,
    /// then of the key that may only subscribe; `None` for a plain one.
    #[getter]
    fn keys(&self) -> Option<[(&'static str, String); 2]> {
        self.0.secrets().map(|s| {
            [
                (testing::Secrets::ACCESS_KEY, s.secret_key.clone()),
                (
                    testing::Secrets::READ_ONLY_KEY,
                    s.read_only_secret_key.clone(),
                ),
            ]
        })
    }

    /// `host:port` to give a `Client`.
    #[getter]
    fn endpoint(&self) -> &str {
        self.0.endpoint()
    }

    /// `host:port` of `/health` and `/metrics`.
    #[getter]
    fn http_address(&self) -> Option<&str> {
        self.0.http_address()
    }

    /// `(sessions, publishers, subscribers)` held now.
    fn counts(&self) -> (usize, usize, usize) {
        self.0.counts()
    }

    /// Stops the server (its registrations are gone; clients redo them on the next one).
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.0.stop())
    }
}
