//! The server's handling of what clients send: a script of sessions attaching, detaching
//! and expiring, registrations on a small key space (so they collide), revisions, and raw
//! client frames (any bytes a client could put on the wire), run on two registries. No
//! operation may panic, and the two (whose hash maps are seeded differently, as in two
//! replicas) must end with identical snapshots, as must a registry restored from one.

#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parking_lot::Mutex;
use roster_proto::appmeta::{self, ServiceUrl};
use roster_proto::prost::Message;
use roster_proto::rules::Limits;
use roster_proto::v1;
use roster_server::registry::{Effects, Outbox, Registry, SessionId};

#[derive(Arbitrary, Debug)]
enum Step {
    Attach {
        client: u8,
        zone: u8,
        deltas: bool,
    },
    Detach {
        client: u8,
    },
    Expire {
        client: u8,
    },
    Publish {
        client: u8,
        rid: u8,
        data: u8,
        group: u8,
        version: u8,
        items: Vec<u8>,
    },
    Subscribe {
        client: u8,
        rid: u8,
        data: u8,
        scope: i32,
        convert: bool,
        handle: u8,
    },
    Unregister {
        client: u8,
        rid: u8,
        version: u8,
    },
    Refresh {
        client: u8,
        data: u8,
        scope: i32,
        convert: bool,
    },
    Revision {
        client: u8,
        app: u8,
    },
    RedoComplete {
        client: u8,
    },
    Collect,
    Clock(u16),
    /// Any bytes, read as a client frame on that client's session.
    Raw {
        client: u8,
        bytes: Vec<u8>,
    },
}

/// Keeps what a session was sent, so pushes are built and encoded as for a real stream.
#[derive(Default)]
struct Sink(Mutex<usize>);

impl Outbox for Sink {
    fn send(&self, frame: v1::ServerFrame) -> bool {
        *self.0.lock() += frame.encoded_len();
        true
    }
    fn close(&self) {}
}

const CLIENTS: u8 = 4;
const GROUPS: [&str; 4] = ["", "SOFA_APP", "ROSTER_INTERFACE_APPS/DEFAULT_GROUP", "g"];

/// What the registry answers goes to the sinks (undelivered frames are a bug it asserts).
fn deliver(mut fx: Effects) {
    fx.deliver();
}

fn key(data: u8, group: u8) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: format!("svc{}", data % 3),
        group: GROUPS[usize::from(group) % GROUPS.len()].into(),
        instance_id: String::new(),
    })
}

/// An item: an interface URL, an application instance of `app{n}`'s revision, or junk.
fn item(n: u8, revisions: &[String]) -> Bytes {
    let host = n % 16;
    let text = match n % 3 {
        0 => format!("bolt://10.0.0.{host}:12200?weight={n}"),
        1 => format!(
            "bolt://10.0.0.{host}:12200?{}={}&weight={n}",
            appmeta::REVISION_PARAM,
            revisions[usize::from(n) % revisions.len()]
        ),
        _ => format!("not a url {n}"),
    };
    Bytes::from(text)
}

/// The revision metadata of application `app{n}`, serving svc0..svc2 over bolt.
fn revision(n: u8) -> v1::AppRevision {
    let services: Vec<(String, ServiceUrl)> = (0..3)
        .map(|s| {
            let iface = format!("svc{s}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP");
            (
                iface,
                ServiceUrl::parse("bolt://10.0.0.1:12200?timeout=3000").expect("a URL"),
            )
        })
        .collect();
    let meta = appmeta::instance_from_services(&format!("app{}", n % 2), &services)
        .expect("one service at least")
        .metadata;
    (&meta).into()
}

struct Replica {
    reg: Registry,
    sessions: [Option<(SessionId, u64)>; CLIENTS as usize],
}

impl Replica {
    fn run(&mut self, step: &Step, revisions: &[String]) {
        let reg = &mut self.reg;
        let at = |c: u8| usize::from(c % CLIENTS);
        let session = |s: &[Option<(SessionId, u64)>; 4], c: u8| s[at(c)];
        match step {
            Step::Attach {
                client,
                zone,
                deltas,
            } => {
                let hello = v1::Hello {
                    client_id: format!("client{}", at(*client)),
                    app_name: "app".into(),
                    zone: format!("z{}", zone % 2),
                    data_center: "dc".into(),
                    deltas: *deltas,
                    ..Default::default()
                };
                let sink: Arc<dyn Outbox> = Arc::new(Sink::default());
                if let Ok(a) = reg.attach(&hello, Some(sink)) {
                    self.sessions[at(*client)] = Some((a.session, a.epoch));
                }
            }
            Step::Detach { client } => {
                if let Some((s, e)) = session(&self.sessions, *client) {
                    reg.detach(s, e);
                }
            }
            Step::Expire { client } => {
                if let Some((s, e)) = self.sessions[at(*client)].take() {
                    if let Some(fx) = reg.expire(s, e) {
                        deliver(fx);
                    }
                }
            }
            Step::Publish {
                client,
                rid,
                data,
                group,
                version,
                items,
            } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    let p = v1::Publish {
                        regist_id: format!("p{}", rid % 4),
                        key: key(*data, *group),
                        version: u64::from(*version),
                        data: items.iter().take(8).map(|&n| item(n, revisions)).collect(),
                    };
                    deliver(reg.publish(s, 1, p));
                }
            }
            Step::Subscribe {
                client,
                rid,
                data,
                scope,
                convert,
                handle,
            } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    let sub = v1::Subscribe {
                        regist_id: format!("s{}", rid % 4),
                        key: key(*data, 0),
                        version: 1,
                        scope: *scope,
                        convert_application: *convert,
                        handle: u32::from(*handle),
                    };
                    deliver(reg.subscribe(s, 2, sub));
                }
            }
            Step::Unregister {
                client,
                rid,
                version,
            } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    let rid = if rid % 2 == 0 {
                        format!("p{}", rid % 4)
                    } else {
                        format!("s{}", rid % 4)
                    };
                    deliver(reg.unregister(
                        s,
                        3,
                        v1::Unregister {
                            regist_id: rid,
                            version: u64::from(*version),
                        },
                    ));
                }
            }
            Step::Refresh {
                client,
                data,
                scope,
                convert,
            } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    let r = v1::Refresh {
                        key: key(*data, 0),
                        scope: *scope,
                        convert_application: *convert,
                    };
                    deliver(reg.refresh(s, r));
                }
            }
            Step::Revision { client, app } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    let r = v1::RegisterRevision {
                        revision: Some(revision(*app)),
                    };
                    deliver(reg.register_revision(s, 4, r));
                }
            }
            Step::RedoComplete { client } => {
                if let Some((s, _)) = session(&self.sessions, *client) {
                    deliver(reg.redo_complete(s));
                }
            }
            Step::Collect => {
                reg.collect(u64::MAX);
            }
            Step::Clock(t) => reg.set_clock(1_000_000 + u64::from(*t) * 1000),
            Step::Raw { client, bytes } => {
                let Some((s, _)) = session(&self.sessions, *client) else {
                    return;
                };
                let Ok(frame) = v1::ClientFrame::decode(bytes.as_slice()) else {
                    return;
                };
                use v1::client_frame::Body;
                match frame.body {
                    Some(Body::Publish(p)) => deliver(reg.publish(s, frame.request_id, p)),
                    Some(Body::Subscribe(x)) => deliver(reg.subscribe(s, frame.request_id, x)),
                    Some(Body::Unregister(u)) => deliver(reg.unregister(s, frame.request_id, u)),
                    Some(Body::RegisterRevision(r)) => {
                        deliver(reg.register_revision(s, frame.request_id, r))
                    }
                    Some(Body::Refresh(r)) => deliver(reg.refresh(s, r)),
                    Some(Body::RedoComplete(_)) => deliver(reg.redo_complete(s)),
                    _ => {}
                }
            }
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let revisions: Vec<String> = (0..2).map(|n| revision(n).revision).collect();
    let mut replicas: Vec<Replica> = (0..2)
        .map(|_| Replica {
            reg: Registry::new(Limits::default(), false),
            sessions: [None; 4],
        })
        .collect();
    for r in &mut replicas {
        r.reg.set_clock(1_000_000);
    }
    for step in steps.iter().take(200) {
        for r in &mut replicas {
            r.run(step, &revisions);
        }
    }
    let (a, b) = (replicas[0].reg.snapshot(), replicas[1].reg.snapshot());
    assert_eq!(
        a.encode_to_vec(),
        b.encode_to_vec(),
        "two replicas disagree"
    );
    let restored = Registry::restore(Limits::default(), a.clone());
    assert_eq!(
        restored.snapshot().encode_to_vec(),
        a.encode_to_vec(),
        "a restored registry differs"
    );
});
