//! Server configuration. Defaults live here once; `main.rs` maps flags and environment
//! variables onto it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use roster_proto::rules::Limits;

/// The gRPC port of the embedded default server.
pub const DEFAULT_PORT: u16 = 9600;
/// The HTTP port (health and metrics) of the embedded default server.
pub const DEFAULT_HTTP_PORT: u16 = 9601;

#[derive(Clone, Debug)]
pub struct Config {
    /// gRPC listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// HTTP listen address for `/health` and `/metrics`; `None` disables it.
    pub http_listen: Option<SocketAddr>,
    /// The address clients should dial, as reported in the member list. Defaults to the
    /// bound gRPC address.
    pub advertise: Option<String>,
    pub node_id: u64,
    /// How long a session's registrations outlive its connection.
    pub grace_period: Duration,
    /// How often clients should ping; a session silent for three intervals is closed.
    pub keepalive_interval: Duration,
    pub limits: Limits,
    /// After a start, how long pushes of empty data are held back while clients redo their
    /// registrations, so subscribers do not see providers vanish and come back.
    pub warmup: Duration,
    /// How long a revision nobody refers to is kept before it is garbage-collected.
    pub revision_gc_after: Duration,
    /// Frames queued per connection before a slow client is disconnected (it reconnects and
    /// redoes; nothing is lost).
    pub outbox_capacity: usize,
    /// Cluster mode when not empty: every initial member's id and `host:port`. A node whose
    /// id is not among them starts empty and waits to be added (`roster-server member add`).
    pub peers: BTreeMap<u64, String>,
    /// Where this node dials a member's Raft service instead of the member's address (a
    /// NAT or sidecar between nodes; the chaos runner's fault-injecting proxy). Clients are
    /// still told the members' own addresses.
    pub peer_routes: BTreeMap<u64, String>,
    /// Where a cluster node keeps its Raft log, vote and snapshots.
    pub data_dir: Option<PathBuf>,
    /// Raft timings (cluster mode): the leader's heartbeat, and the range a follower waits
    /// without one before it starts an election.
    pub heartbeat_interval: Duration,
    pub election_timeout: (Duration, Duration),
    /// A snapshot is taken after this many log entries, and the log before it purged.
    pub snapshot_every: u64,
    /// TLS on the gRPC port (sessions and Raft). `None`: plain text, for loopback and tests
    /// (the server warns when it listens in plain text elsewhere).
    pub tls: Option<ServerTls>,
    /// The access keys clients must authenticate with, and what each may do (see
    /// `security::auth` for the format). `None`: no authentication.
    pub keys_file: Option<PathBuf>,
    /// Largest difference between a client's signature time and this node's clock.
    pub auth_max_skew: Duration,
    /// How often, at most, the keys file and the TLS files are checked for changes.
    pub reload_every: Duration,
    /// Limits per connection, session and peer address that hold under abuse.
    pub abuse: AbuseLimits,
}

/// The server's certificate, and who it trusts.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// PEM certificate chain and private key, loaded again when they change.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// PEM CA bundle that client certificates must chain to. When set, the Raft service
    /// accepts only connections with such a certificate (the nodes present theirs).
    pub client_ca: Option<PathBuf>,
    /// Sessions too must present a client certificate (mutual TLS for every client).
    pub require_client_cert: bool,
    /// How this node dials the other members: their CA (default: the system's roots) and
    /// the name their certificates carry (default: the host of each member's address).
    /// It presents its own `cert` and `key`.
    pub peer_ca: Option<PathBuf>,
    pub peer_server_name: Option<String>,
}

impl ServerTls {
    /// How this node dials another.
    pub fn dial(&self) -> DialTls {
        DialTls {
            ca: self.peer_ca.clone(),
            cert: Some(self.cert.clone()),
            key: Some(self.key.clone()),
            server_name: self.peer_server_name.clone(),
        }
    }
}

/// TLS for dialing a node (another member, or `roster-server member`).
#[derive(Clone, Debug, Default)]
pub struct DialTls {
    /// PEM CA bundle to verify the node with (default: the system's roots).
    pub ca: Option<PathBuf>,
    /// A client certificate and key to present.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The name the node's certificate must carry (default: the host dialed).
    pub server_name: Option<String>,
}

/// Limits that keep one client (or one address) from starving the others. Each refusal
/// has its own error and is counted in `roster_limit_refusals_total{limit}`.
#[derive(Clone, Copy, Debug)]
pub struct AbuseLimits {
    /// A connection must finish its TLS handshake (in plain text: send its first byte)
    /// within this, and a session must say Hello within it.
    pub handshake_timeout: Duration,
    /// Live sessions from one IP address.
    pub max_sessions_per_address: usize,
    /// Frames per second one session may send on average (publishes, subscribes, revisions
    /// and refreshes: pings, unregisters and the redo's end are never refused); it may send
    /// a burst of `frames_burst` at once (a reconnecting client's redo).
    pub max_frames_per_second: u32,
    pub frames_burst: u32,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_sessions_per_address: 512,
            max_frames_per_second: 10_000,
            frames_burst: 200_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_HTTP_PORT))),
            advertise: None,
            node_id: 1,
            grace_period: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(5),
            limits: Limits::default(),
            warmup: Duration::from_secs(5),
            revision_gc_after: Duration::from_secs(300),
            outbox_capacity: 16 * 1024,
            peers: BTreeMap::new(),
            peer_routes: BTreeMap::new(),
            data_dir: None,
            // openraft's defaults: a leader's death is noticed and a new one elected in about
            // half a second on a LAN.
            heartbeat_interval: Duration::from_millis(50),
            election_timeout: (Duration::from_millis(150), Duration::from_millis(300)),
            snapshot_every: 10_000,
            tls: None,
            keys_file: None,
            auth_max_skew: Duration::from_secs(300),
            reload_every: Duration::from_secs(1),
            abuse: AbuseLimits::default(),
        }
    }
}

impl Config {
    /// A configuration for tests: free loopback ports for gRPC and HTTP, and no warm-up.
    pub fn ephemeral() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            warmup: Duration::ZERO,
            ..Self::default()
        }
    }

    /// True when this node is part of a Raft cluster.
    pub fn is_cluster(&self) -> bool {
        !self.peers.is_empty()
    }
}
