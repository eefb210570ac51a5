//! Reconnects, redo, the grace period, and slow consumers: real server restarts and real
//! connection cuts (through a TCP proxy).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use roster_core::{PublisherRegistration, Scope, SubscriberRegistration};
use roster_server::Server;

const SVC: &str = "svc.Resilience:1.0";

#[tokio::test]
async fn server_restart_redoes_every_registration() {
    let server = server().await;
    let addr = server.grpc_addr();
    // The publisher comes back later than the watcher, as it would in a real restart.
    let slow_back = builder(&server.endpoint())
        .reconnect_delay(Duration::from_millis(600), Duration::from_secs(1));
    let publisher = connected(slow_back).await;
    let watcher = client(&server.endpoint()).await;
    let mut pubs = Vec::new();
    for i in 0..20 {
        let reg = PublisherRegistration::new(format!("{SVC}.{}", i % 4))
            .data([format!("bolt://10.0.0.{i}:1")]);
        pubs.push(publisher.publish(reg).await.unwrap());
    }
    let mut subs = Vec::new();
    for i in 0..4 {
        subs.push(
            watcher
                .subscribe(SubscriberRegistration::new(format!("{SVC}.{i}")).scope(Scope::Global))
                .await
                .unwrap(),
        );
    }
    for s in &subs {
        s.wait_for(|d| d.len() == 5, WAIT).await.unwrap();
    }
    let before: Vec<u64> = subs.iter().map(|s| s.peek().unwrap().version).collect();
    // Record every version each subscriber is given from here on.
    let seen: Vec<Arc<Mutex<Vec<usize>>>> = subs
        .iter()
        .map(|s| {
            let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
            let (log, mut updates) = (seen.clone(), s.updates());
            tokio::spawn(async move {
                while let Some(d) = updates.next().await {
                    log.lock().unwrap().push(d.len());
                }
            });
            seen
        })
        .collect();

    server.shutdown().await;
    let warm = roster_server::Config {
        listen: addr,
        warmup: Duration::from_secs(3),
        ..config(Duration::from_secs(2))
    };
    let restarted = Server::start(warm).await.unwrap();
    publisher.wait_connected(WAIT).await.unwrap();
    watcher.wait_connected(WAIT).await.unwrap();

    for (s, old) in subs.iter().zip(before) {
        // Versions keep growing across a server restart, so the client takes the new data.
        s.wait_for(|d| d.len() == 5 && d.version > old, WAIT)
            .await
            .unwrap();
    }
    for log in &seen {
        let sizes = log.lock().unwrap().clone();
        assert!(
            sizes.iter().all(|&n| n == 5),
            "a subscriber saw its providers vanish: {sizes:?}"
        );
    }
    let stats = restarted.stats();
    assert_eq!((stats.publishers, stats.subscribers), (20, 4));
    // The handles still work on the new server.
    pubs[0].republish(["bolt://changed:1"]).await.unwrap();
    subs[0]
        .wait_for(|d| d.items().any(|i| i == "bolt://changed:1"), WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_blip_shorter_than_the_grace_period_pushes_nothing() {
    let (server, proxy) = proxied_server(Duration::from_secs(2)).await;
    let provider = client(&proxy.endpoint()).await;
    let consumer = client(&server.endpoint()).await;
    let _p = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://p:1"]))
        .await
        .unwrap();
    let s = consumer
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let seen = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    let pushes = metric(&server, "roster_pushes_total");

    proxy.cut();
    // The provider notices, reconnects through the proxy and resumes its session.
    let deadline = Instant::now() + WAIT;
    while metric(&server, "roster_sessions_resumed_total") < 1.0 {
        assert!(Instant::now() < deadline, "the provider did not resume");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    provider.wait_connected(WAIT).await.unwrap();
    // Wait past the grace period: the resumed session must not expire either.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        metric(&server, "roster_pushes_total"),
        pushes,
        "no push during or after the blip"
    );
    assert_eq!(s.peek().unwrap().version, seen.version);
    assert_eq!(server.stats().publishers, 1);
}

#[tokio::test]
async fn a_vanished_client_is_removed_after_the_grace_period_not_before() {
    let (server, proxy) = proxied_server(Duration::from_secs(2)).await;
    let provider = client(&proxy.endpoint()).await;
    let consumer = client(&server.endpoint()).await;
    let _p = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://p:1"]))
        .await
        .unwrap();
    let s = consumer
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();

    let cut_at = Instant::now();
    proxy.kill(); // the provider can no longer reach the server at all
    s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    let after = cut_at.elapsed();
    assert!(
        after >= Duration::from_millis(1900),
        "removed after {after:?}, before the 2 s grace period"
    );
    assert_eq!(metric(&server, "roster_sessions_expired_total"), 1.0);
    assert_eq!(server.stats().sessions_detached, 0);
}

#[tokio::test]
async fn a_slow_callback_delays_no_one_and_ends_on_the_newest_version() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let (release_tx, release_rx) = std_mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let slow_calls: Arc<Mutex<Vec<u64>>> = Arc::default();
    let fast_calls: Arc<Mutex<Vec<u64>>> = Arc::default();

    let calls = slow_calls.clone();
    let slow = c
        .subscribe_with(SubscriberRegistration::new("svc.slow"), move |d| {
            calls.lock().unwrap().push(d.version);
            // Blocks until the test lets it go (a callback that sleeps for a long time).
            let _ = release_rx.lock().unwrap().recv();
        })
        .await
        .unwrap();
    let calls = fast_calls.clone();
    let fast = c
        .subscribe_with(SubscriberRegistration::new("svc.fast"), move |d| {
            calls.lock().unwrap().push(d.version)
        })
        .await
        .unwrap();

    let ps = c
        .publish(PublisherRegistration::new("svc.slow").data(["s0"]))
        .await
        .unwrap();
    let pf = c
        .publish(PublisherRegistration::new("svc.fast").data(["f0"]))
        .await
        .unwrap();
    for i in 1..=5 {
        ps.republish([format!("s{i}")]).await.unwrap();
        pf.republish([format!("f{i}")]).await.unwrap();
    }
    // The fast subscriber's callback saw its newest version while the slow one is stuck.
    let newest_fast = fast
        .wait_for(|d| d.items().any(|i| i == "f5"), WAIT)
        .await
        .unwrap()
        .version;
    let deadline = Instant::now() + WAIT;
    while fast_calls.lock().unwrap().last() != Some(&newest_fast) {
        assert!(
            Instant::now() < deadline,
            "the fast callback was held up: {:?}",
            fast_calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        slow_calls.lock().unwrap().len(),
        1,
        "the slow callback is still in its first call"
    );

    let newest_slow = slow
        .wait_for(|d| d.items().any(|i| i == "s5"), WAIT)
        .await
        .unwrap()
        .version;
    release_tx.send(()).unwrap(); // the first call returns...
    let deadline = Instant::now() + WAIT;
    while slow_calls.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    release_tx.send(()).unwrap();
    let slow_seen = slow_calls.lock().unwrap().clone();
    // ...and the next call gets the newest data, skipping everything in between.
    assert_eq!(
        slow_seen[1], newest_slow,
        "coalesced to the newest: {slow_seen:?}"
    );
    let fast_seen = fast_calls.lock().unwrap().clone();
    assert!(
        fast_seen.windows(2).all(|w| w[0] < w[1]),
        "versions only grow: {fast_seen:?}"
    );
}

#[tokio::test]
async fn a_panicking_callback_keeps_getting_pushes() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let _s = c
        .subscribe_with(SubscriberRegistration::new(SVC), move |_| {
            n.fetch_add(1, Ordering::SeqCst);
            panic!("callback bug");
        })
        .await
        .unwrap();
    let p = c
        .publish(PublisherRegistration::new(SVC).data(["a"]))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while calls.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.republish(["b"]).await.unwrap();
    while calls.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "pushes stopped after a panic");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
