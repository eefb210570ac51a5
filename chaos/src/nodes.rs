//! Registry nodes as processes of their own (this binary's `node` mode runs one with the
//! server library), so a fault is a real SIGKILL or SIGSTOP, and a restarted node starts
//! from its data directory like a crashed server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How to run one node; passed to `roster-chaos node` as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeSpec {
    pub id: u64,
    pub listen: SocketAddr,
    pub http: SocketAddr,
    /// What clients are told to dial (the node's client-side proxy).
    pub advertise: String,
    /// Cluster mode: the initial members at their client-side proxies.
    pub peers: BTreeMap<u64, String>,
    /// Cluster mode: this node's proxies to each other node.
    pub routes: BTreeMap<u64, String>,
    pub data_dir: Option<PathBuf>,
    pub grace: Duration,
    pub keepalive: Duration,
    pub warmup: Duration,
}

/// The `node` mode: serve until killed.
pub async fn serve(spec: NodeSpec) -> std::io::Result<()> {
    let config = roster_server::Config {
        listen: spec.listen,
        http_listen: Some(spec.http),
        advertise: Some(spec.advertise),
        node_id: spec.id,
        peers: spec.peers,
        peer_routes: spec.routes,
        data_dir: spec.data_dir,
        grace_period: spec.grace,
        keepalive_interval: spec.keepalive,
        warmup: spec.warmup,
        ..roster_server::Config::default()
    };
    let _server = roster_server::Server::start(config).await?;
    println!("listening");
    std::future::pending::<()>().await;
    Ok(())
}

/// Starts this binary in `mode` with `args`; the child dies with the runner.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the runner's own path"));
    cmd.args(args).kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe; it asks the kernel to SIGKILL the child when the
    // runner dies, so no node or client outlives an aborted run.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

pub fn signal(child: &Child, signal: libc::c_int) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}

pub struct NodeProc {
    pub spec: NodeSpec,
    child: Option<Child>,
    pub paused: bool,
    log: PathBuf,
}

impl NodeProc {
    pub fn new(spec: NodeSpec, log: PathBuf) -> NodeProc {
        NodeProc {
            spec,
            child: None,
            paused: false,
            log,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process and waits until it listens.
    pub async fn start(&mut self) -> std::io::Result<()> {
        let json = serde_json::to_string(&self.spec).expect("specs serialize");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut child = command(&["node", &json])
            .stdout(Stdio::piped())
            .stderr(log)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .spawn()?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .map_err(|_| std::io::Error::other(format!("node {} did not start", self.spec.id)))??;
        if !line.starts_with("listening") {
            return Err(std::io::Error::other(format!(
                "node {} did not start (see {})",
                self.spec.id,
                self.log.display()
            )));
        }
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// SIGKILL, like a crash.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        self.paused = false;
    }

    pub fn pause(&mut self) {
        if let Some(c) = &self.child {
            signal(c, libc::SIGSTOP);
            self.paused = true;
        }
    }

    pub fn resume(&mut self) {
        if let Some(c) = &self.child {
            signal(c, libc::SIGCONT);
        }
        self.paused = false;
    }
}

/// `(raft role, term)` from a node's `/metrics` (role 3 is the leader); `None` when it does
/// not answer in time (down or paused).
pub async fn raft_state(http: SocketAddr) -> Option<(u64, u64)> {
    let get = async {
        let mut s = tokio::net::TcpStream::connect(http).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: chaos\r\n\r\n")
            .await
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        let gauge = |name: &str| -> Option<u64> {
            body.lines()
                .find_map(|l| {
                    l.strip_prefix(name)?
                        .strip_prefix(' ')?
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
                .map(|v| v as u64)
        };
        Some((gauge("roster_raft_role")?, gauge("roster_raft_term")?))
    };
    tokio::time::timeout(Duration::from_millis(300), get)
        .await
        .ok()
        .flatten()
}
