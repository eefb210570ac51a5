//! Faults, each journaled when it starts and ends: node SIGKILL and restart with its data,
//! SIGSTOP/SIGCONT, a node cut off the others (both ways, or only what it receives), clients
//! cut off a node, slow links, a node's connections dropped, and client processes killed. The random plan picks them with
//! the run's seed; the scenarios of the fault table call them in a fixed order.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::journal::{now, Entry, Fault, Journal};
use crate::proxy::Link;
use crate::topology::Topology;

/// Which node a fault hits.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Leader,
    Follower,
}

/// What the fault side asks of the client fleet.
#[derive(Debug)]
pub enum FleetCommand {
    /// SIGKILL one client process at random, and start a new one after `after`.
    KillClient { after: Duration },
}

pub struct Faults {
    pub topo: Topology,
    journal: Journal,
    pub rng: fastrand::Rng,
    fleet: mpsc::UnboundedSender<FleetCommand>,
    count: u32,
}

impl Faults {
    pub fn new(
        topo: Topology,
        journal: Journal,
        seed: u64,
        fleet: mpsc::UnboundedSender<FleetCommand>,
    ) -> Faults {
        Faults {
            topo,
            journal,
            rng: fastrand::Rng::with_seed(seed ^ 0x5eed_fa17),
            fleet,
            count: 0,
        }
    }

    fn start(&mut self, what: String, cuts_clients: bool) -> String {
        self.start_fault(what, cuts_clients, false)
    }

    fn start_fault(
        &mut self,
        what: String,
        cuts_clients: bool,
        loses_registrations: bool,
    ) -> String {
        self.count += 1;
        let name = format!("#{} {what}", self.count);
        println!("fault {name}");
        self.journal.push(Entry::FaultStart {
            t: now(),
            fault: Fault {
                name: name.clone(),
                cuts_clients,
                loses_registrations,
            },
        });
        name
    }

    fn end(&self, name: String) {
        self.journal.push(Entry::FaultEnd { t: now(), name });
    }

    pub fn faults(&self) -> u32 {
        self.count
    }

    /// The node `target` names now (waiting up to 10 s for a leader).
    pub async fn resolve(&mut self, target: Target) -> Option<u64> {
        let leader = self.topo.wait_leader(Duration::from_secs(10)).await;
        match target {
            Target::Leader => leader,
            Target::Follower => {
                let followers: Vec<u64> = self
                    .topo
                    .members
                    .iter()
                    .copied()
                    .filter(|&id| Some(id) != leader && self.topo.nodes[&id].is_running())
                    .collect();
                (!followers.is_empty()).then(|| followers[self.rng.usize(..followers.len())])
            }
        }
    }

    /// SIGKILLs the nodes, keeps them down for `down`, restarts them with their data.
    pub async fn kill_nodes(&mut self, targets: &[Target], down: Duration) {
        let mut ids = Vec::new();
        for &t in targets {
            if let Some(id) = self.resolve(t).await.filter(|id| !ids.contains(id)) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return;
        }
        // A single node keeps its registrations in memory only.
        let lost = !self.topo.cluster;
        let name = self.start_fault(format!("kill nodes {ids:?} for {down:?}"), false, lost);
        for id in &ids {
            self.topo.nodes.get_mut(id).expect("a node").kill().await;
        }
        tokio::time::sleep(down).await;
        for id in &ids {
            if let Err(e) = self.topo.nodes.get_mut(id).expect("a node").start().await {
                eprintln!("chaos: node {id} did not restart: {e}");
            }
        }
        self.end(name);
    }

    /// SIGSTOP for `pause`, then SIGCONT.
    pub async fn pause_node(&mut self, target: Target, pause: Duration) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let name = self.start(format!("pause node {id} for {pause:?}"), false);
        self.topo.nodes.get_mut(&id).expect("a node").pause();
        tokio::time::sleep(pause).await;
        self.topo.nodes.get_mut(&id).expect("a node").resume();
        self.end(name);
    }

    /// Cuts the node off the other nodes: `inbound` what they send it, `outbound` what it
    /// sends them. Both: a symmetric partition; inbound only: it can send but not receive.
    pub async fn isolate(&mut self, target: Target, inbound: bool, outbound: bool, span: Duration) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let how = match (inbound, outbound) {
            (true, true) => "both ways",
            (true, false) => "it can send but not receive",
            (false, true) => "it can receive but not send",
            (false, false) => return,
        };
        let name = self.start(
            format!("cut node {id} off the others ({how}) for {span:?}"),
            false,
        );
        self.topo.isolate(id, inbound, outbound);
        tokio::time::sleep(span).await;
        self.topo.heal_links();
        self.end(name);
    }

    /// Cuts every client off the node, both ways (the others stay reachable).
    pub async fn cut_clients(&mut self, target: Target, span: Duration) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let name = self.start(format!("cut clients off node {id} for {span:?}"), true);
        self.topo.client_link(id, Link::CUT);
        tokio::time::sleep(span).await;
        self.topo.heal_links();
        self.end(name);
    }

    /// Delays everything a node sends and receives: to other nodes in a cluster, to
    /// clients on a single node.
    pub async fn slow_node(&mut self, target: Target, delay: Duration, span: Duration) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let name = self.start(
            format!("delay node {id}'s links by {delay:?} for {span:?}"),
            false,
        );
        if self.topo.cluster {
            self.topo.delay_node(id, delay);
        } else {
            self.topo.client_link(
                id,
                Link {
                    delay,
                    ..Link::OPEN
                },
            );
        }
        tokio::time::sleep(span).await;
        self.topo.heal_links();
        self.end(name);
    }

    /// Drops every connection of a node (clients reconnect, Raft RPCs retry).
    pub async fn drop_connections(&mut self, target: Target) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let name = self.start(format!("drop node {id}'s connections"), false);
        self.topo.drop_connections(id);
        self.end(name);
    }

    /// SIGKILLs a client process (the fleet picks which) and starts a new one `after`.
    pub fn kill_client(&mut self, after: Duration) {
        let name = self.start("kill a client process".into(), false);
        let _ = self.fleet.send(FleetCommand::KillClient { after });
        self.end(name);
    }

    pub async fn add_member(&mut self, id: u64) {
        let name = self.start(format!("add node {id}"), false);
        if let Err(e) = self.topo.add_member(id).await {
            eprintln!("chaos: adding node {id} failed: {e}");
        }
        self.end(name);
    }

    /// Removes a member and stops its process (a decommissioned node).
    pub async fn remove_member(&mut self, target: Target) {
        let Some(id) = self.resolve(target).await else {
            return;
        };
        let name = self.start(format!("remove node {id}"), false);
        match self.topo.remove_member(id).await {
            Ok(()) => self.topo.nodes.get_mut(&id).expect("a node").kill().await,
            Err(e) => eprintln!("chaos: removing node {id} failed: {e}"),
        }
        self.end(name);
    }

    /// One fault at random, for a span of 0.5 to 3 s.
    pub async fn random(&mut self) {
        let span = Duration::from_millis(self.rng.u64(500..3000));
        let target = if !self.topo.cluster || self.rng.bool() {
            Target::Leader
        } else {
            Target::Follower
        };
        let choice = self.rng.u32(0..if self.topo.cluster { 8 } else { 6 });
        match choice {
            0 => self.kill_nodes(&[target], span).await,
            1 => self.pause_node(target, span).await,
            // Shorter than the grace period: a blip must not make instances flap.
            2 => {
                self.cut_clients(target, span.min(Duration::from_secs(2)))
                    .await
            }
            3 => {
                let delay = Duration::from_millis(self.rng.u64(20..200));
                self.slow_node(target, delay, span).await
            }
            4 => {
                let after = Duration::from_millis(self.rng.u64(200..2000));
                self.kill_client(after)
            }
            5 => self.drop_connections(target).await,
            6 => self.isolate(target, true, true, span).await,
            _ => self.isolate(Target::Leader, true, false, span).await,
        }
    }
}
