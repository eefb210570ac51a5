//! The push fan-out: a changed datum gets its next version and each subscriber kind's view
//! (scope, zone, conversion) is computed once and pushed to every session that subscribes
//! with it, in full or as a delta from what that session was last sent (`delta.rs`); the
//! warm-up that holds empty pushes after a start; frames to a session's outbox.

use super::*;

impl Registry {
    /// Sends a frame to every attached stream (a new member list).
    pub fn broadcast(&self, frame: &v1::ServerFrame) -> Effects {
        let mut fx = Effects::default();
        for out in self.sessions.values().filter_map(|s| s.outbox.as_ref()) {
            fx.frames.push((out.clone(), frame.clone()));
        }
        fx
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
    pub(super) fn hold(&mut self, view: &View) -> bool {
        let hold = self.warming_up && view.zones.is_empty();
        self.held_empty |= hold;
        hold
    }

    pub(super) fn send(&self, session: SessionId, frame: v1::ServerFrame, fx: &mut Effects) {
        if let Some(v1::server_frame::Body::Ack(a)) = &frame.body {
            fx.result = match AckCode::try_from(a.code) {
                Ok(AckCode::Ok) => "ok",
                Ok(AckCode::Stale) => "stale",
                // Over a limit: the registrations a session may hold, or a payload's size.
                Ok(AckCode::LimitExceeded) => "limit",
                _ => "refused",
            };
        }
        if let Some(out) = self.sessions.get(&session).and_then(|s| s.outbox.as_ref()) {
            fx.frames.push((out.clone(), frame));
        }
    }

    /// Pushes the full data of the view of `key` that `kind` sees to the named subscribers
    /// of `session`; it becomes the base of the view's next delta.
    pub(super) fn push_full(
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

    /// Publisher data of `key` changed in `origin` (a zone and data center): give it a new
    /// version and push it, and if `key` is an application publisher's, update what depends
    /// on it.
    pub(super) fn changed(&mut self, key: &Arc<Key>, origin: (&str, &str), fx: &mut Effects) {
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
    pub(super) fn push_all(
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
    pub(super) fn view(&self, d: &Datum, kind: SubKind, zone: &str, dc: &str) -> View {
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
pub(super) fn push_frame(
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
pub(super) fn names<'a>(
    subs: impl IntoIterator<Item = (&'a Arc<str>, &'a u32)>,
) -> (Vec<String>, Vec<u32>) {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn a_change_reaches_every_subscriber_whose_scope_sees_it_and_no_other() {
        // (case, the subscriber's zone, data center, scope and dataId, pushed) for a change
        // published in zone z1 of data center dc1
        let cases = [
            (
                "zone scope, same zone",
                "z1",
                "dc1",
                Scope::Zone,
                "svc",
                true,
            ),
            (
                "zone scope, another zone",
                "z2",
                "dc1",
                Scope::Zone,
                "svc",
                false,
            ),
            (
                "dc scope, same dc",
                "z2",
                "dc1",
                Scope::DataCenter,
                "svc",
                true,
            ),
            (
                "dc scope, another dc",
                "z3",
                "dc2",
                Scope::DataCenter,
                "svc",
                false,
            ),
            (
                "global scope, another dc",
                "z3",
                "dc2",
                Scope::Global,
                "svc",
                true,
            ),
            ("another dataId", "z1", "dc1", Scope::Global, "other", false),
        ];
        for (case, zone, dc, scope, data_id, pushed) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (p, _) = attach(&mut r, "p", "z1", "dc1");
            let (s, out) = attach(&mut r, "s", zone, dc);
            run(&mut r, s, subscribe("s", data_id, scope));
            out.pushes();
            let fx = run_fx(&mut r, p, publish("p", "svc", 1, &["a"]));
            let pushes = out.pushes();
            assert_eq!(
                (pushes.len(), fx.pushes),
                (pushed as usize, pushed as usize),
                "{case}"
            );
            for push in pushes {
                assert_eq!(
                    (items(&push), push.subscriber_ids),
                    (vec!["a".into()], vec!["s".into()]),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn a_subscriber_sees_the_publishers_of_its_scope_by_zone() {
        // (case, scope of a subscriber in z1/dc1, zones pushed) with publishers a in z1/dc1,
        // b in z2/dc1, c in z3/dc2
        type Case<'a> = (&'a str, Scope, &'a [(&'a str, &'a str)]);
        let cases: [Case; 3] = [
            ("zone", Scope::Zone, &[("z1", "a")]),
            (
                "data center",
                Scope::DataCenter,
                &[("z1", "a"), ("z2", "b")],
            ),
            (
                "global",
                Scope::Global,
                &[("z1", "a"), ("z2", "b"), ("z3", "c")],
            ),
        ];
        for (case, scope, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            for (item, zone, dc) in [("c", "z3", "dc2"), ("a", "z1", "dc1"), ("b", "z2", "dc1")] {
                let (p, _) = attach(&mut r, item, zone, dc);
                run(&mut r, p, publish("p", "svc", 1, &[item]));
            }
            let (s, out) = attach(&mut r, "s", "z1", "dc1");
            run(&mut r, s, subscribe("s", "svc", scope));
            let pushes = out.pushes();
            let want: Vec<(String, Vec<String>)> = want
                .iter()
                .map(|(zone, item)| (zone.to_string(), vec![item.to_string()]))
                .collect();
            assert_eq!(pushes.len(), 1, "{case}");
            assert_eq!(zones(&pushes[0]), want, "{case}");
            assert_eq!(pushes[0].scope, scope as i32, "{case}");
        }
    }

    #[test]
    fn every_change_gives_the_datum_a_higher_version() {
        // (case, the clock at three publishes and an unregister, the versions pushed)
        let cases = [
            ("a clock ahead", [100, 200, 300, 400], [100, 200, 300, 400]),
            (
                "a stalled clock",
                [100, 100, 100, 100],
                [100, 101, 102, 103],
            ),
            (
                "a clock going back",
                [100, 50, 20, 10],
                [100, 101, 102, 103],
            ),
        ];
        for (case, clocks, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (p, _) = attach(&mut r, "p", "z", "dc");
            let (s, out) = attach(&mut r, "s", "z", "dc");
            run(&mut r, s, subscribe("s", "svc", Scope::Zone));
            assert_eq!(out.pushes()[0].version, 1, "{case}: a new datum's version");
            for (i, clock) in clocks.into_iter().enumerate() {
                r.set_clock(clock);
                match i {
                    3 => run(&mut r, p, unregister("p", 9)),
                    _ => run(&mut r, p, publish("p", "svc", i as u64 + 1, &["a"])),
                };
            }
            let versions: Vec<u64> = out.pushes().iter().map(|p| p.version).collect();
            assert_eq!(versions, want, "{case}");
        }
    }

    #[test]
    fn nothing_is_pushed_to_a_subscriber_whose_view_did_not_change() {
        // (case, frames from session p (z1) or o (z2), pushes to a zone subscriber in z1)
        // after p published ["a"] at version 1
        type Case<'a> = (&'a str, Vec<(&'a str, Op)>, usize);
        let cases: Vec<Case> = vec![
            (
                "another session subscribes and unsubscribes",
                vec![
                    ("o", subscribe("o", "svc", Scope::Global).into()),
                    ("o", unregister("o", 2).into()),
                ],
                0,
            ),
            (
                "the publisher re-sends its version",
                vec![("p", publish("p", "svc", 1, &["a"]).into())],
                0,
            ),
            (
                "a publisher in another zone",
                vec![("o", publish("o", "svc", 1, &["b"]).into())],
                0,
            ),
            (
                "a publisher of another dataId",
                vec![("p", publish("q", "other", 1, &["c"]).into())],
                0,
            ),
            (
                "the publisher's data changes",
                vec![("p", publish("p", "svc", 2, &["b"]).into())],
                1,
            ),
            (
                "the publisher unregisters",
                vec![("p", unregister("p", 2).into())],
                1,
            ),
        ];
        for (case, ops, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (p, _) = attach(&mut r, "p", "z1", "dc");
            let (o, _) = attach(&mut r, "o", "z2", "dc");
            let (w, out) = attach(&mut r, "w", "z1", "dc");
            run(&mut r, w, subscribe("w", "svc", Scope::Zone));
            run(&mut r, p, publish("p", "svc", 1, &["a"]));
            out.pushes();
            for (who, op) in ops {
                run(&mut r, if who == "p" { p } else { o }, op);
            }
            assert_eq!(out.pushes().len(), want, "{case}");
        }
    }

    #[test]
    fn the_warmup_holds_empty_pushes_until_it_ends_then_pushes_each_subscriber_once() {
        // (case, warming up, data published, pushes while subscribing, pushes at its end)
        let cases = [
            ("warming up, no data", true, false, 0, 2),
            ("warming up, data", true, true, 2, 0),
            ("not warming up, no data", false, false, 2, 0),
        ];
        for (case, warmup, data, at_subscribe, at_end) in cases {
            let mut r = Registry::new(Limits::default(), warmup);
            if data {
                let (p, _) = attach(&mut r, "p", "z", "dc");
                run(&mut r, p, publish("p", "svc", 1, &["a"]));
            }
            let outs: Vec<Arc<Collect>> = ["s1", "s2"]
                .into_iter()
                .map(|client| {
                    let (s, out) = attach(&mut r, client, "z", "dc");
                    run(&mut r, s, subscribe(client, "svc", Scope::Zone));
                    out
                })
                .collect();
            let pushed: usize = outs.iter().map(|o| o.pushes().len()).sum();
            assert_eq!(pushed, at_subscribe, "{case}: while subscribing");
            let mut fx = r.end_warmup();
            fx.deliver();
            assert_eq!(fx.pushes, at_end, "{case}: at the end");
            for (out, client) in outs.iter().zip(["s1", "s2"]) {
                let pushes = out.pushes();
                assert_eq!(pushes.len(), at_end / 2, "{case}: {client}");
                for push in pushes {
                    assert!(push.zones.is_empty(), "{case}");
                    assert_eq!(push.subscriber_ids, [client], "{case}");
                }
            }
            let mut again = r.end_warmup();
            again.deliver();
            assert_eq!(again.pushes, 0, "{case}: a second end");
        }
    }

    #[test]
    fn a_push_names_a_sessions_subscribers_of_one_kind_together() {
        // (case, subscriptions of one session: registId, scope, handle, convert; the pushes
        // of a change: scope, convert, ids, handles)
        type Push = (Scope, bool, Vec<&'static str>, Vec<u32>);
        let (zone, global) = (Scope::Zone, Scope::Global);
        type Case<'a> = (&'a str, Vec<(&'a str, Scope, u32, bool)>, Vec<Push>);
        let cases: [Case; 4] = [
            (
                "two of one kind",
                vec![("a", zone, 0, false), ("b", zone, 0, false)],
                vec![(zone, false, vec!["a", "b"], vec![])],
            ),
            (
                "by handle where given",
                vec![("a", zone, 5, false), ("b", zone, 0, false)],
                vec![(zone, false, vec!["b"], vec![5])],
            ),
            (
                "two scopes",
                vec![("a", zone, 0, false), ("b", global, 0, false)],
                vec![
                    (zone, false, vec!["a"], vec![]),
                    (global, false, vec!["b"], vec![]),
                ],
            ),
            (
                "converting or not",
                vec![("a", global, 0, false), ("b", global, 0, true)],
                vec![
                    (global, false, vec!["a"], vec![]),
                    (global, true, vec!["b"], vec![]),
                ],
            ),
        ];
        for (case, subs, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (p, _) = attach(&mut r, "p", "z", "dc");
            let (s, out) = attach(&mut r, "s", "z", "dc");
            for (rid, scope, handle, convert) in subs {
                let sub = v1::Subscribe {
                    handle,
                    convert_application: convert,
                    ..subscribe(rid, "svc", scope)
                };
                run(&mut r, s, sub);
            }
            out.pushes();
            run(&mut r, p, publish("p", "svc", 1, &["a"]));
            let mut got: Vec<(Scope, bool, Vec<String>, Vec<u32>)> = out
                .pushes()
                .into_iter()
                .map(|mut p| {
                    p.subscriber_ids.sort();
                    let scope = Scope::try_from(p.scope).unwrap();
                    (
                        scope,
                        p.convert_application,
                        p.subscriber_ids,
                        p.subscriber_handles,
                    )
                })
                .collect();
            got.sort_by_key(|(scope, convert, ..)| (*scope as i32, *convert));
            let want: Vec<_> = want
                .into_iter()
                .map(|(scope, convert, ids, handles)| {
                    let ids: Vec<String> = ids.into_iter().map(String::from).collect();
                    (scope, convert, ids, handles)
                })
                .collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_session_that_takes_deltas_gets_splices_from_its_last_full_push() {
        // (case, the Hello asks for deltas, items published, a new stream before the
        // change, sent as a delta)
        let cases = [
            ("a view large enough to be a base", true, 20, false, true),
            ("a view too small to be a base", true, 3, false, false),
            ("no deltas asked for", false, 20, false, false),
            ("a new stream", true, 20, true, false),
        ];
        for (case, deltas, n, reattach, as_delta) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (p, _) = attach(&mut r, "p", "z", "dc");
            let mut data: Vec<String> = (0..n).map(|i| format!("10.0.0.{i}:80")).collect();
            let refs: Vec<&str> = data.iter().map(String::as_str).collect();
            run(&mut r, p, publish("p", "svc", 1, &refs));
            let hello = v1::Hello {
                deltas,
                ..hello("s")
            };
            let out = Arc::new(Collect::default());
            let s = r.attach(&hello, Some(out.clone())).unwrap().session;
            run(&mut r, s, subscribe("s", "svc", Scope::Zone));
            let first = out.pushes().pop().expect("a first push");
            let out = if reattach {
                let out = Arc::new(Collect::default());
                r.attach(&hello, Some(out.clone())).unwrap();
                out
            } else {
                out
            };
            data[1] = "10.0.0.1:81".into();
            let refs: Vec<&str> = data.iter().map(String::as_str).collect();
            run(&mut r, p, publish("p", "svc", 2, &refs));
            let push = out.pushes().pop().expect("a push of the change");
            if as_delta {
                assert_eq!(push.base_version, first.version, "{case}");
                assert!(push.zones.is_empty(), "{case}");
                let inserted: Vec<&[u8]> = push
                    .deltas
                    .iter()
                    .flat_map(|d| &d.insert)
                    .map(|b| &b[..])
                    .collect();
                assert_eq!(
                    (push.deltas.len(), inserted),
                    (1, vec![&b"10.0.0.1:81"[..]]),
                    "{case}"
                );
            } else {
                assert_eq!((push.base_version, push.deltas.len()), (0, 0), "{case}");
                assert_eq!(items(&push), data, "{case}");
            }
        }
    }

    #[test]
    fn a_refresh_pushes_the_full_view_to_the_sessions_subscribers_of_that_kind() {
        // (case, the refresh's dataId, scope and conversion, full pushes)
        let cases = [
            ("the subscribed kind", "svc", Scope::Zone, false, 1),
            ("another scope", "svc", Scope::Global, false, 0),
            ("converting", "svc", Scope::Zone, true, 0),
            ("another dataId", "other", Scope::Zone, false, 0),
        ];
        for (case, data_id, scope, convert, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (s, out) = attach(&mut r, "s", "z", "dc");
            run(&mut r, s, publish("p", "svc", 1, &["a"]));
            run(&mut r, s, publish("q", "other", 1, &["b"]));
            run(&mut r, s, subscribe("s", "svc", Scope::Zone));
            out.take();
            let refresh = v1::Refresh {
                key: key_of(data_id, ""),
                scope: scope.into(),
                convert_application: convert,
            };
            let mut fx = r.refresh(s, refresh);
            fx.deliver();
            let pushes = out.pushes();
            assert_eq!((fx.pushes, pushes.len()), (want, want), "{case}");
            for push in pushes {
                assert_eq!(
                    (items(&push), push.base_version),
                    (vec!["a".to_string()], 0),
                    "{case}"
                );
            }
        }
    }
}
