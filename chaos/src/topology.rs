//! The registry under test: one node or a Raft cluster of node processes, with a proxy in
//! front of each node for the clients and one on each directed link between two nodes, so
//! that any link can be cut, one way or both, or delayed.
//!
//! Addresses: a node listens on its own port; the membership (what clients are told and
//! redirected to) names its client-side proxy; each node dials the others through its own
//! link proxies (`Config::peer_routes`).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::journal::{now, Entry, Journal};
use crate::nodes::{raft_state, NodeProc, NodeSpec};
use crate::proxy::{Link, Proxy};

/// Server timings the runner uses (short, so that a run sees many expiries and elections).
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    pub grace: Duration,
    pub keepalive: Duration,
    pub warmup: Duration,
}

pub struct Topology {
    pub nodes: BTreeMap<u64, NodeProc>,
    clients: BTreeMap<u64, Proxy>,
    links: BTreeMap<(u64, u64), Proxy>,
    /// The voting members now.
    pub members: Vec<u64>,
    pub cluster: bool,
}

impl Topology {
    /// `members` nodes (1: a single in-memory node; more: a cluster) plus `spares` cluster
    /// nodes that run empty until they are added.
    pub async fn start(
        members: usize,
        spares: usize,
        timings: Timings,
        path: &std::path::Path,
    ) -> std::io::Result<Topology> {
        let cluster = members > 1 || spares > 0;
        let ids: Vec<u64> = (1..=(members + spares) as u64).collect();
        let listen: BTreeMap<u64, std::net::SocketAddr> = ids
            .iter()
            .map(|&id| (id, roster_server::free_local_addr()))
            .collect();
        let mut clients = BTreeMap::new();
        for &id in &ids {
            clients.insert(id, Proxy::start(listen[&id]).await?);
        }
        let mut links = BTreeMap::new();
        if cluster {
            for &from in &ids {
                for &to in ids.iter().filter(|&&to| to != from) {
                    links.insert((from, to), Proxy::start(listen[&to]).await?);
                }
            }
        }
        let initial: Vec<u64> = ids[..members].to_vec();
        let peers: BTreeMap<u64, String> = if cluster {
            initial
                .iter()
                .map(|&id| (id, clients[&id].addr.to_string()))
                .collect()
        } else {
            BTreeMap::new()
        };
        let mut nodes = BTreeMap::new();
        for &id in &ids {
            let routes = links
                .iter()
                .filter(|((from, _), _)| *from == id)
                .map(|((_, to), p)| (*to, p.addr.to_string()))
                .collect();
            let spec = NodeSpec {
                id,
                listen: listen[&id],
                http: roster_server::free_local_addr(),
                advertise: clients[&id].addr.to_string(),
                peers: peers.clone(),
                routes,
                data_dir: cluster.then(|| path.join(format!("node-{id}"))),
                grace: timings.grace,
                keepalive: timings.keepalive,
                warmup: timings.warmup,
            };
            let mut node = NodeProc::new(spec, path.join(format!("node-{id}.log")));
            node.start().await?;
            nodes.insert(id, node);
        }
        Ok(Topology {
            nodes,
            clients,
            links,
            members: initial,
            cluster,
        })
    }

    /// What clients start from: the initial members' client-side proxies.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|id| self.clients[id].addr.to_string())
            .collect()
    }

    /// The node that says it leads with the highest term, asking each running node.
    pub async fn leader(&self) -> Option<u64> {
        if !self.cluster {
            return self.nodes.keys().next().copied();
        }
        let mut best = None;
        for (id, n) in &self.nodes {
            if !n.is_running() || n.paused {
                continue;
            }
            if let Some((3, term)) = raft_state(n.spec.http).await {
                if best.is_none_or(|(t, _)| term > t) {
                    best = Some((term, *id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    pub async fn wait_leader(&self, limit: Duration) -> Option<u64> {
        let start = std::time::Instant::now();
        loop {
            if let Some(l) = self.leader().await {
                return Some(l);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Cuts node `id` off the other nodes: `inbound` cuts what they send it, `outbound`
    /// what it sends them (responses included, on either side's connections).
    pub fn isolate(&self, id: u64, inbound: bool, outbound: bool) {
        for ((from, to), p) in &self.links {
            if *from == id {
                p.set(Link {
                    forward_cut: outbound,
                    backward_cut: inbound,
                    ..Link::OPEN
                });
            } else if *to == id {
                p.set(Link {
                    forward_cut: inbound,
                    backward_cut: outbound,
                    ..Link::OPEN
                });
            }
        }
    }

    /// Delays everything between node `id` and the other nodes.
    pub fn delay_node(&self, id: u64, delay: Duration) {
        for ((from, to), p) in &self.links {
            if *from == id || *to == id {
                p.set(Link {
                    delay,
                    ..Link::OPEN
                });
            }
        }
    }

    /// Sets the link between clients and node `id`.
    pub fn client_link(&self, id: u64, link: Link) {
        self.clients[&id].set(link);
    }

    /// Drops every connection to and from node `id` (clients' and other nodes').
    pub fn drop_connections(&self, id: u64) {
        self.clients[&id].drop_connections();
        for ((from, to), p) in &self.links {
            if *from == id || *to == id {
                p.drop_connections();
            }
        }
    }

    pub fn heal_links(&self) {
        for p in self.links.values().chain(self.clients.values()) {
            p.set(Link::OPEN);
        }
    }

    /// Adds a running spare as a voter (through the leader).
    pub async fn add_member(&mut self, id: u64) -> Result<(), String> {
        let address = self.clients[&id].addr.to_string();
        roster_server::admin::add_member(&self.endpoints(), None, id, &address).await?;
        self.members.push(id);
        Ok(())
    }

    pub async fn remove_member(&mut self, id: u64) -> Result<(), String> {
        roster_server::admin::remove_member(&self.endpoints(), None, id).await?;
        self.members.retain(|&m| m != id);
        Ok(())
    }
}

/// Watches every node's Raft role and term every 100 ms, journaling each (node, term) a
/// node claims to lead (the checker looks for two leaders of one term).
pub fn watch_leaders(
    https: Vec<(u64, std::net::SocketAddr)>,
    journal: Journal,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = std::collections::BTreeSet::new();
        while !stop.is_cancelled() {
            for (id, http) in &https {
                if let Some((3, term)) = raft_state(*http).await {
                    if seen.insert((*id, term)) {
                        journal.push(Entry::Leader {
                            t: now(),
                            node: *id,
                            term,
                        });
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}
