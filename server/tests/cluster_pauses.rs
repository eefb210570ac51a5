//! A three-node cluster of real `roster-server` processes (default Raft timings) whose nodes
//! are paused with SIGSTOP and resumed with SIGCONT, as a GC pause or a network blip would,
//! while real clients publish, republish and subscribe.
//!
//! - A paused follower must not depose the leader (pre-vote, `cluster/election.rs`): the
//!   leader and its term stay, no client session is closed or redone, writes go on.
//! - A paused leader is replaced; when it resumes it steps down, and no write it acknowledged
//!   is lost.
//!
//! The two tests take turns (one cluster at a time on two cores). A node's log is printed
//! when a test fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_core::{
    Client, Publisher, PublisherRegistration, Scope, Subscriber, SubscriberData,
    SubscriberRegistration,
};
use roster_proto::v1::{registry_client::RegistryClient, GetMembersRequest, MemberList};

const WAIT: Duration = Duration::from_secs(15);
/// Longer than ten default election timeouts (150-300 ms).
const PAUSE: Duration = Duration::from_secs(2);

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Node {
    id: u64,
    addr: String,
    http: String,
    child: Child,
    log: PathBuf,
}

impl Node {
    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; it reads no memory of ours.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "signal {signal} to node {}", self.id);
    }

    /// Freezes the process (SIGSTOP): its sockets stay open, nothing answers.
    fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// This node's view of the cluster, `None` if it does not answer within a second.
    async fn members(&self) -> Option<MemberList> {
        let ask = async {
            let mut c = RegistryClient::connect(format!("http://{}", self.addr))
                .await
                .ok()?;
            c.get_members(GetMembersRequest::default())
                .await
                .ok()
                .map(|r| r.into_inner())
        };
        tokio::time::timeout(Duration::from_secs(1), ask)
            .await
            .ok()
            .flatten()
    }

    /// A counter or gauge from `/metrics` (0 when absent).
    fn metric(&self, name: &str) -> f64 {
        let mut s = TcpStream::connect(&self.http).expect("metrics port");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /metrics HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

struct Cluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    roster_server::free_local_addr().port()
}

impl Cluster {
    /// Starts three nodes with the server's default Raft timings and waits for a leader.
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let addrs: Vec<String> = (0..3)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let peers: Vec<String> = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}={a}", i + 1))
            .collect();
        let mut nodes = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let id = i as u64 + 1;
            let http = format!("127.0.0.1:{}", free_port());
            let log = dir.path().join(format!("node-{id}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_roster-server"))
                .args(["--node-id", &id.to_string(), "--peers", &peers.join(",")])
                .args(["--http-listen", &http, "--keepalive-interval", "1"])
                .arg("--data-dir")
                .arg(dir.path().join(format!("node-{id}")))
                .args(["--log", "info,openraft=warn"])
                .env("NO_COLOR", "1")
                .stdout(Stdio::from(out.try_clone().unwrap()))
                .stderr(Stdio::from(out))
                .spawn()
                .expect("roster-server starts");
            nodes.push(Node {
                id,
                addr: addr.clone(),
                http,
                child,
                log,
            });
        }
        let c = Cluster { nodes, _dir: dir };
        c.leader(&[]).await;
        c
    }

    fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    fn node(&self, id: u64) -> &Node {
        &self.nodes[id as usize - 1]
    }

    /// The leader and its term once every node but `except` names the same ones (and the
    /// leader is not one of `except`).
    async fn leader(&self, except: &[u64]) -> (u64, u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut views = Vec::new();
            for n in self.nodes.iter().filter(|n| !except.contains(&n.id)) {
                views.push(n.members().await);
            }
            if let Some(Some(first)) = views.first() {
                let agreed = views.iter().all(|v| {
                    v.as_ref()
                        .is_some_and(|v| v.leader_id == first.leader_id && v.term == first.term)
                });
                if agreed && first.leader_id != 0 && !except.contains(&first.leader_id) {
                    return (first.leader_id, first.term);
                }
            }
            assert!(Instant::now() < deadline, "no agreed leader: {views:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
        if std::thread::panicking() {
            for n in &self.nodes {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- node {} log (last 40 lines) ---", n.id);
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

async fn client(endpoints: &[String]) -> Client {
    let c = Client::builder()
        .endpoints(endpoints.iter().cloned())
        .app_name("pause-test")
        .request_timeout(Duration::from_secs(10))
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(300))
        .build()
        .unwrap();
    c.wait_connected(WAIT).await.unwrap();
    c
}

fn item(publisher: usize, seq: u64) -> String {
    format!("bolt://10.7.0.{publisher}:12200?seq={seq}")
}

/// The `seq` a publisher's item carries.
fn seq_of(data: &SubscriberData) -> Option<u64> {
    data.items().next()?.rsplit_once("seq=")?.1.parse().ok()
}

/// Publishers that republish every 20 ms, counting sequence numbers: the last one each has
/// had acknowledged, the slowest acknowledgement, and failures.
struct Writers {
    acked: Vec<Arc<AtomicU64>>,
    worst_us: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    stop: tokio_util::sync::CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<Publisher>>,
    clients: Vec<Client>,
}

/// What the writers saw, once halted.
struct Written {
    /// Each publisher's last acknowledged seq.
    acked: Vec<u64>,
    worst: Duration,
    failures: u64,
    /// Kept registered until the clients close.
    _publishers: Vec<Publisher>,
}

impl Writers {
    async fn start(endpoints: &[String], data_id: &str, n: usize) -> Writers {
        let mut w = Writers {
            acked: Vec::new(),
            worst_us: Arc::default(),
            failures: Arc::default(),
            stop: tokio_util::sync::CancellationToken::new(),
            tasks: Vec::new(),
            clients: Vec::new(),
        };
        for i in 0..n {
            let c = client(endpoints).await;
            let reg = PublisherRegistration::new(format!("{data_id}{i}")).data([item(i, 0)]);
            let p = c.publish(reg).await.unwrap();
            let acked = Arc::new(AtomicU64::new(0));
            let (a, worst, failures, stop) = (
                acked.clone(),
                w.worst_us.clone(),
                w.failures.clone(),
                w.stop.clone(),
            );
            w.tasks.push(tokio::spawn(async move {
                let mut seq = 0;
                while !stop.is_cancelled() {
                    seq += 1;
                    let sent = Instant::now();
                    match p.republish([item(i, seq)]).await {
                        Ok(()) => {
                            a.store(seq, Ordering::SeqCst);
                            let us = sent.elapsed().as_micros() as u64;
                            worst.fetch_max(us, Ordering::Relaxed);
                        }
                        Err(e) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            eprintln!("publisher {i}: republish {seq} failed: {e}");
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                p
            }));
            w.acked.push(acked);
            w.clients.push(c);
        }
        w
    }

    fn acked(&self) -> Vec<u64> {
        self.acked
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .collect()
    }

    /// Stops republishing; the publishers stay registered until `close`.
    async fn halt(&mut self) -> Written {
        self.stop.cancel();
        let mut publishers = Vec::new();
        for t in self.tasks.drain(..) {
            publishers.push(t.await.unwrap());
        }
        Written {
            acked: self.acked(),
            worst: Duration::from_micros(self.worst_us.load(Ordering::Relaxed)),
            failures: self.failures.load(Ordering::Relaxed),
            _publishers: publishers,
        }
    }

    async fn close(self) {
        for c in self.clients {
            c.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_follower_does_not_depose_the_leader_or_close_a_session() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start().await;
    let (leader, term) = cluster.leader(&[]).await;
    let endpoints = cluster.endpoints();
    let writers = Writers::start(&endpoints, "pause.follower.svc", 3).await;
    let watcher = client(&endpoints).await;
    let mut subs = Vec::new();
    for i in 0..3 {
        let reg =
            SubscriberRegistration::new(format!("pause.follower.svc{i}")).scope(Scope::Global);
        subs.push(watcher.subscribe(reg).await.unwrap());
    }
    let on_leader = cluster.node(leader);
    let opened = on_leader.metric("roster_sessions_opened_total");
    let followers: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();

    // Rounds in which the resumed node campaigned (asked for a pre-vote and lost it) before
    // it heard from the leader; in the others the leader's messages came first.
    let mut asked = 0;
    for round in 0..4 {
        let paused = cluster.node(followers[round % 2]);
        let pre_votes_lost = paused.metric("roster_raft_pre_votes_lost_total");
        paused.pause();
        tokio::time::sleep(PAUSE).await;
        paused.resume();
        // Give the resumed node time to time out, ask, be refused, and rejoin.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            cluster.leader(&[]).await,
            (leader, term),
            "round {round}: the leader or its term changed after node {} paused",
            paused.id
        );
        asked += (paused.metric("roster_raft_pre_votes_lost_total") > pre_votes_lost) as usize;
    }

    assert_eq!(
        on_leader.metric("roster_sessions_opened_total"),
        opened,
        "a client session was closed and opened again (a redo)"
    );
    assert_eq!(on_leader.metric("roster_raft_role"), 3.0);
    let mut writers = writers;
    let w = writers.halt().await;
    assert_eq!(w.failures, 0, "writes failed during follower pauses");
    assert_latest(&subs, &w.acked).await;
    eprintln!(
        "follower pauses: 4 x {PAUSE:?} ({asked} of them followed by a lost pre-vote); leader {leader} and term {term} unchanged; acknowledged writes {:?}; worst write latency {:?}",
        w.acked, w.worst
    );
    writers.close().await;
    watcher.close().await;
}

/// Every subscriber ends with its publisher's last acknowledged write.
async fn assert_latest(subs: &[Subscriber], acked: &[u64]) {
    for (i, s) in subs.iter().enumerate() {
        let got = s.wait_for(|d| seq_of(d) == Some(acked[i]), WAIT).await;
        assert!(
            got.is_ok(),
            "publisher {i}: subscriber has {:?}, last acknowledged seq {}",
            s.peek().and_then(|d| seq_of(&d)),
            acked[i]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_replaced_steps_down_when_resumed_and_loses_no_acknowledged_write() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start().await;
    let (old, term) = cluster.leader(&[]).await;
    let endpoints = cluster.endpoints();
    let writers = Writers::start(&endpoints, "pause.leader.svc", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.node(old).pause();
    // Nothing can be acknowledged while the leader is frozen: this is what it acknowledged.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let acked = writers.acked();
    let (new, new_term) = cluster.leader(&[old]).await;
    assert_ne!(new, old);
    assert!(new_term > term);
    // The new leader already holds every acknowledged write, before any client redoes it.
    let live: Vec<String> = endpoints
        .iter()
        .enumerate()
        .filter(|(i, _)| *i as u64 + 1 != old)
        .map(|(_, e)| e.clone())
        .collect();
    let reader = client(&live).await;
    let mut subs = Vec::new();
    for (i, &seq) in acked.iter().enumerate() {
        let reg = SubscriberRegistration::new(format!("pause.leader.svc{i}")).scope(Scope::Global);
        let s = reader.subscribe(reg).await.unwrap();
        let d = s.wait_for(|d| !d.is_empty(), WAIT).await.unwrap();
        let held = seq_of(&d).unwrap();
        assert!(
            held >= seq,
            "publisher {i}: the new leader holds seq {held}, but {seq} was acknowledged"
        );
        subs.push(s);
    }
    tokio::time::sleep(PAUSE).await;

    cluster.node(old).resume();
    // The old leader learns the newer term and follows.
    assert_eq!(cluster.leader(&[]).await, (new, new_term));
    assert_eq!(cluster.node(old).metric("roster_raft_role"), 1.0);
    // Clients move to the new leader and writes are acknowledged again.
    let deadline = Instant::now() + WAIT;
    while writers
        .acked()
        .iter()
        .zip(&acked)
        .any(|(now, then)| now <= then)
    {
        assert!(Instant::now() < deadline, "writes not acknowledged again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut writers = writers;
    let w = writers.halt().await;
    assert_latest(&subs, &w.acked).await;
    eprintln!(
        "leader {old} paused for {PAUSE:?}: node {new} leads at term {new_term}; acknowledged before the pause {acked:?}, at the end {:?}; failed writes {}; worst write latency {:?}",
        w.acked, w.failures, w.worst
    );
    writers.close().await;
    reader.close().await;
}
