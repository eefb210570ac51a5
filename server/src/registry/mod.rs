//! The registry state: sessions, their registrations, and the data of every dataInfoId.
//!
//! Pure state and no I/O: every operation returns what must be sent (acks and pushes), and
//! the caller sends it while still holding the lock, so pushes for one dataInfoId leave in
//! version order. Kept apart from the transport so that a replicated state machine can
//! drive the same code.
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
mod snapshot;

#[cfg(test)]
mod determinism;

pub type SessionId = u64;

/// Where a session's frames go while it is attached; see `session.rs`.
pub trait Outbox: Send + Sync {
    /// Queue a frame without blocking. Returns false when the peer is too slow, in which
    /// case the transport drops the connection and the client redoes everything.
    fn send(&self, frame: v1::ServerFrame) -> bool;
    /// Close the stream (another stream of the same client took over).
    fn close(&self);
}

/// dataId, group and instanceId, with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub data_id: Arc<str>,
    pub group: Arc<str>,
    pub instance_id: Arc<str>,
}

impl Key {
    /// Applies the defaults and checks the parts; errors name the field.
    pub fn from_proto(key: Option<&v1::DataKey>, limits: &Limits) -> Result<Key, RuleError> {
        let empty = v1::DataKey::default();
        let k = key.unwrap_or(&empty);
        let or = |v: &str, d: &'static str| {
            if v.is_empty() {
                d.to_owned()
            } else {
                v.to_owned()
            }
        };
        let group = or(&k.group, rules::DEFAULT_GROUP);
        let instance_id = or(&k.instance_id, rules::DEFAULT_INSTANCE_ID);
        rules::check_key(&k.data_id, &group, &instance_id, limits)?;
        Ok(Key {
            data_id: k.data_id.as_str().into(),
            group: group.into(),
            instance_id: instance_id.into(),
        })
    }

    fn to_proto(&self) -> v1::DataKey {
        v1::DataKey {
            data_id: self.data_id.to_string(),
            group: self.group.to_string(),
            instance_id: self.instance_id.to_string(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = rules::DATA_INFO_SEPARATOR;
        write!(
            f,
            "{}{sep}{}{sep}{}",
            self.data_id, self.instance_id, self.group
        )
    }
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

/// What an operation produced beyond its ack.
#[derive(Default, Debug)]
pub struct Effects {
    /// `ok`, `stale` or `refused`: how the operation's ack answered.
    pub result: &'static str,
    pub pushes: usize,
    /// Encoded bytes of those pushes.
    pub push_bytes: u64,
    /// Frames refused by a full outbox (that session's stream is being closed).
    pub overflows: usize,
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

fn ack(
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

    /// Checks a Hello's fields; the error names the bad one.
    pub fn check_hello(hello: &v1::Hello) -> Result<(), RuleError> {
        rules::check_identifier("clientId", &hello.client_id, rules::MAX_ID_BYTES)?;
        for (field, v) in [("zone", &hello.zone), ("dataCenter", &hello.data_center)] {
            rules::check_identifier(field, v, rules::MAX_ID_BYTES)?;
        }
        Ok(())
    }

    /// Attaches a stream for `client_id`, resuming its session when one is still held.
    /// `outbox` is `None` on a replica that does not serve the stream (a Raft follower).
    pub fn attach(
        &mut self,
        hello: &v1::Hello,
        outbox: Option<Arc<dyn Outbox>>,
    ) -> Result<Attached, RuleError> {
        Self::check_hello(hello)?;
        if let Some(&id) = self.by_client.get(hello.client_id.as_str()) {
            let s = self
                .sessions
                .get_mut(&id)
                .expect("by_client points at a session");
            // Zone and data center are fixed for a client's life; a client that changed
            // them is a different client as far as scopes go, so start it afresh.
            if *s.zone == *hello.zone && *s.data_center == *hello.data_center {
                s.epoch += 1;
                s.deltas = hello.deltas;
                let superseded = std::mem::replace(&mut s.outbox, outbox);
                return Ok(Attached {
                    session: id,
                    epoch: s.epoch,
                    resumed: true,
                    superseded,
                });
            }
            let old = self.sessions.get(&id).and_then(|s| s.outbox.clone());
            self.drop_session(id, &mut Effects::default());
            let mut a = self.attach(hello, outbox)?;
            a.superseded = old;
            return Ok(a);
        }
        let id = self.next_session;
        self.next_session += 1;
        let client_id: Arc<str> = hello.client_id.as_str().into();
        self.by_client.insert(client_id.clone(), id);
        self.sessions.insert(
            id,
            Session {
                client_id,
                zone: hello.zone.as_str().into(),
                data_center: hello.data_center.as_str().into(),
                outbox,
                epoch: 1,
                deltas: hello.deltas,
                regs: HashMap::new(),
                tombstones: VecDeque::new(),
            },
        );
        Ok(Attached {
            session: id,
            epoch: 1,
            resumed: false,
            superseded: None,
        })
    }

    /// True while `epoch` is the session's live attachment: frames still arriving on a
    /// stream that another stream of the same client replaced are ignored.
    pub fn is_current(&self, session: SessionId, epoch: u64) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.epoch == epoch)
    }

    /// True when this replica holds the session's stream.
    pub fn is_attached(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.outbox.is_some())
    }

    /// Periodic housekeeping: forgets revisions unreferenced for `after_us` (by the clock,
    /// see `set_clock`) and names no dataInfoId uses any more. Returns how many revisions
    /// were removed.
    pub fn collect(&mut self, after_us: u64) -> usize {
        self.names.retain(|n| Arc::strong_count(n) > 1);
        self.gc_revisions(after_us)
    }

    /// The stream of attachment `epoch` ended. Returns true when the session is now
    /// detached (and the caller should expire it after the grace period).
    pub fn detach(&mut self, session: SessionId, epoch: u64) -> bool {
        match self.sessions.get_mut(&session) {
            Some(s) if s.epoch == epoch => {
                s.outbox = None;
                true
            }
            _ => false,
        }
    }

    /// Detaches every stream (this node stopped leading): returns them to be closed.
    pub fn detach_all(&mut self) -> Vec<Arc<dyn Outbox>> {
        self.sessions
            .values_mut()
            .filter_map(|s| s.outbox.take())
            .collect()
    }

    /// Every session without a stream here, and its epoch (a new leader starts their grace
    /// periods).
    pub fn detached_sessions(&self) -> Vec<(SessionId, u64)> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.outbox.is_none())
            .map(|(&id, s)| (id, s.epoch))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Sends a frame to every attached stream (a new member list).
    pub fn broadcast(&self, frame: &v1::ServerFrame) {
        for out in self.sessions.values().filter_map(|s| s.outbox.as_ref()) {
            out.send(frame.clone());
        }
    }

    /// The grace period of a detached session ran out: remove it and everything it held,
    /// unless it was resumed meanwhile (then `None`). Only the epoch decides, never whether
    /// this replica holds a stream, so every replica applies it alike.
    pub fn expire(&mut self, session: SessionId, epoch: u64) -> Option<Effects> {
        if !self.is_current(session, epoch) {
            return None;
        }
        let mut fx = Effects::default();
        self.drop_session(session, &mut fx);
        Some(fx)
    }

    fn drop_session(&mut self, session: SessionId, fx: &mut Effects) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.by_client.remove(&s.client_id);
        let origin = (s.zone.clone(), s.data_center.clone());
        // Ordered: each changed datum gets the next version in turn, and every replica
        // must hand them out in the same order.
        let mut changed = BTreeSet::new();
        for (regist_id, reg) in s.regs {
            if reg.removed {
                continue;
            }
            if self.remove_reg(session, &regist_id, &reg) {
                changed.insert(reg.key.clone());
            }
        }
        for key in changed {
            self.changed(&key, (&origin.0, &origin.1), fx);
        }
    }

    /// Removes a registration from its datum. Returns true when publisher data changed (the
    /// caller then calls `changed`, which gives the datum its new version).
    fn remove_reg(&mut self, session: SessionId, regist_id: &Arc<str>, reg: &Reg) -> bool {
        let Some(datum) = self.data.get_mut(&reg.key) else {
            return false;
        };
        let changed = match reg.kind {
            Kind::Publisher => {
                let gone = datum
                    .publishers
                    .remove(&(session, regist_id.clone()))
                    .is_some();
                self.publishers -= gone as usize;
                gone
            }
            Kind::Subscriber(kind) => {
                if let Some(subs) = datum.subscribers.get_mut(&session) {
                    let gone = subs.slots[kind.slot()].remove(regist_id).is_some();
                    self.subscribers -= gone as usize;
                    if subs.is_empty() {
                        datum.subscribers.remove(&session);
                    }
                }
                false
            }
        };
        if datum.publishers.is_empty() && datum.subscribers.is_empty() {
            self.data.remove(&reg.key);
        }
        changed
    }

    /// The client re-sent everything after a reconnect: drop what it did not re-send and
    /// forget tombstones (the client's table is the truth from here on).
    pub fn redo_complete(&mut self, session: SessionId) -> Effects {
        let mut fx = Effects::default();
        let Some(s) = self.sessions.get_mut(&session) else {
            return fx;
        };
        let epoch = s.epoch;
        let origin = (s.zone.clone(), s.data_center.clone());
        s.tombstones.clear();
        let stale: Vec<(Arc<str>, Reg)> = {
            let ids: Vec<Arc<str>> = s
                .regs
                .iter()
                .filter(|(_, r)| r.removed || r.epoch < epoch)
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter()
                .filter_map(|id| s.regs.remove(&id).map(|r| (id, r)))
                .collect()
        };
        let mut changed = BTreeSet::new();
        for (id, reg) in stale {
            if !reg.removed && self.remove_reg(session, &id, &reg) {
                changed.insert(reg.key.clone());
            }
        }
        for key in changed {
            self.changed(&key, (&origin.0, &origin.1), &mut fx);
        }
        fx
    }

    /// Checks the registId and version of a registration against the session's table.
    /// `Ok(None)`: new; `Ok(Some(current))`: known with that version; `Err(ack)`: refuse.
    fn check_reg(
        &self,
        session: SessionId,
        request_id: u64,
        regist_id: &str,
        version: u64,
        key: &Key,
        kind: Kind,
    ) -> Result<Option<u64>, Box<v1::ServerFrame>> {
        if let Err(e) = rules::check_identifier("registId", regist_id, rules::MAX_ID_BYTES) {
            return Err(Box::new(refused(request_id, regist_id, version, e)));
        }
        let Some(reg) = self
            .sessions
            .get(&session)
            .and_then(|s| s.regs.get(regist_id))
        else {
            return Ok(None);
        };
        let same_kind = matches!(
            (reg.kind, kind),
            (Kind::Publisher, Kind::Publisher) | (Kind::Subscriber(_), Kind::Subscriber(_))
        );
        if *reg.key != *key || !same_kind {
            let msg = format!(
                "registId {regist_id} is already used for another registration ({})",
                reg.key
            );
            return Err(Box::new(ack(
                request_id,
                regist_id,
                version,
                AckCode::InvalidArgument,
                msg,
            )));
        }
        if version < reg.version || (reg.removed && version <= reg.version) {
            let msg = format!(
                "version {version} is older than the registry's {}",
                reg.version
            );
            return Err(Box::new(ack(
                request_id,
                regist_id,
                version,
                AckCode::Stale,
                msg,
            )));
        }
        Ok(Some(reg.version).filter(|_| !reg.removed))
    }

    /// Sends a frame to a session's current stream, if it has one.
    pub fn send_to(&self, session: SessionId, frame: v1::ServerFrame) -> Effects {
        let mut fx = Effects::default();
        self.send(session, frame, &mut fx);
        fx
    }

    /// Ends the warm-up after a start: a restarted registry is empty until its clients
    /// have redone their registrations, and a subscriber must not see its providers vanish
    /// and come back meanwhile. Pushes every datum whose empty push was held back.
    pub fn end_warmup(&mut self) -> Effects {
        let mut fx = Effects::default();
        self.warming_up = false;
        if std::mem::take(&mut self.held_empty) {
            let mut keys: Vec<Arc<Key>> = self.data.keys().cloned().collect();
            keys.sort();
            for key in keys {
                self.push_all(&key, None, false, &mut fx);
            }
        }
        fx
    }

    /// True when a push of `view` is an empty one to hold back during the warm-up.
    fn hold(&mut self, view: &View) -> bool {
        let hold = self.warming_up && view.zones.is_empty();
        self.held_empty |= hold;
        hold
    }

    fn send(&self, session: SessionId, frame: v1::ServerFrame, fx: &mut Effects) {
        if let Some(v1::server_frame::Body::Ack(a)) = &frame.body {
            fx.result = match AckCode::try_from(a.code) {
                Ok(AckCode::Ok) => "ok",
                Ok(AckCode::Stale) => "stale",
                _ => "refused",
            };
        }
        if let Some(out) = self.sessions.get(&session).and_then(|s| s.outbox.as_ref()) {
            if !out.send(frame) {
                fx.overflows += 1;
            }
        }
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

    fn remember(
        &mut self,
        session: SessionId,
        regist_id: &str,
        key: Arc<Key>,
        kind: Kind,
        version: u64,
    ) {
        let s = self
            .sessions
            .get_mut(&session)
            .expect("caller checked the session");
        let epoch = s.epoch;
        s.regs.insert(
            regist_id.into(),
            Reg {
                key,
                kind,
                version,
                epoch,
                removed: false,
            },
        );
    }

    pub fn publish(&mut self, session: SessionId, request_id: u64, p: v1::Publish) -> Effects {
        let mut fx = Effects::default();
        let frame = self.try_publish(session, request_id, p, &mut fx);
        self.send(session, frame, &mut fx);
        fx
    }

    fn try_publish(
        &mut self,
        session: SessionId,
        request_id: u64,
        p: v1::Publish,
        fx: &mut Effects,
    ) -> v1::ServerFrame {
        let (rid, version) = (p.regist_id.as_str(), p.version);
        let key = match Key::from_proto(p.key.as_ref(), &self.limits) {
            Ok(k) => k,
            Err(e) => return refused(request_id, rid, version, e),
        };
        if let Err(e) = rules::check_data(&p.data, &self.limits) {
            return refused(request_id, rid, version, e);
        }
        let app_items = match apps::check_publisher(&key, &p.data) {
            Ok(items) => items,
            Err(e) => return refused(request_id, rid, version, e),
        };
        let current = match self.check_reg(session, request_id, rid, version, &key, Kind::Publisher)
        {
            Ok(c) => c,
            Err(frame) => return *frame,
        };
        let s = self
            .sessions
            .get_mut(&session)
            .expect("caller holds an attached session");
        if current == Some(version) {
            // A re-send of the current version (a redo) changes nothing but is still live.
            let epoch = s.epoch;
            if let Some(r) = s.regs.get_mut(rid) {
                r.epoch = epoch;
            }
            return ack(request_id, rid, version, AckCode::Ok, String::new());
        }
        let (zone, dc) = (s.zone.clone(), s.data_center.clone());
        // Copy the items out of the received frame so a small item never pins a large
        // receive buffer in memory.
        let data: Box<[Bytes]> = p.data.iter().map(|b| Bytes::copy_from_slice(b)).collect();
        let version_now = self.next_version();
        let regist_id: Arc<str> = rid.into();
        let datum = self.datum(&key);
        datum.version = version_now;
        let key = datum.key.clone();
        let revisions = app_items.as_deref().map(apps::revisions_of);
        let old = datum.publishers.insert(
            (session, regist_id.clone()),
            Publisher {
                zone: zone.clone(),
                data_center: dc.clone(),
                data,
                app_items,
            },
        );
        // Whether the application's interfaces may have changed (a new instance, or one
        // that moved to another revision); a parameter change of an instance cannot.
        let same_revisions = match &revisions {
            Some(new) => self.apps.known(&key, new),
            None => true,
        } && old.as_ref().is_none_or(|o| {
            o.app_items.as_deref().map(apps::revisions_of).as_ref() == revisions.as_ref()
        });
        self.publishers += old.is_none() as usize;
        self.remember(session, rid, key.clone(), Kind::Publisher, version);
        self.push_all(&key, Some((&zone, &dc)), false, fx);
        if same_revisions {
            self.app_instances_changed(&key, fx);
        } else {
            self.app_changed(&key, fx);
        }
        ack(request_id, rid, version, AckCode::Ok, String::new())
    }

    pub fn subscribe(
        &mut self,
        session: SessionId,
        request_id: u64,
        sub: v1::Subscribe,
    ) -> Effects {
        let mut fx = Effects::default();
        let (rid, version) = (sub.regist_id.as_str(), sub.version);
        let scope = Scope::try_from(sub.scope).ok();
        let checked = match (Key::from_proto(sub.key.as_ref(), &self.limits), scope) {
            (Err(e), _) => Err(refused(request_id, rid, version, e)),
            (_, None) => Err(ack(
                request_id,
                rid,
                version,
                AckCode::InvalidArgument,
                format!("scope {} is not a known scope", sub.scope),
            )),
            (Ok(key), Some(scope)) => {
                let kind = SubKind {
                    scope,
                    convert: sub.convert_application,
                };
                self.check_reg(
                    session,
                    request_id,
                    rid,
                    version,
                    &key,
                    Kind::Subscriber(kind),
                )
                .map(|current| (key, kind, current))
                .map_err(|frame| *frame)
            }
        };
        let (key, kind, current) = match checked {
            Ok(v) => v,
            Err(frame) => {
                self.send(session, frame, &mut fx);
                return fx;
            }
        };
        let regist_id: Arc<str> = rid.into();
        let old = self.sessions[&session].regs.get(rid).map(|r| r.kind);
        if let (Some(_), Some(Kind::Subscriber(old)), Some(d)) =
            (current, old, self.data.get_mut(&key))
        {
            // A newer version may change the scope: take it out of the old slot.
            if let Some(subs) = d.subscribers.get_mut(&session) {
                self.subscribers -= subs.slots[old.slot()].remove(&regist_id).is_some() as usize;
            }
        }
        let datum = self.datum(&key);
        let key = datum.key.clone();
        let fresh = datum.subscribers.entry(session).or_default().slots[kind.slot()]
            .insert(regist_id.clone(), sub.handle)
            .is_none();
        self.subscribers += fresh as usize;
        self.remember(session, rid, key.clone(), Kind::Subscriber(kind), version);
        self.send(
            session,
            ack(request_id, rid, version, AckCode::Ok, String::new()),
            &mut fx,
        );
        // The new (or re-sent) subscriber gets the current data; the client ignores it if it
        // has that version already.
        let named = names([(&regist_id, &sub.handle)]);
        self.push_full(session, &key, kind, named, &mut fx);
        fx
    }

    /// Pushes the full data of the view of `key` that `kind` sees to the named subscribers
    /// of `session`; it becomes the base of the view's next delta.
    fn push_full(
        &mut self,
        session: SessionId,
        key: &Arc<Key>,
        kind: SubKind,
        named: (Vec<String>, Vec<u32>),
        fx: &mut Effects,
    ) {
        let (Some(s), Some(d)) = (self.sessions.get(&session), self.data.get(key)) else {
            return;
        };
        let view = Arc::new(self.view(d, kind, &s.zone, &s.data_center));
        let sent = (s.deltas && view.is_base()).then(|| Sent {
            epoch: s.epoch,
            view: view.clone(),
        });
        if self.hold(&view) {
            return;
        }
        let push = push_frame(key, kind, &view, named, None);
        fx.push_bytes += push.encoded_len() as u64;
        self.send(session, push, fx);
        fx.pushes += 1;
        if let Some(subs) = self
            .data
            .get_mut(key)
            .and_then(|d| d.subscribers.get_mut(&session))
        {
            subs.sent[kind.slot()] = sent;
        }
    }

    /// The client could not apply a delta of this view: send it in full to the session's
    /// subscribers of that kind.
    pub fn refresh(&mut self, session: SessionId, r: v1::Refresh) -> Effects {
        let mut fx = Effects::default();
        let (Ok(key), Ok(scope)) = (
            Key::from_proto(r.key.as_ref(), &self.limits),
            Scope::try_from(r.scope),
        ) else {
            return fx;
        };
        let kind = SubKind {
            scope,
            convert: r.convert_application,
        };
        let Some((key, subs)) = self
            .data
            .get_key_value(&key)
            .and_then(|(k, d)| Some((k.clone(), d.subscribers.get(&session)?)))
        else {
            return fx;
        };
        let slot = &subs.slots[kind.slot()];
        if !slot.is_empty() {
            let named = names(slot);
            self.push_full(session, &key, kind, named, &mut fx);
        }
        fx
    }

    pub fn unregister(
        &mut self,
        session: SessionId,
        request_id: u64,
        u: v1::Unregister,
    ) -> Effects {
        let mut fx = Effects::default();
        let rid = u.regist_id.as_str();
        let Some(s) = self.sessions.get_mut(&session) else {
            return fx;
        };
        let origin = (s.zone.clone(), s.data_center.clone());
        let frame = match s.regs.get_mut(rid) {
            None => ack(
                request_id,
                rid,
                u.version,
                AckCode::NotFound,
                format!("registId {rid} is not registered on this session"),
            ),
            Some(reg) if u.version <= reg.version => ack(
                request_id,
                rid,
                u.version,
                if reg.removed {
                    AckCode::Ok
                } else {
                    AckCode::Stale
                },
                if reg.removed {
                    String::new()
                } else {
                    format!(
                        "version {} is not newer than the registry's {}",
                        u.version, reg.version
                    )
                },
            ),
            Some(reg) => {
                reg.version = u.version;
                reg.removed = true;
                let (key, kind) = (reg.key.clone(), reg.kind);
                let id: Arc<str> = rid.into();
                let view = Reg {
                    key: key.clone(),
                    kind,
                    version: u.version,
                    epoch: 0,
                    removed: true,
                };
                if self.remove_reg(session, &id, &view) {
                    self.changed(&key, (&origin.0, &origin.1), &mut fx);
                }
                self.bury(session, id);
                ack(request_id, rid, u.version, AckCode::Ok, String::new())
            }
        };
        self.send(session, frame, &mut fx);
        fx
    }

    fn bury(&mut self, session: SessionId, regist_id: Arc<str>) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.tombstones.push_back(regist_id);
        while s.tombstones.len() > MAX_TOMBSTONES {
            let oldest = s.tombstones.pop_front().expect("longer than the limit");
            // It may have been registered again since; only a tombstone is forgotten.
            if s.regs.get(&oldest).is_some_and(|r| r.removed) {
                s.regs.remove(&oldest);
            }
        }
    }

    /// Publisher data of `key` changed in `origin` (a zone and data center): give it a new
    /// version and push it, and if `key` is an application publisher's, update what depends
    /// on it.
    fn changed(&mut self, key: &Arc<Key>, origin: (&str, &str), fx: &mut Effects) {
        let Some(datum) = self.data.get_mut(key) else {
            // Its last registration went with the change: nobody is left to tell.
            self.app_changed(key, fx);
            return;
        };
        datum.version = self.versions.next();
        self.push_all(key, Some(origin), false, fx);
        self.app_changed(key, fx);
    }

    /// Pushes the data of `key` to every attached session with subscribers of it, once per
    /// session and subscriber kind, skipping scopes that cannot see a change made in
    /// `origin` (`None`: push to all), and with `converting_only` all but the subscribers
    /// that asked for server-side conversion.
    fn push_all(
        &mut self,
        key: &Key,
        origin: Option<(&str, &str)>,
        converting_only: bool,
        fx: &mut Effects,
    ) {
        let Some(datum) = self.data.get(key) else {
            return;
        };
        // Sessions of one zone (or data center) see the same data: build each view once,
        // and each delta once per pair of views.
        let mut views: HashMap<(usize, Arc<str>), Arc<View>> = HashMap::new();
        let mut deltas: HashMap<(*const View, *const View), Option<Vec<v1::ZoneDelta>>> =
            HashMap::new();
        let mut frames = Vec::new();
        let mut sent = Vec::new();
        let mut held = false;
        for (sid, subs) in &datum.subscribers {
            let Some(s) = self.sessions.get(sid) else {
                continue;
            };
            let Some(out) = s.outbox.as_ref() else {
                continue;
            };
            for kind in SubKind::all() {
                let ids = &subs.slots[kind.slot()];
                let sees_origin = match (kind.scope, origin) {
                    (_, None) | (Scope::Global, _) => true,
                    (Scope::Zone, Some((zone, _))) => *s.zone == *zone,
                    (Scope::DataCenter, Some((_, dc))) => *s.data_center == *dc,
                };
                if ids.is_empty() || !sees_origin || (converting_only && !kind.convert) {
                    continue;
                }
                let filter = match kind.scope {
                    Scope::Zone => s.zone.clone(),
                    Scope::DataCenter => s.data_center.clone(),
                    Scope::Global => Arc::from(""),
                };
                let view = views
                    .entry((kind.slot(), filter))
                    .or_insert_with(|| Arc::new(self.view(datum, kind, &s.zone, &s.data_center)))
                    .clone();
                if self.warming_up && view.zones.is_empty() {
                    held = true;
                    continue;
                }
                let base = subs.sent[kind.slot()]
                    .as_ref()
                    .filter(|b| s.deltas && b.epoch == s.epoch)
                    .map(|b| &b.view);
                let delta = base.and_then(|base| {
                    deltas
                        .entry((Arc::as_ptr(base), Arc::as_ptr(&view)))
                        .or_insert_with(|| delta::delta(base, &view))
                        .clone()
                        .map(|d| (base.version, d))
                });
                let named = names(ids);
                frames.push((
                    out.clone(),
                    push_frame(&datum.key, kind, &view, named, delta),
                ));
                if s.deltas {
                    let epoch = s.epoch;
                    let base = view.is_base().then_some(Sent { epoch, view });
                    sent.push((*sid, kind.slot(), base));
                }
            }
        }
        self.held_empty |= held;
        if let Some(datum) = self.data.get_mut(key) {
            for (sid, slot, view) in sent {
                if let Some(subs) = datum.subscribers.get_mut(&sid) {
                    subs.sent[slot] = view;
                }
            }
        }
        for (out, frame) in frames {
            fx.pushes += 1;
            fx.push_bytes += frame.encoded_len() as u64;
            if !out.send(frame) {
                fx.overflows += 1;
            }
        }
    }

    /// What a subscriber of `kind` in `zone`/`dc` sees of `d`: its version and data by zone.
    fn view(&self, d: &Datum, kind: SubKind, zone: &str, dc: &str) -> View {
        let visible = |p: &Publisher| match kind.scope {
            Scope::Zone => &*p.zone == zone,
            Scope::DataCenter => &*p.data_center == dc,
            Scope::Global => true,
        };
        let mut zones: BTreeMap<String, Vec<Bytes>> = BTreeMap::new();
        if let Some(apps) = self.mapping_items(&d.key) {
            if !apps.is_empty() {
                zones.insert(String::new(), apps);
            }
        }
        for p in d.ordered_publishers().filter(|p| visible(p)) {
            zones
                .entry(p.zone.to_string())
                .or_default()
                .extend(p.data.iter().cloned());
        }
        if kind.convert {
            self.add_converted(d, &mut zones, &visible);
        }
        // A zone whose publishers have no items is not listed (so a delta's zone left empty
        // is gone, in full pushes too).
        let zones = zones
            .into_iter()
            .filter(|(_, data)| !data.is_empty())
            .map(|(zone, data)| v1::ZoneData { zone, data })
            .collect();
        View {
            version: d.version,
            zones,
        }
    }
}

/// A push of `view` to the subscribers `ids`: in full, or as the delta from the view at
/// the given base version.
fn push_frame(
    key: &Key,
    kind: SubKind,
    view: &View,
    (ids, handles): (Vec<String>, Vec<u32>),
    delta: Option<(u64, Vec<v1::ZoneDelta>)>,
) -> v1::ServerFrame {
    let (base_version, deltas, zones) = match delta {
        Some((base, deltas)) => (base, deltas, Vec::new()),
        None => (0, Vec::new(), view.zones.clone()),
    };
    v1::ServerFrame {
        body: Some(v1::server_frame::Body::Push(v1::Push {
            key: Some(key.to_proto()),
            version: view.version,
            scope: kind.scope.into(),
            zones,
            subscriber_ids: ids,
            subscriber_handles: handles,
            base_version,
            deltas,
            convert_application: kind.convert,
        })),
    }
}

/// How a push names its subscribers: by the client's handle where it gave one (a number
/// instead of a string to encode, decode and look up), else by registId.
fn names<'a>(subs: impl IntoIterator<Item = (&'a Arc<str>, &'a u32)>) -> (Vec<String>, Vec<u32>) {
    let (mut ids, mut handles) = (Vec::new(), Vec::new());
    for (id, &handle) in subs {
        if handle == 0 {
            ids.push(id.to_string());
        } else {
            handles.push(handle);
        }
    }
    (ids, handles)
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
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<v1::ServerFrame>>);

    impl Outbox for Collect {
        fn send(&self, frame: v1::ServerFrame) -> bool {
            self.0.lock().push(frame);
            true
        }
        fn close(&self) {}
    }

    impl Collect {
        fn pushes(&self) -> Vec<v1::Push> {
            let frames = std::mem::take(&mut *self.0.lock());
            frames
                .into_iter()
                .filter_map(|f| match f.body {
                    Some(v1::server_frame::Body::Push(p)) => Some(p),
                    _ => None,
                })
                .collect()
        }
    }

    fn hello(id: &str) -> v1::Hello {
        v1::Hello {
            client_id: id.into(),
            app_name: "t".into(),
            zone: "z".into(),
            data_center: "dc".into(),
            ..Default::default()
        }
    }

    fn key() -> Option<v1::DataKey> {
        Some(v1::DataKey {
            data_id: "svc".into(),
            ..Default::default()
        })
    }

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
            r.publish(s, 0, p);
            r.unregister(
                s,
                0,
                v1::Unregister {
                    regist_id: id,
                    version: 2,
                },
            );
        }
        assert_eq!(r.sessions[&s].regs.len(), MAX_TOMBSTONES);
        assert_eq!(r.stats().publishers, 0);
        r.redo_complete(s);
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
        r.subscribe(s, 1, sub);
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
        );
        assert_eq!(out.pushes().len(), 1, "data is pushed at once");
        r.unregister(
            s,
            3,
            v1::Unregister {
                regist_id: "p".into(),
                version: 2,
            },
        );
        assert!(out.pushes().is_empty());
        let fx = r.end_warmup();
        let pushes = out.pushes();
        assert_eq!((fx.pushes, pushes.len()), (1, 1));
        assert!(pushes[0].zones.is_empty() && pushes[0].subscriber_ids == ["s"]);
    }
}
