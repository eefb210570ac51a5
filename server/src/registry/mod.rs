//! The registry state: sessions, their registrations, and the data of every dataInfoId.
//!
//! Pure state, no I/O: an operation changes the state and returns what it answers (acks and
//! pushes) as [`Effects`], each frame with the [`Outbox`] of the attached session it goes
//! to; the caller delivers them (`Effects::deliver`) while it still holds the lock, so the
//! pushes of one dataInfoId leave in version order. A follower replica's sessions have no
//! outbox, so the same operations answer nothing there. Kept apart from the transport so
//! that a replicated state machine drives the same code.
//!
//! | module | what it holds or does |
//! | --- | --- |
//! | this one | the state's types (sessions, registrations, the data index of publishers and subscribers per dataInfoId), versions, stats |
//! | `key` | [`Key`]: a dataInfoId with its defaults applied and its parts checked |
//! | `sessions` | attach/detach with epochs, expiry, redo completion, tombstones |
//! | `registrations` | publish, subscribe, unregister: checked, recorded, acknowledged |
//! | `fanout` | a change's new version, the views per subscriber kind, pushes in full or as deltas, the warm-up |
//! | `delta` | what each session was last sent, and the splices from it |
//! | `apps` | application-level discovery: revisions, the interface → applications index, server-side conversion |
//! | `snapshot` | the snapshot a replica or a restart starts from, and its restore |
//!
//! Deterministic: every replica must derive the same state from the same commands, so
//! nothing that hands out versions, orders a push's data or writes a snapshot walks a hash
//! map in its (per-process random) order; such walks go through a sorted copy or a B-tree
//! (`determinism.rs` checks it with differently seeded and restored replicas).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use roster_proto::appmeta::ServiceUrl;
use roster_proto::prost::Message;
use roster_proto::rules::{self, Limits, RuleError};
use roster_proto::v1::{self, AckCode, Scope};

use delta::{Sent, View};

mod apps;
mod delta;
mod fanout;
mod key;
mod registrations;
mod sessions;
mod snapshot;

pub use key::Key;

#[cfg(test)]
mod determinism;
#[cfg(test)]
pub(crate) mod test_support;

pub type SessionId = u64;

/// Where a session's frames go while it is attached; see `session.rs`.
pub trait Outbox: Send + Sync {
    /// Queue a frame without blocking. Returns false when the peer is too slow, in which
    /// case the transport drops the connection and the client redoes everything.
    fn send(&self, frame: v1::ServerFrame) -> bool;
    /// Close the stream (another stream of the same client took over).
    fn close(&self);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Publisher,
    Subscriber(SubKind),
}

/// A subscriber's scope, and whether it asked for server-side conversion of
/// application-level publishers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SubKind {
    scope: Scope,
    convert: bool,
}

impl SubKind {
    /// Index into `Subscribers::slots`.
    fn slot(self) -> usize {
        self.scope as usize + if self.convert { 3 } else { 0 }
    }

    fn all() -> impl Iterator<Item = SubKind> {
        [false, true].into_iter().flat_map(|convert| {
            [Scope::Zone, Scope::DataCenter, Scope::Global]
                .into_iter()
                .map(move |scope| SubKind { scope, convert })
        })
    }
}

/// One registration as its session knows it. A removed one stays as a tombstone so that a
/// late, older re-send cannot bring it back.
struct Reg {
    key: Arc<Key>,
    kind: Kind,
    version: u64,
    /// The attachment in which the client last sent it (see `redo_complete`).
    epoch: u64,
    removed: bool,
}

struct Session {
    client_id: Arc<str>,
    /// The access key of its Hello (empty without authentication): a Hello with the same
    /// client id but another key may neither resume nor replace it.
    access_key: Arc<str>,
    zone: Arc<str>,
    data_center: Arc<str>,
    outbox: Option<Arc<dyn Outbox>>,
    epoch: u64,
    /// The client applies deltas (its Hello said so): see `delta.rs`.
    deltas: bool,
    regs: HashMap<Arc<str>, Reg>,
    /// Unregistered registIds, oldest first: their tombstones are forgotten beyond
    /// `MAX_TOMBSTONES` (and at every redo), so a long-lived session does not grow.
    tombstones: VecDeque<Arc<str>>,
}

/// Tombstones kept per session to refuse late, older frames for unregistered registIds.
const MAX_TOMBSTONES: usize = 1024;

struct Publisher {
    zone: Arc<str>,
    data_center: Arc<str>,
    data: Box<[Bytes]>,
    /// An application publisher's items, parsed once (see `apps.rs`).
    app_items: Option<Box<[ServiceUrl]>>,
}

#[derive(Default)]
struct Subscribers {
    /// By `SubKind::slot`.
    /// RegistId to the client's handle for it (0: none).
    slots: [HashMap<Arc<str>, u32>; 6],
    /// By slot, for a session that takes deltas: the view last pushed to it.
    sent: [Option<Sent>; 6],
}

impl Subscribers {
    fn is_empty(&self) -> bool {
        self.slots.iter().all(HashMap::is_empty)
    }
}

struct Datum {
    key: Arc<Key>,
    version: u64,
    /// A hash map rather than a B-tree: a B-tree leaf holds room for eleven entries, which
    /// tripled the memory of a dataId with one publisher. Pushes group data by zone name.
    publishers: HashMap<(SessionId, Arc<str>), Publisher>,
    subscribers: HashMap<SessionId, Subscribers>,
}

impl Datum {
    /// The publishers in the order of their session and registId: data is listed in an order
    /// that depends only on what is registered, so every replica pushes the same lists, and
    /// a new leader pushes what the old one did.
    fn ordered_publishers(&self) -> impl Iterator<Item = &Publisher> {
        let mut all: Vec<(&(SessionId, Arc<str>), &Publisher)> = self.publishers.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter().map(|(_, p)| p)
    }
}

/// Counts for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sessions_attached: usize,
    pub sessions_detached: usize,
    pub publishers: usize,
    pub subscribers: usize,
    pub data_info_ids: usize,
    /// Application-level discovery: stored revisions.
    pub revisions: usize,
}

/// What an operation produced: the frames it answers with (acks and pushes), each with
/// the outbox of the session it goes to, for the caller to [`deliver`](Effects::deliver);
/// and counts for metrics.
#[derive(Default)]
#[must_use = "the frames must be delivered"]
pub struct Effects {
    /// `ok`, `stale`, `limit` or `refused`: how the operation's ack answered.
    pub result: &'static str,
    pub pushes: usize,
    /// Encoded bytes of those pushes.
    pub push_bytes: u64,
    /// Frames refused by a full outbox (that session's stream is being closed).
    pub overflows: usize,
    /// To send, in order.
    pub frames: Vec<(Arc<dyn Outbox>, v1::ServerFrame)>,
}

impl Effects {
    /// Queues the frames on their outboxes, in order, and counts the ones refused. Called
    /// while the registry's lock is held, so the pushes of one dataInfoId leave in version
    /// order.
    pub fn deliver(&mut self) {
        for (out, frame) in self.frames.drain(..) {
            if !out.send(frame) {
                self.overflows += 1;
            }
        }
    }
}

/// Frames left undelivered are a bug (a push lost): tests and debug builds catch it.
impl Drop for Effects {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            debug_assert!(
                self.frames.is_empty(),
                "{} frames were never delivered",
                self.frames.len()
            );
        }
    }
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("result", &self.result)
            .field("pushes", &self.pushes)
            .field("push_bytes", &self.push_bytes)
            .field("overflows", &self.overflows)
            .field("frames", &self.frames.len())
            .finish()
    }
}

pub struct Registry {
    limits: Limits,
    /// While set, pushes of empty data are held back (see `end_warmup`).
    warming_up: bool,
    held_empty: bool,
    sessions: HashMap<SessionId, Session>,
    by_client: HashMap<Arc<str>, SessionId>,
    data: HashMap<Arc<Key>, Datum>,
    next_session: SessionId,
    versions: Versions,
    publishers: usize,
    subscribers: usize,
    apps: apps::Apps,
    /// Interned group and instanceId names (see `datum`); pruned by `collect`.
    names: HashSet<Arc<str>>,
    /// The log position of the last command applied (see `set_position`).
    position: u64,
}

/// Outcome of `attach`.
pub struct Attached {
    pub session: SessionId,
    pub epoch: u64,
    pub resumed: bool,
    /// The outbox of a previous stream of the same client, to be closed.
    pub superseded: Option<Arc<dyn Outbox>>,
}

/// An Ack frame.
pub fn ack(
    request_id: u64,
    regist_id: &str,
    version: u64,
    code: AckCode,
    message: String,
) -> v1::ServerFrame {
    v1::ServerFrame {
        body: Some(v1::server_frame::Body::Ack(v1::Ack {
            request_id,
            regist_id: regist_id.to_owned(),
            version,
            code: code.into(),
            message,
        })),
    }
}

fn refused(request_id: u64, regist_id: &str, version: u64, e: RuleError) -> v1::ServerFrame {
    let code = if e.limit {
        AckCode::LimitExceeded
    } else {
        AckCode::InvalidArgument
    };
    ack(request_id, regist_id, version, code, e.to_string())
}
impl Registry {
    /// A registry that starts warming up when `warmup` is true.
    pub fn new(limits: Limits, warmup: bool) -> Self {
        Self {
            limits,
            warming_up: warmup,
            held_empty: false,
            sessions: HashMap::new(),
            by_client: HashMap::new(),
            data: HashMap::new(),
            next_session: 1,
            versions: Versions::default(),
            publishers: 0,
            subscribers: 0,
            apps: apps::Apps::default(),
            names: HashSet::new(),
            position: 0,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the clock of the operations that follow: wall-clock microseconds, stamped by
    /// the node that proposed them, so every replica computes the same versions.
    pub fn set_clock(&mut self, now_us: u64) {
        self.versions.now = now_us;
    }

    /// Records the log position of the command being applied, so that a reader of the
    /// state knows which commands it holds (replicas are compared at equal positions).
    pub fn set_position(&mut self, position: u64) {
        self.position = position;
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    fn next_version(&mut self) -> u64 {
        self.versions.next()
    }

    pub fn stats(&self) -> Stats {
        let attached = self
            .sessions
            .values()
            .filter(|s| s.outbox.is_some())
            .count();
        Stats {
            sessions_attached: attached,
            sessions_detached: self.sessions.len() - attached,
            publishers: self.publishers,
            subscribers: self.subscribers,
            data_info_ids: self.data.len(),
            revisions: self.apps.revisions.len(),
        }
    }

    /// Periodic housekeeping: forgets revisions unreferenced for `after_us` (by the clock,
    /// see `set_clock`) and names no dataInfoId uses any more. Returns how many revisions
    /// were removed.
    pub fn collect(&mut self, after_us: u64) -> usize {
        self.names.retain(|n| Arc::strong_count(n) > 1);
        self.gc_revisions(after_us)
    }

    fn datum(&mut self, key: &Key) -> &mut Datum {
        if !self.data.contains_key(key) {
            let version = self.next_version();
            // Groups and tenants repeat across dataIds: share one copy of each.
            let key = Arc::new(Key {
                data_id: key.data_id.clone(),
                group: intern(&mut self.names, &key.group),
                instance_id: intern(&mut self.names, &key.instance_id),
            });
            self.data.insert(
                key.clone(),
                Datum {
                    key,
                    version,
                    publishers: HashMap::new(),
                    subscribers: HashMap::new(),
                },
            );
        }
        self.data.get_mut(key).expect("inserted above")
    }
}

fn intern(names: &mut HashSet<Arc<str>>, name: &Arc<str>) -> Arc<str> {
    if let Some(shared) = names.get(name) {
        return shared.clone();
    }
    names.insert(name.clone());
    name.clone()
}

/// Datum versions: the operation's wall-clock microseconds, strictly growing, so they keep
/// growing across a restart or a leader change and clients never mistake new data for old.
#[derive(Default)]
struct Versions {
    now: u64,
    last: u64,
}

impl Versions {
    fn next(&mut self) -> u64 {
        self.last = self.now.max(self.last + 1);
        self.last
    }
}

/// Wall-clock microseconds.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn tombstones_are_bounded_per_session() {
        let mut r = Registry::new(Limits::default(), false);
        let s = r
            .attach(&hello("c"), Some(Arc::new(Collect::default())))
            .unwrap()
            .session;
        for i in 0..3000 {
            let id = format!("r{i}");
            let p = v1::Publish {
                regist_id: id.clone(),
                key: key(),
                version: 1,
                data: vec![],
            };
            r.publish(s, 0, p).deliver();
            r.unregister(
                s,
                0,
                v1::Unregister {
                    regist_id: id,
                    version: 2,
                },
            )
            .deliver();
        }
        assert_eq!(r.sessions[&s].regs.len(), MAX_TOMBSTONES);
        assert_eq!(r.stats().publishers, 0);
        r.redo_complete(s).deliver();
        assert!(r.sessions[&s].regs.is_empty(), "a redo forgets tombstones");
    }

    #[test]
    fn warmup_holds_empty_pushes_then_sends_them() {
        let mut r = Registry::new(Limits::default(), true);
        let out = Arc::new(Collect::default());
        let s = r.attach(&hello("c"), Some(out.clone())).unwrap().session;
        let sub = v1::Subscribe {
            regist_id: "s".into(),
            key: key(),
            version: 1,
            scope: 0,
            ..Default::default()
        };
        r.subscribe(s, 1, sub).deliver();
        assert!(out.pushes().is_empty(), "no empty push while warming up");
        let data = vec![bytes::Bytes::from_static(b"a")];
        r.publish(
            s,
            2,
            v1::Publish {
                regist_id: "p".into(),
                key: key(),
                version: 1,
                data,
            },
        )
        .deliver();
        assert_eq!(out.pushes().len(), 1, "data is pushed at once");
        r.unregister(
            s,
            3,
            v1::Unregister {
                regist_id: "p".into(),
                version: 2,
            },
        )
        .deliver();
        assert!(out.pushes().is_empty());
        let mut fx = r.end_warmup();
        fx.deliver();
        let pushes = out.pushes();
        assert_eq!((fx.pushes, pushes.len()), (1, 1));
        assert!(pushes[0].zones.is_empty() && pushes[0].subscriber_ids == ["s"]);
    }
}
