//! Prometheus metrics, served as text on `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry as PromRegistry;

use crate::registry::Stats;

type Labels = Vec<(&'static str, &'static str)>;

pub struct Metrics {
    prom: PromRegistry,
    /// By `op` (publish, subscribe, unregister) and `result` (ok, stale, limit, refused).
    pub registrations: Family<Labels, Counter>,
    pub pushes: Counter,
    /// Encoded bytes of the push frames (full and delta).
    pub push_bytes: Counter,
    /// From the change being applied until the push frame is handed to the transport.
    pub push_latency: Histogram,
    pub sessions_opened: Counter,
    pub sessions_resumed: Counter,
    pub sessions_expired: Counter,
    pub overflows: Counter,
    pub redirects: Counter,
    sessions: Gauge,
    sessions_detached: Gauge,
    publishers: Gauge,
    subscribers: Gauge,
    data_info_ids: Gauge,
    revisions: Gauge,
    /// Cluster mode: 0 learner, 1 follower, 2 candidate, 3 leader.
    pub raft_role: Gauge,
    pub raft_term: Gauge,
    pub raft_leader_changes: Counter,
    /// Elections this node started, each after a pre-vote majority.
    pub raft_elections: Counter,
    /// Pre-votes this node asked for and did not get a majority (a live leader, most often).
    pub raft_pre_votes_lost: Counter,
    /// Times this node, leading, heard from no majority for the lease and stopped serving
    /// clients (see `Cluster::serves_clients`).
    pub raft_quorum_lost: Counter,
    /// Log entries appended here but not yet applied to the registry.
    pub raft_apply_lag: Gauge,
    /// On the leader, per peer: log entries not yet replicated to it.
    pub raft_replication_lag: Family<Vec<(&'static str, String)>, Gauge>,
    /// TLS handshakes that failed (wrong CA, no client certificate, not TLS at all).
    pub tls_failures: Counter,
    /// Sessions (and signed calls) refused authentication, by `reason`.
    pub auth_failures: Family<Labels, Counter>,
    /// Frames refused because the session's key may not do that, by `op`.
    pub permission_denied: Family<Labels, Counter>,
    /// Connections, sessions and frames refused by an abuse limit, by `limit`.
    pub limit_refusals: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            prom: PromRegistry::with_prefix("roster"),
            registrations: Family::default(),
            pushes: Counter::default(),
            push_bytes: Counter::default(),
            push_latency: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            sessions_opened: Counter::default(),
            sessions_resumed: Counter::default(),
            sessions_expired: Counter::default(),
            overflows: Counter::default(),
            redirects: Counter::default(),
            sessions: Gauge::default(),
            sessions_detached: Gauge::default(),
            publishers: Gauge::default(),
            subscribers: Gauge::default(),
            data_info_ids: Gauge::default(),
            revisions: Gauge::default(),
            raft_role: Gauge::default(),
            raft_term: Gauge::default(),
            raft_leader_changes: Counter::default(),
            raft_elections: Counter::default(),
            raft_pre_votes_lost: Counter::default(),
            raft_quorum_lost: Counter::default(),
            raft_apply_lag: Gauge::default(),
            raft_replication_lag: Family::default(),
            tls_failures: Counter::default(),
            auth_failures: Family::default(),
            permission_denied: Family::default(),
            limit_refusals: Family::default(),
        };
        m.prom.register(
            "registrations",
            "Registration frames handled",
            m.registrations.clone(),
        );
        m.prom
            .register("pushes", "Push frames sent", m.pushes.clone());
        m.prom.register(
            "push_bytes",
            "Encoded bytes of the push frames sent",
            m.push_bytes.clone(),
        );
        m.prom.register(
            "push_latency_seconds",
            "Time from a change to its push frame being sent",
            m.push_latency.clone(),
        );
        m.prom.register(
            "sessions_opened",
            "Session streams opened",
            m.sessions_opened.clone(),
        );
        m.prom.register(
            "sessions_resumed",
            "Sessions resumed within their grace period",
            m.sessions_resumed.clone(),
        );
        m.prom.register(
            "sessions_expired",
            "Sessions removed after their grace period",
            m.sessions_expired.clone(),
        );
        m.prom.register(
            "push_queue_overflows",
            "Connections closed because the client read too slowly",
            m.overflows.clone(),
        );
        m.prom.register(
            "sessions",
            "Sessions with a live connection",
            m.sessions.clone(),
        );
        m.prom.register(
            "sessions_detached",
            "Sessions within their grace period",
            m.sessions_detached.clone(),
        );
        m.prom
            .register("publishers", "Live publishers", m.publishers.clone());
        m.prom
            .register("subscribers", "Live subscribers", m.subscribers.clone());
        m.prom.register(
            "revisions",
            "Application revisions stored",
            m.revisions.clone(),
        );
        m.prom.register(
            "data_info_ids",
            "dataInfoIds with publishers or subscribers",
            m.data_info_ids.clone(),
        );
        m.prom.register(
            "raft_role",
            "Cluster role: 0 learner, 1 follower, 2 candidate, 3 leader",
            m.raft_role.clone(),
        );
        m.prom
            .register("raft_term", "Current Raft term", m.raft_term.clone());
        m.prom.register(
            "raft_leader_changes",
            "Times this node saw the leader change",
            m.raft_leader_changes.clone(),
        );
        m.prom.register(
            "raft_elections",
            "Elections this node started after a pre-vote majority",
            m.raft_elections.clone(),
        );
        m.prom.register(
            "raft_pre_votes_lost",
            "Pre-votes this node lost (the others still hear a leader, or its log is behind)",
            m.raft_pre_votes_lost.clone(),
        );
        m.prom.register(
            "raft_quorum_lost",
            "Times this node, leading, heard from no majority for the leader lease and stopped serving clients",
            m.raft_quorum_lost.clone(),
        );
        m.prom.register(
            "raft_apply_lag_entries",
            "Log entries appended on this node but not yet applied",
            m.raft_apply_lag.clone(),
        );
        m.prom.register(
            "raft_replication_lag_entries",
            "On the leader: log entries a peer has not replicated yet",
            m.raft_replication_lag.clone(),
        );
        m.prom.register(
            "session_redirects",
            "Sessions refused because this node is not the leader",
            m.redirects.clone(),
        );
        m.prom.register(
            "tls_handshake_failures",
            "TLS handshakes that failed",
            m.tls_failures.clone(),
        );
        m.prom.register(
            "auth_failures",
            "Sessions and signed calls refused authentication, by reason",
            m.auth_failures.clone(),
        );
        m.prom.register(
            "permission_denied",
            "Frames refused because the session's access key may not do that, by op",
            m.permission_denied.clone(),
        );
        m.prom.register(
            "limit_refusals",
            "Connections, sessions and frames refused by an abuse limit, by limit",
            m.limit_refusals.clone(),
        );
        m
    }
}

impl Metrics {
    pub fn registration(&self, op: &'static str, result: &'static str) {
        self.registrations
            .get_or_create(&vec![("op", op), ("result", result)])
            .inc();
    }

    pub fn auth_failure(&self, reason: &'static str) {
        self.auth_failures
            .get_or_create(&vec![("reason", reason)])
            .inc();
    }

    pub fn denied(&self, op: &'static str) {
        self.permission_denied
            .get_or_create(&vec![("op", op)])
            .inc();
    }

    pub fn limit(&self, limit: &'static str) {
        self.limit_refusals
            .get_or_create(&vec![("limit", limit)])
            .inc();
    }

    /// The text exposition, with gauges taken from `stats`.
    pub fn render(&self, stats: Stats) -> String {
        self.sessions.set(stats.sessions_attached as i64);
        self.sessions_detached.set(stats.sessions_detached as i64);
        self.publishers.set(stats.publishers as i64);
        self.subscribers.set(stats.subscribers as i64);
        self.data_info_ids.set(stats.data_info_ids as i64);
        self.revisions.set(stats.revisions as i64);
        let mut out = String::new();
        encode(&mut out, &self.prom).expect("writing to a String cannot fail");
        out
    }
}
