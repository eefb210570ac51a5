//! The reference server in-process on loopback, for the tests of services that use Roster
//! (`roster.testing` in Python, `roster/testing` in Node, ...).

use std::time::Duration;

use parking_lot::Mutex;
use roster_core::{Error, ErrorKind, Result};
use roster_server::{Config, Server};

use crate::runtime;

/// A running reference server; `stop` ends it (clients redo on the next one).
pub struct TestServer {
    inner: Mutex<Option<Server>>,
    endpoint: String,
    http: Option<String>,
}

impl TestServer {
    /// Starts one on free ports (or gRPC `port` when not 0), with a `grace` period for
    /// disconnected clients and a `keepalive` interval.
    pub async fn start(port: u16, grace: Duration, keepalive: Duration) -> Result<TestServer> {
        let mut config = Config {
            grace_period: grace,
            keepalive_interval: keepalive.max(Duration::from_millis(100)),
            ..Config::ephemeral()
        };
        config.listen.set_port(port);
        // On the process's runtime, whichever runtime (if any) the caller is on.
        let server = runtime::get()
            .spawn(Server::start(config))
            .await
            .map_err(|e| Error::new(ErrorKind::Internal, format!("the server task failed: {e}")))?
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the server: {e}")))?;
        Ok(TestServer {
            endpoint: server.endpoint(),
            http: server.http_addr().map(|a| a.to_string()),
            inner: Mutex::new(Some(server)),
        })
    }

    /// `host:port` to give a client.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(0)
    }

    /// `host:port` of `/health` and `/metrics`.
    pub fn http_address(&self) -> Option<&str> {
        self.http.as_deref()
    }

    /// `(sessions, publishers, subscribers)` held now.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.inner.lock().as_ref().map_or((0, 0, 0), |s| {
            let st = s.stats();
            (st.sessions_attached, st.publishers, st.subscribers)
        })
    }

    /// Stops it; a second call does nothing.
    pub async fn stop(&self) {
        let server = self.inner.lock().take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}
