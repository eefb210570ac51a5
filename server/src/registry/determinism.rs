//! Replicas must derive exactly the same state from the same commands: two registries (each
//! hash map seeded differently, as in two processes) and one restored from a snapshot half-way
//! run one script of commands, and must end with byte-identical snapshots and, where they
//! hold the streams, identical pushes.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use roster_proto::appmeta::{self, AppMetadata, ServiceInfo};
use roster_proto::prost::Message;

use super::*;

/// Records the frames sent to one session, subscriber ids sorted (their order in a push is
/// not part of its meaning).
#[derive(Default)]
struct Recorder(Mutex<Vec<v1::ServerFrame>>);

impl Outbox for Recorder {
    fn send(&self, mut frame: v1::ServerFrame) -> bool {
        if let Some(v1::server_frame::Body::Push(p)) = &mut frame.body {
            p.subscriber_ids.sort();
        }
        self.0.lock().push(frame);
        true
    }
    fn close(&self) {}
}

const SESSIONS: [(&str, &str); 4] = [("a", "z1"), ("b", "z2"), ("c", "z1"), ("d", "z2")];

fn hello(client: &str, zone: &str) -> v1::Hello {
    v1::Hello {
        client_id: client.into(),
        app_name: "app".into(),
        zone: zone.into(),
        data_center: "dc".into(),
        // Half the sessions take deltas, so both kinds of push are compared.
        deltas: client == "b" || client == "d",
        ..Default::default()
    }
}

fn key(data_id: &str, group: &str) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: data_id.into(),
        group: group.into(),
        instance_id: String::new(),
    })
}

fn publish(rid: &str, data_id: &str, group: &str, version: u64, data: &[String]) -> v1::Publish {
    v1::Publish {
        regist_id: rid.into(),
        key: key(data_id, group),
        version,
        data: data.iter().map(|d| Bytes::from(d.clone())).collect(),
    }
}

fn subscribe(rid: &str, data_id: &str, scope: Scope, convert: bool) -> v1::Subscribe {
    v1::Subscribe {
        regist_id: rid.into(),
        key: key(data_id, ""),
        version: 1,
        scope: scope.into(),
        convert_application: convert,
        // Some by handle, some by registId (0), so pushes name both ways.
        handle: rid.bytes().map(u32::from).sum::<u32>() % 3,
    }
}

/// Revision metadata of application `shop`, serving `svc0`..`svc3` over bolt on 12200.
fn shop() -> AppMetadata {
    let services: BTreeMap<String, Vec<ServiceInfo>> = (0..4)
        .map(|i| {
            let info = ServiceInfo {
                protocol: "bolt".into(),
                port: 12200,
                path: String::new(),
                params: BTreeMap::new(),
            };
            (
                format!("svc{i}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"),
                vec![info],
            )
        })
        .collect();
    AppMetadata::new("shop", BTreeMap::new(), services)
}

/// One step of the script: what a log entry would do to the registry.
/// Each session's outbox, by session id - 1 (`None`: a replica that holds no streams).
type Outboxes = [Option<Arc<dyn Outbox>>];

type Step = Box<dyn Fn(&mut Registry, &Outboxes) + Send>;

/// The script: sessions publishing and subscribing across many dataIds, application-level
/// publishers with a revision and converting subscribers, then commands that change many
/// datums at once (an expiry, a redo that drops registrations, a client that comes back in
/// another zone) and a revision collection.
fn script() -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    steps.push(Box::new(|r, outs| {
        for (i, (client, zone)) in SESSIONS.iter().enumerate() {
            r.attach(&hello(client, zone), outs[i].clone()).unwrap();
        }
    }));
    // Session ids are 1..=4 in attach order.
    steps.push(Box::new(|r, _| {
        for i in 0..12 {
            let data = [format!("bolt://10.0.1.{i}:12200")];
            r.publish(
                1,
                0,
                publish(&format!("a{i}"), &format!("svc{i}"), "", 1, &data),
            )
            .deliver();
            let data = [format!("bolt://10.0.2.{i}:12200")];
            r.publish(
                1,
                0,
                publish(&format!("a{i}x"), &format!("svc{i}"), "", 1, &data),
            )
            .deliver();
        }
        for i in 0..6 {
            let data = [format!("bolt://10.0.3.{i}:12200")];
            r.publish(
                2,
                0,
                publish(&format!("b{i}"), &format!("svc{i}"), "", 1, &data),
            )
            .deliver();
        }
    }));
    steps.push(Box::new(|r, _| {
        for i in 0..12 {
            let data_id = format!("svc{i}");
            r.subscribe(
                3,
                0,
                subscribe(&format!("g{i}"), &data_id, Scope::Global, true),
            )
            .deliver();
            r.subscribe(
                3,
                0,
                subscribe(&format!("z{i}"), &data_id, Scope::Zone, false),
            )
            .deliver();
            r.subscribe(
                4,
                0,
                subscribe(&format!("d{i}"), &data_id, Scope::DataCenter, true),
            )
            .deliver();
        }
        // Mapping subscriptions follow the interface -> applications index.
        let mapping = appmeta::mapping_group("DEFAULT_GROUP");
        for i in 0..4 {
            let mut s = subscribe(&format!("m{i}"), &format!("svc{i}"), Scope::Global, false);
            s.key = key(&format!("svc{i}"), &mapping);
            r.subscribe(4, 0, s).deliver();
        }
    }));
    steps.push(Box::new(|r, _| {
        // Application instances in three sessions (the same address twice: which one's
        // entries a converted view shows must not depend on a hash seed).
        let rev = shop().revision;
        for (session, host) in [(1, "10.0.9.1"), (2, "10.0.9.2"), (4, "10.0.9.1")] {
            let item = format!("bolt://{host}:12200?{}={rev}", appmeta::REVISION_PARAM);
            let rid = format!("app{session}");
            r.publish(
                session,
                0,
                publish(&rid, "shop", appmeta::APP_GROUP, 1, &[item]),
            )
            .deliver();
        }
        let wire = v1::AppRevision::from(&shop());
        let revision = v1::RegisterRevision {
            revision: Some(wire),
        };
        r.register_revision(4, 0, revision).deliver();
    }));
    // The snapshot a restored replica starts from is taken here.
    steps.push(Box::new(|r, _| {
        // Session a expires: one command changing a dozen datums.
        r.expire(1, 1).expect("current").deliver();
    }));
    steps.push(Box::new(|r, outs| {
        // Session d comes back and redoes only part of what it had: the redo drops the rest.
        r.attach(&hello("d", "z2"), outs[3].clone()).unwrap();
        for i in 0..3 {
            let mut s = subscribe(
                &format!("d{i}"),
                &format!("svc{i}"),
                Scope::DataCenter,
                true,
            );
            s.version = 1;
            r.subscribe(4, 0, s).deliver();
        }
        r.redo_complete(4).deliver();
    }));
    steps.push(Box::new(|r, outs| {
        // Session b comes back in another zone: a new session replaces it.
        r.attach(&hello("b", "z3"), outs[1].clone()).unwrap();
        for i in 0..4 {
            let data = [format!("bolt://10.0.4.{i}:12200")];
            r.publish(
                5,
                0,
                publish(&format!("b{i}"), &format!("svc{i}"), "", 1, &data),
            )
            .deliver();
        }
        r.unregister(
            3,
            0,
            v1::Unregister {
                regist_id: "g5".into(),
                version: 2,
            },
        )
        .deliver();
        r.collect(1);
    }));
    steps
}

/// Runs the script's steps `range` on `r`, one clock tick per step.
fn run(r: &mut Registry, steps: &[Step], range: std::ops::Range<usize>, outs: &Outboxes) {
    for i in range {
        r.set_clock(1_000_000 + i as u64 * 1_000);
        steps[i](r, outs);
    }
}

fn recorders() -> (Vec<Arc<Recorder>>, Box<Outboxes>) {
    let recs: Vec<Arc<Recorder>> = (0..SESSIONS.len()).map(|_| Arc::default()).collect();
    let outs = recs
        .iter()
        .map(|r| Some(r.clone() as Arc<dyn Outbox>))
        .collect();
    (recs, outs)
}

/// Fails naming the first part where two encoded snapshots differ (not two walls of bytes).
fn assert_same(what: &str, a: &[u8], b: &[u8]) {
    if a == b {
        return;
    }
    let decode = |bytes: &[u8]| v1::RegistrySnapshot::decode(bytes).expect("a snapshot");
    let (a, b) = (decode(a), decode(b));
    let sessions = a.sessions.iter().zip(&b.sessions).find(|(x, y)| x != y);
    let data = a.data.iter().zip(&b.data).find(|(x, y)| x != y);
    let revisions = a.revisions.iter().zip(&b.revisions).find(|(x, y)| x != y);
    panic!(
        "{what}: last_version {} vs {}; first differing session {sessions:#?}; datum {data:#?}; \
         revision {revisions:#?}",
        a.last_version, b.last_version
    );
}

#[test]
fn replicas_derive_identical_state_and_pushes_from_the_same_commands() {
    let steps = script();
    let mid = 4;
    // Each registry is built on a thread of its own, so its hash maps get seeds of their own.
    let replica = |restore_at: Option<usize>| {
        let steps = script();
        std::thread::spawn(move || {
            let (recs, outs) = recorders();
            let mut r = Registry::new(Limits::default(), false);
            let mut mid_snapshot = None;
            match restore_at {
                None => {
                    run(&mut r, &steps, 0..mid, &outs);
                    mid_snapshot = Some(r.snapshot().encode_to_vec());
                    run(&mut r, &steps, mid..steps.len(), &outs);
                }
                Some(at) => {
                    // A replica that installs a snapshot of another's state at `at`.
                    let mut donor = Registry::new(Limits::default(), false);
                    run(&mut donor, &steps, 0..at, &[None, None, None, None]);
                    let snap =
                        v1::RegistrySnapshot::decode(donor.snapshot().encode_to_vec().as_slice());
                    r = Registry::restore(Limits::default(), snap.unwrap());
                    run(&mut r, &steps, at..steps.len(), &[None, None, None, None]);
                }
            }
            let frames: Vec<Vec<v1::ServerFrame>> = recs
                .iter()
                .map(|r| std::mem::take(&mut *r.0.lock()))
                .collect();
            (r.snapshot().encode_to_vec(), frames, mid_snapshot)
        })
        .join()
        .unwrap()
    };
    assert!(steps.len() > mid);
    let (first, first_frames, first_mid) = replica(None);
    let (second, second_frames, second_mid) = replica(None);
    assert_same(
        "half-way",
        &first_mid.expect("taken"),
        &second_mid.expect("taken"),
    );
    assert_same("two replicas", &first, &second);
    let pushes = first_frames.iter().map(Vec::len).sum::<usize>();
    assert!(pushes > 100, "the script pushes plenty ({pushes})");
    for (session, (a, b)) in first_frames.iter().zip(&second_frames).enumerate() {
        assert_eq!(a, b, "frames sent to session {} differ", session + 1);
    }
    let (restored, _, _) = replica(Some(mid));
    assert_same("a replica restored from a snapshot", &first, &restored);
}
