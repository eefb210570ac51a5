//! Publish and subscribe against a real server over loopback.

mod common;

use common::*;
use roster_core::{ErrorKind, PublisherRegistration, Scope, SubscriberRegistration};

const SVC: &str = "com.example.OrderService:1.0";

#[tokio::test]
async fn publish_then_subscribe_delivers() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let _p = c
        .publish(PublisherRegistration::new(SVC).data(["bolt://10.0.0.1:12200"]))
        .await
        .unwrap();
    let s = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(d.items().collect::<Vec<_>>(), ["bolt://10.0.0.1:12200"]);
    assert_eq!(
        d.zones.keys().collect::<Vec<_>>(),
        [roster_core::DEFAULT_ZONE]
    );
    assert!(!d.from_cache);
}

#[tokio::test]
async fn subscribe_then_publish_delivers_republish_and_unregister() {
    let server = server().await;
    let (a, b) = (
        client(&server.endpoint()).await,
        client(&server.endpoint()).await,
    );
    let s = b.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let empty = s.wait_for(|_| true, WAIT).await.unwrap();
    assert!(
        empty.is_empty(),
        "a dataId without publishers is pushed as empty: {empty:?}"
    );

    let p = a
        .publish(PublisherRegistration::new(SVC).data(["bolt://1:1"]))
        .await
        .unwrap();
    let v1 = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert!(v1.version > empty.version);

    p.republish(["bolt://1:1", "bolt://2:2"]).await.unwrap();
    let v2 = s.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    assert!(v2.version > v1.version);
    assert_eq!(
        p.current().unwrap().0,
        2,
        "a republish makes a new registration version"
    );

    p.unregister().await.unwrap();
    let v3 = s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    assert!(v3.version > v2.version);
}

#[tokio::test]
async fn updates_stream_yields_each_new_version_in_order() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let s = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let mut updates = s.updates();
    let first = updates.next().await.unwrap();
    let p = c
        .publish(PublisherRegistration::new(SVC).data(["a"]))
        .await
        .unwrap();
    let second = updates.next().await.unwrap();
    assert!(second.version > first.version && second.len() == 1);
    p.republish(["b"]).await.unwrap();
    let third = updates.next().await.unwrap();
    assert_eq!(third.items().collect::<Vec<_>>(), ["b"]);
    assert_eq!(s.peek().unwrap().version, third.version);
    s.unsubscribe().await.unwrap();
    assert!(
        updates.next().await.is_none(),
        "updates end with the subscription"
    );
}

#[tokio::test]
async fn scopes_filter_by_zone_and_data_center() {
    let server = server().await;
    let e = server.endpoint();
    let in_zone = |zone: &str, dc: &str| builder(&e).zone(zone).data_center(dc);
    let a1 = connected(in_zone("zone-a1", "dc-a")).await;
    let a2 = connected(in_zone("zone-a2", "dc-a")).await;
    let b1 = connected(in_zone("zone-b1", "dc-b")).await;

    let _pa1 = a1
        .publish(PublisherRegistration::new(SVC).data(["a1"]))
        .await
        .unwrap();
    let _pa2 = a2
        .publish(PublisherRegistration::new(SVC).data(["a2"]))
        .await
        .unwrap();
    let _pb1 = b1
        .publish(PublisherRegistration::new(SVC).data(["b1"]))
        .await
        .unwrap();

    let zone = a1
        .subscribe(SubscriberRegistration::new(SVC).scope(Scope::Zone))
        .await
        .unwrap();
    let dc = a1
        .subscribe(SubscriberRegistration::new(SVC).scope(Scope::DataCenter))
        .await
        .unwrap();
    let global = a1
        .subscribe(SubscriberRegistration::new(SVC).scope(Scope::Global))
        .await
        .unwrap();

    let z = zone.wait_for(|d| !d.is_empty(), WAIT).await.unwrap();
    assert_eq!(z.items().collect::<Vec<_>>(), ["a1"]);
    let d = dc.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    assert_eq!(d.zones.keys().collect::<Vec<_>>(), ["zone-a1", "zone-a2"]);
    let g = global.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
    assert_eq!(g.items().collect::<Vec<_>>(), ["a1", "a2", "b1"]);

    // A change in another zone is not pushed to a zone-scoped subscriber at all.
    let before = zone.peek().unwrap().version;
    let _pb2 = b1
        .publish(PublisherRegistration::new(SVC).data(["b1-2"]))
        .await
        .unwrap();
    global.wait_for(|d| d.len() == 4, WAIT).await.unwrap();
    // A round trip on a1's own stream orders after any push the change caused there.
    let _barrier = a1
        .subscribe(SubscriberRegistration::new("barrier"))
        .await
        .unwrap();
    assert_eq!(zone.peek().unwrap().version, before);
}

#[tokio::test]
async fn groups_and_instance_ids_are_separate_data() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let _p1 = c
        .publish(PublisherRegistration::new(SVC).group("G1").data(["g1"]))
        .await
        .unwrap();
    let _p2 = c
        .publish(
            PublisherRegistration::new(SVC)
                .instance_id("tenant-2")
                .data(["t2"]),
        )
        .await
        .unwrap();
    let g1 = c
        .subscribe(SubscriberRegistration::new(SVC).group("G1"))
        .await
        .unwrap();
    let t2 = c
        .subscribe(SubscriberRegistration::new(SVC).instance_id("tenant-2"))
        .await
        .unwrap();
    let default = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    assert_eq!(
        g1.wait_for(|d| !d.is_empty(), WAIT)
            .await
            .unwrap()
            .items()
            .collect::<Vec<_>>(),
        ["g1"]
    );
    assert_eq!(
        t2.wait_for(|d| !d.is_empty(), WAIT)
            .await
            .unwrap()
            .items()
            .collect::<Vec<_>>(),
        ["t2"]
    );
    assert!(default.wait_for(|_| true, WAIT).await.unwrap().is_empty());
    assert_eq!(
        g1.data_info_id().to_string(),
        format!("{SVC}#@#DEFAULT_INSTANCE_ID#@#G1")
    );
}

#[tokio::test]
async fn dropping_a_handle_unregisters_and_close_removes_everything_at_once() {
    let server = server().await;
    let (a, b) = (
        client(&server.endpoint()).await,
        client(&server.endpoint()).await,
    );
    let s = b.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let p = a
        .publish(PublisherRegistration::new(SVC).data(["x"]))
        .await
        .unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    drop(p);
    s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();

    let _p = a
        .publish(PublisherRegistration::new(SVC).data(["y"]))
        .await
        .unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    a.close().await;
    // Removed by the close itself, well before the 2 s grace period could.
    s.wait_for(|d| d.is_empty(), std::time::Duration::from_millis(1500))
        .await
        .unwrap();
    let err = a
        .publish(PublisherRegistration::new(SVC))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::ShutDown);
}

/// Operations take effect when called: republishes started one after another and then
/// polled in any order (here each on its own task) still leave the last one's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_apply_in_the_order_they_are_called_awaited_or_not() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let p = c
        .publish(PublisherRegistration::new("svc.Order").data(["v0"]))
        .await
        .unwrap();
    let started: Vec<_> = (1..=50)
        .map(|i| tokio::spawn(p.republish([format!("v{i}")])))
        .collect();
    for s in started {
        s.await.unwrap().unwrap();
    }
    assert_eq!(p.current(), Some((51, vec!["v50".to_owned()])));
    let watcher = client(&server.endpoint()).await;
    let s = watcher
        .subscribe(SubscriberRegistration::new("svc.Order"))
        .await
        .unwrap();
    s.wait_for(|d| d.items().eq(["v50"]), WAIT).await.unwrap();
    // An unregister started right after a republish is not overtaken by it.
    let last = p.republish(["v51"]);
    let gone = p.unregister();
    let (last, gone) = tokio::join!(tokio::spawn(gone), tokio::spawn(last));
    gone.unwrap().unwrap();
    assert!(last.unwrap().is_ok());
    s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    c.close().await;
    watcher.close().await;
}
