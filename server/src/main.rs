//! `roster-server`: with no arguments, a single in-memory node on 127.0.0.1:9600 (gRPC)
//! and 127.0.0.1:9601 (HTTP health and metrics). With `--peers`, a node of a Raft cluster;
//! `roster-server member add|remove` changes a running cluster's membership.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use roster_server::{admin, AbuseLimits, Config, DialTls, Server, ServerTls};

#[derive(Parser, Debug)]
#[command(
    name = "roster-server",
    version,
    about = "The Roster reference registry server",
    allow_negative_numbers = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// gRPC listen address [default: this node's address in --peers, else 127.0.0.1:9600].
    #[arg(long, env = "ROSTER_LISTEN")]
    listen: Option<SocketAddr>,
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
    /// Cluster mode: the initial members as ID=HOST:PORT,... (this node among them). A node
    /// not among them starts empty and waits for `roster-server member add`.
    #[arg(long, env = "ROSTER_PEERS", value_parser = parse_peers)]
    peers: Option<BTreeMap<u64, String>>,
    /// Cluster mode: where this node dials some members' Raft service instead of their
    /// address in the membership, as ID=HOST:PORT,... (a NAT or a proxy between nodes).
    #[arg(long, env = "ROSTER_PEER_ROUTES", value_parser = parse_peers)]
    peer_routes: Option<BTreeMap<u64, String>>,
    /// Cluster mode: where the Raft log, vote and snapshots are kept [default: roster-data/node-ID].
    #[arg(long, env = "ROSTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Cluster mode: milliseconds between the leader's heartbeats.
    #[arg(long, env = "ROSTER_HEARTBEAT_MS", default_value_t = Config::default().heartbeat_interval.as_millis() as u64)]
    heartbeat_ms: u64,
    /// Cluster mode: a follower that hears no leader for this long (ms, randomized up to
    /// twice as long) asks the others whether they hear one (pre-vote) and, if a majority
    /// does not, starts an election.
    #[arg(long, env = "ROSTER_ELECTION_TIMEOUT_MS", default_value_t = Config::default().election_timeout.0.as_millis() as u64)]
    election_timeout_ms: u64,
    /// Cluster mode: take a snapshot (and purge the log before it) every this many entries.
    #[arg(long, env = "ROSTER_SNAPSHOT_EVERY", default_value_t = Config::default().snapshot_every)]
    snapshot_every: u64,
    /// PEM certificate chain for TLS on the gRPC port (sessions and Raft); reloaded when it
    /// changes. With --tls-key; without them the port speaks plain text.
    #[arg(long, env = "ROSTER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert; reloaded when it changes.
    #[arg(long, env = "ROSTER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA bundle that client certificates must chain to. The Raft service then requires
    /// one (the nodes present theirs).
    #[arg(long, env = "ROSTER_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Every session must present a client certificate too (mutual TLS for all clients).
    #[arg(
        long,
        env = "ROSTER_TLS_REQUIRE_CLIENT_CERT",
        requires = "tls_client_ca"
    )]
    tls_require_client_cert: bool,
    /// PEM CA bundle this node verifies the other members with [default: the system's].
    #[arg(long, env = "ROSTER_TLS_PEER_CA", requires = "tls_cert")]
    tls_peer_ca: Option<PathBuf>,
    /// The name the other members' certificates carry [default: the host of each member's
    /// address].
    #[arg(long, env = "ROSTER_TLS_PEER_SERVER_NAME", requires = "tls_cert")]
    tls_peer_server_name: Option<String>,
    /// TOML file of the access keys clients must authenticate with and what each may do;
    /// reloaded when it changes. Without it clients need no credentials.
    #[arg(long, env = "ROSTER_KEYS_FILE")]
    keys_file: Option<PathBuf>,
    /// Seconds a client's signature time may differ from this node's clock.
    #[arg(long, env = "ROSTER_AUTH_MAX_SKEW", default_value_t = Config::default().auth_max_skew.as_secs_f64())]
    auth_max_skew: f64,
    /// Seconds a connection has to finish its TLS handshake (in plain text: send its first
    /// byte) and a session to say Hello.
    #[arg(long, env = "ROSTER_HANDSHAKE_TIMEOUT", default_value_t = Config::default().abuse.handshake_timeout.as_secs_f64())]
    handshake_timeout: f64,
    /// Live sessions allowed from one IP address.
    #[arg(long, env = "ROSTER_MAX_SESSIONS_PER_ADDRESS", default_value_t = Config::default().abuse.max_sessions_per_address)]
    max_sessions_per_address: usize,
    /// Frames a session may send per second on average (publishes, subscribes, revisions,
    /// refreshes; 0: no limit).
    #[arg(long, env = "ROSTER_MAX_FRAMES_PER_SECOND", default_value_t = Config::default().abuse.max_frames_per_second)]
    max_frames_per_second: u32,
    /// Frames a session may send at once above its rate (a reconnecting client's redo).
    #[arg(long, env = "ROSTER_FRAMES_BURST", default_value_t = Config::default().abuse.frames_burst)]
    frames_burst: u32,
    /// Publishers and subscribers one session may hold.
    #[arg(long, env = "ROSTER_MAX_REGISTRATIONS_PER_SESSION", default_value_t = Config::default().limits.max_registrations_per_session)]
    max_registrations_per_session: usize,
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `roster_server=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info,openraft=warn")]
    log: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Change a running cluster's membership (asks the leader, following redirects).
    Member {
        #[command(subcommand)]
        change: MemberChange,
        /// Any nodes of the cluster, as HOST:PORT,...
        #[arg(
            long,
            global = true,
            value_delimiter = ',',
            default_value = "127.0.0.1:9600"
        )]
        cluster: Vec<String>,
        /// Dial the nodes over TLS, verifying them with this PEM CA bundle.
        #[arg(long, global = true)]
        tls_ca: Option<PathBuf>,
        /// A client certificate and key to present (a cluster with a client CA requires one).
        #[arg(long, global = true, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, global = true, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The name the nodes' certificates carry [default: the host dialed].
        #[arg(long, global = true)]
        tls_server_name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum MemberChange {
    /// Add a running node (started with --node-id ID and the same --peers) as a voter.
    Add {
        #[arg(long)]
        id: u64,
        /// The new node's HOST:PORT.
        #[arg(long)]
        address: String,
    },
    /// Remove a node.
    Remove {
        #[arg(long)]
        id: u64,
    },
}

fn parse_peers(v: &str) -> Result<BTreeMap<u64, String>, String> {
    let mut peers = BTreeMap::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| format!("peer {part:?} is not ID=HOST:PORT"))?;
        let id: u64 = id
            .parse()
            .map_err(|_| format!("peer {part:?}: the id {id:?} is not a number"))?;
        let valid = addr
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !valid {
            return Err(format!(
                "peer {part:?}: the address {addr:?} is not HOST:PORT"
            ));
        }
        if peers.insert(id, addr.to_owned()).is_some() {
            return Err(format!("peer id {id} appears twice"));
        }
    }
    if peers.is_empty() {
        return Err("no peers given".into());
    }
    Ok(peers)
}

fn seconds(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("--{name} must be a non-negative number of seconds, got {v}"))
}

fn config(args: &Args) -> Result<Config, String> {
    let peers = args.peers.clone().unwrap_or_default();
    let listen = match (args.listen, peers.get(&args.node_id)) {
        (Some(listen), _) => listen,
        (None, Some(addr)) => addr.parse().map_err(|_| {
            format!("this node's peer address {addr} is not IP:PORT; give --listen")
        })?,
        (None, None) => Config::default().listen,
    };
    let election = Duration::from_millis(args.election_timeout_ms);
    let mut c = Config {
        listen,
        peers,
        peer_routes: args.peer_routes.clone().unwrap_or_default(),
        data_dir: args.data_dir.clone(),
        heartbeat_interval: Duration::from_millis(args.heartbeat_ms),
        election_timeout: (election, election * 2),
        snapshot_every: args.snapshot_every,
        http_listen: (!args.no_http).then_some(args.http_listen),
        advertise: args.advertise.clone(),
        node_id: args.node_id,
        grace_period: seconds("grace-period", args.grace_period)?,
        keepalive_interval: seconds("keepalive-interval", args.keepalive_interval)?,
        warmup: seconds("warmup", args.warmup)?,
        revision_gc_after: seconds("revision-gc-after", args.revision_gc_after)?,
        tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| ServerTls {
                cert,
                key,
                client_ca: args.tls_client_ca.clone(),
                require_client_cert: args.tls_require_client_cert,
                peer_ca: args.tls_peer_ca.clone(),
                peer_server_name: args.tls_peer_server_name.clone(),
            }),
        keys_file: args.keys_file.clone(),
        auth_max_skew: seconds("auth-max-skew", args.auth_max_skew)?,
        abuse: AbuseLimits {
            handshake_timeout: seconds("handshake-timeout", args.handshake_timeout)?,
            max_sessions_per_address: args.max_sessions_per_address,
            max_frames_per_second: args.max_frames_per_second,
            frames_burst: args.frames_burst,
        },
        ..Config::default()
    };
    c.limits.max_registrations_per_session = args.max_registrations_per_session;
    c.limits.max_data_id_bytes = args.max_data_id_bytes;
    c.limits.max_data_items = args.max_data_items;
    c.limits.max_payload_bytes = args.max_payload_bytes;
    if c.keepalive_interval.is_zero() {
        return Err("--keepalive-interval must be greater than zero".into());
    }
    if c.is_cluster() && args.heartbeat_ms * 2 >= args.election_timeout_ms {
        return Err("--election-timeout-ms must be more than twice --heartbeat-ms".into());
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .init();
    if let Some(Command::Member {
        change,
        cluster,
        tls_ca,
        tls_cert,
        tls_key,
        tls_server_name,
    }) = &args.command
    {
        let tls = (tls_ca.is_some() || tls_cert.is_some()).then(|| DialTls {
            ca: tls_ca.clone(),
            cert: tls_cert.clone(),
            key: tls_key.clone(),
            server_name: tls_server_name.clone(),
        });
        return member(change, cluster, tls.as_ref()).await;
    }
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

async fn member(
    change: &MemberChange,
    cluster: &[String],
    tls: Option<&DialTls>,
) -> std::process::ExitCode {
    let changed = match change {
        MemberChange::Add { id, address } => admin::add_member(cluster, tls, *id, address).await,
        MemberChange::Remove { id } => admin::remove_member(cluster, tls, *id).await,
    };
    match changed {
        Ok(list) => {
            println!(
                "leader: node {} at {} (term {})",
                list.leader_id, list.leader_address, list.term
            );
            for m in list.members {
                println!("member: node {} at {}", m.id, m.address);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("roster-server member: {e}");
            std::process::ExitCode::FAILURE
        }
    }
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
