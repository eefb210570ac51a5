//! The registration table: every live registration of this client, the truth that every
//! reconnect redoes. One type owns it behind private fields and is changed only through
//! its methods, which return the [`Op`]s to send (no I/O here), so the engine sends them
//! and the rules (versions, redo, the application publisher) are tested on their own.

mod publishing;

use std::collections::HashMap;
use std::sync::Arc;

use roster_proto::rules::{self, Limits};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{DataInfoId, PublishMode, Scope, SubscribeMode, SubscriberData};
use crate::protocol::Capabilities;
use crate::slot::{Changed, Slot};
use crate::transport::{Op, Reg};

pub(crate) use publishing::AppPublisher;

/// One live registration, as the client will redo it.
enum Entry {
    Publisher {
        key: DataInfoId,
        version: u64,
        data: Vec<String>,
        /// Whether the registry holds it at interface level (see `publishing.rs`).
        on_server: bool,
    },
    Subscriber(SubscriberEntry),
}

/// A subscriber registration.
pub(crate) struct SubscriberEntry {
    pub key: DataInfoId,
    pub version: u64,
    pub scope: Scope,
    pub slot: Arc<Slot>,
    /// Ask the registry for server-side conversion (force-interface subscriptions).
    pub convert: bool,
    /// A user's subscription (kept in the failover snapshot), not a resolver's own.
    pub user: bool,
    /// Its number on this client, which pushes name it by: set by `Table::add_subscriber`.
    pub handle: u32,
}

impl Entry {
    fn reg(id: &Arc<str>, key: &DataInfoId, version: u64) -> Reg {
        Reg {
            regist_id: id.clone(),
            key: key.clone(),
            version,
        }
    }

    /// The op that (re-)registers this entry at its current version.
    fn op(&self, id: &Arc<str>) -> Op {
        match self {
            Entry::Publisher {
                key, version, data, ..
            } => Op::Publish {
                reg: Self::reg(id, key, *version),
                data: data.clone(),
            },
            Entry::Subscriber(s) => Op::Subscribe {
                reg: Self::reg(id, &s.key, s.version),
                scope: s.scope,
                convert: s.convert,
                handle: s.handle,
            },
        }
    }

    /// The op that removes this entry at the registry: the next version. `None` for a
    /// publisher the registry does not hold at interface level.
    fn removal(&self, id: &Arc<str>) -> Option<Op> {
        match self {
            Entry::Publisher {
                key,
                version,
                on_server,
                ..
            } => on_server.then(|| Op::Unpublish {
                reg: Self::reg(id, key, version + 1),
            }),
            Entry::Subscriber(s) => Some(Op::Unsubscribe {
                reg: Self::reg(id, &s.key, s.version + 1),
                scope: s.scope,
            }),
        }
    }

    fn version(&self) -> u64 {
        match self {
            Entry::Publisher { version, .. } => *version,
            Entry::Subscriber(s) => s.version,
        }
    }
}

/// What `Table::remove` did.
pub(crate) struct Removed {
    pub ops: Vec<Op>,
    /// The version the removal was sent at: a later registration under the same registId
    /// must be newer.
    pub version: u64,
}

/// What a republish changed, to revert it if the registry refuses.
pub(crate) struct Republished {
    pub ops: Vec<Op>,
    pub version: u64,
    pub old: Vec<String>,
}

pub(crate) struct Table {
    regs: HashMap<Arc<str>, Entry>,
    app: AppPublisher,
    publish_mode: PublishMode,
    subscribe_mode: SubscribeMode,
    /// The registry's limits, from its Welcome (defaults before the first one).
    limits: Limits,
    capabilities: Capabilities,
    /// Subscribers' slots (and whether the subscription is a user's) by handle: a push
    /// names them so, with no registId string to decode and look up per subscriber. The
    /// last handle given is never reused in the client's life.
    handles: HashMap<u32, (Arc<Slot>, bool)>,
    last_handle: u32,
}

impl Table {
    pub fn new(
        app: AppPublisher,
        publish_mode: PublishMode,
        subscribe_mode: SubscribeMode,
        capabilities: Capabilities,
    ) -> Table {
        Table {
            regs: HashMap::new(),
            app,
            publish_mode,
            subscribe_mode,
            limits: Limits::default(),
            capabilities,
            handles: HashMap::new(),
            last_handle: 0,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    pub fn subscribe_mode(&self) -> SubscribeMode {
        self.subscribe_mode
    }

    pub fn set_subscribe_mode(&mut self, mode: SubscribeMode) {
        self.subscribe_mode = mode;
    }

    pub fn len(&self) -> usize {
        self.regs.len()
    }

    /// A new publisher at version 1.
    pub fn add_publisher(&mut self, id: &Arc<str>, key: DataInfoId, data: Vec<String>) -> Vec<Op> {
        let entry = Entry::Publisher {
            key,
            version: 1,
            data,
            on_server: false,
        };
        self.regs.insert(id.clone(), entry);
        self.sync_publisher(id)
    }

    /// A new (or re-activated) subscriber; returns the op that registers it.
    pub fn add_subscriber(&mut self, id: &Arc<str>, mut entry: SubscriberEntry) -> Op {
        self.last_handle = self.last_handle.wrapping_add(1).max(1);
        entry.handle = self.last_handle;
        self.handles
            .insert(entry.handle, (entry.slot.clone(), entry.user));
        let entry = Entry::Subscriber(entry);
        let op = entry.op(id);
        self.regs.insert(id.clone(), entry);
        op
    }

    /// Replaces a publisher's data under the next version.
    pub fn republish(&mut self, id: &Arc<str>, data: Vec<String>) -> Result<Republished> {
        rules::check_data(&data, &self.limits)?;
        let Some(Entry::Publisher {
            version,
            data: current,
            ..
        }) = self.regs.get_mut(id)
        else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("publisher {id} is unregistered"),
            ));
        };
        *version += 1;
        let (version, old) = (*version, std::mem::replace(current, data));
        Ok(Republished {
            ops: self.sync_publisher(id),
            version,
            old,
        })
    }

    /// Puts back the data a refused republish replaced (under a newer version, so the
    /// registry takes it again), unless the publisher changed since.
    pub fn revert(&mut self, id: &Arc<str>, refused: &Republished) -> Vec<Op> {
        match self.regs.get_mut(id) {
            Some(Entry::Publisher { version, data, .. }) if *version == refused.version => {
                *data = refused.old.clone();
                *version += 1;
                self.sync_publisher(id)
            }
            _ => Vec::new(),
        }
    }

    pub fn publisher_state(&self, id: &Arc<str>) -> Option<(u64, Vec<String>)> {
        match self.regs.get(id) {
            Some(Entry::Publisher { version, data, .. }) => Some((*version, data.clone())),
            _ => None,
        }
    }

    /// Removes an entry; `None` when there was no such entry. A subscriber's slot is closed
    /// (its updates end) unless `keep_slot`: a subscription changing its mode hands the
    /// slot on to its next registration.
    pub fn remove(&mut self, id: &Arc<str>, keep_slot: bool) -> Option<Removed> {
        let entry = self.regs.remove(id)?;
        let version = entry.version() + 1;
        let mut ops: Vec<Op> = entry.removal(id).into_iter().collect();
        if let Entry::Subscriber(s) = &entry {
            self.handles.remove(&s.handle);
        }
        match entry {
            Entry::Subscriber(s) if !keep_slot => s.slot.close(),
            Entry::Subscriber(_) => {}
            Entry::Publisher { .. } => ops.extend(self.sync_app()),
        }
        Some(Removed { ops, version })
    }

    /// Everything live, to send after a (re)connect: the registrations at their current
    /// versions, the application publisher, and (where the protocol has it) the end mark.
    pub fn redo(&self) -> Vec<Op> {
        let live = self.regs.iter().filter(|(_, e)| {
            !matches!(
                e,
                Entry::Publisher {
                    on_server: false,
                    ..
                }
            )
        });
        let mut ops: Vec<Op> = live.map(|(id, e)| e.op(id)).collect();
        ops.extend(self.app_redo());
        if self.capabilities.redo_complete {
            ops.push(Op::RedoComplete);
        }
        ops
    }

    /// Empties the table (the client closes): ends every subscriber's updates and returns
    /// the removals to send.
    pub fn drain(&mut self) -> Vec<Op> {
        self.handles.clear();
        let mut ops: Vec<Op> = self
            .regs
            .drain()
            .filter_map(|(id, entry)| {
                if let Entry::Subscriber(s) = &entry {
                    s.slot.close();
                }
                entry.removal(&id)
            })
            .collect();
        ops.extend(self.app_close());
        ops
    }

    /// Offers pushed data to the subscribers it names; true when a user's subscriber took
    /// it (so it belongs in the failover snapshot).
    pub fn deliver(
        &self,
        data: &mut Changed,
        subscriber_ids: &[String],
        handles: &[u32],
        mut on_taken: impl FnMut(&Arc<SubscriberData>),
    ) -> bool {
        let mut taken = false;
        let by_id = subscriber_ids
            .iter()
            .filter_map(|id| match self.regs.get(id.as_str()) {
                Some(Entry::Subscriber(s)) => Some((&s.slot, s.user)),
                _ => None,
            });
        let by_handle = handles
            .iter()
            .filter_map(|h| self.handles.get(h).map(|(slot, user)| (slot, *user)));
        for (slot, user) in by_id.chain(by_handle) {
            if !user {
                slot.offer_changed(data, |_| {});
            } else if slot.offer_changed(data, |d| {
                if !taken {
                    on_taken(d);
                }
            }) {
                taken = true;
            }
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    fn table(mode: PublishMode, protocol: Protocol) -> Table {
        let app = AppPublisher::new("shop", "DEFAULT_INSTANCE_ID", "client-1");
        Table::new(
            app,
            mode,
            SubscribeMode::ForceInterface,
            protocol.capabilities(),
        )
    }

    fn versions(ops: &[Op]) -> Vec<(&'static str, u64)> {
        ops.iter()
            .map(|op| match op {
                Op::Publish { reg, .. } => ("publish", reg.version),
                Op::Subscribe { reg, .. } => ("subscribe", reg.version),
                Op::Unpublish { reg } => ("unpublish", reg.version),
                Op::Unsubscribe { reg, .. } => ("unsubscribe", reg.version),
                Op::RegisterRevision(_) => ("revision", 0),
                Op::RedoComplete => ("redo-complete", 0),
            })
            .collect()
    }

    fn subscriber(key: &str) -> SubscriberEntry {
        SubscriberEntry {
            key: DataInfoId::new(key),
            version: 1,
            scope: Scope::Global,
            slot: Slot::new(),
            convert: true,
            user: true,
            handle: 0,
        }
    }

    #[test]
    fn every_change_sends_a_newer_version_and_removal_the_next_one() {
        let mut t = table(PublishMode::Interface, Protocol::Roster);
        let p: Arc<str> = "p".into();
        let ops = t.add_publisher(&p, DataInfoId::new("svc"), vec!["a".into()]);
        assert_eq!(versions(&ops), [("publish", 1)]);
        let r = t.republish(&p, vec!["b".into()]).unwrap();
        assert_eq!(versions(&r.ops), [("publish", 2)]);
        assert_eq!(r.old, ["a"]);
        // Refused: the old data comes back under a newer version still.
        assert_eq!(versions(&t.revert(&p, &r)), [("publish", 3)]);
        assert_eq!(t.publisher_state(&p), Some((3, vec!["a".into()])));
        let removed = t.remove(&p, false).unwrap();
        assert_eq!(versions(&removed.ops), [("unpublish", 4)]);
        assert_eq!(removed.version, 4);
        assert!(t.remove(&p, false).is_none());
        let Err(err) = t.republish(&p, vec![]) else {
            panic!("republished an unregistered publisher");
        };
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn redo_resends_what_is_live_and_ends_with_the_mark_where_the_protocol_has_it() {
        let mut t = table(PublishMode::Interface, Protocol::Roster);
        let (p, s): (Arc<str>, Arc<str>) = ("p".into(), "s".into());
        t.add_publisher(&p, DataInfoId::new("svc"), vec!["a".into()]);
        t.republish(&p, vec!["b".into()]).unwrap();
        t.add_subscriber(&s, subscriber("other"));
        let mut redo = versions(&t.redo());
        redo.sort();
        assert_eq!(
            redo,
            [("publish", 2), ("redo-complete", 0), ("subscribe", 1)]
        );
        let mut sofa = table(PublishMode::Interface, Protocol::Sofa);
        sofa.add_subscriber(&s, subscriber("other"));
        assert_eq!(versions(&sofa.redo()), [("subscribe", 1)]);
    }

    #[test]
    fn drain_removes_everything_and_closes_the_subscribers() {
        let mut t = table(PublishMode::Interface, Protocol::Roster);
        let (p, s): (Arc<str>, Arc<str>) = ("p".into(), "s".into());
        t.add_publisher(&p, DataInfoId::new("svc"), vec!["a".into()]);
        let sub = subscriber("other");
        let slot = sub.slot.clone();
        t.add_subscriber(&s, sub);
        let mut ops = versions(&t.drain());
        ops.sort();
        assert_eq!(ops, [("unpublish", 2), ("unsubscribe", 2)]);
        assert!(slot.is_closed());
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn application_mode_publishes_one_application_publisher_for_service_urls() {
        let mut t = table(PublishMode::Application, Protocol::Roster);
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        let url = |iface: &str| format!("bolt://10.0.0.1:12200?iface={iface}");
        let ops = t.add_publisher(&a, DataInfoId::new("svc.A"), vec![url("A")]);
        // Not sent at interface level: a revision, then the application publisher.
        assert_eq!(versions(&ops), [("revision", 0), ("publish", 1)]);
        let Op::Publish { reg, data } = &ops[1] else {
            unreachable!()
        };
        assert_eq!(reg.key.group, "SOFA_APP");
        assert_eq!(reg.key.data_id, "shop");
        assert!(data[0].contains("roster.revision="), "{data:?}");
        // A second interface of the same instance: a new revision, the publisher again.
        let ops = t.add_publisher(&b, DataInfoId::new("svc.B"), vec![url("B")]);
        assert_eq!(versions(&ops), [("revision", 0), ("publish", 2)]);
        // Data that is not a service URL stays at interface level.
        let ops = t.add_publisher(&c, DataInfoId::new("svc.C"), vec!["plain".into()]);
        assert_eq!(versions(&ops), [("publish", 1)]);
        // The redo re-sends the revision just before the application publisher.
        let redo = versions(&t.redo());
        let at = redo.iter().position(|v| *v == ("revision", 0)).unwrap();
        assert_eq!(redo[at + 1], ("publish", 2));
        // Back to interface mode: both interface publishers go up, the application one goes.
        let ops = t.set_publish_mode(PublishMode::Interface);
        let mut v = versions(&ops);
        v.sort();
        assert_eq!(v, [("publish", 2), ("publish", 2), ("unpublish", 3)]);
    }

    #[test]
    fn a_level_change_registers_the_new_level_before_it_withdraws_the_old() {
        use PublishMode::*;
        let mut t = table(Interface, Protocol::Roster);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        t.add_publisher(&a, DataInfoId::new("svc.A"), vec!["bolt://h:1".into()]);
        t.add_publisher(&b, DataInfoId::new("svc.B"), vec!["bolt://h:2".into()]);
        // (to, the ops in the order they are sent)
        let steps: [(PublishMode, &[(&str, u64)]); 5] = [
            (
                Application,
                &[
                    ("revision", 0),
                    ("publish", 1),
                    ("unpublish", 2),
                    ("unpublish", 2),
                ],
            ),
            (
                Interface,
                &[("publish", 3), ("publish", 3), ("unpublish", 2)],
            ),
            (All, &[("revision", 0), ("publish", 3)]),
            (Application, &[("unpublish", 4), ("unpublish", 4)]),
            (All, &[("publish", 5), ("publish", 5)]),
        ];
        for (mode, want) in steps {
            let ops = t.set_publish_mode(mode);
            assert_eq!(versions(&ops), want, "to {mode:?}");
        }
        // A publisher whose data stops being service URLs in application mode goes up at
        // interface level before the application publisher drops it, and when its data
        // are URLs again the application publisher takes it before it is withdrawn.
        t.set_publish_mode(Application);
        let r = t.republish(&a, vec!["plain".into()]).unwrap();
        assert_eq!(
            versions(&r.ops),
            [("publish", 7), ("revision", 0), ("publish", 4)]
        );
        let r = t.republish(&a, vec!["bolt://h:1".into()]).unwrap();
        assert_eq!(
            versions(&r.ops),
            [("revision", 0), ("publish", 5), ("unpublish", 9)]
        );
    }
}
