//! `roster-server`: with no arguments, a single in-memory node on 127.0.0.1:9600 (gRPC)
//! and 127.0.0.1:9601 (HTTP health and metrics). With `--peers`, a node of a Raft cluster;
//! `roster-server member add|remove` changes a running cluster's membership.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use roster_server::{admin, Config, Server};

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
        ..Config::default()
    };
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
    if let Some(Command::Member { change, cluster }) = &args.command {
        return member(change, cluster).await;
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

async fn member(change: &MemberChange, cluster: &[String]) -> std::process::ExitCode {
    let changed = match change {
        MemberChange::Add { id, address } => admin::add_member(cluster, *id, address).await,
        MemberChange::Remove { id } => admin::remove_member(cluster, *id).await,
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
