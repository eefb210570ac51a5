//! Incremental pushes: on the wire (a hand-driven session that asked for deltas gets one
//! splice per change, recovers a delta it cannot apply with `Refresh`, and starts again
//! with full data on a new stream), and end to end (a client applying deltas and one
//! that asked for none agree item for item, in order, through random changes by
//! interleaved publishers of two zones, seen through every scope).

mod common;

use std::collections::BTreeMap;

use common::*;
use roster_core::{
    PublisherRegistration, Scope, Subscriber, SubscriberData, SubscriberRegistration,
};
use roster_proto::v1::{self, client_frame::Body};

const SVC: &str = "svc.Deltas:1.0";

fn subscribe(regist_id: &str) -> Body {
    subscribe_as(regist_id, 0)
}

/// A subscriber with the client's `handle` for it (0: none).
fn subscribe_as(regist_id: &str, handle: u32) -> Body {
    Body::Subscribe(v1::Subscribe {
        regist_id: regist_id.into(),
        key: key(SVC),
        version: 1,
        scope: v1::Scope::Global.into(),
        convert_application: false,
        handle,
    })
}

#[tokio::test]
async fn pushes_name_subscribers_by_the_handle_their_client_gave() {
    let server = server().await;
    let ep = server.endpoint();
    let mut publisher = Raw::open(&ep, "publisher", "z").await;
    publisher.call(publish("p", SVC, 1, &["a"])).await;
    let mut raw = Raw::open(&ep, "subscriber", "z").await;
    raw.call(subscribe_as("by-id", 0)).await;
    raw.drain_pushes().await;
    raw.call(subscribe_as("by-handle", 42)).await;
    let first = only(raw.drain_pushes().await);
    assert!(first.subscriber_ids.is_empty());
    assert_eq!(first.subscriber_handles, [42]);
    // One push for both: one by registId, one by handle.
    publisher.call(publish("p", SVC, 2, &["b"])).await;
    let both = only(raw.drain_pushes().await);
    assert_eq!(both.subscriber_ids, ["by-id"]);
    assert_eq!(both.subscriber_handles, [42]);
}

fn items(p: &v1::Push) -> Vec<String> {
    p.zones
        .iter()
        .flat_map(|z| {
            z.data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect()
}

/// An address long enough that a one-item change is smaller as a delta than the list.
fn long(tag: &str) -> String {
    format!("bolt://10.0.0.1:12200/{tag}?weight=100&timeout=3000")
}

/// The one push in `pushes`.
fn only(mut pushes: Vec<v1::Push>) -> v1::Push {
    assert_eq!(pushes.len(), 1, "one push: {pushes:?}");
    pushes.remove(0)
}

#[tokio::test]
async fn a_session_that_asks_gets_splices_and_recovers_with_refresh() {
    let server = server().await;
    let ep = server.endpoint();
    let mut publisher = Raw::open(&ep, "publisher", "z").await;
    for (i, item) in [long("a"), long("b"), long("c"), long("d"), long("e")]
        .into_iter()
        .enumerate()
    {
        publisher
            .call(publish(&format!("p{i}"), SVC, 1, &[&item]))
            .await;
    }
    let mut new = Raw::open_with(&ep, "new", "z", true).await;
    let mut old = Raw::open(&ep, "old", "z").await;
    new.call(subscribe("s")).await;
    let full = only(new.drain_pushes().await);
    assert_eq!(
        (full.base_version, items(&full)),
        (
            0,
            vec![long("a"), long("b"), long("c"), long("d"), long("e")]
        )
    );
    old.call(subscribe("s")).await;
    old.drain_pushes().await;

    // One publisher's change: the new session gets one splice, the old one the full list.
    publisher
        .call(publish("p1", SVC, 2, &[long("b2").as_str()]))
        .await;
    let delta = only(new.drain_pushes().await);
    assert_eq!(delta.base_version, full.version);
    assert!(delta.zones.is_empty(), "a delta carries no full list");
    assert_eq!(delta.deltas.len(), 1);
    let z = &delta.deltas[0];
    assert_eq!((z.zone.as_str(), z.start, z.delete), ("z", 1, 1));
    assert_eq!(z.insert, vec![bytes::Bytes::from(long("b2"))]);
    let old_push = only(old.drain_pushes().await);
    assert_eq!(
        old_push.base_version, 0,
        "no delta to a session that did not ask"
    );
    assert_eq!(old_push.version, delta.version);
    assert_eq!(
        items(&old_push),
        [long("a"), long("b2"), long("c"), long("d"), long("e")]
    );

    // A publisher gone: a splice that deletes and inserts nothing.
    publisher
        .call(Body::Unregister(v1::Unregister {
            regist_id: "p0".into(),
            version: 2,
        }))
        .await;
    let gone = only(new.drain_pushes().await);
    assert_eq!(gone.base_version, delta.version);
    assert_eq!((gone.deltas[0].start, gone.deltas[0].delete), (0, 1));
    assert!(gone.deltas[0].insert.is_empty());

    // A client that cannot apply a delta asks for the view in full; the next delta is
    // based on that full push.
    new.tx
        .send(frame(
            0,
            Body::Refresh(v1::Refresh {
                key: key(SVC),
                scope: v1::Scope::Global.into(),
                convert_application: false,
            }),
        ))
        .unwrap();
    let again = only(new.drain_pushes().await);
    assert_eq!(again.base_version, 0);
    assert_eq!(items(&again), [long("b2"), long("c"), long("d"), long("e")]);
    assert_eq!(again.subscriber_ids, ["s"]);
    publisher
        .call(publish("p2", SVC, 2, &[long("c2").as_str()]))
        .await;
    let next = only(new.drain_pushes().await);
    assert_eq!(next.base_version, again.version);

    // A new stream of the same client (its session resumed) starts with full data: what
    // was in flight on the old stream may be lost.
    drop(new);
    let mut resumed = Raw::open_with(&ep, "new", "z", true).await;
    publisher
        .call(publish("p2", SVC, 3, &[long("c3").as_str()]))
        .await;
    let first = only(resumed.drain_pushes().await);
    assert_eq!(first.base_version, 0, "full data first on a new stream");
    assert_eq!(
        items(&first),
        [long("b2"), long("c3"), long("d"), long("e")]
    );
    publisher
        .call(publish("p2", SVC, 4, &[long("c4").as_str()]))
        .await;
    assert_eq!(
        only(resumed.drain_pushes().await).base_version,
        first.version
    );

    // A view of fewer than four items is never a base: the push after it is full.
    for (rid, version) in [("p3", 2), ("p4", 2)] {
        let regist_id = rid.into();
        publisher
            .call(Body::Unregister(v1::Unregister { regist_id, version }))
            .await;
    }
    let pushes = resumed.drain_pushes().await;
    assert_eq!(pushes.len(), 2);
    assert!(pushes[0].base_version != 0, "based on four items");
    assert_eq!(pushes[1].base_version, 0, "three items are no base");
    assert_eq!(items(&pushes[1]), [long("b2"), long("c4")]);
}

/// A small deterministic generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const SCOPES: [Scope; 3] = [Scope::Zone, Scope::DataCenter, Scope::Global];

/// What a subscriber in zone z1 of every data center should see, as a multiset.
fn expected(live: &BTreeMap<(usize, usize), Vec<String>>, scope: Scope) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for ((zone, _), data) in live {
        if scope == Scope::Zone && *zone != 0 {
            continue;
        }
        for i in data {
            *m.entry(i.clone()).or_default() += 1;
        }
    }
    m
}

fn counts(d: &SubscriberData) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in d.items() {
        *m.entry(i.to_owned()).or_default() += 1;
    }
    m
}

#[tokio::test]
async fn clients_with_and_without_deltas_agree_through_random_changes() {
    let server = server().await;
    let ep = server.endpoint();
    let zones = ["z1", "z2"];
    let mut writers = Vec::new();
    for z in zones {
        writers.push(connected(builder(&ep).zone(z)).await);
    }
    let with = connected(builder(&ep).zone("z1")).await;
    let without = connected(builder(&ep).zone("z1").incremental_pushes(false)).await;
    let mut subs: Vec<(Scope, Subscriber, Subscriber)> = Vec::new();
    for scope in SCOPES {
        let reg = || SubscriberRegistration::new(SVC).scope(scope);
        subs.push((
            scope,
            with.subscribe(reg()).await.unwrap(),
            without.subscribe(reg()).await.unwrap(),
        ));
    }

    // Four publishers per zone, registered alternately so the zones' lists interleave.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut publishers = BTreeMap::new();
    let mut live: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut n = 0;
    for step in 0..60 {
        let (zone, slot) = (rng.below(2), rng.below(4));
        match (publishers.contains_key(&(zone, slot)), rng.below(4)) {
            (true, 0) => {
                let p: roster_core::Publisher = publishers.remove(&(zone, slot)).unwrap();
                p.unregister().await.unwrap();
                live.remove(&(zone, slot));
            }
            (present, _) => {
                let data: Vec<String> = (0..rng.below(4))
                    .map(|_| {
                        n += 1;
                        format!("10.{zone}.{slot}.{n}:80")
                    })
                    .collect();
                if present {
                    publishers[&(zone, slot)]
                        .republish(data.clone())
                        .await
                        .unwrap();
                } else {
                    let reg = PublisherRegistration::new(SVC).data(data.clone());
                    publishers.insert((zone, slot), writers[zone].publish(reg).await.unwrap());
                }
                live.insert((zone, slot), data);
            }
        }
        for (scope, a, b) in &subs {
            let want = expected(&live, *scope);
            let a = a
                .wait_for(|d| counts(d) == want, WAIT)
                .await
                .unwrap_or_else(|e| panic!("step {step}, {scope:?}, with deltas: {e}"));
            let b = b
                .wait_for(|d| counts(d) == want, WAIT)
                .await
                .unwrap_or_else(|e| panic!("step {step}, {scope:?}, full pushes: {e}"));
            if a.version == b.version {
                assert_eq!(
                    a.zones, b.zones,
                    "step {step}, {scope:?}: the same list, in order"
                );
            }
        }
    }
}
