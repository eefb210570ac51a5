//! The node's state: the [`Replica`] that applying commands changes (the registry, the
//! streams being attached, metrics, settings, the member list) and the [`Shared`] handle
//! the service, the sessions and the HTTP endpoints hold (the replica, and in cluster mode
//! the node's Raft).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use roster_proto::v1::{self, command::Op};
use tokio_util::sync::CancellationToken;

use crate::apply::{self, Applied};
use crate::cluster;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::registry::{self, Outbox, Registry};
use crate::security;

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
    pub(crate) fn new(config: Config, advertise: &str) -> Replica {
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
            None => Ok(apply::apply(&self.replica, cmd, 0)),
            Some(c) => c.write(cmd).await,
        }
    }

    /// `Err(redirect)` on a cluster node that is not the leader, or a leader that lost
    /// its majority (see `Cluster::serves_clients`).
    pub fn ensure_leader(&self) -> Result<(), tonic::Status> {
        match self.cluster.get() {
            Some(c) if !c.serves_clients() => {
                self.replica.metrics.redirects.inc();
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
