//! The registry under test runs in a child process (this binary's `serve` mode), so its
//! memory is measured on its own and it can be killed and restarted like a real server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
}

/// Below the ephemeral range: a restarted node's port is never a client's (the bench's
/// 100 clients connect out all the time).
pub fn free_port() -> SocketAddr {
    roster_server::free_local_addr()
}

impl ServerProcess {
    pub fn start() -> ServerProcess {
        Self::start_on(free_port(), free_port())
    }

    /// Starts `roster-bench serve` and waits until it is listening.
    pub fn start_on(grpc: SocketAddr, http: SocketAddr) -> ServerProcess {
        Self::spawn(grpc, http, &[])
    }

    /// A node of a cluster: `peers` is `ID=HOST:PORT,...`.
    pub fn start_node(
        grpc: SocketAddr,
        http: SocketAddr,
        id: u64,
        peers: &str,
        dir: &std::path::Path,
    ) -> ServerProcess {
        let dir = dir.join(format!("node-{id}"));
        Self::spawn(grpc, http, &[&id.to_string(), peers, dir.to_str().unwrap()])
    }

    fn spawn(grpc: SocketAddr, http: SocketAddr, cluster: &[&str]) -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["serve", &grpc.to_string(), &http.to_string()])
            .args(cluster)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening"), "server said {line:?}");
        ServerProcess { child, grpc, http }
    }

    pub fn endpoint(&self) -> String {
        self.grpc.to_string()
    }

    /// Resident memory of the server process, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb * 1024
    }

    fn get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(self.http).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    }

    /// A counter or gauge from the server's `/metrics` (0 when absent).
    pub fn metric(&self, name: &str) -> f64 {
        self.get("/metrics")
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Cluster mode: whether this node is the leader, from its `/metrics`.
    pub fn is_leader(&self) -> bool {
        self.get("/metrics")
            .lines()
            .any(|l| l.trim() == "roster_raft_role 3")
    }

    /// `(publishers, subscribers)` from the server's `/health`.
    pub fn counts(&self) -> (u64, u64) {
        let body = self.get("/health");
        let field = |name: &str| -> u64 {
            let at = body.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
            body[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap()
        };
        (field("publishers"), field("subscribers"))
    }

    /// Waits until the server holds at least these counts.
    pub fn wait_counts(&self, publishers: u64, subscribers: u64, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let (p, s) = self.counts();
            if p >= publishers && s >= subscribers {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "server holds {p}/{s}, wanted {publishers}/{subscribers}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGKILL, like a crash.
    pub fn kill(mut self) -> (SocketAddr, SocketAddr) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.grpc, self.http)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: run a registry until killed; with `[id, peers, data dir]`, a cluster
/// node with the default Raft timings.
pub fn serve(grpc: &str, http: &str, cluster: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut config = roster_server::Config {
            listen: grpc.parse().unwrap(),
            http_listen: Some(http.parse().unwrap()),
            warmup: Duration::ZERO,
            grace_period: Duration::from_secs(30),
            ..roster_server::Config::default()
        };
        // The scenarios measure the server's capacity: one session sends far more than the
        // default frame rate allows a production client.
        config.abuse.max_frames_per_second = 0;
        if let Some(dir) = std::env::var_os(crate::SECURE_DIR_ENV) {
            roster_bindings::testing::Secrets::configure(std::path::Path::new(&dir), &mut config);
        }
        if let [id, peers, dir] = cluster {
            config.node_id = id.parse().unwrap();
            config.peers = peers
                .split(',')
                .map(|p| {
                    let (id, addr) = p.split_once('=').unwrap();
                    (id.parse().unwrap(), addr.to_owned())
                })
                .collect();
            config.data_dir = Some(dir.into());
        }
        // A restarted node takes its old port, which a client's connect may hold for a
        // moment as its own ephemeral port (the kernel hands out the same range): retry.
        let mut tries = 0;
        let server = loop {
            match roster_server::Server::start(config.clone()).await {
                Ok(server) => break server,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("listen on {grpc} / {http}: {e}"),
            }
        };
        println!("listening {}", server.endpoint());
        std::future::pending::<()>().await;
    });
}
