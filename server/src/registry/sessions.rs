//! The session table: attachments and their epochs, detaching and expiry after the grace
//! period, redo completion (what a redo did not re-send is removed), and the tombstones
//! that refuse a late, older frame for an unregistered registId.

use super::*;

impl Registry {
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
            if *s.access_key != *hello.access_key {
                return Err(RuleError {
                    field: "clientId".into(),
                    reason: "is in use by a session of another access key".into(),
                    limit: false,
                });
            }
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
                access_key: hello.access_key.as_str().into(),
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

    pub(super) fn drop_session(&mut self, session: SessionId, fx: &mut Effects) {
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
    pub(super) fn remove_reg(
        &mut self,
        session: SessionId,
        regist_id: &Arc<str>,
        reg: &Reg,
    ) -> bool {
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
    pub(super) fn check_reg(
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
        let Some(s) = self.sessions.get(&session) else {
            return Ok(None);
        };
        // A new registration (or one registered again after its unregister): within the
        // session's allowance? (`regs` also holds the tombstones, each listed once.)
        let within_allowance = || {
            let live = s.regs.len().saturating_sub(s.tombstones.len());
            let max = self.limits.max_registrations_per_session;
            if live >= max {
                let e = RuleError {
                    field: "registId".into(),
                    reason: format!("is one more than the {max} registrations a session may hold"),
                    limit: true,
                };
                return Err(Box::new(refused(request_id, regist_id, version, e)));
            }
            Ok(None)
        };
        let Some(reg) = s.regs.get(regist_id) else {
            return within_allowance();
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
        if reg.removed {
            return within_allowance();
        }
        Ok(Some(reg.version))
    }

    pub(super) fn bury(&mut self, session: SessionId, regist_id: Arc<str>) {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// A registry where client `c` (zone z, data center dc, access key k1) published ["a"] to
    /// `svc`, watched by a global subscriber of another client.
    fn setup() -> (Registry, SessionId, Arc<Collect>) {
        let mut r = Registry::new(Limits::default(), false);
        let hello = v1::Hello {
            access_key: "k1".into(),
            ..hello("c")
        };
        let c = r
            .attach(&hello, Some(Arc::new(Collect::default())))
            .unwrap()
            .session;
        run(&mut r, c, publish("p", "svc", 1, &["a"]));
        let (w, watcher) = attach(&mut r, "w", "z", "dc");
        run(&mut r, w, subscribe("w", "svc", Scope::Global));
        watcher.pushes();
        (r, c, watcher)
    }

    #[test]
    fn a_hello_resumes_its_clients_session_or_starts_one() {
        let hello = |client: &str, zone: &str, dc: &str, access_key: &str| v1::Hello {
            access_key: access_key.into(),
            ..hello_in(client, zone, dc)
        };
        // (case, the second Hello, then: Ok((same session, resumed, epoch, previous stream
        // to close, publishers left, pushes to the watcher)) or Err(message))
        type Want = Result<(bool, bool, u64, bool, usize, usize), &'static str>;
        let cases: [(&str, v1::Hello, Want); 9] = [
            (
                "the same client",
                hello("c", "z", "dc", "k1"),
                Ok((true, true, 2, true, 1, 0)),
            ),
            (
                "another client",
                hello("d", "z", "dc", ""),
                Ok((false, false, 1, false, 1, 0)),
            ),
            (
                "the same client in another zone",
                hello("c", "z2", "dc", "k1"),
                Ok((false, false, 1, true, 0, 1)),
            ),
            (
                "the same client in another data center",
                hello("c", "z", "dc2", "k1"),
                Ok((false, false, 1, true, 0, 1)),
            ),
            (
                "the same client with another access key",
                hello("c", "z", "dc", "k2"),
                Err("clientId is in use by a session of another access key"),
            ),
            (
                "no clientId",
                hello("", "z", "dc", ""),
                Err("clientId must not be empty"),
            ),
            (
                "a clientId too long",
                hello(&"c".repeat(129), "z", "dc", ""),
                Err("clientId is 129 bytes, longer than the limit of 128"),
            ),
            (
                "a zone with the separator",
                hello("d", "a#@#b", "dc", ""),
                Err("zone must not contain the separator \"#@#\""),
            ),
            (
                "a data center with a control character",
                hello("d", "z", "d\nc", ""),
                Err("dataCenter contains the control character '\\n' at byte 1"),
            ),
        ];
        for (case, hello, want) in cases {
            let (mut r, c, watcher) = setup();
            let got = r
                .attach(&hello, Some(Arc::new(Collect::default())))
                .map(|a| {
                    let publishers = r.stats().publishers;
                    let pushes = watcher.pushes().len();
                    let superseded = a.superseded.is_some();
                    (
                        a.session == c,
                        a.resumed,
                        a.epoch,
                        superseded,
                        publishers,
                        pushes,
                    )
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{case}");
            let kept = r.sessions.contains_key(&c);
            assert_eq!(
                kept,
                r.stats().publishers == 1,
                "{case}: dropped with its publisher"
            );
        }
    }

    #[test]
    fn a_stale_epoch_neither_detaches_nor_expires_the_session() {
        // (case, after a second stream (epoch 2): the epoch detached and the one expired,
        // whether the detach took, whether the expiry took)
        let cases = [
            ("the superseded stream ends", Some(1), None, false, false),
            ("the live stream ends", Some(2), None, true, false),
            (
                "an old stream's grace runs out",
                Some(2),
                Some(1),
                true,
                false,
            ),
            (
                "the live stream's grace runs out",
                Some(2),
                Some(2),
                true,
                true,
            ),
            (
                "expiry by epoch alone (a replica)",
                None,
                Some(2),
                false,
                true,
            ),
            ("an epoch not reached", Some(3), Some(3), false, false),
        ];
        for (case, detach, expire, detached, expired) in cases {
            let (mut r, c, watcher) = setup();
            let hello = v1::Hello {
                access_key: "k1".into(),
                ..hello("c")
            };
            assert_eq!(
                r.attach(&hello, Some(Arc::new(Collect::default())))
                    .unwrap()
                    .epoch,
                2
            );
            let got = detach.is_some_and(|epoch| r.detach(c, epoch));
            assert_eq!(got, detached, "{case}: detached");
            assert_eq!(r.is_attached(c), !detached, "{case}");
            let got = expire
                .and_then(|epoch| r.expire(c, epoch))
                .map(|mut fx| fx.deliver());
            assert_eq!(got.is_some(), expired, "{case}: expired");
            assert_eq!(r.sessions.contains_key(&c), !expired, "{case}");
            assert_eq!(r.stats().publishers, !expired as usize, "{case}");
            assert_eq!(watcher.pushes().len(), expired as usize, "{case}: pushes");
        }
    }

    #[test]
    fn a_client_back_within_the_grace_period_keeps_everything_and_nobody_is_pushed() {
        // (case, the first stream detached before the second, the registrations re-sent)
        let cases = [
            ("back after its stream ended", true, true),
            ("a new stream while the old one lives", false, true),
            ("back, redo not yet complete", true, false),
        ];
        for (case, detach, redo) in cases {
            let (mut r, c, watcher) = setup();
            if detach {
                assert!(r.detach(c, 1), "{case}");
            }
            let hello = v1::Hello {
                access_key: "k1".into(),
                ..hello("c")
            };
            let out = Arc::new(Collect::default());
            let a = r.attach(&hello, Some(out.clone())).unwrap();
            assert_eq!((a.session, a.resumed, a.epoch), (c, true, 2), "{case}");
            if redo {
                run(&mut r, c, publish("p", "svc", 1, &["a"]));
                assert_eq!(out.ack().0, AckCode::Ok, "{case}");
                r.redo_complete(c).deliver();
            }
            assert!(r.expire(c, 1).is_none(), "{case}: the old grace period");
            assert_eq!(stored(&r, "svc"), ["a"], "{case}");
            assert!(watcher.pushes().is_empty(), "{case}");
        }
    }

    #[test]
    fn expiry_removes_what_the_session_held_and_pushes_the_removal() {
        // (case, registrations of the expiring session, pushes to a global subscriber of
        // `svc`) while another session keeps publishing ["k"] to `svc`
        let cases: Vec<(&str, Vec<Op>, usize)> = vec![
            (
                "a publisher",
                vec![publish("e1", "svc", 1, &["e"]).into()],
                1,
            ),
            (
                "two publishers of one dataId: one push",
                vec![
                    publish("e1", "svc", 1, &["e1"]).into(),
                    publish("e2", "svc", 1, &["e2"]).into(),
                ],
                1,
            ),
            (
                "a subscriber",
                vec![subscribe("e1", "svc", Scope::Zone).into()],
                0,
            ),
            (
                "an unregistered publisher",
                vec![
                    publish("e1", "svc", 1, &["e"]).into(),
                    unregister("e1", 2).into(),
                ],
                0,
            ),
            (
                "a publisher of another dataId",
                vec![publish("e1", "other", 1, &["o"]).into()],
                0,
            ),
        ];
        for (case, ops, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (k, _) = attach(&mut r, "k", "z", "dc");
            run(&mut r, k, publish("k", "svc", 1, &["k"]));
            let (w, watcher) = attach(&mut r, "w", "z", "dc");
            run(&mut r, w, subscribe("w", "svc", Scope::Global));
            let (e, _) = attach(&mut r, "e", "z", "dc");
            for op in ops {
                run(&mut r, e, op);
            }
            watcher.pushes();
            assert!(r.detach(e, 1), "{case}");
            let mut fx = r.expire(e, 1).expect("the current epoch");
            fx.deliver();
            let pushes = watcher.pushes();
            assert_eq!((fx.pushes, pushes.len()), (want, want), "{case}");
            for push in pushes {
                assert_eq!(items(&push), ["k"], "{case}");
            }
            let stats = r.stats();
            let counts = (stats.publishers, stats.subscribers, stats.data_info_ids);
            assert_eq!(counts, (1, 1, 1), "{case}: only k's and w's are left");
            assert_eq!(stored(&r, "svc"), ["k"], "{case}");
            let back = r.attach(&hello("e"), None).unwrap();
            assert!(!back.resumed && back.session != e, "{case}: gone");
        }
    }

    #[test]
    fn redo_complete_drops_what_the_client_did_not_re_send() {
        // (case, a new stream first, the registrations re-sent, those kept, data left,
        // pushes to a watcher) after publishers p1 ["a"] and p2 ["b"] and subscriber s1
        type Case<'a> = (
            &'a str,
            bool,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            usize,
        );
        let cases: [Case; 5] = [
            (
                "everything re-sent",
                true,
                &["p1", "p2", "s1"],
                &["p1", "p2", "s1"],
                &["a", "b"],
                0,
            ),
            (
                "a publisher not re-sent",
                true,
                &["p1", "s1"],
                &["p1", "s1"],
                &["a"],
                1,
            ),
            (
                "the subscriber not re-sent",
                true,
                &["p1", "p2"],
                &["p1", "p2"],
                &["a", "b"],
                0,
            ),
            ("nothing re-sent", true, &[], &[], &[], 1),
            (
                "no new stream",
                false,
                &[],
                &["p1", "p2", "s1"],
                &["a", "b"],
                0,
            ),
        ];
        for (case, reattach, resent, kept, left, pushes) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (c, _) = attach(&mut r, "c", "z", "dc");
            let (w, watcher) = attach(&mut r, "w", "z", "dc");
            run(&mut r, w, subscribe("w", "svc", Scope::Global));
            let regs: [(&str, Op); 3] = [
                ("p1", publish("p1", "svc", 1, &["a"]).into()),
                ("p2", publish("p2", "svc", 1, &["b"]).into()),
                ("s1", subscribe("s1", "svc", Scope::Zone).into()),
            ];
            for (_, op) in regs.clone() {
                run(&mut r, c, op);
            }
            if reattach {
                r.attach(&hello("c"), Some(Arc::new(Collect::default())))
                    .unwrap();
            }
            for (rid, op) in regs {
                if resent.contains(&rid) {
                    run(&mut r, c, op);
                }
            }
            watcher.pushes();
            r.redo_complete(c).deliver();
            let mut held: Vec<&str> = r.sessions[&c].regs.keys().map(|k| &**k).collect();
            held.sort();
            assert_eq!(held, kept, "{case}");
            assert_eq!(stored(&r, "svc"), left, "{case}");
            assert_eq!(watcher.pushes().len(), pushes, "{case}");
            let subscribers = 1 + kept.contains(&"s1") as usize;
            assert_eq!(r.stats().subscribers, subscribers, "{case}");
        }
    }
}
