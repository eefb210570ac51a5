//! [`Server`]: binds the listeners, starts the services and the node's tasks, and stops
//! them.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use roster_proto::v1::{self, cluster_server::ClusterServer, registry_server::RegistryServer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::registry::{self, Stats};
use crate::replica::{Replica, Shared};
use crate::{background, cluster, http, security, service};

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
        security::exposure::warn_if_exposed(&config, grpc_addr);
        let shared = Arc::new(Shared {
            replica: Arc::new(Replica::new(config, &advertise)),
            shutdown: CancellationToken::new(),
            cluster: OnceLock::new(),
            next_token: AtomicU64::new(registry::now_us()),
            auth,
            per_address: Default::default(),
        });
        if shared.replica.config.is_cluster() {
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
            .replica
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
            shared.replica.config.abuse.handshake_timeout,
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
        } else if !shared.replica.config.warmup.is_zero() {
            tasks.push(tokio::spawn(background::end_warmup(shared.clone())));
        }
        tasks.push(tokio::spawn(background::collect_revisions(shared.clone())));
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
        self.shared.replica.registry.lock().stats()
    }

    /// The registry's whole state, encoded as a `RegistrySnapshot` (what a Raft snapshot
    /// holds), and the log position of the last command applied to it (0 on a single node).
    /// Replicas at the same position hold the same bytes.
    pub fn state(&self) -> (u64, Vec<u8>) {
        use roster_proto::prost::Message;
        let reg = self.shared.replica.registry.lock();
        (reg.position(), reg.snapshot().encode_to_vec())
    }

    /// The Prometheus text that `/metrics` serves.
    pub fn metrics_text(&self) -> String {
        self.shared.replica.metrics.render(self.stats())
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
