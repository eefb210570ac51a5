//! `TestServer`: the reference server in-process on loopback, for tests.

use std::sync::Arc;
use std::time::Duration;

use roster_bindings::blocking;

use crate::error::Result;
use crate::on_runtime;
use crate::types::ServerCounts;

/// A reference Roster server running in this process.
#[derive(uniffi::Object)]
pub struct TestServer {
    server: Arc<roster_bindings::testing::TestServer>,
}

#[uniffi::export]
impl TestServer {
    /// Starts one on loopback: on `port` (0: a free one), keeping a disconnected client's
    /// registrations for `grace_ms`.
    #[uniffi::constructor(default(port = 0, grace_ms = 1000))]
    pub fn start(port: u16, grace_ms: u64) -> Result<Arc<TestServer>> {
        let grace = Duration::from_millis(grace_ms);
        let server = blocking::block_on(roster_bindings::testing::TestServer::start(
            port,
            grace,
            Duration::from_secs(1),
        ))?;
        Ok(Arc::new(TestServer {
            server: Arc::new(server),
        }))
    }

    /// `host:port`, for `ClientOptions.endpoints`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint().to_owned()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn counts(&self) -> ServerCounts {
        let (sessions, publishers, subscribers) = self.server.counts();
        ServerCounts {
            sessions: sessions as u64,
            publishers: publishers as u64,
            subscribers: subscribers as u64,
        }
    }

    /// Stops it: its registrations are gone; clients redo them on the next server.
    pub async fn stop(&self) {
        let s = self.server.clone();
        on_runtime(async move { s.stop().await }).await
    }
}
