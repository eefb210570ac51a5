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
        let old = s.regs.insert(
            regist_id.into(),
            Reg {
                key,
                kind,
                version,
                epoch,
                removed: false,
            },
        );
        if old.is_some_and(|r| r.removed) {
            // Registered again: no longer a tombstone (the limit counts it as live).
            s.tombstones.retain(|t| **t != *regist_id);
        }
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
                let buried = reg.removed;
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
                if !buried {
                    self.bury(session, id);
                }
                ack(request_id, rid, u.version, AckCode::Ok, String::new())
            }
        };
        self.send(session, frame, &mut fx);
        fx
    }
}

#[cfg(test)]
mod tests {
    use roster_proto::appmeta::{APP_GROUP, MAPPING_GROUP};

    use super::super::test_support::*;
    use super::*;

    /// A publisher session and a watcher session (same zone) subscribed globally to `svc`,
    /// the watcher's first push taken.
    fn setup(limits: Limits) -> (Registry, SessionId, Arc<Collect>, Arc<Collect>) {
        let mut r = Registry::new(limits, false);
        let (p, out) = attach(&mut r, "p", "z", "dc");
        let (w, watcher) = attach(&mut r, "w", "z", "dc");
        run(&mut r, w, subscribe("w", "svc", Scope::Global));
        watcher.pushes();
        (r, p, out, watcher)
    }

    #[test]
    fn a_publish_replaces_the_data_only_with_a_newer_version() {
        // (case, version re-published after version 2 of ["a"], its data, ack, data held,
        //  pushes to the watcher)
        let cases = [
            ("a newer version", 3, "b", AckCode::Ok, "b", 1),
            ("the same version (a redo)", 2, "b", AckCode::Ok, "a", 0),
            ("an older version", 1, "b", AckCode::Stale, "a", 0),
        ];
        for (case, version, data, code, held, pushes) in cases {
            let (mut r, p, out, watcher) = setup(Limits::default());
            run(&mut r, p, publish("p", "svc", 2, &["a"]));
            out.acks();
            watcher.pushes();
            run(&mut r, p, publish("p", "svc", version, &[data]));
            let (got, message) = out.ack();
            assert_eq!(got, code, "{case}: {message}");
            if code == AckCode::Stale {
                assert_eq!(
                    message,
                    format!("version {version} is older than the registry's 2"),
                    "{case}"
                );
            }
            assert_eq!(stored(&r, "svc"), [held], "{case}");
            assert_eq!(watcher.pushes().len(), pushes, "{case}");
        }
    }

    #[test]
    fn an_older_publish_after_an_unregister_does_not_resurrect_it() {
        // (case, version re-published after publish v1 and unregister v2, ack, data held)
        let cases: [(&str, u64, AckCode, &[&str]); 3] = [
            ("older than the unregister", 1, AckCode::Stale, &[]),
            ("the unregister's version", 2, AckCode::Stale, &[]),
            ("newer than the unregister", 3, AckCode::Ok, &["b"]),
        ];
        for (case, version, code, held) in cases {
            let (mut r, p, out, watcher) = setup(Limits::default());
            run(&mut r, p, publish("p", "svc", 1, &["a"]));
            run(&mut r, p, unregister("p", 2));
            out.acks();
            watcher.pushes();
            run(&mut r, p, publish("p", "svc", version, &["b"]));
            assert_eq!(out.ack().0, code, "{case}");
            assert_eq!(stored(&r, "svc"), held, "{case}");
            assert_eq!(r.stats().publishers, held.len(), "{case}");
            assert_eq!(watcher.pushes().len(), held.len(), "{case}: pushes");
        }
    }

    #[test]
    fn an_unregister_is_acked_against_the_registered_version() {
        // (case, unregisters after publish v2 of ["a"], last ack and its message, data
        //  held, pushes to the watcher)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, u64)],
            AckCode,
            &'a str,
            &'a [&'a str],
            usize,
        );
        let cases: [Case; 6] = [
            (
                "an unknown registId",
                &[("q", 3)],
                AckCode::NotFound,
                "registId q is not registered on this session",
                &["a"],
                0,
            ),
            (
                "an older version",
                &[("p", 1)],
                AckCode::Stale,
                "version 1 is not newer than the registry's 2",
                &["a"],
                0,
            ),
            (
                "the same version",
                &[("p", 2)],
                AckCode::Stale,
                "version 2 is not newer than the registry's 2",
                &["a"],
                0,
            ),
            ("a newer version", &[("p", 3)], AckCode::Ok, "", &[], 1),
            (
                "a repeated one",
                &[("p", 3), ("p", 3)],
                AckCode::Ok,
                "",
                &[],
                1,
            ),
            (
                "an older one after it",
                &[("p", 3), ("p", 2)],
                AckCode::Ok,
                "",
                &[],
                1,
            ),
        ];
        for (case, unregisters, code, message, held, pushes) in cases {
            let (mut r, p, out, watcher) = setup(Limits::default());
            run(&mut r, p, publish("p", "svc", 2, &["a"]));
            out.acks();
            watcher.pushes();
            for &(rid, version) in unregisters {
                run(&mut r, p, unregister(rid, version));
            }
            let acks = out.acks();
            assert_eq!(acks.last(), Some(&(code, message.into())), "{case}");
            assert_eq!(stored(&r, "svc"), held, "{case}");
            assert_eq!(watcher.pushes().len(), pushes, "{case}");
        }
    }

    #[test]
    fn a_subscriber_is_pushed_the_current_data_after_its_ack() {
        // (case, data published, handle, times subscribed, items pushed, ids, handles)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            u32,
            usize,
            &'a [&'a str],
            &'a [&'a str],
            &'a [u32],
        );
        let cases: [Case; 4] = [
            ("nothing published", &[], 0, 1, &[], &["s"], &[]),
            (
                "data published",
                &["a", "b"],
                0,
                1,
                &["a", "b"],
                &["s"],
                &[],
            ),
            ("named by its handle", &["a"], 7, 1, &["a"], &[], &[7]),
            ("re-sent: pushed again", &["a"], 0, 2, &["a"], &["s"], &[]),
        ];
        for (case, data, handle, times, want, ids, handles) in cases {
            let (mut r, p, _, _) = setup(Limits::default());
            if !data.is_empty() {
                run(&mut r, p, publish("p", "svc", 1, data));
            }
            let (s, out) = attach(&mut r, "s", "z", "dc");
            for _ in 0..times {
                let sub = v1::Subscribe {
                    handle,
                    ..subscribe("s", "svc", Scope::Zone)
                };
                let fx = run_fx(&mut r, s, sub);
                assert_eq!((fx.result, fx.pushes), ("ok", 1), "{case}");
            }
            let mut pushes = Vec::new();
            let mut acks = 0;
            for frame in out.take() {
                match frame.body {
                    Some(v1::server_frame::Body::Ack(_)) => acks += 1,
                    Some(v1::server_frame::Body::Push(p)) => {
                        assert_eq!(acks, pushes.len() + 1, "{case}: the ack goes first");
                        pushes.push(p);
                    }
                    _ => {}
                }
            }
            assert_eq!((acks, pushes.len()), (times, times), "{case}");
            for push in pushes {
                assert_eq!(items(&push), want, "{case}");
                assert_eq!(push.subscriber_ids, ids, "{case}");
                assert_eq!(push.subscriber_handles, handles, "{case}");
            }
            assert_eq!(r.stats().subscribers, 2, "{case}: the watcher and s");
        }
    }

    #[test]
    fn invalid_registrations_are_refused_naming_the_field() {
        let with_key = |group: &str| v1::Publish {
            key: key_of("svc", group),
            ..publish("p", "svc", 1, &["bolt://h:1"])
        };
        let not_utf8 = v1::Publish {
            data: vec![Bytes::from_static(&[0xff])],
            ..publish("p", "svc", 1, &[])
        };
        let mapping = format!("{MAPPING_GROUP}/DEFAULT_GROUP");
        // (case, frame sent after publisher "used" of svc, start of the ack's message)
        let cases: Vec<(&str, Op, String)> = vec![
            (
                "an empty dataId",
                publish("p", "", 1, &[]).into(),
                "dataId must not be empty".into(),
            ),
            (
                "a group with the separator",
                with_key("a#@#b").into(),
                "group must not contain the separator".into(),
            ),
            (
                "an empty registId",
                publish("", "svc", 1, &[]).into(),
                "registId must not be empty".into(),
            ),
            (
                "an item with a control character",
                publish("p", "svc", 1, &["ok", "a\u{1}"]).into(),
                "data[1] contains the control character".into(),
            ),
            (
                "an item that is not UTF-8",
                not_utf8.into(),
                "data[0] is not valid UTF-8".into(),
            ),
            (
                "a publisher in the registry's mapping group",
                with_key(&mapping).into(),
                format!("group {mapping} is maintained by the registry"),
            ),
            (
                "an application item without a revision",
                with_key(APP_GROUP).into(),
                "data[0] of an application publisher names no roster.revision".into(),
            ),
            (
                "a subscription of an unknown scope",
                v1::Subscribe {
                    scope: 9,
                    ..subscribe("s", "svc", Scope::Zone)
                }
                .into(),
                "scope 9 is not a known scope".into(),
            ),
            (
                "a subscription without a dataId",
                subscribe("s", "", Scope::Zone).into(),
                "dataId must not be empty".into(),
            ),
            (
                "a registId used for another dataId",
                publish("used", "other", 2, &[]).into(),
                "registId used is already used for another registration \
                 (svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP)"
                    .into(),
            ),
            (
                "a publisher's registId used to subscribe",
                v1::Subscribe {
                    version: 2,
                    ..subscribe("used", "svc", Scope::Zone)
                }
                .into(),
                "registId used is already used for another registration".into(),
            ),
        ];
        for (case, op, message) in cases {
            let (mut r, p, out, watcher) = setup(Limits::default());
            run(&mut r, p, publish("used", "svc", 1, &["a"]));
            out.acks();
            watcher.pushes();
            let fx = run_fx(&mut r, p, op);
            let (code, got) = out.ack();
            assert_eq!(
                (code, fx.result),
                (AckCode::InvalidArgument, "refused"),
                "{case}"
            );
            assert!(got.starts_with(&message), "{case}: {got}");
            let stats = r.stats();
            assert_eq!((stats.publishers, stats.subscribers), (1, 1), "{case}");
            assert_eq!(stored(&r, "svc"), ["a"], "{case}");
            assert!(watcher.pushes().is_empty(), "{case}");
        }
    }

    #[test]
    fn the_limits_are_refused_as_limit_exceeded() {
        let limits = Limits {
            // The default group and instanceId are 13 and 19 bytes.
            max_data_id_bytes: 20,
            max_data_items: 2,
            max_payload_bytes: 10,
            max_registrations_per_session: 3,
        };
        let long_id = "x".repeat(rules::MAX_ID_BYTES + 1);
        let (data_id, long_data_id) = ("d".repeat(20), "d".repeat(21));
        // (case, frames after the watcher's subscription, last ack, its message)
        let cases: Vec<(&str, Vec<Op>, AckCode, String)> = vec![
            (
                "as many items as allowed",
                vec![publish("p", "svc", 1, &["a", "b"]).into()],
                AckCode::Ok,
                String::new(),
            ),
            (
                "one item too many",
                vec![publish("p", "svc", 1, &["a", "b", "c"]).into()],
                AckCode::LimitExceeded,
                "data has 3 items, more than the limit of 2".into(),
            ),
            (
                "as many bytes as allowed",
                vec![publish("p", "svc", 1, &["12345", "67890"]).into()],
                AckCode::Ok,
                String::new(),
            ),
            (
                "one byte too many",
                vec![publish("p", "svc", 1, &["12345", "678901"]).into()],
                AckCode::LimitExceeded,
                "data is 11 bytes, more than the limit of 10".into(),
            ),
            (
                "a dataId as long as allowed",
                vec![publish("p", &data_id, 1, &[]).into()],
                AckCode::Ok,
                String::new(),
            ),
            (
                "a dataId too long",
                vec![publish("p", &long_data_id, 1, &[]).into()],
                AckCode::LimitExceeded,
                "dataId is 21 bytes, longer than the limit of 20".into(),
            ),
            (
                "a registId too long",
                vec![publish(&long_id, "svc", 1, &[]).into()],
                AckCode::LimitExceeded,
                "registId is 129 bytes, longer than the limit of 128".into(),
            ),
            (
                "one registration too many",
                vec![
                    publish("p1", "svc", 1, &[]).into(),
                    subscribe("s2", "svc", Scope::Zone).into(),
                    publish("p3", "svc", 1, &[]).into(),
                ],
                AckCode::LimitExceeded,
                "registId is one more than the 3 registrations a session may hold".into(),
            ),
            (
                "a new version of a held one",
                vec![
                    publish("p1", "svc", 1, &[]).into(),
                    publish("p2", "svc", 1, &[]).into(),
                    publish("p1", "svc", 2, &["a"]).into(),
                ],
                AckCode::Ok,
                String::new(),
            ),
            (
                "after an unregister made room",
                vec![
                    publish("p1", "svc", 1, &[]).into(),
                    publish("p2", "svc", 1, &[]).into(),
                    unregister("p1", 2).into(),
                    publish("p3", "svc", 1, &[]).into(),
                ],
                AckCode::Ok,
                String::new(),
            ),
        ];
        for (case, ops, code, message) in cases {
            let mut r = Registry::new(limits, false);
            let (s, out) = attach(&mut r, "s", "z", "dc");
            run(&mut r, s, subscribe("w", "svc", Scope::Global));
            let mut result = "";
            for op in ops {
                result = run_fx(&mut r, s, op).result;
            }
            let acks = out.acks();
            assert_eq!(acks.last(), Some(&(code, message)), "{case}");
            let want = if code == AckCode::Ok { "ok" } else { "limit" };
            assert_eq!(result, want, "{case}");
        }
    }

    #[test]
    fn a_registration_revived_after_its_unregister_counts_against_the_limit() {
        let limits = Limits {
            max_registrations_per_session: 2,
            ..Limits::default()
        };
        let mut r = Registry::new(limits, false);
        let (s, out) = attach(&mut r, "s", "z", "dc");
        run(&mut r, s, publish("p1", "svc", 1, &[]));
        run(&mut r, s, unregister("p1", 2));
        run(&mut r, s, publish("p1", "svc", 3, &[]));
        run(&mut r, s, publish("p2", "svc", 1, &[]));
        out.acks();
        run(&mut r, s, publish("p3", "svc", 1, &[]));
        assert_eq!(out.ack().0, AckCode::LimitExceeded);
        assert_eq!(r.stats().publishers, 2);
    }

    #[test]
    fn a_newer_subscription_moves_to_its_new_scope() {
        // (case, version and scope sent after version 2 in the zone scope, ack, scope held)
        let cases = [
            (
                "a newer version",
                3,
                Scope::Global,
                AckCode::Ok,
                Scope::Global,
            ),
            ("the same version", 2, Scope::Zone, AckCode::Ok, Scope::Zone),
            (
                "an older version",
                1,
                Scope::Global,
                AckCode::Stale,
                Scope::Zone,
            ),
        ];
        for (case, version, scope, code, held) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (s, out) = attach(&mut r, "s", "z", "dc");
            let sub = |version, scope| v1::Subscribe {
                version,
                ..subscribe("s", "svc", scope)
            };
            run(&mut r, s, sub(2, Scope::Zone));
            out.acks();
            run(&mut r, s, sub(version, scope));
            assert_eq!(out.ack().0, code, "{case}");
            let key = Key::from_proto(key().as_ref(), r.limits()).unwrap();
            let slots = &r.data[&key].subscribers[&s].slots;
            let held_in: Vec<Scope> = SubKind::all()
                .filter(|k| slots[k.slot()].contains_key("s"))
                .map(|k| k.scope)
                .collect();
            assert_eq!(held_in, [held], "{case}");
            assert_eq!(r.stats().subscribers, 1, "{case}");
        }
    }
}
