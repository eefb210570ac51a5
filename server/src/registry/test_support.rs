//! Helpers shared by the registry's unit tests: an outbox that records what it is sent, and
//! builders of the frames a client sends.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use roster_proto::v1::{self, AckCode, Scope};

use super::{Outbox, Registry, SessionId};

/// Records the frames sent to one session.
#[derive(Default)]
pub(crate) struct Collect(Mutex<Vec<v1::ServerFrame>>);

impl Outbox for Collect {
    fn send(&self, frame: v1::ServerFrame) -> bool {
        self.0.lock().push(frame);
        true
    }
    fn close(&self) {}
}

impl Collect {
    /// Takes the frames sent so far.
    pub(crate) fn take(&self) -> Vec<v1::ServerFrame> {
        std::mem::take(&mut *self.0.lock())
    }

    /// Takes the frames sent so far and returns the pushes among them.
    pub(crate) fn pushes(&self) -> Vec<v1::Push> {
        self.take()
            .into_iter()
            .filter_map(|f| match f.body {
                Some(v1::server_frame::Body::Push(p)) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// Takes the frames sent so far and returns the acks among them: code and message.
    pub(crate) fn acks(&self) -> Vec<(AckCode, String)> {
        self.take()
            .into_iter()
            .filter_map(|f| match f.body {
                Some(v1::server_frame::Body::Ack(a)) => {
                    Some((AckCode::try_from(a.code).expect("a known code"), a.message))
                }
                _ => None,
            })
            .collect()
    }

    /// Takes the frames sent so far and returns the only ack among them.
    pub(crate) fn ack(&self) -> (AckCode, String) {
        let mut acks = self.acks();
        assert_eq!(acks.len(), 1, "one ack: {acks:?}");
        acks.pop().expect("checked")
    }
}

/// A Hello of `client` in zone `z`, data center `dc`.
pub(crate) fn hello(client: &str) -> v1::Hello {
    hello_in(client, "z", "dc")
}

pub(crate) fn hello_in(client: &str, zone: &str, dc: &str) -> v1::Hello {
    v1::Hello {
        client_id: client.into(),
        app_name: "t".into(),
        zone: zone.into(),
        data_center: dc.into(),
        ..Default::default()
    }
}

/// Attaches `client` in `zone`/`dc` with a recording outbox.
pub(crate) fn attach(
    r: &mut Registry,
    client: &str,
    zone: &str,
    dc: &str,
) -> (SessionId, Arc<Collect>) {
    let out = Arc::new(Collect::default());
    let a = r
        .attach(&hello_in(client, zone, dc), Some(out.clone()))
        .expect("a valid hello");
    (a.session, out)
}

/// The key of dataId `svc` in the default group and instance.
pub(crate) fn key() -> Option<v1::DataKey> {
    key_of("svc", "")
}

pub(crate) fn key_of(data_id: &str, group: &str) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: data_id.into(),
        group: group.into(),
        instance_id: String::new(),
    })
}

pub(crate) fn publish(rid: &str, data_id: &str, version: u64, data: &[&str]) -> v1::Publish {
    v1::Publish {
        regist_id: rid.into(),
        key: key_of(data_id, ""),
        version,
        data: data.iter().map(|d| Bytes::from(d.to_string())).collect(),
    }
}

/// A subscription at version 1, named by its registId (no handle).
pub(crate) fn subscribe(rid: &str, data_id: &str, scope: Scope) -> v1::Subscribe {
    v1::Subscribe {
        regist_id: rid.into(),
        key: key_of(data_id, ""),
        version: 1,
        scope: scope.into(),
        ..Default::default()
    }
}

pub(crate) fn unregister(rid: &str, version: u64) -> v1::Unregister {
    v1::Unregister {
        regist_id: rid.into(),
        version,
    }
}

/// A push's items, zone after zone, as text.
pub(crate) fn items(p: &v1::Push) -> Vec<String> {
    zones(p).into_iter().flat_map(|(_, items)| items).collect()
}

/// A push's zones and their items, as text.
pub(crate) fn zones(p: &v1::Push) -> Vec<(String, Vec<String>)> {
    p.zones
        .iter()
        .map(|z| {
            let items = z.data.iter().map(|b| String::from_utf8_lossy(b).into());
            (z.zone.clone(), items.collect())
        })
        .collect()
}

/// The items the registry holds for dataId `data_id` (default group), in push order.
pub(crate) fn stored(r: &Registry, data_id: &str) -> Vec<String> {
    let key = super::Key::from_proto(key_of(data_id, "").as_ref(), r.limits()).expect("valid");
    r.data.get(&key).map_or_else(Vec::new, |d| {
        d.ordered_publishers()
            .flat_map(|p| p.data.iter())
            .map(|b| String::from_utf8_lossy(b).into())
            .collect()
    })
}

/// A registration frame of a client.
#[derive(Clone)]
pub(crate) enum Op {
    Publish(v1::Publish),
    Subscribe(v1::Subscribe),
    Unregister(v1::Unregister),
}

impl From<v1::Publish> for Op {
    fn from(p: v1::Publish) -> Self {
        Op::Publish(p)
    }
}

impl From<v1::Subscribe> for Op {
    fn from(s: v1::Subscribe) -> Self {
        Op::Subscribe(s)
    }
}

impl From<v1::Unregister> for Op {
    fn from(u: v1::Unregister) -> Self {
        Op::Unregister(u)
    }
}

/// Applies `op` from `session` and delivers what it answers.
pub(crate) fn run(r: &mut Registry, session: SessionId, op: impl Into<Op>) {
    let _delivered = run_fx(r, session, op);
}

/// Applies `op` from `session` and delivers what it answers; the effects keep the counts.
pub(crate) fn run_fx(r: &mut Registry, session: SessionId, op: impl Into<Op>) -> super::Effects {
    let mut fx = match op.into() {
        Op::Publish(p) => r.publish(session, 1, p),
        Op::Subscribe(s) => r.subscribe(session, 1, s),
        Op::Unregister(u) => r.unregister(session, 1, u),
    };
    fx.deliver();
    fx
}
