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
        let Some(reg) = s.regs.get(regist_id) else {
            // A new registration: within the session's allowance? (`regs` also holds the
            // tombstones.)
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
