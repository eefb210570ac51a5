//! The registry state as a Raft snapshot (`RegistrySnapshot` in `cluster.proto`), and back.
//!
//! Only what cannot be derived is written: sessions with their registrations (a live
//! publisher with its data), datum versions and stored revisions. Indexes (the datums'
//! publishers and subscribers, the interface -> applications index, counters) are rebuilt
//! on restore. Streams are not state: a restored registry has every session detached.

use super::*;

impl Registry {
    /// Everything a replica needs to continue from here, in a stable order.
    pub fn snapshot(&self) -> v1::RegistrySnapshot {
        let mut sessions: Vec<v1::SessionState> = self
            .sessions
            .iter()
            .map(|(&id, s)| {
                let mut regs: Vec<v1::RegState> = s
                    .regs
                    .iter()
                    .map(|(regist_id, r)| self.reg_state(id, regist_id, r))
                    .collect();
                regs.sort_by(|a, b| a.regist_id.cmp(&b.regist_id));
                v1::SessionState {
                    id,
                    client_id: s.client_id.to_string(),
                    zone: s.zone.to_string(),
                    data_center: s.data_center.to_string(),
                    epoch: s.epoch,
                    regs,
                    tombstones: s.tombstones.iter().map(|t| t.to_string()).collect(),
                    access_key: s.access_key.to_string(),
                }
            })
            .collect();
        sessions.sort_by_key(|s| s.id);
        let mut data: Vec<(&Arc<Key>, u64)> =
            self.data.iter().map(|(k, d)| (k, d.version)).collect();
        data.sort();
        let mut revisions: Vec<v1::StoredRevision> = self
            .apps
            .revisions
            .values()
            .map(|s| v1::StoredRevision {
                revision: Some((&*s.meta).into()),
                unused_since_us: s.unused_since.unwrap_or(0),
            })
            .collect();
        revisions.sort_by(|a, b| {
            let rev = |r: &v1::StoredRevision| r.revision.as_ref().map(|r| r.revision.clone());
            rev(a).cmp(&rev(b))
        });
        v1::RegistrySnapshot {
            next_session: self.next_session,
            last_version: self.versions.last,
            sessions,
            data: data
                .into_iter()
                .map(|(key, version)| v1::DatumState {
                    key: Some(key.to_proto()),
                    version,
                })
                .collect(),
            revisions,
        }
    }

    fn reg_state(&self, session: SessionId, regist_id: &Arc<str>, r: &Reg) -> v1::RegState {
        let (publisher, scope, convert) = match r.kind {
            Kind::Publisher => (true, Scope::Zone, false),
            Kind::Subscriber(k) => (false, k.scope, k.convert),
        };
        let handle = match (r.kind, self.data.get(&r.key)) {
            (Kind::Subscriber(k), Some(d)) => d
                .subscribers
                .get(&session)
                .and_then(|s| s.slots[k.slot()].get(regist_id))
                .copied()
                .unwrap_or(0),
            _ => 0,
        };
        let data = match (publisher && !r.removed, self.data.get(&r.key)) {
            (true, Some(d)) => d
                .publishers
                .get(&(session, regist_id.clone()))
                .map(|p| p.data.to_vec())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        v1::RegState {
            regist_id: regist_id.to_string(),
            key: Some(r.key.to_proto()),
            publisher,
            scope: scope.into(),
            convert_application: convert,
            version: r.version,
            epoch: r.epoch,
            removed: r.removed,
            data,
            handle,
        }
    }

    /// The registry a snapshot describes, every session detached. In steps: each session
    /// and its registrations (live ones indexed in their datum), the datums that only
    /// tombstones named dropped, the stored revisions, the interface -> applications index
    /// rebuilt, and the datums' versions put back last (indexing bumps them).
    pub fn restore(limits: Limits, snap: v1::RegistrySnapshot) -> Registry {
        let mut reg = Registry::new(limits, false);
        reg.next_session = snap.next_session;
        for s in snap.sessions {
            reg.restore_session(s);
        }
        reg.data
            .retain(|_, d| !d.publishers.is_empty() || !d.subscribers.is_empty());
        reg.restore_revisions(snap.revisions);
        reg.rebuild_app_index();
        reg.restore_versions(snap.data, snap.last_version);
        reg
    }

    fn restore_session(&mut self, s: v1::SessionState) {
        let client_id: Arc<str> = s.client_id.as_str().into();
        let zone: Arc<str> = s.zone.as_str().into();
        let data_center: Arc<str> = s.data_center.as_str().into();
        let regs = s
            .regs
            .into_iter()
            .filter_map(|r| self.restore_reg(s.id, (&zone, &data_center), r))
            .collect();
        self.by_client.insert(client_id.clone(), s.id);
        self.sessions.insert(
            s.id,
            Session {
                client_id,
                access_key: s.access_key.as_str().into(),
                zone,
                data_center,
                outbox: None,
                epoch: s.epoch,
                // Set by the next attachment's Hello.
                deltas: false,
                regs,
                tombstones: s.tombstones.iter().map(|t| t.as_str().into()).collect(),
            },
        );
    }

    /// One registration of `session`: its table entry, and when live, its place in its
    /// datum's index. `None` for a key that does not parse.
    fn restore_reg(
        &mut self,
        session: SessionId,
        (zone, data_center): (&Arc<str>, &Arc<str>),
        r: v1::RegState,
    ) -> Option<(Arc<str>, Reg)> {
        let key = Key::from_proto(r.key.as_ref(), &LENIENT).ok()?;
        let kind = kind_of(&r);
        let regist_id: Arc<str> = r.regist_id.as_str().into();
        let datum = self.datum(&key);
        let key = datum.key.clone();
        match kind {
            _ if r.removed => {}
            Kind::Publisher => {
                let app_items = apps::check_publisher(&key, &r.data).ok().flatten();
                let publisher = Publisher {
                    zone: zone.clone(),
                    data_center: data_center.clone(),
                    data: r.data.into_boxed_slice(),
                    app_items,
                };
                datum
                    .publishers
                    .insert((session, regist_id.clone()), publisher);
                self.publishers += 1;
            }
            Kind::Subscriber(k) => {
                datum.subscribers.entry(session).or_default().slots[k.slot()]
                    .insert(regist_id.clone(), r.handle);
                self.subscribers += 1;
            }
        }
        let entry = Reg {
            key,
            kind,
            version: r.version,
            epoch: r.epoch,
            removed: r.removed,
        };
        Some((regist_id, entry))
    }

    fn restore_revisions(&mut self, revisions: Vec<v1::StoredRevision>) {
        for r in revisions {
            let Some(wire) = r.revision else { continue };
            self.apps.revisions.insert(
                wire.revision.as_str().into(),
                apps::Stored {
                    meta: Arc::new((&wire).into()),
                    unused_since: (r.unused_since_us != 0).then_some(r.unused_since_us),
                },
            );
        }
    }

    fn rebuild_app_index(&mut self) {
        let mut app_keys: Vec<Arc<Key>> = self
            .data
            .keys()
            .filter(|k| &*k.group == roster_proto::appmeta::APP_GROUP)
            .cloned()
            .collect();
        app_keys.sort();
        for key in app_keys {
            self.app_changed(&key, &mut Effects::default());
        }
    }

    fn restore_versions(&mut self, data: Vec<v1::DatumState>, last_version: u64) {
        for d in data {
            if let Ok(key) = Key::from_proto(d.key.as_ref(), &LENIENT) {
                if let Some(datum) = self.data.get_mut(&key) {
                    datum.version = d.version;
                }
            }
        }
        self.versions.last = last_version;
    }
}

/// A snapshot's keys were checked when their operations were applied: restored whatever
/// the limits are now.
const LENIENT: Limits = Limits {
    max_data_id_bytes: usize::MAX,
    max_data_items: usize::MAX,
    max_payload_bytes: usize::MAX,
    max_registrations_per_session: usize::MAX,
};

/// A registration's kind as a snapshot states it (an unknown scope reads as the zone).
fn kind_of(r: &v1::RegState) -> Kind {
    if r.publisher {
        Kind::Publisher
    } else {
        Kind::Subscriber(SubKind {
            scope: Scope::try_from(r.scope).unwrap_or(Scope::Zone),
            convert: r.convert_application,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_proto::prost::Message;

    fn key(data_id: &str, group: &str) -> Option<v1::DataKey> {
        Some(v1::DataKey {
            data_id: data_id.into(),
            group: group.into(),
            instance_id: String::new(),
        })
    }

    /// Each registration form a snapshot can hold, restored alone: whether it is kept in
    /// the session's table, how it is indexed, and what is counted.
    #[test]
    fn each_registration_is_restored_by_its_kind() {
        let reg = |publisher: bool, scope: i32, convert: bool, removed: bool| v1::RegState {
            regist_id: "r".into(),
            key: key("svc", ""),
            publisher,
            scope,
            convert_application: convert,
            version: 3,
            epoch: 1,
            removed,
            data: if publisher {
                vec![Bytes::from("x")]
            } else {
                Vec::new()
            },
            handle: 9,
        };
        let (zone, global) = (Scope::Zone as i32, Scope::Global as i32);
        // (case, registration, table entry kept, (publishers, subscribers) counted,
        //  subscriber slot indexed)
        let mut bad_key = reg(true, zone, false, false);
        bad_key.key = key("", "");
        let cases = [
            (
                "a live publisher",
                reg(true, zone, false, false),
                true,
                (1, 0),
                None,
            ),
            (
                "an unregistered publisher (a tombstone)",
                reg(true, zone, false, true),
                true,
                (0, 0),
                None,
            ),
            (
                "a zone subscriber",
                reg(false, zone, false, false),
                true,
                (0, 1),
                Some(SubKind {
                    scope: Scope::Zone,
                    convert: false,
                }),
            ),
            (
                "a global converting subscriber",
                reg(false, global, true, false),
                true,
                (0, 1),
                Some(SubKind {
                    scope: Scope::Global,
                    convert: true,
                }),
            ),
            (
                "an unknown scope reads as the zone",
                reg(false, 42, false, false),
                true,
                (0, 1),
                Some(SubKind {
                    scope: Scope::Zone,
                    convert: false,
                }),
            ),
            (
                "an unsubscribed subscriber (a tombstone)",
                reg(false, global, false, true),
                true,
                (0, 0),
                None,
            ),
            ("a key that does not parse", bad_key, false, (0, 0), None),
        ];
        for (case, r, kept, counted, slot) in cases {
            let snap = v1::RegistrySnapshot {
                next_session: 2,
                sessions: vec![v1::SessionState {
                    id: 1,
                    client_id: "c".into(),
                    zone: "z".into(),
                    data_center: "dc".into(),
                    epoch: 1,
                    regs: vec![r],
                    tombstones: Vec::new(),
                    access_key: String::new(),
                }],
                ..Default::default()
            };
            let restored = Registry::restore(Limits::default(), snap);
            let session = &restored.sessions[&1];
            assert_eq!(session.regs.contains_key("r"), kept, "{case}");
            let stats = restored.stats();
            assert_eq!((stats.publishers, stats.subscribers), counted, "{case}");
            let datum = restored.data.values().next();
            // A datum only a tombstone names is not kept.
            assert_eq!(datum.is_some(), counted != (0, 0), "{case}");
            if let Some(k) = slot {
                let subs = &datum.unwrap().subscribers[&1];
                assert_eq!(subs.slots[k.slot()].get("r"), Some(&9), "{case}");
            }
            assert!(
                session.outbox.is_none(),
                "{case}: restored sessions are detached"
            );
        }
    }

    #[test]
    fn restore_gives_back_the_same_state() {
        let mut r = Registry::new(Limits::default(), false);
        r.set_clock(1_000);
        let hello = |id: &str, zone: &str| v1::Hello {
            client_id: id.into(),
            app_name: "app".into(),
            zone: zone.into(),
            data_center: "dc".into(),
            ..Default::default()
        };
        let a = r.attach(&hello("a", "z1"), None).unwrap().session;
        let b = r.attach(&hello("b", "z2"), None).unwrap().session;
        let publish = |rid: &str, data_id: &str, data: &[&str]| v1::Publish {
            regist_id: rid.into(),
            key: key(data_id, ""),
            version: 1,
            data: data.iter().map(|d| Bytes::from(d.to_string())).collect(),
        };
        r.publish(a, 1, publish("p1", "svc", &["bolt://10.0.0.1:1"]))
            .deliver();
        r.publish(a, 2, publish("p2", "other", &["x"])).deliver();
        r.publish(b, 3, publish("p3", "svc", &["bolt://10.0.0.2:1"]))
            .deliver();
        r.subscribe(
            b,
            4,
            v1::Subscribe {
                regist_id: "s1".into(),
                key: key("svc", ""),
                version: 1,
                scope: Scope::Global.into(),
                convert_application: true,
                handle: 7,
            },
        )
        .deliver();
        r.unregister(
            a,
            5,
            v1::Unregister {
                regist_id: "p2".into(),
                version: 2,
            },
        )
        .deliver();
        let snap = r.snapshot();
        let restored = Registry::restore(Limits::default(), snap.clone());
        assert_eq!(restored.snapshot(), snap);
        assert_eq!(restored.stats().publishers, 2);
        assert_eq!(restored.stats().subscribers, 1);
        assert_eq!(restored.stats().sessions_detached, 2);
        // The encoded form round-trips too (it is what a follower installs).
        let decoded = v1::RegistrySnapshot::decode(snap.encode_to_vec().as_slice()).unwrap();
        assert_eq!(
            Registry::restore(Limits::default(), decoded).snapshot(),
            snap
        );
        // The tombstone still refuses a late, older re-send of the unregistered publisher.
        #[derive(Default)]
        struct Acks(parking_lot::Mutex<Vec<i32>>);
        impl Outbox for Acks {
            fn send(&self, frame: v1::ServerFrame) -> bool {
                if let Some(v1::server_frame::Body::Ack(a)) = frame.body {
                    self.0.lock().push(a.code);
                }
                true
            }
            fn close(&self) {}
        }
        let mut restored = restored;
        restored.set_clock(2_000);
        let acks = Arc::new(Acks::default());
        let again = restored
            .attach(&hello("a", "z1"), Some(acks.clone()))
            .unwrap();
        assert!(again.resumed);
        assert_eq!(again.session, a);
        restored
            .publish(a, 6, publish("p2", "other", &["x"]))
            .deliver();
        assert_eq!(*acks.0.lock(), [AckCode::Stale as i32]);
    }
}
