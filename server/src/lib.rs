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
//! | `registry` | the registry state, pure, no I/O (sessions, registrations, data, versions; an operation returns its acks and pushes as `Effects`, which the caller delivers to the sessions' outboxes under the lock), split by concern: `registry::key`, `registry::sessions` (epochs, expiry, redo, tombstones), `registry::registrations`, `registry::fanout` (versions, views, pushes, warm-up); `registry::apps` adds revisions, the interface -> applications index and server-side conversion; `registry::delta` the incremental pushes (after a view's full push, one splice per zone from what the session's stream was last sent, to clients that ask for them in their Hello); `registry::snapshot` writes and restores it whole |
//! | `apply` | applies one command (an attachment, a session's frames, an expiry, a collection) to the registry: the one place that changes it |
//! | `session` | one client's stream: Hello (authenticated, within the handshake deadline, within its address's session allowance), frames in batches into commands after the gate (each refused frame answered with its Ack: over the session's frame rate, or not permitted to its key), frames out through a bounded queue, keep-alive, the grace period |
//! | `cluster` | cluster mode: the commands as a Raft log on openraft (log in redb, snapshots on disk, RPCs over gRPC), leader redirect, membership changes, check quorum (a leader that hears from no majority for its lease stops serving clients); `Config::peer_routes` names where a node dials a member when something sits between them; openraft's storage test suite runs against the log store and the state machine (`cluster::suite`) |
//! | `service` | the gRPC service (Session, GetMembers, Health, GetRevisions; a signed GetRevisions when keys are required) |
//! | `security` | TLS on the gRPC port (`security::tls`: tokio-rustls in front of tonic, so certificates reload when their files change, every connection has a handshake deadline, and the Raft service can require a node certificate), access keys and their grants (`security::auth`: AK/SK signatures checked at Hello, replays and clock skew refused, tenants and dataId patterns per key), abuse limits kept where the session is served (`security::limits`: sessions per address, a frame budget per session), and `security::reload` (a value re-read from files when they change) |
//! | `admin` | membership changes from outside (`roster-server member add/remove`) |
//! | `http`, `metrics` | `/health` and Prometheus `/metrics` |
//! | `config` | every setting and its default |
//! | `ports` | [`free_local_addr`]: a loopback port for a node whose address must be known before it starts, below the ephemeral range |

pub mod admin;
mod apply;
mod cluster;
mod config;
mod http;
mod metrics;
mod ports;
pub mod registry;
mod security;
mod service;
mod session;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use roster_proto::v1::{
    self, cluster_server::ClusterServer, command::Op, registry_server::RegistryServer,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{AbuseLimits, Config, DialTls, ServerTls, DEFAULT_HTTP_PORT, DEFAULT_PORT};
pub use ports::free_local_addr;
pub use registry::Stats;

use apply::Applied;
use metrics::Metrics;
use registry::{Outbox, Registry};

/// What applying commands needs: the registry, the streams being attached here, metrics,
/// settings and the member list a Welcome carries. A single node applies commands with it
/// directly; in a cluster the Raft state machine holds it (as openraft's examples hold their
/// state), while the node's Raft handle lives in [`Shared`], so nothing refers back from
/// the state machine to the Raft that owns it.
pub(crate) struct Replica {
    pub config: Config,
    pub registry: Mutex<Registry>,
    pub metrics: Metrics,
    /// Streams of sessions being attached here, by the token in their attach command.
    pub streams: Mutex<HashMap<u64, Arc<dyn Outbox>>>,
    /// The member list as clients are told it (`cluster::watch` keeps it current).
    pub members: Mutex<v1::MemberList>,
}

impl Replica {
    fn new(config: Config, advertise: &str) -> Replica {
        let id = config.node_id;
        let members = v1::MemberList {
            members: vec![v1::Member {
                id,
                address: advertise.to_owned(),
            }],
            leader_id: id,
            leader_address: advertise.to_owned(),
            term: 0,
        };
        Replica {
            // A cluster's state survives a restart or a leader change: no warm-up needed.
            registry: Mutex::new(Registry::new(
                config.limits,
                !config.warmup.is_zero() && !config.is_cluster(),
            )),
            metrics: Metrics::default(),
            streams: Mutex::new(HashMap::new()),
            members: Mutex::new(members),
            config,
        }
    }

    /// A replica with the default configuration, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Arc<Replica> {
        Arc::new(Replica::new(Config::default(), "127.0.0.1:9600"))
    }
}

/// State shared by the gRPC service, the session tasks and the HTTP endpoints: the
/// replica, and in cluster mode the node's Raft.
pub(crate) struct Shared {
    pub replica: Arc<Replica>,
    pub shutdown: CancellationToken,
    /// Set in cluster mode.
    pub cluster: OnceLock<cluster::Cluster>,
    pub next_token: AtomicU64,
    /// Set when clients must authenticate (`Config::keys_file`).
    pub auth: Option<security::auth::Authenticator>,
    /// Live sessions per peer address (`AbuseLimits::max_sessions_per_address`).
    pub per_address: security::limits::PerAddress,
}

/// The replica's fields read as the node's own (`shared.registry`, `shared.metrics`, ...).
impl std::ops::Deref for Shared {
    type Target = Replica;

    fn deref(&self) -> &Replica {
        &self.replica
    }
}

impl Shared {
    /// A command stamped with this node's clock.
    pub fn command(&self, op: Op) -> v1::Command {
        v1::Command {
            time_us: registry::now_us(),
            op: Some(op),
        }
    }

    /// Applies a command: at once on a single node, through the log in a cluster.
    pub async fn submit(&self, op: Op) -> Result<Applied, tonic::Status> {
        let cmd = self.command(op);
        match self.cluster.get() {
            None => Ok(apply::apply(self, cmd, 0)),
            Some(c) => c.write(cmd).await,
        }
    }

    /// `Err(redirect)` on a cluster node that is not the leader, or a leader that lost
    /// its majority (see `Cluster::serves_clients`).
    pub fn ensure_leader(&self) -> Result<(), tonic::Status> {
        match self.cluster.get() {
            Some(c) if !c.serves_clients() => {
                self.metrics.redirects.inc();
                Err(c.not_leader())
            }
            _ => Ok(()),
        }
    }

    pub fn members(&self) -> v1::MemberList {
        match self.cluster.get() {
            Some(c) => c.members(),
            None => self.replica.members.lock().clone(),
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
        if shared.cluster.get().is_some_and(|c| !c.is_leader()) {
            continue; // the leader proposes it for everyone
        }
        let after_us = after.as_micros().try_into().unwrap_or(u64::MAX);
        let op = Op::Collect(v1::CollectRevisions { after_us });
        if let Err(status) = shared.submit(op).await {
            tracing::debug!(%status, "revision collection not applied");
        }
    }
}

/// Plain text or no authentication on an address other clients can reach is a mistake
/// outside a test: say so at start.
fn warn_if_exposed(config: &Config, addr: SocketAddr) {
    for warning in exposure_warnings(config, addr) {
        tracing::warn!(%addr, "{warning}");
    }
}

/// What is exposed on `addr` (nothing on loopback).
fn exposure_warnings(config: &Config, addr: SocketAddr) -> Vec<&'static str> {
    let mut warnings = Vec::new();
    if addr.ip().is_loopback() {
        return warnings;
    }
    if config.tls.is_none() {
        warnings.push(
            "listening in plain text on an address that is not loopback: anyone on the \
             network can read and change the registry's traffic (give --tls-cert and --tls-key)",
        );
    }
    if config.keys_file.is_none() {
        warnings.push(
            "no keys file: any client that reaches this address may publish anything (give --keys-file)",
        );
    }
    if config.is_cluster() && config.tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
        warnings.push(
            "the Raft service accepts any caller: give --tls-client-ca so only nodes holding a \
             certificate of the cluster's CA can call it",
        );
    }
    warnings
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
        let advertise = config
            .advertise
            .clone()
            .unwrap_or_else(|| grpc_addr.to_string());
        let tls = match &config.tls {
            Some(t) => Some(Arc::new(
                security::tls::Acceptor::new(t, config.reload_every).map_err(io::Error::other)?,
            )),
            None => None,
        };
        let auth = match &config.keys_file {
            Some(path) => Some(
                security::auth::Authenticator::new(
                    path.clone(),
                    config.auth_max_skew,
                    config.reload_every,
                )
                .map_err(io::Error::other)?,
            ),
            None => None,
        };
        warn_if_exposed(&config, grpc_addr);
        let shared = Arc::new(Shared {
            replica: Arc::new(Replica::new(config, &advertise)),
            shutdown: CancellationToken::new(),
            cluster: OnceLock::new(),
            next_token: AtomicU64::new(registry::now_us()),
            auth,
            per_address: Default::default(),
        });
        if shared.config.is_cluster() {
            let cluster = cluster::Cluster::start(&shared).await?;
            let _ = shared.cluster.set(cluster);
        }

        let mut tasks = Vec::new();
        let service = RegistryServer::new(service::RegistryService {
            shared: shared.clone(),
        })
        .max_decoding_message_size(16 * 1024 * 1024);
        let cluster_service = ClusterServer::new(cluster::rpc::ClusterService {
            shared: shared.clone(),
        })
        .max_decoding_message_size(cluster::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(cluster::MAX_MESSAGE_BYTES);
        let peers_need_cert = shared
            .config
            .tls
            .as_ref()
            .is_some_and(|t| t.client_ca.is_some());
        let cluster_service =
            tonic::service::interceptor::InterceptedService::new(cluster_service, move |req| {
                security::tls::peers_only(req, peers_need_cert)
            });
        let stop = shared.shutdown.clone();
        let incoming = security::tls::incoming(
            grpc,
            tls,
            shared.config.abuse.handshake_timeout,
            stop.clone(),
            shared.replica.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(service)
                .add_service(cluster_service)
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
        if shared.cluster.get().is_some() {
            tasks.push(tokio::spawn(cluster::watch(shared.clone())));
            tasks.push(tokio::spawn(cluster::election::run(shared.clone())));
        } else if !shared.config.warmup.is_zero() {
            let s = shared.clone();
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    _ = s.shutdown.cancelled() => {}
                    _ = tokio::time::sleep(s.config.warmup) => {
                        let fx = {
                            let mut reg = s.registry.lock();
                            let mut fx = reg.end_warmup();
                            fx.deliver();
                            fx
                        };
                        apply::record(&s, &fx);
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

    /// The registry's whole state, encoded as a `RegistrySnapshot` (what a Raft snapshot
    /// holds), and the log position of the last command applied to it (0 on a single node).
    /// Replicas at the same position hold the same bytes.
    pub fn state(&self) -> (u64, Vec<u8>) {
        use roster_proto::prost::Message;
        let reg = self.shared.registry.lock();
        (reg.position(), reg.snapshot().encode_to_vec())
    }

    /// The Prometheus text that `/metrics` serves.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.render(self.stats())
    }

    /// This node's view of the cluster: members, leader and term (a single node is its own
    /// leader).
    pub fn members(&self) -> v1::MemberList {
        self.shared.members()
    }

    /// True for a single node, and for the current leader of a cluster.
    pub fn is_leader(&self) -> bool {
        self.shared.cluster.get().is_none_or(|c| c.is_leader())
    }

    /// Closes every session stream and the listeners, and waits for them. A single node's
    /// registrations are in memory only, so they are gone: clients redo them on the next
    /// server. A cluster node stops Raft; its log and snapshot stay in the data directory.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        if let Some(c) = self.shared.cluster.get() {
            if let Err(e) = c.raft.shutdown().await {
                tracing::warn!("Raft did not stop cleanly: {e}");
            }
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod exposure_tests {
    use super::*;

    #[test]
    fn plain_text_and_open_access_are_warned_of_off_loopback_only() {
        let config = Config::default();
        assert!(exposure_warnings(&config, "127.0.0.1:9600".parse().unwrap()).is_empty());
        let open = exposure_warnings(&config, "10.0.0.5:9600".parse().unwrap());
        assert_eq!(open.len(), 2, "{open:?}");
        assert!(open[0].contains("plain text"));
        let secured = Config {
            tls: Some(ServerTls {
                cert: "c.pem".into(),
                key: "k.pem".into(),
                client_ca: Some("ca.pem".into()),
                require_client_cert: false,
                peer_ca: None,
                peer_server_name: None,
            }),
            keys_file: Some("keys.toml".into()),
            peers: [(1, "10.0.0.5:9600".to_owned())].into(),
            ..Config::default()
        };
        assert!(exposure_warnings(&secured, "10.0.0.5:9600".parse().unwrap()).is_empty());
        let no_client_ca = Config {
            tls: secured.tls.clone().map(|t| ServerTls {
                client_ca: None,
                ..t
            }),
            ..secured.clone()
        };
        let w = exposure_warnings(&no_client_ca, "10.0.0.5:9600".parse().unwrap());
        assert!(w.len() == 1 && w[0].contains("Raft service"), "{w:?}");
    }
}
