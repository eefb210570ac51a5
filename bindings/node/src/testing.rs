//! The reference server in-process, for the tests of services that use Roster
//! (`roster/testing`): the shared one.

use std::time::Duration;

use napi_derive::napi;
use roster_bindings::testing::TestServer;

use crate::errors::to_js;
use crate::on_runtime;

#[napi]
pub struct NativeTestServer(std::sync::Arc<TestServer>);

#[napi]
impl NativeTestServer {
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.0.endpoint().to_owned()
    }

    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.0.port())
    }

    #[napi(getter)]
    pub fn http_address(&self) -> Option<String> {
        self.0.http_address().map(str::to_owned)
    }

    /// `[sessions, publishers, subscribers]` held now.
    #[napi]
    pub fn counts(&self) -> Vec<u32> {
        let (a, b, c) = self.0.counts();
        [a, b, c]
            .into_iter()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .collect()
    }

    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        let server = self.0.clone();
        on_runtime(async move { server.stop().await }).await
    }
}

/// Starts a reference server on loopback (free ports unless `port` is given).
#[napi]
pub async fn start_test_server(
    port: u32,
    grace_period_ms: f64,
    keepalive_interval_ms: f64,
) -> napi::Result<NativeTestServer> {
    let port = u16::try_from(port)
        .map_err(|_| crate::errors::invalid(format!("port {port} is not a TCP port")))?;
    let ms = |name: &str, v: f64| roster_bindings::blocking::millis(name, v).map_err(to_js);
    let grace = ms("gracePeriodMs", grace_period_ms)?;
    let keepalive =
        ms("keepaliveIntervalMs", keepalive_interval_ms)?.max(Duration::from_millis(100));
    let server = on_runtime(TestServer::start(port, grace, keepalive))
        .await?
        .map_err(to_js)?;
    Ok(NativeTestServer(std::sync::Arc::new(server)))
}
