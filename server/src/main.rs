//! `roster-server`: with no arguments, a single in-memory node on 127.0.0.1:9600 (gRPC)
//! and 127.0.0.1:9601 (HTTP health and metrics).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use roster_server::{Config, Server};

#[derive(Parser, Debug)]
#[command(
    name = "roster-server",
    version,
    about = "The Roster reference registry server",
    allow_negative_numbers = true
)]
struct Args {
    /// gRPC listen address.
    #[arg(long, env = "ROSTER_LISTEN", default_value_t = Config::default().listen)]
    listen: SocketAddr,
    /// HTTP listen address for /health and /metrics.
    #[arg(long, env = "ROSTER_HTTP_LISTEN", default_value = "127.0.0.1:9601")]
    http_listen: SocketAddr,
    /// Disable the HTTP endpoints.
    #[arg(long, env = "ROSTER_NO_HTTP")]
    no_http: bool,
    /// Address clients should dial, reported in the member list (default: the listen address).
    #[arg(long, env = "ROSTER_ADVERTISE")]
    advertise: Option<String>,
    /// This node's id.
    #[arg(long, env = "ROSTER_NODE_ID", default_value_t = 1)]
    node_id: u64,
    /// Seconds a session's registrations outlive its connection.
    #[arg(long, env = "ROSTER_GRACE_PERIOD", default_value_t = Config::default().grace_period.as_secs_f64())]
    grace_period: f64,
    /// Seconds between client keep-alives; a session silent for three is closed.
    #[arg(long, env = "ROSTER_KEEPALIVE_INTERVAL", default_value_t = Config::default().keepalive_interval.as_secs_f64())]
    keepalive_interval: f64,
    /// Seconds after start during which empty pushes are held back while clients redo.
    #[arg(long, env = "ROSTER_WARMUP", default_value_t = Config::default().warmup.as_secs_f64())]
    warmup: f64,
    /// Seconds a revision that no application publisher refers to is kept.
    #[arg(long, env = "ROSTER_REVISION_GC_AFTER", default_value_t = Config::default().revision_gc_after.as_secs_f64())]
    revision_gc_after: f64,
    /// Longest dataId, group or instanceId in bytes.
    #[arg(long, env = "ROSTER_MAX_DATA_ID_BYTES", default_value_t = Config::default().limits.max_data_id_bytes)]
    max_data_id_bytes: usize,
    /// Most data items in one publisher.
    #[arg(long, env = "ROSTER_MAX_DATA_ITEMS", default_value_t = Config::default().limits.max_data_items)]
    max_data_items: usize,
    /// Most bytes of data in one publisher.
    #[arg(long, env = "ROSTER_MAX_PAYLOAD_BYTES", default_value_t = Config::default().limits.max_payload_bytes)]
    max_payload_bytes: usize,
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `roster_server=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

fn seconds(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("--{name} must be a non-negative number of seconds, got {v}"))
}

fn config(args: &Args) -> Result<Config, String> {
    let mut c = Config {
        listen: args.listen,
        http_listen: (!args.no_http).then_some(args.http_listen),
        advertise: args.advertise.clone(),
        node_id: args.node_id,
        grace_period: seconds("grace-period", args.grace_period)?,
        keepalive_interval: seconds("keepalive-interval", args.keepalive_interval)?,
        warmup: seconds("warmup", args.warmup)?,
        revision_gc_after: seconds("revision-gc-after", args.revision_gc_after)?,
        ..Config::default()
    };
    c.limits.max_data_id_bytes = args.max_data_id_bytes;
    c.limits.max_data_items = args.max_data_items;
    c.limits.max_payload_bytes = args.max_payload_bytes;
    if c.keepalive_interval.is_zero() {
        return Err("--keepalive-interval must be greater than zero".into());
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .init();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("roster-server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let server = match Server::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roster-server: cannot listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "roster-server listening on {} (http {:?})",
        server.endpoint(),
        server.http_addr()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

#[cfg(unix)]
async fn terminate() {
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        s.recv().await;
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
