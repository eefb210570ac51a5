//! Cluster mode: the registry as a Raft state machine on openraft.
//!
//! Every change to the registry (a session attaching, its frames, an expiry, a revision
//! collection) is a `Command` in the replicated log, applied in log order by `apply::apply`
//! on every node. Only the leader takes sessions, so only the leader holds streams and
//! sends acks and pushes; a follower applies the same commands silently and answers a
//! session with a redirect to the leader. Leases survive a leader change: a new leader gives
//! every session a fresh grace period, and clients that come back in time keep everything.
//! A leader that hears from no majority for its lease stops serving clients (check quorum,
//! [`Cluster::serves_clients`]): cut off from its followers, it would otherwise keep its
//! clients waiting out the partition while a new leader expired their sessions.
//! One term has at most one leader (openraft's `single-term-leader`, classic Raft): with
//! openraft's default leader ids, a higher node id could win a term another node already led.
//!
//! | module | what it does |
//! | --- | --- |
//! | `log_store` | the Raft log and vote in redb, in the data directory; one writer thread commits whatever queued up in one fsync (group commit) |
//! | `state_machine` | applies committed commands to the registry; snapshots on disk |
//! | `network`, `rpc` | Raft RPCs between nodes over the `Cluster` gRPC service (at a member's address, or at the route `Config::peer_routes` gives for it) |
//! | `election` | when to campaign: openraft's timer is off; a node campaigns only after a pre-vote majority, so a paused node cannot depose a healthy leader, and the pre-vote breaks ties so two followers do not split the vote |

pub mod election;
mod log_store;
mod network;
pub mod rpc;
mod state_machine;
#[cfg(test)]
mod suite;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::{self, Cursor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, ChangeMembers, ServerState, SnapshotPolicy};
use roster_proto::prost::Message;
use roster_proto::{meta, v1};
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataValue;
use tonic::Status;

use crate::apply::Applied;
use crate::{session, Shared};

pub use network::{client_channel, MAX_MESSAGE_BYTES};

/// A log entry's payload: an encoded `v1::Command` (decoded once, when applied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cmd(pub Bytes);

openraft::declare_raft_types!(
    /// The registry's Raft types.
    pub TypeConfig:
        D = Cmd,
        R = Applied,
        SnapshotData = Cursor<Vec<u8>>,
);

type Raft = openraft::Raft<TypeConfig>;
type WriteError = RaftError<u64, ClientWriteError<u64, BasicNode>>;

pub struct Cluster {
    pub raft: Raft,
    node_id: u64,
    /// When a leader was last heard from (see `election`).
    pub contact: election::LeaderContact,
    /// This node's own pre-vote rounds and elections (see `election`).
    pub campaign: election::Campaign,
    /// The leader lease (the election timeout's maximum): followers refuse votes for this
    /// long after hearing from a leader, so a leader that heard from no majority for longer
    /// may have been replaced.
    lease: Duration,
    /// How this node dials the others (Raft's RPCs and the pre-vote).
    pub network: network::Network,
}

/// See [`Cluster::serves_clients`]. A leader that has no acknowledgement on record yet (just
/// elected, or alone) serves.
fn lead_with_quorum(m: &openraft::RaftMetrics<u64, BasicNode>, lease: Duration) -> bool {
    m.state == ServerState::Leader
        && m.millis_since_quorum_ack
            .is_none_or(|ms| u128::from(ms) <= lease.as_millis())
}

/// What the data directory's files are written in. Log ids and votes changed shape when a
/// term got one leader (format 2); postcard would read older files as garbage, not fail.
const FORMAT: &str = "roster raft data, format 2 (one leader per term)\n";

/// Refuses a data directory written in another format, and marks a new one with ours.
fn check_format(dir: &std::path::Path) -> io::Result<()> {
    let marker = dir.join("FORMAT");
    let refuse = |holds: String| {
        Err(io::Error::other(format!(
            "the data directory {} holds {holds}; start this node with an empty data directory \
             and it catches up from the cluster",
            dir.display()
        )))
    };
    match std::fs::read_to_string(&marker) {
        Ok(found) if found == FORMAT => Ok(()),
        Ok(found) => refuse(format!(
            "Raft data in another format ({:?}, this server writes {:?})",
            found.trim(),
            FORMAT.trim()
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if ["raft.redb", "snapshot.bin"]
                .iter()
                .any(|f| dir.join(f).exists())
            {
                return refuse(
                    "Raft data from a Roster before format 2 (leader ids per node), which this \
                     server cannot read"
                        .into(),
                );
            }
            std::fs::write(&marker, FORMAT)
        }
        Err(e) => Err(e),
    }
}

impl Cluster {
    /// Opens the log and the last snapshot in the data directory, starts Raft, and forms the
    /// cluster from `peers` when this node is one of them and has never been initialized.
    pub async fn start(shared: &Arc<Shared>) -> io::Result<Cluster> {
        let c = &shared.replica.config;
        let dir = c
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("roster-data/node-{}", c.node_id)));
        std::fs::create_dir_all(&dir)?;
        check_format(&dir)?;
        let log = log_store::LogStore::open(&dir.join("raft.redb"))?;
        let sm = state_machine::StateMachine::open(shared.replica.clone(), &dir)?;
        let ms = |d: Duration| d.as_millis() as u64;
        let config = openraft::Config {
            cluster_name: "roster".into(),
            heartbeat_interval: ms(c.heartbeat_interval),
            // `election` decides when to campaign (after a pre-vote), with openraft's own
            // timings; what openraft still takes from these two is the timeout of a vote RPC
            // (the minimum) and the lease within which a follower refuses a vote (the
            // maximum), which a pre-vote uses too.
            enable_elect: false,
            election_timeout_min: ms(c.election_timeout.0),
            election_timeout_max: ms(c.election_timeout.1),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(c.snapshot_every),
            max_in_snapshot_log_to_keep: c.snapshot_every.min(1000),
            ..Default::default()
        }
        .validate()
        .map_err(|e| io::Error::other(format!("Raft settings: {e}")))?;
        let network = network::Network {
            routes: Arc::new(c.peer_routes.clone()),
            tls: c.tls.as_ref().map(|t| Arc::new(t.dial())),
        };
        let raft = Raft::new(c.node_id, Arc::new(config), network.clone(), log, sm)
            .await
            .map_err(io::Error::other)?;
        let initialized = raft.is_initialized().await.map_err(io::Error::other)?;
        if let Some(rank) = c.peers.keys().position(|&id| id == c.node_id) {
            if !initialized {
                let members: BTreeMap<u64, BasicNode> = c
                    .peers
                    .iter()
                    .map(|(&id, addr)| (id, BasicNode::new(addr)))
                    .collect();
                // Forming the cluster makes a node campaign at once. The first member forms
                // it; each other waits its turn and forms it only if nobody reached it
                // meanwhile (the first is down). When all formed it together, two of them
                // could lead term 1 one after the other (openraft orders leaders of one
                // term by node id), which the chaos runner reports as split brain.
                let wait = (c.election_timeout.1 * 4) * rank as u32;
                let raft = raft.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if raft.is_initialized().await.unwrap_or(true) {
                        return;
                    }
                    match raft.initialize(members).await {
                        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                        Err(e) => tracing::error!("cannot form the cluster: {e}"),
                    }
                });
            }
        }
        tracing::info!(node_id = c.node_id, dir = %dir.display(), peers = ?c.peers, "cluster node started");
        Ok(Cluster {
            raft,
            node_id: c.node_id,
            contact: election::LeaderContact::default(),
            campaign: election::Campaign::default(),
            lease: c.election_timeout.1,
            network,
        })
    }

    /// A leader's AppendEntries or snapshot arrived carrying `vote`: if it is a leader's at
    /// least as new as the one this node knows, the leader is alive. Noted on arrival, before
    /// the entries are written, so a slow disk here does not look like a silent leader.
    pub fn heard_from(&self, vote: &openraft::Vote<u64>) {
        let known = self.raft.metrics().borrow().vote;
        if vote.is_committed() && *vote >= known {
            self.contact.heard();
        }
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// Leads, and has heard from a majority within the leader lease ("check quorum"). A
    /// leader cut off from its followers stays leader in openraft until it hears of a newer
    /// term, which the cut keeps from it: meanwhile its clients' writes could not commit and
    /// their sessions would run out at the new leader. So it stops serving clients (its
    /// streams are closed, new sessions refused) and they go to the other nodes.
    pub fn serves_clients(&self) -> bool {
        lead_with_quorum(&self.raft.metrics().borrow(), self.lease)
    }

    /// The status a non-leader answers a session or a write with: UNAVAILABLE, naming the
    /// leader in the message and in metadata (`roster-leader-id`, `roster-leader-addr`) when
    /// one is known.
    pub fn not_leader(&self) -> Status {
        if let Some(ms) = self.quorum_lost_for() {
            let mut status = Status::unavailable(format!(
                "node {} leads but has heard from no majority for {ms} ms (cut off?): ask another node",
                self.node_id
            ));
            status
                .metadata_mut()
                .insert(meta::LEADER_ID, MetadataValue::from(0u64));
            return status;
        }
        let (leader, node) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            let leader = m.current_leader;
            let node = leader.and_then(|l| m.membership_config.membership().get_node(&l).cloned());
            (leader, node)
        };
        redirect(self.node_id, leader, node)
    }

    /// How long a leader has heard from no majority, when longer than the lease.
    fn quorum_lost_for(&self) -> Option<u64> {
        let m = self.raft.metrics().borrow().clone();
        (m.state == ServerState::Leader && !lead_with_quorum(&m, self.lease))
            .then(|| m.millis_since_quorum_ack.unwrap_or(0))
    }

    fn write_status(&self, e: WriteError) -> Status {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                redirect(self.node_id, f.leader_id, f.leader_node)
            }
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
                Status::failed_precondition(e.to_string())
            }
            RaftError::Fatal(f) => {
                Status::unavailable(format!("node {} is stopping: {f}", self.node_id))
            }
        }
    }

    /// Every member, the current leader and term. Any node answers it.
    pub fn members(&self) -> v1::MemberList {
        let m = self.raft.metrics();
        let m = m.borrow();
        let membership = m.membership_config.membership();
        let leader = m.current_leader;
        v1::MemberList {
            members: membership
                .nodes()
                .map(|(&id, n)| v1::Member {
                    id,
                    address: n.addr.clone(),
                })
                .collect(),
            leader_id: leader.unwrap_or(0),
            leader_address: leader
                .and_then(|l| membership.get_node(&l))
                .map(|n| n.addr.clone())
                .unwrap_or_default(),
            term: m.current_term,
        }
    }

    /// Appends a command and waits until it is applied here.
    pub async fn write(&self, cmd: v1::Command) -> Result<Applied, Status> {
        self.write_ff(cmd).await?.await
    }

    /// Appends a command; the returned future resolves once it is applied here. Commands
    /// proposed one after another are applied in that order.
    pub async fn write_ff(
        &self,
        cmd: v1::Command,
    ) -> Result<impl Future<Output = Result<Applied, Status>> + Send + 'static, Status> {
        let rx = self
            .raft
            .client_write_ff(Cmd(cmd.encode_to_vec().into()))
            .await
            .map_err(|f| self.write_status(RaftError::Fatal(f)))?;
        let me = self.node_id;
        Ok(async move {
            match rx.await {
                Ok(Ok(r)) => Ok(r.data),
                Ok(Err(ClientWriteError::ForwardToLeader(f))) => {
                    Err(redirect(me, f.leader_id, f.leader_node))
                }
                Ok(Err(e)) => Err(Status::failed_precondition(e.to_string())),
                Err(_) => Err(Status::unavailable(
                    "the node stopped before applying the write",
                )),
            }
        })
    }

    /// Adds a node: first as a learner that catches up, then as a voter.
    pub async fn add_member(&self, id: u64, address: &str) -> Result<(), Status> {
        roster_proto::rules::check_identifier("address", address, 256)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        tracing::info!(id, address, "adding a member");
        self.raft
            .add_learner(id, BasicNode::new(address), true)
            .await
            .map_err(|e| self.write_status(e))?;
        let voters = ChangeMembers::AddVoterIds(BTreeSet::from([id]));
        self.raft
            .change_membership(voters, false)
            .await
            .map_err(|e| self.write_status(e))?;
        Ok(())
    }

    /// Removes a node from the voters and the member list.
    pub async fn remove_member(&self, id: u64) -> Result<(), Status> {
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        tracing::info!(id, "removing a member");
        let change = ChangeMembers::RemoveVoters(BTreeSet::from([id]));
        self.raft
            .change_membership(change, false)
            .await
            .map_err(|e| self.write_status(e))?;
        Ok(())
    }
}

/// Follows this node's Raft state: metrics, the member list pushed to clients, and the
/// role changes (a new leader starts every session's grace period; a deposed one closes
/// its streams so that clients go to the new leader).
pub async fn watch(shared: Arc<Shared>) {
    let Some(cluster) = shared.cluster.get() else {
        return;
    };
    let mut rx = cluster.raft.metrics();
    let mut was_leader = false;
    let mut was_serving = false;
    let mut last_leader = None;
    loop {
        let m = rx.borrow_and_update().clone();
        let metrics = &shared.replica.metrics;
        metrics.raft_role.set(match m.state {
            ServerState::Learner => 0,
            ServerState::Follower => 1,
            ServerState::Candidate => 2,
            ServerState::Leader => 3,
            ServerState::Shutdown => -1,
        });
        metrics.raft_term.set(m.current_term as i64);
        let applied = m.last_applied.map_or(0, |l| l.index);
        let last = m.last_log_index.unwrap_or(0);
        metrics
            .raft_apply_lag
            .set(last.saturating_sub(applied) as i64);
        if let Some(replication) = &m.replication {
            for (peer, matched) in replication {
                let lag = last.saturating_sub(matched.map_or(0, |l| l.index));
                metrics
                    .raft_replication_lag
                    .get_or_create(&vec![("peer", peer.to_string())])
                    .set(lag as i64);
            }
        }
        if m.current_leader != last_leader {
            if m.current_leader.is_some() {
                metrics.raft_leader_changes.inc();
                tracing::info!(leader = ?m.current_leader, term = m.current_term, "the cluster has a leader");
            }
            last_leader = m.current_leader;
        }
        let leader = m.state == ServerState::Leader;
        if leader && !was_leader {
            tokio::spawn(elected(shared.clone(), m.last_log_index));
        }
        let serving = lead_with_quorum(&m, cluster.lease);
        if !serving && was_serving {
            let streams = shared.replica.registry.lock().detach_all();
            if leader {
                metrics.raft_quorum_lost.inc();
            }
            tracing::info!(
                streams = streams.len(),
                "{}; closing the sessions so clients move to the new one",
                if leader {
                    "this leader heard from no majority for its lease"
                } else {
                    "no longer the leader"
                }
            );
            for out in streams {
                out.close();
            }
        }
        was_leader = leader;
        was_serving = serving;
        // The replica's list is what Welcomes carry; a leader also pushes a change to its
        // clients.
        let members = cluster.members();
        if *shared.replica.members.lock() != members {
            if leader {
                let frame = v1::ServerFrame {
                    body: Some(v1::server_frame::Body::Members(members.clone())),
                };
                shared.replica.registry.lock().broadcast(&frame).deliver();
            }
            *shared.replica.members.lock() = members;
        }
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

/// This node just became the leader: once it has applied everything the previous leader
/// committed, every session it knows gets a fresh grace period to reconnect here.
async fn elected(shared: Arc<Shared>, last_log_index: Option<u64>) {
    let Some(cluster) = shared.cluster.get() else {
        return;
    };
    let caught_up = cluster
        .raft
        .wait(Some(Duration::from_secs(30)))
        .applied_index_at_least(last_log_index, "the new leader applied the log")
        .await;
    if let Err(e) = caught_up {
        tracing::warn!("the new leader did not catch up: {e}");
    }
    let sessions = shared.replica.registry.lock().detached_sessions();
    tracing::info!(
        sessions = sessions.len(),
        grace = ?shared.replica.config.grace_period,
        "elected leader; every session has a fresh grace period to reconnect"
    );
    for (session, epoch) in sessions {
        session::expire_after_grace(shared.clone(), session, epoch);
    }
}

/// The redirect node `me` answers with: UNAVAILABLE naming the leader, when known.
fn redirect(me: u64, leader: Option<u64>, node: Option<BasicNode>) -> Status {
    let leader = leader.filter(|&l| l != me);
    let (Some(id), Some(node)) = (leader, node) else {
        let mut status = Status::unavailable(format!(
            "node {me} is not the leader and no leader is known yet (an election is under way)"
        ));
        // Leader id 0: a redirect without a target.
        status
            .metadata_mut()
            .insert(meta::LEADER_ID, MetadataValue::from(0u64));
        return status;
    };
    let mut status = Status::unavailable(format!(
        "node {me} is not the leader; the leader is node {id} at {}",
        node.addr
    ));
    let md = status.metadata_mut();
    md.insert(meta::LEADER_ID, MetadataValue::from(id));
    if let Ok(addr) = node.addr.parse() {
        md.insert(meta::LEADER_ADDR, addr);
    }
    status
}

#[cfg(test)]
mod format_tests {
    use super::{check_format, FORMAT};

    #[test]
    fn a_new_data_directory_is_marked_and_an_older_one_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        check_format(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("FORMAT")).unwrap(),
            FORMAT
        );
        check_format(dir.path()).unwrap();

        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("raft.redb"), b"x").unwrap();
        let e = check_format(old.path()).unwrap_err().to_string();
        assert!(
            e.contains("before format 2") && e.contains("empty data directory"),
            "{e}"
        );

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("FORMAT"), "roster raft data, format 3\n").unwrap();
        let e = check_format(other.path()).unwrap_err().to_string();
        assert!(e.contains("format 3"), "{e}");
    }
}
