//! A three-node registry cluster of child processes (this binary's `serve` mode), each with
//! its data directory, that can be SIGKILLed and restarted node by node.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::server::{free_port, ServerProcess};

pub struct ClusterProcesses {
    pub nodes: Vec<Option<ServerProcess>>,
    addrs: Vec<(SocketAddr, SocketAddr)>,
    peers: String,
    dir: tempfile::TempDir,
}

impl ClusterProcesses {
    pub fn start(n: u64) -> ClusterProcesses {
        let addrs: Vec<(SocketAddr, SocketAddr)> =
            (0..n).map(|_| (free_port(), free_port())).collect();
        let peers = addrs
            .iter()
            .enumerate()
            .map(|(i, (grpc, _))| format!("{}={grpc}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = ClusterProcesses {
            nodes: Vec::new(),
            addrs,
            peers,
            dir: tempfile::tempdir().unwrap(),
        };
        for i in 0..n as usize {
            c.nodes.push(None);
            c.restart(i);
        }
        c.leader(Duration::from_secs(30));
        c
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.addrs.iter().map(|(g, _)| g.to_string()).collect()
    }

    /// Index of the live leader, waiting for one.
    pub fn leader(&self, limit: Duration) -> usize {
        let start = Instant::now();
        loop {
            let leader = self
                .nodes
                .iter()
                .position(|n| n.as_ref().is_some_and(ServerProcess::is_leader));
            if let Some(i) = leader {
                return i;
            }
            assert!(start.elapsed() < limit, "no leader within {limit:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn leader_process(&self) -> &ServerProcess {
        self.nodes[self.leader(Duration::from_secs(30))]
            .as_ref()
            .unwrap()
    }

    /// SIGKILL node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(p) = self.nodes[i].take() {
            p.kill();
        }
    }

    /// (Re)starts node `i` with its data directory.
    pub fn restart(&mut self, i: usize) {
        let (grpc, http) = self.addrs[i];
        self.nodes[i] = Some(ServerProcess::start_node(
            grpc,
            http,
            i as u64 + 1,
            &self.peers,
            self.dir.path(),
        ));
    }
}
