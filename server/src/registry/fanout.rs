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
