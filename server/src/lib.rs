//! `roster-server`: the Roster reference registry.
//!
//! A library as well as a binary, so tests and the bindings' testing helpers can start a
//! registry in-process on a free port:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = roster_server::Server::start(roster_server::Config::ephemeral()).await?;
//! println!("dial {}", server.endpoint());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! | module | what it does |
//! | --- | --- |
//! | `registry` | the registry state as a pure state machine (sessions, registrations, data, versions, pushes to send); `registry::apps` adds revisions, the interface -> applications index and server-side conversion |
//! | `session` | one client's stream: Hello, frames into the registry under its lock, frames out through a bounded queue, keep-alive, the grace period |
//! | `service` | the gRPC service (Session, GetMembers, Health, GetRevisions) |
//! | `http`, `metrics` | `/health` and Prometheus `/metrics` |
//! | `config` | every setting and its default |

mod config;
mod http;
mod metrics;
pub mod registry;
mod service;
mod session;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use roster_proto::v1::{self, registry_server::RegistryServer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{Config, DEFAULT_HTTP_PORT, DEFAULT_PORT};
pub use registry::Stats;

use metrics::Metrics;
use registry::Registry;

/// State shared by the gRPC service, the session tasks and the HTTP endpoints.
pub(crate) struct Shared {
    pub config: Config,
    pub registry: Mutex<Registry>,
    pub metrics: Metrics,
    pub shutdown: CancellationToken,
    pub advertise: String,
}

impl Shared {
    pub fn members(&self) -> v1::MemberList {
        let id = self.config.node_id;
        v1::MemberList {
            members: vec![v1::Member {
                id,
                address: self.advertise.clone(),
            }],
            leader_id: id,
            leader_address: self.advertise.clone(),
            term: 0,
        }
    }
}

/// Garbage-collects unreferenced revisions, checking every half `revision_gc_after`
/// (at most every 10 s).
async fn collect_revisions(shared: Arc<Shared>) {
    let after = shared.config.revision_gc_after;
    let every = (after / 2).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(10),
    );
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let removed = shared
            .registry
            .lock()
            .collect(std::time::Instant::now(), after);
        if removed > 0 {
            tracing::info!(removed, "garbage-collected unreferenced revisions");
        }
    }
}

/// A running registry node. Dropping it does not stop it; call [`Server::shutdown`].
pub struct Server {
    shared: Arc<Shared>,
    grpc_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds the listeners and starts serving. Port 0 picks a free port.
    pub async fn start(config: Config) -> io::Result<Server> {
        let grpc = TcpListener::bind(config.listen).await?;
        let grpc_addr = grpc.local_addr()?;
        let http = match config.http_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let http_addr = http.as_ref().map(TcpListener::local_addr).transpose()?;
        let shared = Arc::new(Shared {
            advertise: config
                .advertise
                .clone()
                .unwrap_or_else(|| grpc_addr.to_string()),
            registry: Mutex::new(Registry::new(config.limits, !config.warmup.is_zero())),
            metrics: Metrics::default(),
            shutdown: CancellationToken::new(),
            config,
        });

        let mut tasks = Vec::new();
        let service = RegistryServer::new(service::RegistryService {
            shared: shared.clone(),
        })
        .max_decoding_message_size(16 * 1024 * 1024);
        let stop = shared.shutdown.clone();
        // Pushes are small frames that must leave at once: no Nagle delay.
        let incoming = tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true));
        tasks.push(tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!("gRPC server failed: {e}");
            }
        }));
        if let Some(listener) = http {
            let stop = shared.shutdown.clone();
            let app = http::router(shared.clone());
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::error!("HTTP server failed: {e}");
                }
            }));
        }
        if !shared.config.warmup.is_zero() {
            let s = shared.clone();
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    _ = s.shutdown.cancelled() => {}
                    _ = tokio::time::sleep(s.config.warmup) => {
                        let fx = s.registry.lock().end_warmup();
                        s.metrics.pushes.inc_by(fx.pushes as u64);
                        tracing::info!(pushes = fx.pushes, "warm-up over");
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(collect_revisions(shared.clone())));
        tracing::info!(%grpc_addr, ?http_addr, "roster-server listening");
        Ok(Server {
            shared,
            grpc_addr,
            http_addr,
            tasks,
        })
    }

    /// `host:port` to give clients.
    pub fn endpoint(&self) -> String {
        self.grpc_addr.to_string()
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Current counts of sessions and registrations.
    pub fn stats(&self) -> Stats {
        self.shared.registry.lock().stats()
    }

    /// The Prometheus text that `/metrics` serves.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.render(self.stats())
    }

    /// Closes every session stream and the listeners, and waits for them. Registrations
    /// are in memory only, so they are gone: clients redo them on the next server.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
