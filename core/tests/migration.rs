//! The promises of application-level migration under run-time switches, each against a
//! real server: a publish-mode switch never makes a provider vanish, a subscribe-mode
//! switch never takes a subscriber back to an older version, a version names one list,
//! and a force-application subscription's status follows its resolution.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use roster_core::{
    Client, MigrationStatus, PublishMode, PublisherRegistration, SubscribeMode, SubscriberData,
    SubscriberRegistration,
};
use roster_proto::v1::{self, client_frame::Body};

const SVC: &str = "svc.A:1.0";

async fn provider(endpoint: &str, app: &str, mode: PublishMode) -> Client {
    connected(builder(endpoint).app_name(app).publish_mode(mode)).await
}

fn items(d: &SubscriberData) -> Vec<String> {
    let mut v: Vec<String> = d.items().map(str::to_owned).collect();
    v.sort();
    v
}

/// Providers of SVC, both with `v=1`: one at application level (host 10.0.`net`.1) and
/// one at interface level (10.0.`net`.2), with their publishers in that order.
async fn two_levels(endpoint: &str, net: u8) -> ([Client; 2], [roster_core::Publisher; 2]) {
    let new = provider(endpoint, "new-app", PublishMode::Application).await;
    let old = provider(endpoint, "old-app", PublishMode::Interface).await;
    let url = |host| format!("bolt://10.0.{net}.{host}:12201?v=1");
    let a = new.publish(PublisherRegistration::new(SVC).data([url(1)]));
    let b = old.publish(PublisherRegistration::new(SVC).data([url(2)]));
    let pubs = [a.await.unwrap(), b.await.unwrap()];
    ([new, old], pubs)
}

/// Every push a subscription's callback is handed, as (version, sorted items).
type Log = Arc<Mutex<Vec<(u64, Vec<String>)>>>;

async fn logged(c: &Client, reg: SubscriberRegistration) -> (roster_core::Subscriber, Log) {
    let log: Log = Arc::default();
    let into = log.clone();
    let s = c
        .subscribe_with(reg, move |d| {
            into.lock().unwrap().push((d.version, items(&d)));
        })
        .await
        .unwrap();
    (s, log)
}

/// Waits until every push sent so far reached the callbacks: a round trip through the
/// registry, then a moment for the dispatcher.
async fn settle(c: &Client) {
    let _barrier = c
        .subscribe(SubscriberRegistration::new("barrier"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Issue 1: the switch from interface to application level withdrew the interface
/// publisher before the application publisher was registered, and consumers were pushed
/// an empty list in between. A client's consumer may skip such a push (a slot keeps the
/// newest data only), so a raw session converting like a force-interface subscription
/// records every push the registry sends too.
#[tokio::test]
async fn switching_the_publish_mode_back_and_forth_never_empties_a_consumer() {
    let server = server().await;
    let url = "bolt://10.0.0.1:12200?v=1";
    let p = provider(&server.endpoint(), "switching", PublishMode::Interface).await;
    let _h = p
        .publish(PublisherRegistration::new(SVC).data([url]))
        .await
        .unwrap();
    let mut raw = Raw::open(
        &server.endpoint(),
        "raw-consumer",
        roster_core::DEFAULT_ZONE,
    )
    .await;
    let (_, mut pushes) = raw
        .call(Body::Subscribe(v1::Subscribe {
            regist_id: "s".into(),
            key: key(SVC),
            version: 1,
            scope: v1::Scope::Global.into(),
            convert_application: true,
            handle: 0,
        }))
        .await;
    // A consumer in each mode that sees the provider at both levels (a force-application
    // consumer sees it at application level only, so it may lose it when it goes back).
    let mut logs = Vec::new();
    for mode in [
        SubscribeMode::ForceInterface,
        SubscribeMode::ApplicationFirst,
    ] {
        let c = connected(builder(&server.endpoint()).subscribe_mode(mode)).await;
        let (s, log) = logged(&c, SubscriberRegistration::new(SVC)).await;
        s.wait_for(|d| items(d) == [url], WAIT).await.unwrap();
        logs.push((mode, c, s, log));
    }
    for _ in 0..10 {
        for mode in [PublishMode::Application, PublishMode::Interface] {
            p.set_publish_mode(mode).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            // (A ping keeps the raw session alive.)
            pushes.extend(raw.drain_pushes().await);
        }
    }
    let lists: Vec<Vec<String>> = pushes
        .iter()
        .map(|p| {
            let items = p.zones.iter().flat_map(|z| &z.data);
            items.map(|d| String::from_utf8_lossy(d).into()).collect()
        })
        .collect();
    assert!(lists.len() > 20, "a push per switch at least: {lists:?}");
    assert!(
        lists.iter().all(|l| *l == [url]),
        "the registry pushed a list without the provider: {lists:?}"
    );
    for (mode, c, s, log) in &logs {
        settle(c).await;
        let seen = log.lock().unwrap().clone();
        assert!(!seen.is_empty(), "{mode:?}");
        let wrong: Vec<_> = seen.iter().filter(|(_, i)| *i != [url]).collect();
        assert!(
            wrong.is_empty(),
            "{mode:?}: the provider vanished in {} of {} pushes: {wrong:?}",
            wrong.len(),
            seen.len()
        );
        assert_eq!(items(&s.peek().unwrap()), [url]);
    }
}

/// The same with a stop at `all` in between, in both directions, and a consumer of each
/// mode that sees the provider before and after every step.
#[tokio::test]
async fn every_publish_mode_step_keeps_the_provider_for_every_consumer_that_sees_it_on_both_sides()
{
    use PublishMode::*;
    let server = server().await;
    let url = "bolt://10.0.0.2:12200?v=1";
    let p = provider(&server.endpoint(), "stepping", Interface).await;
    let _h = p
        .publish(PublisherRegistration::new(SVC).data([url]))
        .await
        .unwrap();
    let c = connected(builder(&server.endpoint())).await;
    let (fi, fi_log) = logged(&c, SubscriberRegistration::new(SVC)).await;
    let (af, af_log) = logged(
        &c,
        SubscriberRegistration::new(SVC).mode(SubscribeMode::ApplicationFirst),
    )
    .await;
    for s in [&fi, &af] {
        s.wait_for(|d| items(d) == [url], WAIT).await.unwrap();
    }
    for mode in [All, Application, All, Interface, Application, Interface] {
        p.set_publish_mode(mode).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    settle(&c).await;
    for (name, log) in [("force-interface", &fi_log), ("application-first", &af_log)] {
        let seen = log.lock().unwrap().clone();
        assert!(
            seen.iter().all(|(_, i)| *i == [url]),
            "{name}: a push without the provider: {seen:?}"
        );
    }
}

/// Issue 2: after a subscribe-mode switch the first data comes from another source, whose
/// version may be lower than the last one given; the subscriber must still never go back.
#[tokio::test]
async fn a_subscribe_mode_switch_never_takes_a_subscriber_back_to_an_older_version() {
    use SubscribeMode::*;
    let server = server().await;
    let e = server.endpoint();
    let (_providers, [a, _b]) = two_levels(&e, 1).await;
    let c = connected(builder(&e).subscribe_mode(ApplicationFirst)).await;
    let (s, log) = logged(&c, SubscriberRegistration::new(SVC)).await;
    s.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    a.republish(["bolt://10.0.1.1:12201?v=2"]).await.unwrap();
    s.wait_for(|d| d.items().any(|i| i.ends_with("v=2")), WAIT)
        .await
        .unwrap();
    // Every switch, force-application (which moves on: the application level holds as
    // many addresses as the interface level) included.
    for mode in [
        ForceInterface,
        ApplicationFirst,
        ForceApplication,
        ForceInterface,
        ForceApplication,
        ApplicationFirst,
        ForceInterface,
    ] {
        let before = s.peek().unwrap().version;
        c.set_subscribe_mode(mode).await.unwrap();
        let n = if mode == ForceApplication { 1 } else { 2 };
        let d = s
            .wait_for(|d| d.version > before && d.len() == n, WAIT)
            .await
            .unwrap();
        if mode == ForceApplication {
            let deadline = std::time::Instant::now() + WAIT;
            while s.migration_status() != MigrationStatus::ForceApplication {
                assert!(std::time::Instant::now() < deadline);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        assert!(d.items().any(|i| i.ends_with("v=2")), "{mode:?}: {d:?}");
    }
    settle(&c).await;
    let versions: Vec<u64> = log.lock().unwrap().iter().map(|(v, _)| *v).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "versions must only grow: {versions:?}"
    );
}

/// Issue 3: a change of the application level changed what the interface datum's
/// converting view lists without giving it a new version when nobody converted it at that
/// moment, so a later subscriber got the new list under the old version.
#[tokio::test]
async fn a_version_names_one_list_even_when_nobody_was_listening() {
    let server = server().await;
    let e = server.endpoint();
    let (_providers, [a, _b]) = two_levels(&e, 2).await;
    let c = client(&e).await;
    let first = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let before = first.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    first.unsubscribe().await.unwrap();
    // No force-interface subscriber now; the application-level provider changes.
    a.republish(["bolt://10.0.2.1:12201?v=2"]).await.unwrap();
    let later = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    let after = later
        .wait_for(|d| d.items().any(|i| i.ends_with("v=2")), WAIT)
        .await
        .unwrap();
    assert_ne!(items(&before), items(&after));
    assert!(
        after.version > before.version,
        "version {} named {:?}, then {} names {:?}",
        before.version,
        items(&before),
        after.version,
        items(&after)
    );
}

/// Issue 4: a second force-application subscription of one client to the same interface
/// joined the first one's resolution, which had already moved on, and reported pending
/// forever.
#[tokio::test]
async fn a_subscription_joining_a_migrated_resolution_reports_its_status() {
    let server = server().await;
    let e = server.endpoint();
    let p = provider(&e, "new-app", PublishMode::Application).await;
    let _a = p
        .publish(PublisherRegistration::new(SVC).data(["bolt://10.0.3.1:12201?v=1"]))
        .await
        .unwrap();
    let c = connected(builder(&e).subscribe_mode(SubscribeMode::ForceApplication)).await;
    let moved =
        |s: &roster_core::Subscriber| s.migration_status() == MigrationStatus::ForceApplication;
    let first = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    first.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    eventually("the first subscription moved", || moved(&first)).await;
    let second = c.subscribe(SubscriberRegistration::new(SVC)).await.unwrap();
    second.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(second.migration_status(), MigrationStatus::ForceApplication);
    // A third one with another scope has a resolution of its own, which moves on too.
    let third = c
        .subscribe(SubscriberRegistration::new(SVC).scope(roster_core::Scope::Zone))
        .await
        .unwrap();
    third.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    eventually("the zone-scope subscription moved", || moved(&third)).await;
    // Back and forth per subscription: the status follows the plan.
    second
        .set_mode(Some(SubscribeMode::ApplicationFirst))
        .await
        .unwrap();
    assert_eq!(second.migration_status(), MigrationStatus::ApplicationFirst);
    second.set_mode(None).await.unwrap();
    second.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    eventually("back in the shared resolution", || moved(&second)).await;
}
