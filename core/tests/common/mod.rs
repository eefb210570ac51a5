//! Helpers for the integration tests: a real server on a free loopback port, clients
//! wired to it, a raw protocol session, and a TCP proxy that can cut connections.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use roster_core::{Client, ClientBuilder};
use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, server_frame};
use roster_server::{Config, Server};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// Deadline for things that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn config(grace: Duration) -> Config {
    init_tracing();
    Config {
        grace_period: grace,
        keepalive_interval: Duration::from_secs(1),
        ..Config::ephemeral()
    }
}

pub async fn server() -> Server {
    Server::start(config(Duration::from_secs(2)))
        .await
        .expect("server starts")
}

pub fn builder(endpoint: &str) -> ClientBuilder {
    Client::builder()
        .endpoints([endpoint])
        .app_name("test")
        .request_timeout(Duration::from_secs(5))
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(300))
}

/// A client connected to `endpoint`.
pub async fn client(endpoint: &str) -> Client {
    connected(builder(endpoint)).await
}

pub async fn connected(b: ClientBuilder) -> Client {
    let c = b.build().expect("valid config");
    c.wait_connected(WAIT).await.expect("connects");
    c
}

/// A hand-driven session: sends frames as given and collects what comes back.
pub struct Raw {
    pub tx: mpsc::UnboundedSender<v1::ClientFrame>,
    pub rx: tonic::Streaming<v1::ServerFrame>,
    next: u64,
}

impl Raw {
    pub async fn open(endpoint: &str, client_id: &str, zone: &str) -> Raw {
        Raw::open_with(endpoint, client_id, zone, false).await
    }

    /// A session whose Hello asks for deltas when `deltas` is set.
    pub async fn open_with(endpoint: &str, client_id: &str, zone: &str, deltas: bool) -> Raw {
        let mut grpc = RegistryClient::connect(format!("http://{endpoint}"))
            .await
            .expect("connects");
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(frame(
            0,
            Body::Hello(v1::Hello {
                client_id: client_id.into(),
                app_name: "raw".into(),
                zone: zone.into(),
                data_center: "dc".into(),
                deltas,
                ..Default::default()
            }),
        ))
        .unwrap();
        let mut rx = grpc
            .session(UnboundedReceiverStream::new(rx))
            .await
            .expect("session")
            .into_inner();
        let welcome = rx.message().await.unwrap().unwrap();
        assert!(matches!(welcome.body, Some(server_frame::Body::Welcome(_))));
        Raw { tx, rx, next: 1 }
    }

    /// Sends a frame and returns its ack; pushes that arrive first are returned too.
    pub async fn call(&mut self, body: Body) -> (v1::Ack, Vec<v1::Push>) {
        let id = self.next;
        self.next += 1;
        self.tx.send(frame(id, body)).unwrap();
        let (ack, pushes) = self
            .until(|f| matches!(f, server_frame::Body::Ack(a) if a.request_id == id))
            .await;
        match ack {
            server_frame::Body::Ack(a) => (a, pushes),
            _ => unreachable!("matched above"),
        }
    }

    /// Collects pushes until a ping round trip completes: everything the server sent
    /// before answering the ping.
    pub async fn drain_pushes(&mut self) -> Vec<v1::Push> {
        self.tx
            .send(frame(0, Body::Ping(v1::Ping { nonce: 42 })))
            .unwrap();
        self.until(|f| matches!(f, server_frame::Body::Pong(_)))
            .await
            .1
    }

    /// Reads frames until one satisfies `done`; returns it and the pushes before it.
    async fn until(
        &mut self,
        done: impl Fn(&server_frame::Body) -> bool,
    ) -> (server_frame::Body, Vec<v1::Push>) {
        let mut pushes = Vec::new();
        loop {
            let f = tokio::time::timeout(WAIT, self.rx.message())
                .await
                .expect("an answer")
                .unwrap()
                .unwrap();
            match f.body {
                Some(body) if done(&body) => return (body, pushes),
                Some(server_frame::Body::Push(p)) => pushes.push(p),
                _ => {}
            }
        }
    }
}

pub fn frame(request_id: u64, body: Body) -> v1::ClientFrame {
    v1::ClientFrame {
        request_id,
        body: Some(body),
    }
}

pub fn key(data_id: &str) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: data_id.into(),
        ..Default::default()
    })
}

pub fn publish(regist_id: &str, data_id: &str, version: u64, data: &[&str]) -> Body {
    Body::Publish(v1::Publish {
        regist_id: regist_id.into(),
        key: key(data_id),
        version,
        data: data
            .iter()
            .map(|d| bytes::Bytes::copy_from_slice(d.as_bytes()))
            .collect(),
    })
}

/// A TCP proxy in front of a server, so a test can cut every connection (a network blip)
/// or refuse new ones, while the server keeps running.
pub struct Proxy {
    pub addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

/// A server whose member list names a proxy in front of it, so that clients that learn the
/// member list also go through the proxy.
pub async fn proxied_server(grace: Duration) -> (Server, Proxy) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let server = Server::start(Config {
        advertise: Some(proxy_addr.to_string()),
        ..config(grace)
    })
    .await
    .unwrap();
    let proxy = Proxy::serve(listener, server.grpc_addr());
    (server, proxy)
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        Proxy::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), target)
    }

    fn serve(listener: TcpListener, target: SocketAddr) -> Proxy {
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().push(task);
            }
        });
        Proxy {
            addr,
            conns,
            accept,
        }
    }

    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Drops every open connection (both sides see a reset); new ones are still accepted.
    pub fn cut(&self) {
        for t in self.conns.lock().drain(..) {
            t.abort();
        }
    }

    /// Cuts and stops accepting: the client can no longer reach the server at all.
    pub fn kill(self) {
        self.accept.abort();
        self.cut();
    }
}

/// Reads a counter or gauge from the server's Prometheus text.
pub fn metric(server: &Server, name: &str) -> f64 {
    server
        .metrics_text()
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("metric {name} not found"))
}

/// The sum of a labeled metric's series whose labels include the value `label` (0 when
/// none has been counted yet).
pub fn metric_labeled(server: &Server, name: &str, label: &str) -> f64 {
    server
        .metrics_text()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(&format!("=\"{label}\"")))
        .filter_map(|l| l.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .sum()
}

/// A node of an in-process cluster, on a runtime of its own so that `kill` drops every task
/// and socket at once, as a crash would (the data directory stays).
pub struct Node {
    pub id: u64,
    pub addr: String,
    runtime: Option<tokio::runtime::Runtime>,
    pub server: Option<Server>,
}

/// A change to every node's configuration.
pub type Tweak = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// A Raft cluster of in-process nodes on free loopback ports, each with its data directory.
pub struct Cluster {
    pub nodes: Vec<Node>,
    peers: std::collections::BTreeMap<u64, String>,
    pub dir: tempfile::TempDir,
    pub grace: Duration,
    pub snapshot_every: u64,
    /// Applied to every node's configuration (TLS, keys).
    pub tweak: Option<Tweak>,
}

/// A free loopback address for a node whose address must be known before it starts.
pub fn free_addr() -> String {
    roster_server::free_local_addr().to_string()
}

impl Cluster {
    /// Starts `n` nodes with ids 1..=n and waits for a leader.
    pub async fn start(n: u64) -> Cluster {
        Cluster::with_grace(n, Duration::from_secs(3)).await
    }

    /// Starts `n` nodes whose sessions outlive their streams by `grace`.
    pub async fn with_grace(n: u64, grace: Duration) -> Cluster {
        Cluster::with(n, grace, None).await
    }

    /// Starts `n` nodes, each configuration changed by `tweak`.
    pub async fn with(n: u64, grace: Duration, tweak: Option<Tweak>) -> Cluster {
        init_tracing();
        let peers = (1..=n).map(|id| (id, free_addr())).collect();
        let mut c = Cluster {
            nodes: Vec::new(),
            peers,
            dir: tempfile::tempdir().unwrap(),
            grace,
            snapshot_every: 10_000,
            tweak,
        };
        for id in 1..=n {
            let addr = c.peers[&id].clone();
            c.nodes.push(Node {
                id,
                addr,
                runtime: None,
                server: None,
            });
            c.boot(id);
        }
        c.leader().await;
        c
    }

    pub fn config(&self, id: u64) -> Config {
        let addr = self.node(id).addr.parse().unwrap();
        let mut config = Config {
            listen: addr,
            http_listen: None,
            node_id: id,
            peers: self.peers.clone(),
            data_dir: Some(self.dir.path().join(format!("node-{id}"))),
            grace_period: self.grace,
            keepalive_interval: Duration::from_secs(1),
            snapshot_every: self.snapshot_every,
            // Twice the defaults: the tests share two cores, and a heartbeat held up by the
            // load must not start an election the test did not ask for.
            heartbeat_interval: Duration::from_millis(100),
            election_timeout: (Duration::from_millis(300), Duration::from_millis(600)),
            ..Config::ephemeral()
        };
        if let Some(tweak) = &self.tweak {
            tweak(&mut config);
        }
        config
    }

    pub fn node(&self, id: u64) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .expect("a node of this cluster")
    }

    fn node_mut(&mut self, id: u64) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .expect("a node of this cluster")
    }

    /// Starts node `id` (again) on its own runtime, with its data directory.
    pub fn boot(&mut self, id: u64) {
        let config = self.config(id);
        self.boot_with(id, config);
    }

    pub fn boot_with(&mut self, id: u64, config: Config) {
        let (runtime, server) = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            // Its old port may be held a moment by a client's ephemeral connect.
            let server = rt.block_on(async {
                for _ in 0..40 {
                    match Server::start(config.clone()).await {
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                        started => return started,
                    }
                }
                Server::start(config).await
            });
            let server = server.expect("node starts");
            (rt, server)
        })
        .join()
        .unwrap();
        let node = self.node_mut(id);
        node.runtime = Some(runtime);
        node.server = Some(server);
    }

    /// Adds a node that is not among the initial peers (it waits to be added).
    pub fn boot_extra(&mut self, id: u64) -> String {
        let addr = free_addr();
        self.nodes.push(Node {
            id,
            addr: addr.clone(),
            runtime: None,
            server: None,
        });
        self.boot(id);
        addr
    }

    /// Drops the node's runtime: every task and socket goes at once, like a crash. Returns
    /// once they are gone (and the data directory is free to open again).
    pub fn kill(&mut self, id: u64) {
        let node = self.node_mut(id);
        node.server = None;
        if let Some(rt) = node.runtime.take() {
            std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(5)))
                .join()
                .unwrap();
        }
    }

    pub fn live(&self) -> impl Iterator<Item = &Server> {
        self.nodes.iter().filter_map(|n| n.server.as_ref())
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    /// The id of the live leader, waiting (with a deadline) until there is one and every
    /// live node agrees on it and its term (no election under way).
    pub async fn leader(&self) -> u64 {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let leader = self
                .nodes
                .iter()
                .find(|n| n.server.as_ref().is_some_and(|s| s.is_leader()));
            if let Some(n) = leader {
                let view = n.server.as_ref().unwrap().members();
                let agreed = self.live().all(|s| {
                    let m = s.members();
                    m.leader_id == n.id && m.term == view.term
                });
                if agreed {
                    return n.id;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no leader elected within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A live node that is not the leader.
    pub async fn follower(&self) -> u64 {
        let leader = self.leader().await;
        self.nodes
            .iter()
            .find(|n| n.id != leader && n.server.is_some())
            .expect("a live follower")
            .id
    }

    /// Waits until every live node's registry holds `publishers` publishers.
    pub async fn wait_replicated(&self, publishers: usize) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let counts: Vec<usize> = self.live().map(|s| s.stats().publishers).collect();
            if counts.iter().all(|&c| c == publishers) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nodes hold {counts:?} publishers, not {publishers} each"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Cluster {
    /// Waits until every live node has applied the same log, then checks that their
    /// registries are byte for byte the same (as encoded snapshots).
    pub async fn assert_replicas_identical(&self) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let states: Vec<(u64, Vec<u8>)> = self.live().map(|s| s.state()).collect();
            if states.iter().all(|s| s.0 == states[0].0) {
                for (i, s) in states.iter().enumerate() {
                    assert!(
                        s.1 == states[0].1,
                        "live node #{i}'s registry differs from node #0's at log position {}",
                        s.0
                    );
                }
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nodes did not reach the same log position: {:?}",
                states.iter().map(|s| s.0).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.nodes.iter().map(|n| n.id).collect();
        for id in ids {
            self.kill(id);
        }
    }
}

/// Polls `cond` until it holds, failing with `what` after the deadline.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
