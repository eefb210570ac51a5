//! Elections with pre-vote, so that a node that comes back from a pause cannot depose a leader
//! that a majority still follows.
//!
//! openraft 0.9 has no pre-vote: a follower that hears no leader for its election timeout
//! (a GC pause, a SIGSTOP, a brief network blip) raises its term and campaigns. Its peers
//! refuse the vote, but its higher term reaches the leader in the next AppendEntries reply,
//! and the leader steps down: every client session is closed and redone, and writes stall
//! for an election, although the majority never lost its leader.
//!
//! So openraft's own election timer is off (`Config::enable_elect = false`) and this task
//! decides when to campaign, on openraft's timings: a voter that followed a leader waits
//! the leader lease (the election timeout's maximum) plus a random election timeout
//! without hearing from it (one with no leader, just the random timeout). Then it first asks
//! every voter whether it *would* vote (`PreVote`, which changes no term and no vote). A
//! voter says yes only when it has not heard from a leader for the lease, is not the leader,
//! and the candidate's log is at least as up to date as its own. Only with a yes from a
//! majority of every voter set (joint consensus included) does the node call
//! `trigger().elect()`, and openraft runs the real election. A paused follower gets a no
//! from the healthy majority, keeps its term, and rejoins with the next AppendEntries. The
//! same checks (Raft thesis §9.6) are what openraft 0.10 adds as `enable_pre_vote`; 0.10 is
//! still an alpha, so they live here.
//!
//! Two followers whose timers fire together would both pass the pre-vote and split the real
//! vote; a split costs a second round, and openraft refuses votes for a lease after its own
//! vote changed, so a failover took ~1.25 s instead of ~0.6 s in one run of three. So the
//! pre-vote also breaks ties: a node asking for pre-votes itself refuses a candidate that
//! ranks below it (an older log, or the same log and a higher id) and grants one that
//! ranks above, giving up its own campaign; a node that started an election within the
//! election timeout refuses every pre-vote. A tie then costs at most a pre-vote round
//! (no term, no vote changed).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use openraft::{LogId, ServerState};
use parking_lot::Mutex;
use roster_proto::v1::{cluster_client::ClusterClient, RaftPayload};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tonic::transport::Channel;

use super::network::Network;
use crate::Shared;

/// When this node last accepted AppendEntries or a snapshot from a leader.
#[derive(Default)]
pub struct LeaderContact(Mutex<Option<Instant>>);

impl LeaderContact {
    pub fn heard(&self) {
        *self.0.lock() = Some(Instant::now());
    }

    fn last(&self) -> Option<Instant> {
        *self.0.lock()
    }
}

/// This node's own campaign, as its pre-vote answers need to know it.
#[derive(Default)]
pub struct Campaign(Mutex<CampaignState>);

#[derive(Default)]
struct CampaignState {
    /// A pre-vote round of this node is in flight.
    asking: bool,
    /// During that round, this node granted a pre-vote to a candidate that ranks above it.
    yielded: bool,
    /// When this node last started an election.
    elected_at: Option<Instant>,
}

impl Campaign {
    fn start_asking(&self) {
        let mut st = self.0.lock();
        st.asking = true;
        st.yielded = false;
    }

    /// Ends the round; true when this node gave way to another candidate meanwhile.
    fn stop_asking(&self) -> bool {
        let mut st = self.0.lock();
        st.asking = false;
        std::mem::take(&mut st.yielded)
    }

    fn elected(&self) {
        self.0.lock().elected_at = Some(Instant::now());
    }
}

/// "Would you vote for me?", asked before an election.
#[derive(Debug, Serialize, Deserialize)]
pub struct PreVoteRequest {
    pub candidate: u64,
    pub last_log_id: Option<LogId<u64>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PreVoteResponse {
    pub granted: bool,
    /// Why not, for the log.
    pub reason: String,
}

/// Answers a peer's pre-vote (see the module documentation for the rules).
pub fn answer(shared: &Shared, req: &PreVoteRequest) -> PreVoteResponse {
    let Some(cluster) = shared.cluster.get() else {
        return refuse("this node is not part of a cluster");
    };
    let m = cluster.raft.metrics().borrow().clone();
    let last_log = cluster.raft.data_metrics().borrow().last_log;
    let lease = shared.replica.config.election_timeout.1;
    let reply = if m.state == ServerState::Leader {
        refuse("this node is the leader")
    } else if !m
        .membership_config
        .membership()
        .voter_ids()
        .any(|v| v == m.id)
    {
        refuse("this node is not a voter")
    } else if cluster
        .contact
        .last()
        .is_some_and(|at| at.elapsed() < lease)
    {
        refuse("this node heard from the leader within its lease")
    } else if req.last_log_id < last_log {
        refuse("the candidate's log is behind this node's")
    } else {
        let mut st = cluster.campaign.0.lock();
        let outranks_me = req.last_log_id > last_log || req.candidate < m.id;
        if st
            .elected_at
            .is_some_and(|at| at.elapsed() < shared.replica.config.election_timeout.1)
        {
            refuse("this node started an election within the election timeout")
        } else if st.asking && !outranks_me {
            refuse("this node is asking for pre-votes itself and ranks above the candidate")
        } else {
            // Giving way: this node's own round, if any, must not end in an election.
            st.yielded |= st.asking;
            PreVoteResponse {
                granted: true,
                reason: String::new(),
            }
        }
    };
    tracing::debug!(candidate = req.candidate, granted = reply.granted, reason = %reply.reason, "pre-vote asked");
    reply
}

fn refuse(reason: &str) -> PreVoteResponse {
    PreVoteResponse {
        granted: false,
        reason: reason.to_owned(),
    }
}

/// Watches for a silent leader and campaigns after a successful pre-vote. Runs for the
/// node's life.
pub async fn run(shared: Arc<Shared>) {
    let Some(cluster) = shared.cluster.get() else {
        return;
    };
    let (min, max) = shared.replica.config.election_timeout;
    // As openraft's own timer: after following a leader, its lease (`max`) plus a random
    // timeout; with no leader known (a failed election, a start), the random timeout alone.
    let random_timeout = || {
        let lease = if cluster.raft.metrics().borrow().vote.is_committed() {
            max
        } else {
            Duration::ZERO
        };
        lease + min + (max - min).mul_f64(fastrand::f64())
    };
    // Before any contact, count from the start: a restarted node gives the leader a timeout
    // to reach it before it asks anyone.
    let mut since = Instant::now();
    let mut timeout = random_timeout();
    loop {
        let base = cluster.contact.last().map_or(since, |c| c.max(since));
        if base != since {
            // Heard from a leader: a fresh random timeout from there.
            since = base;
            timeout = random_timeout();
        }
        let deadline = since + timeout;
        if Instant::now() < deadline {
            tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => {}
            }
            continue;
        }
        since = Instant::now();
        timeout = random_timeout();
        let m = cluster.raft.metrics().borrow().clone();
        let voter = m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == m.id);
        if m.state == ServerState::Leader || m.state == ServerState::Shutdown || !voter {
            continue;
        }
        // Each peer's answer is awaited at most a vote's timeout, as openraft's.
        cluster.campaign.start_asking();
        let won = pre_vote(&shared, min).await;
        let yielded = cluster.campaign.stop_asking();
        if won && !yielded {
            cluster.campaign.elected();
            shared.replica.metrics.raft_elections.inc();
            tracing::info!(
                term = m.current_term,
                "no leader heard for the election timeout and a majority agrees: campaigning"
            );
            if let Err(e) = cluster.raft.trigger().elect().await {
                tracing::warn!("cannot start an election: {e}");
            }
        } else {
            shared.replica.metrics.raft_pre_votes_lost.inc();
        }
    }
}

/// Asks every other voter; true once a majority of every voter set (this node included)
/// would vote for this node. Each answer is awaited at most `timeout`.
async fn pre_vote(shared: &Shared, timeout: Duration) -> bool {
    let Some(cluster) = shared.cluster.get() else {
        return false;
    };
    let me = cluster.node_id;
    let (configs, nodes) = {
        let m = cluster.raft.metrics();
        let m = m.borrow();
        let membership = m.membership_config.membership();
        let nodes: Vec<(u64, String)> = membership
            .nodes()
            .filter(|(id, _)| **id != me && membership.voter_ids().any(|v| v == **id))
            .map(|(&id, n)| (id, n.addr.clone()))
            .collect();
        (membership.get_joint_config().clone(), nodes)
    };
    let req = PreVoteRequest {
        candidate: me,
        last_log_id: cluster.raft.data_metrics().borrow().last_log,
    };
    let Ok(payload) = postcard::to_allocvec(&req) else {
        return false;
    };
    let mut granted = BTreeSet::from([me]);
    let quorum = |granted: &BTreeSet<u64>| {
        configs
            .iter()
            .all(|c| c.intersection(granted).count() * 2 > c.len())
    };
    let network = &cluster.network;
    let mut asks: FuturesUnordered<_> = nodes
        .into_iter()
        .map(|(id, addr)| {
            let payload = payload.clone();
            async move {
                let reply = tokio::time::timeout(timeout, ask(network, id, &addr, payload)).await;
                (id, reply)
            }
        })
        .collect();
    while !quorum(&granted) {
        let Some((id, reply)) = asks.next().await else {
            break;
        };
        match reply {
            Ok(Ok(r)) if r.granted => {
                granted.insert(id);
            }
            Ok(Ok(r)) => tracing::debug!(peer = id, reason = %r.reason, "pre-vote refused"),
            Ok(Err(e)) => tracing::debug!(peer = id, "pre-vote not answered: {e}"),
            Err(_) => tracing::debug!(peer = id, "pre-vote not answered within {timeout:?}"),
        }
    }
    quorum(&granted)
}

async fn ask(
    network: &Network,
    target: u64,
    addr: &str,
    payload: Vec<u8>,
) -> Result<PreVoteResponse, String> {
    let mut client: ClusterClient<Channel> = network.client(target, addr)?;
    let reply = client
        .pre_vote(RaftPayload {
            data: payload.into(),
        })
        .await
        .map_err(|s| s.to_string())?;
    postcard::from_bytes(&reply.into_inner().data).map_err(|e| e.to_string())
}
