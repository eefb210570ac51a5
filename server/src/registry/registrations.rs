//! Publish, subscribe and unregister: each checked against the session's table (registId,
//! version, tombstone), recorded in the data index, acknowledged, and handed to the fan-out.

use super::fanout::names;
use super::*;

impl Registry {
    pub(super) fn remember(
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

    pub(super) fn try_publish(
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
}
