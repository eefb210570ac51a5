//! The node-list cache and the failover snapshot, with real servers stopped and started.

mod common;

use std::time::Duration;

use common::*;
use roster_core::{PublisherRegistration, Scope, SubscriberRegistration};
use roster_server::Server;

const SVC: &str = "svc.Cached:1.0";

/// A loopback port with nothing listening on it.
async fn dead_endpoint() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

#[tokio::test]
async fn a_client_with_a_dead_bootstrap_endpoint_starts_through_the_cached_node_list() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let first = connected(builder(&server.endpoint()).cache_dir(dir.path())).await;
    first.close().await;
    let cached = std::fs::read_to_string(dir.path().join("members.json")).unwrap();
    assert!(cached.contains(&server.endpoint()), "{cached}");

    let dead = dead_endpoint().await;
    let second = builder(&dead).cache_dir(dir.path()).build().unwrap();
    second.wait_connected(WAIT).await.unwrap();
    let _p = second
        .publish(PublisherRegistration::new(SVC).data(["x"]))
        .await
        .unwrap();
    assert_eq!(server.stats().publishers, 1);

    // Without the cache the same client cannot get anywhere.
    let lost = builder(&dead).build().unwrap();
    let e = lost
        .wait_connected(Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), roster_core::ErrorKind::NotConnected);
    assert!(e.message().contains(&dead), "{e}");
    assert!(
        e.message().contains("Connection refused"),
        "the cause is named: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_a_subscriber_saw_is_in_the_snapshot_once_its_client_is_closed() {
    // A reader woken by a push may close the client at once: the snapshot must already
    // hold that push (it is stored before readers wake). Repeated: the race is narrow.
    let server = server().await;
    let provider = client(&server.endpoint()).await;
    let p = provider
        .publish(PublisherRegistration::new(SVC).data(["v0"]))
        .await
        .unwrap();
    let dead = dead_endpoint().await;
    for i in 1..=100 {
        let item = format!("v{i}");
        p.republish([item.as_str()]).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let c = connected(builder(&server.endpoint()).cache_dir(dir.path())).await;
        let s = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
        // Waited for on a thread of its own (as a host language's thread does), so the
        // reader runs the moment it is woken, alongside the network task.
        let rt = tokio::runtime::Handle::current();
        let want = item.clone();
        tokio::task::spawn_blocking(move || {
            rt.block_on(async {
                s.wait_for(|d| d.items().eq([want.as_str()]), WAIT)
                    .await
                    .unwrap();
                c.close().await;
            })
        })
        .await
        .unwrap();
        // Truly offline: without the cached node list, which would lead it to the live
        // server (then `peek` could run before the live push, and see nothing).
        std::fs::remove_file(dir.path().join("members.json")).unwrap();
        let offline = builder(&dead).cache_dir(dir.path()).build().unwrap();
        let cached = offline
            .subscribe(SubscriberRegistration::new(SVC))
            .await
            .unwrap()
            .peek();
        assert_eq!(
            cached.map(|d| d.items().map(str::to_owned).collect::<Vec<_>>()),
            Some(vec![item]),
            "round {i}"
        );
        offline.close().await;
    }
}

#[tokio::test]
async fn failover_snapshot_serves_cached_data_until_the_registry_answers() {
    let server = server().await;
    let addr = server.grpc_addr();
    let dir = tempfile::tempdir().unwrap();

    // A first run sees live data, which lands in the snapshot.
    let provider = client(&server.endpoint()).await;
    let _p = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://old:1"]))
        .await
        .unwrap();
    let first = connected(builder(&server.endpoint()).cache_dir(dir.path())).await;
    let s = first
        .subscribe(SubscriberRegistration::new(SVC).scope(Scope::Global))
        .await
        .unwrap();
    let live = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    drop(s);
    first.close().await; // flushes the snapshot
    provider.close().await;
    server.shutdown().await;

    // The registry is down: a restarted client's subscriber gets the cached data, marked.
    let second = builder(&addr.to_string())
        .cache_dir(dir.path())
        .build()
        .unwrap();
    let s = second
        .subscribe(SubscriberRegistration::new(SVC).scope(Scope::Global))
        .await
        .unwrap();
    let cached = s.peek().expect("cached data at once");
    assert!(cached.from_cache);
    assert_eq!(
        (cached.version, cached.items().collect::<Vec<_>>()),
        (live.version, vec!["bolt://old:1"])
    );
    assert!(!second.is_connected());
    // A snapshot is per scope: a zone-scoped subscription has none.
    let other = second
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    assert!(other.peek().is_none());

    // The registry comes back with different data: live data replaces the cache.
    let server = Server::start(roster_server::Config {
        listen: addr,
        ..config(Duration::from_secs(2))
    })
    .await
    .unwrap();
    let provider = client(&server.endpoint()).await;
    let _p = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://new:1"]))
        .await
        .unwrap();
    let fresh = s
        .wait_for(|d| !d.from_cache && d.len() == 1, WAIT)
        .await
        .unwrap();
    assert_eq!(fresh.items().collect::<Vec<_>>(), ["bolt://new:1"]);
}

#[tokio::test]
async fn an_application_level_subscriber_is_served_from_its_snapshot_too() {
    use roster_core::{PublishMode, SubscribeMode};
    let server = server().await;
    let addr = server.grpc_addr();
    let dir = tempfile::tempdir().unwrap();
    let url = "bolt://10.7.0.1:12200?timeout=3000";
    let provider = connected(
        builder(&server.endpoint())
            .app_name("cached-app")
            .publish_mode(PublishMode::Application),
    )
    .await;
    let _p = provider
        .publish(PublisherRegistration::new(SVC).data([url]))
        .await
        .unwrap();
    let app_first = |endpoint: &str| {
        builder(endpoint)
            .cache_dir(dir.path())
            .subscribe_mode(SubscribeMode::ApplicationFirst)
    };
    let first = connected(app_first(&server.endpoint())).await;
    let s = first
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    s.wait_for(|d| d.items().any(|i| i == url), WAIT)
        .await
        .unwrap();
    drop(s);
    first.close().await;
    provider.close().await;
    server.shutdown().await;

    // Registry down: the converted list comes back from the snapshot, marked.
    let second = app_first(&addr.to_string()).build().unwrap();
    let s = second
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let cached = s.peek().expect("cached data at once");
    assert!(cached.from_cache);
    assert_eq!(cached.items().collect::<Vec<_>>(), [url]);
}
