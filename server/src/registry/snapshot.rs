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

    /// The registry a snapshot describes, every session detached.
    pub fn restore(limits: Limits, snap: v1::RegistrySnapshot) -> Registry {
        let mut reg = Registry::new(limits, false);
        reg.next_session = snap.next_session;
        // Lenient: a snapshot was checked when its operations were applied.
        let lenient = Limits {
            max_data_id_bytes: usize::MAX,
            max_data_items: usize::MAX,
            max_payload_bytes: usize::MAX,
        };
        for s in snap.sessions {
            let client_id: Arc<str> = s.client_id.as_str().into();
            let zone: Arc<str> = s.zone.as_str().into();
            let data_center: Arc<str> = s.data_center.as_str().into();
            let mut regs = HashMap::with_capacity(s.regs.len());
            for r in s.regs {
                let Ok(key) = Key::from_proto(r.key.as_ref(), &lenient) else {
                    continue;
                };
                let datum = reg.datum(&key);
                let key = datum.key.clone();
                let regist_id: Arc<str> = r.regist_id.as_str().into();
                let kind = if r.publisher {
                    Kind::Publisher
                } else {
                    Kind::Subscriber(SubKind {
                        scope: Scope::try_from(r.scope).unwrap_or(Scope::Zone),
                        convert: r.convert_application,
                    })
                };
                if !r.removed {
                    match kind {
                        Kind::Publisher => {
                            let app_items = apps::check_publisher(&key, &r.data).ok().flatten();
                            datum.publishers.insert(
                                (s.id, regist_id.clone()),
                                Publisher {
                                    zone: zone.clone(),
                                    data_center: data_center.clone(),
                                    data: r.data.into_boxed_slice(),
                                    app_items,
                                },
                            );
                            reg.publishers += 1;
                        }
                        Kind::Subscriber(k) => {
                            datum.subscribers.entry(s.id).or_default().slots[k.slot()]
                                .insert(regist_id.clone(), r.handle);
                            reg.subscribers += 1;
                        }
                    }
                }
                let entry = Reg {
                    key,
                    kind,
                    version: r.version,
                    epoch: r.epoch,
                    removed: r.removed,
                };
                regs.insert(regist_id, entry);
            }
            reg.by_client.insert(client_id.clone(), s.id);
            reg.sessions.insert(
                s.id,
                Session {
                    client_id,
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
        // A datum that only tombstones named is not kept.
        reg.data
            .retain(|_, d| !d.publishers.is_empty() || !d.subscribers.is_empty());
        for r in snap.revisions {
            let Some(wire) = r.revision else { continue };
            reg.apps.revisions.insert(
                wire.revision.as_str().into(),
                apps::Stored {
                    meta: Arc::new((&wire).into()),
                    unused_since: (r.unused_since_us != 0).then_some(r.unused_since_us),
                },
            );
        }
        let mut app_keys: Vec<Arc<Key>> = reg
            .data
            .keys()
            .filter(|k| &*k.group == roster_proto::appmeta::APP_GROUP)
            .cloned()
            .collect();
        app_keys.sort();
        for key in app_keys {
            reg.app_changed(&key, &mut Effects::default());
        }
        for d in snap.data {
            if let Ok(key) = Key::from_proto(d.key.as_ref(), &lenient) {
                if let Some(datum) = reg.data.get_mut(&key) {
                    datum.version = d.version;
                }
            }
        }
        reg.versions.last = snap.last_version;
        reg
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
        r.publish(a, 1, publish("p1", "svc", &["bolt://10.0.0.1:1"]));
        r.publish(a, 2, publish("p2", "other", &["x"]));
        r.publish(b, 3, publish("p3", "svc", &["bolt://10.0.0.2:1"]));
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
        );
        r.unregister(
            a,
            5,
            v1::Unregister {
                regist_id: "p2".into(),
                version: 2,
            },
        );
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
        restored.publish(a, 6, publish("p2", "other", &["x"]));
        assert_eq!(*acks.0.lock(), [AckCode::Stale as i32]);
    }
}
