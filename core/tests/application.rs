//! Application-level discovery against a real server: publish modes, revisions, the
//! interface -> applications index and the server-side conversion that force-interface
//! subscribers receive.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use roster_core::{
    Client, PublishMode, PublisherRegistration, Scope, SubscriberData, SubscriberRegistration,
};
use roster_proto::appmeta::{ServiceUrl, APP_GROUP, MAPPING_GROUP};
use roster_proto::v1::{self, client_frame::Body, AckCode};
use roster_server::Server;

const ORDERS: &str = "com.example.OrderService:1.0";
const STOCK: &str = "com.example.StockService:1.0";

fn interface(data_id: &str) -> String {
    format!("{data_id}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP")
}

async fn provider(endpoint: &str, app: &str, mode: PublishMode) -> Client {
    connected(builder(endpoint).app_name(app).publish_mode(mode)).await
}

fn items(d: &SubscriberData) -> Vec<String> {
    let mut v: Vec<String> = d.items().map(str::to_owned).collect();
    v.sort();
    v
}

/// The revision named by the application publisher of `app`, as a subscriber sees it.
async fn revision_of(watcher: &Client, app: &str) -> String {
    let s = watcher
        .subscribe(
            SubscriberRegistration::new(app)
                .group(APP_GROUP)
                .scope(Scope::Global),
        )
        .await
        .unwrap();
    let d = s.wait_for(|d| !d.is_empty(), WAIT).await.unwrap();
    let url = ServiceUrl::parse(d.items().next().unwrap()).unwrap();
    url.params["roster.revision"].clone()
}

#[tokio::test]
async fn the_same_services_give_the_same_revision_across_client_restarts() {
    let server = server().await;
    let watcher = client(&server.endpoint()).await;
    let first = provider(&server.endpoint(), "orders", PublishMode::Application).await;
    let _a = first
        .publish(
            PublisherRegistration::new(ORDERS)
                .data(["bolt://10.0.0.1:12200?timeout=3000&weight=100"]),
        )
        .await
        .unwrap();
    let _b = first
        .publish(
            PublisherRegistration::new(STOCK)
                .data(["bolt://10.0.0.1:12200?timeout=3000&weight=100&x=1"]),
        )
        .await
        .unwrap();
    let before = revision_of(&watcher, "orders").await;
    first.close().await;

    // Another instance (another host and weight, services in the other order).
    let second = provider(&server.endpoint(), "orders", PublishMode::Application).await;
    let _b = second
        .publish(
            PublisherRegistration::new(STOCK)
                .data(["bolt://10.0.0.2:12200?x=1&weight=50&timeout=3000"]),
        )
        .await
        .unwrap();
    let _a = second
        .publish(
            PublisherRegistration::new(ORDERS)
                .data(["bolt://10.0.0.2:12200?weight=50&timeout=3000"]),
        )
        .await
        .unwrap();
    assert_eq!(revision_of(&watcher, "orders").await, before);

    // A changed service parameter makes a new revision.
    _b.republish(["bolt://10.0.0.2:12200?x=2&weight=50&timeout=3000"])
        .await
        .unwrap();
    let sub = watcher
        .subscribe(
            SubscriberRegistration::new("orders")
                .group(APP_GROUP)
                .scope(Scope::Global),
        )
        .await
        .unwrap();
    sub.wait_for(|d| d.items().any(|i| !i.contains(&before)), WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn application_mode_publishes_97_percent_fewer_publishers() {
    let server = server().await;
    let services: Vec<String> = (0..30)
        .map(|i| format!("com.example.Service{i}:1.0"))
        .collect();
    for (mode, expected) in [
        (PublishMode::Interface, 1500.0),
        (PublishMode::Application, 50.0),
    ] {
        let mut instances = Vec::new();
        let mut clients = Vec::new();
        for host in 0..50 {
            let c = provider(&server.endpoint(), "big-app", mode).await;
            clients.push(c.clone());
            for s in &services {
                let url = format!(
                    "bolt://10.0.{}.{}:12200?timeout=3000&weight=100",
                    host / 250,
                    host % 250
                );
                instances.push(
                    c.publish(PublisherRegistration::new(s).data([url]))
                        .await
                        .unwrap(),
                );
            }
            instances.push(
                c.publish(PublisherRegistration::new("keepalive").data(["not a url"]))
                    .await
                    .unwrap(),
            );
        }
        // 30 service publishers per instance in interface mode, one application publisher
        // in application mode; plus the one non-URL publisher that stays at interface level.
        assert_eq!(
            metric(&server, "roster_publishers"),
            expected + 50.0,
            "{mode:?}"
        );
        drop(instances);
        for c in clients {
            c.close().await;
        }
    }
}

/// One provider per publish mode (different applications and hosts), all serving ORDERS.
async fn three_providers(
    endpoint: &str,
) -> (Vec<Client>, Vec<roster_core::Publisher>, [String; 3]) {
    let urls = [
        "bolt://10.0.0.1:12200?timeout=3000&weight=100".to_owned(),
        "bolt://10.0.0.2:12200?timeout=3000&weight=100".to_owned(),
        "bolt://10.0.0.3:12200?timeout=3000&weight=100".to_owned(),
    ];
    let modes = [
        ("old-app", PublishMode::Interface),
        ("dual-app", PublishMode::All),
        ("new-app", PublishMode::Application),
    ];
    let mut clients = Vec::new();
    let mut pubs = Vec::new();
    for ((app, mode), url) in modes.into_iter().zip(&urls) {
        let c = provider(endpoint, app, mode).await;
        pubs.push(
            c.publish(PublisherRegistration::new(ORDERS).data([url.as_str()]))
                .await
                .unwrap(),
        );
        pubs.push(
            c.publish(PublisherRegistration::new(STOCK).data([url.replace("12200", "12201")]))
                .await
                .unwrap(),
        );
        clients.push(c);
    }
    (clients, pubs, urls)
}

#[tokio::test]
async fn a_force_interface_consumer_sees_providers_of_every_mode_once() {
    let server = server().await;
    let (clients, mut pubs, urls) = three_providers(&server.endpoint()).await;
    let consumer = client(&server.endpoint()).await;
    let s = consumer
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();
    let d = s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
    assert_eq!(
        items(&d),
        urls,
        "each provider once, in the format an interface publisher uses"
    );
    assert_eq!(metric(&server, "roster_publishers"), 2.0 + 3.0 + 1.0);

    // The application-only provider changes a parameter.
    let changed = "bolt://10.0.0.3:12200?timeout=5000&weight=100";
    pubs[4].republish([changed]).await.unwrap();
    let d = s
        .wait_for(|d| d.items().any(|i| i == changed), WAIT)
        .await
        .unwrap();
    assert_eq!(d.len(), 3);

    // The dual-publishing provider goes away: both of its levels at once.
    clients[1].close().await;
    let d = s.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    assert_eq!(items(&d), [urls[0].as_str(), changed]);
    // And the application-only one.
    pubs.truncate(4);
    clients[2].close().await;
    let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(items(&d), [urls[0].as_str()]);
}

#[tokio::test]
async fn a_provider_migrating_modes_never_leaves_a_consumer_empty() {
    use roster_core::SubscribeMode::*;
    let server = server().await;
    let url = "bolt://10.0.0.9:12200?timeout=3000&weight=100";
    let p = provider(&server.endpoint(), "migrating", PublishMode::Interface).await;
    let _h = p
        .publish(PublisherRegistration::new(ORDERS).data([url]))
        .await
        .unwrap();
    // One consumer per subscribe mode, each logging every push it gets.
    let mut consumers = Vec::new();
    for mode in [ForceInterface, ApplicationFirst, ForceApplication] {
        let (c, s) = consumer(&server.endpoint(), mode).await;
        s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
        let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let (log, mut updates) = (seen.clone(), s.updates());
        tokio::spawn(async move {
            while let Some(d) = updates.next().await {
                log.lock().unwrap().push(items(&d));
            }
        });
        consumers.push((mode, c, s, seen));
    }
    for (mode, publishers) in [(PublishMode::All, 2.0), (PublishMode::Application, 1.0)] {
        p.set_publish_mode(mode).await.unwrap();
        assert_eq!(p.publish_mode(), mode);
        assert_eq!(metric(&server, "roster_publishers"), publishers, "{mode:?}");
        // Each consumer settles on the provider before the next step.
        for (_, c, s, _) in &consumers {
            let _barrier = c
                .subscribe(SubscriberRegistration::new("barrier"))
                .await
                .unwrap();
            s.wait_for(|d| items(d) == [url], WAIT).await.unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (mode, _, s, seen) in &consumers {
        let seen = seen.lock().unwrap().clone();
        assert!(!seen.is_empty(), "{mode:?}");
        assert!(
            seen.iter().all(|v| v == &[url]),
            "{mode:?}: every push had exactly the provider: {seen:?}"
        );
        if *mode == ForceApplication {
            assert_eq!(
                s.migration_status(),
                roster_core::MigrationStatus::ForceApplication
            );
        }
    }
    // And back: the interface level again for the consumers that still look there.
    p.set_publish_mode(PublishMode::Interface).await.unwrap();
    assert_eq!(metric(&server, "roster_publishers"), 1.0);
    for (mode, _, s, _) in &consumers[..2] {
        let d = s.wait_for(|d| items(d) == [url], WAIT).await.unwrap();
        assert_eq!(d.len(), 1, "{mode:?}");
    }
}

#[tokio::test]
async fn the_interface_to_applications_index_follows_providers() {
    let server = server().await;
    let watcher = client(&server.endpoint()).await;
    let mapping = SubscriberRegistration::new(ORDERS)
        .group(format!("{MAPPING_GROUP}/DEFAULT_GROUP"))
        .scope(Scope::Global);
    let apps = watcher.subscribe(mapping).await.unwrap();
    apps.wait_for(|d| d.is_empty(), WAIT).await.unwrap();

    let a = provider(&server.endpoint(), "app-a", PublishMode::Application).await;
    let pa = a
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://a:1"]))
        .await
        .unwrap();
    apps.wait_for(|d| items(d) == ["app-a"], WAIT)
        .await
        .unwrap();
    let b = provider(&server.endpoint(), "app-b", PublishMode::All).await;
    let _pb = b
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://b:1"]))
        .await
        .unwrap();
    apps.wait_for(|d| items(d) == ["app-a", "app-b"], WAIT)
        .await
        .unwrap();
    // An interface-only provider is not an application provider.
    let c = provider(&server.endpoint(), "app-c", PublishMode::Interface).await;
    let _pc = c
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://c:1"]))
        .await
        .unwrap();
    pa.unregister().await.unwrap();
    apps.wait_for(|d| items(d) == ["app-b"], WAIT)
        .await
        .unwrap();
    b.close().await;
    apps.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
}

#[tokio::test]
async fn an_unknown_revision_is_skipped_until_it_is_registered() {
    let server = server().await;
    let consumer = client(&server.endpoint()).await;
    let s = consumer
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();

    // A provider whose application publisher arrives before its revision.
    let services = vec![(
        interface(ORDERS),
        ServiceUrl::parse("bolt://10.1.1.1:1?timeout=1").unwrap(),
    )];
    let inst = roster_proto::appmeta::instance_from_services("raw-app", &services).unwrap();
    let mut raw = Raw::open(
        &server.endpoint(),
        "raw-provider",
        roster_core::DEFAULT_ZONE,
    )
    .await;
    let app_pub = Body::Publish(v1::Publish {
        regist_id: "app".into(),
        key: Some(v1::DataKey {
            data_id: "raw-app".into(),
            group: APP_GROUP.into(),
            ..Default::default()
        }),
        version: 1,
        data: inst
            .items
            .iter()
            .map(|i| bytes::Bytes::copy_from_slice(i.as_bytes()))
            .collect(),
    });
    assert_eq!(raw.call(app_pub).await.0.code, AckCode::Ok as i32);
    let before = s.wait_for(|_| true, WAIT).await.unwrap();
    assert!(
        before.is_empty(),
        "nothing converted without the revision: {before:?}"
    );
    let mut grpc =
        v1::registry_client::RegistryClient::connect(format!("http://{}", server.endpoint()))
            .await
            .unwrap();
    let refs = vec![v1::RevisionRef {
        application: "raw-app".into(),
        revision: inst.metadata.revision.clone(),
    }];
    let missing = grpc
        .get_revisions(v1::GetRevisionsRequest {
            revisions: refs.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(missing.missing, refs);

    let reg = Body::RegisterRevision(v1::RegisterRevision {
        revision: Some((&inst.metadata).into()),
    });
    assert_eq!(raw.call(reg).await.0.code, AckCode::Ok as i32);
    let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(items(&d), ["bolt://10.1.1.1:1?timeout=1"]);
    let found = grpc
        .get_revisions(v1::GetRevisionsRequest { revisions: refs })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.revisions.len(), 1);
}

#[tokio::test]
async fn unreferenced_revisions_are_garbage_collected() {
    let gc = roster_server::Config {
        revision_gc_after: Duration::from_millis(300),
        ..config(Duration::from_secs(2))
    };
    let server = Server::start(gc).await.unwrap();
    let p = provider(&server.endpoint(), "gc-app", PublishMode::Application).await;
    let h = p
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://g:1?v=1"]))
        .await
        .unwrap();
    assert_eq!(metric(&server, "roster_revisions"), 1.0);
    // Kept while used, well past the collection age.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(metric(&server, "roster_revisions"), 1.0);
    // A new revision replaces it; the old one is no longer referenced and goes.
    h.republish(["bolt://g:1?v=2"]).await.unwrap();
    assert_eq!(metric(&server, "roster_revisions"), 2.0);
    let deadline = std::time::Instant::now() + WAIT;
    while metric(&server, "roster_revisions") > 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old revision was never collected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.close().await;
    while metric(&server, "roster_revisions") > 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the last revision was never collected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn bad_application_level_input_is_refused_clearly() {
    let server = server().await;
    let mut raw = Raw::open(&server.endpoint(), "bad-app", "z").await;
    let app_key = |group: &str| {
        Some(v1::DataKey {
            data_id: "x".into(),
            group: group.into(),
            ..Default::default()
        })
    };
    let cases = [
        (
            Body::Publish(v1::Publish {
                regist_id: "a".into(),
                key: app_key(APP_GROUP),
                version: 1,
                data: vec!["bolt://h:1".into()],
            }),
            "data[0] of an application publisher names no roster.revision",
        ),
        (
            Body::Publish(v1::Publish {
                regist_id: "b".into(),
                key: app_key(APP_GROUP),
                version: 1,
                data: vec!["plain".into()],
            }),
            "is not a service URL",
        ),
        (
            Body::Publish(v1::Publish {
                regist_id: "c".into(),
                key: app_key(&format!("{MAPPING_GROUP}/G")),
                version: 1,
                data: vec![],
            }),
            "is maintained by the registry",
        ),
        (
            Body::RegisterRevision(v1::RegisterRevision {
                revision: Some(v1::AppRevision {
                    application: "x".into(),
                    revision: "forged".into(),
                    ..Default::default()
                }),
            }),
            "revision \"forged\" is not the hash of its metadata",
        ),
    ];
    for (body, text) in cases {
        let (ack, _) = raw.call(body).await;
        assert_eq!(ack.code, AckCode::InvalidArgument as i32, "{}", ack.message);
        assert!(
            ack.message.contains(text),
            "{:?} does not say {text:?}",
            ack.message
        );
    }
    let c = client(&server.endpoint()).await;
    let e = c
        .publish(PublisherRegistration::new("x").group(APP_GROUP))
        .await
        .unwrap_err();
    assert!(e.message().contains("group SOFA_APP is reserved"), "{e}");
    assert_eq!(
        "applications".parse::<PublishMode>().unwrap_err().kind(),
        roster_core::ErrorKind::InvalidArgument
    );
}

async fn consumer(
    endpoint: &str,
    mode: roster_core::SubscribeMode,
) -> (Client, roster_core::Subscriber) {
    let c = connected(builder(endpoint).subscribe_mode(mode)).await;
    let s = c
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();
    (c, s)
}

#[tokio::test]
async fn every_consumer_mode_sees_exactly_the_providers_it_should() {
    use roster_core::{MigrationStatus, SubscribeMode::*};
    let server = server().await;
    let (clients, mut pubs, urls) = three_providers(&server.endpoint()).await;
    let (_fi, fi) = consumer(&server.endpoint(), ForceInterface).await;
    let (_af, af) = consumer(&server.endpoint(), ApplicationFirst).await;
    let (_fa, fa) = consumer(&server.endpoint(), ForceApplication).await;
    // force-interface and application-first see all three, each once; force-application
    // sees the two that publish at application level (its list holds as many addresses
    // as the interface level's two, so it moved on from merging).
    assert_eq!(
        items(&fi.wait_for(|d| d.len() == 3, WAIT).await.unwrap()),
        urls
    );
    assert_eq!(
        items(&af.wait_for(|d| d.len() == 3, WAIT).await.unwrap()),
        urls
    );
    let d = fa
        .wait_for(|d| d.len() == 2 && !d.items().any(|i| i == urls[0]), WAIT)
        .await
        .unwrap();
    assert_eq!(items(&d), urls[1..]);
    assert_eq!(fa.migration_status(), MigrationStatus::ForceApplication);
    assert_eq!(af.migration_status(), MigrationStatus::ApplicationFirst);
    assert_eq!(
        (fi.mode(), af.mode(), fa.mode()),
        (ForceInterface, ApplicationFirst, ForceApplication)
    );

    // A parameter change of the application-only provider reaches every mode.
    let changed = "bolt://10.0.0.3:12200?timeout=5000&weight=100";
    pubs[4].republish([changed]).await.unwrap();
    for s in [&fi, &af, &fa] {
        s.wait_for(|d| d.items().any(|i| i == changed), WAIT)
            .await
            .unwrap();
    }
    // The dual-publishing provider goes.
    clients[1].close().await;
    for (s, n) in [(&fi, 2), (&af, 2), (&fa, 1)] {
        let d = s.wait_for(|d| d.len() == n, WAIT).await.unwrap();
        assert!(!d.items().any(|i| i == urls[1]), "{d:?}");
    }
    pubs.clear();
}

#[tokio::test]
async fn a_consumer_migrates_at_run_time_and_waits_for_the_threshold() {
    use roster_core::{MigrationStatus, SubscribeMode::*};
    let server = server().await;
    let e = server.endpoint();
    // Two instances of an old application (interface level) and one of a new one.
    let old1 = provider(&e, "old", PublishMode::Interface).await;
    let old2 = provider(&e, "old", PublishMode::Interface).await;
    let new = provider(&e, "new", PublishMode::Application).await;
    let urls = [
        "bolt://10.0.1.1:1?t=1",
        "bolt://10.0.1.2:1?t=1",
        "bolt://10.0.2.1:1?t=1",
    ];
    let _h: Vec<_> = futures_util::future::join_all(
        [&old1, &old2, &new]
            .iter()
            .zip(urls)
            .map(|(c, u)| c.publish(PublisherRegistration::new(ORDERS).data([u]))),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();

    let c = client(&e).await;
    let s = c
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();
    s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let (log, mut updates) = (seen.clone(), s.updates());
    tokio::spawn(async move {
        while let Some(d) = updates.next().await {
            log.lock().unwrap().push(d.len());
        }
    });

    c.set_subscribe_mode(ApplicationFirst).await.unwrap();
    assert_eq!(s.mode(), ApplicationFirst);
    s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();

    // One application-level address against two interface-level ones: not yet.
    c.set_subscribe_mode(ForceApplication).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while s.migration_status()
        != (MigrationStatus::Pending {
            application: 1,
            interface: 2,
        })
    {
        assert!(
            std::time::Instant::now() < deadline,
            "status {:?}",
            s.migration_status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(items(&s.peek().unwrap()), urls, "still merging both levels");

    // The old application starts dual publishing: now the application level holds all.
    old1.set_publish_mode(PublishMode::All).await.unwrap();
    old2.set_publish_mode(PublishMode::All).await.unwrap();
    while s.migration_status() != MigrationStatus::ForceApplication {
        assert!(
            std::time::Instant::now() < deadline,
            "status {:?}",
            s.migration_status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();

    // And back to force-interface, per subscription.
    s.set_mode(Some(ForceInterface)).await.unwrap();
    assert_eq!(s.migration_status(), MigrationStatus::ForceInterface);
    s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
    // Registered again under the same registId: changes reach it.
    _h[2].republish(["bolt://10.0.2.1:1?t=2"]).await.unwrap();
    s.wait_for(|d| d.items().any(|i| i == "bolt://10.0.2.1:1?t=2"), WAIT)
        .await
        .unwrap();
    _h[2].republish([urls[2]]).await.unwrap();
    s.wait_for(|d| d.items().any(|i| i == urls[2]), WAIT)
        .await
        .unwrap();
    let _barrier = c
        .subscribe(SubscriberRegistration::new("barrier"))
        .await
        .unwrap();
    let sizes = seen.lock().unwrap().clone();
    assert!(
        sizes.iter().all(|&n| n == 3),
        "every push had all three providers: {sizes:?}"
    );

    // A threshold below 1 lets force-application go ahead with fewer addresses.
    let eager = connected(
        builder(&e)
            .subscribe_mode(ForceApplication)
            .migration_threshold(0.3),
    )
    .await;
    old1.set_publish_mode(PublishMode::Interface).await.unwrap();
    old2.set_publish_mode(PublishMode::Interface).await.unwrap();
    let s2 = eager
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();
    s2.wait_for(|d| items(d) == [urls[2]], WAIT).await.unwrap();
    assert_eq!(s2.migration_status(), MigrationStatus::ForceApplication);
}

#[tokio::test]
async fn an_application_first_consumer_skips_unknown_revisions_and_never_empties() {
    let server = server().await;
    let old = provider(&server.endpoint(), "old", PublishMode::Interface).await;
    let _p = old
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://10.9.0.1:1"]))
        .await
        .unwrap();

    let services = vec![(
        interface(ORDERS),
        ServiceUrl::parse("bolt://10.9.0.2:1?x=1").unwrap(),
    )];
    let inst = roster_proto::appmeta::instance_from_services("late-app", &services).unwrap();
    let mut raw = Raw::open(&server.endpoint(), "late", roster_core::DEFAULT_ZONE).await;
    let app_pub = Body::Publish(v1::Publish {
        regist_id: "app".into(),
        key: Some(v1::DataKey {
            data_id: "late-app".into(),
            group: APP_GROUP.into(),
            ..Default::default()
        }),
        version: 1,
        data: inst
            .items
            .iter()
            .map(|i| bytes::Bytes::copy_from_slice(i.as_bytes()))
            .collect(),
    });
    raw.call(app_pub).await;

    let (_c, s) = consumer(
        &server.endpoint(),
        roster_core::SubscribeMode::ApplicationFirst,
    )
    .await;
    let d = s.wait_for(|_| true, WAIT).await.unwrap();
    assert_eq!(
        items(&d),
        ["bolt://10.9.0.1:1"],
        "the unknown revision's instance is skipped, not emptied"
    );
    let reg = Body::RegisterRevision(v1::RegisterRevision {
        revision: Some((&inst.metadata).into()),
    });
    raw.call(reg).await;
    let d = s.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    assert_eq!(items(&d), ["bolt://10.9.0.1:1", "bolt://10.9.0.2:1?x=1"]);
}

#[tokio::test]
async fn resolvers_of_one_client_share_their_application_subscriptions() {
    let server = server().await;
    let p = provider(&server.endpoint(), "shared-app", PublishMode::Application).await;
    let _o = p
        .publish(PublisherRegistration::new(ORDERS).data(["bolt://10.3.0.1:1"]))
        .await
        .unwrap();
    let _s = p
        .publish(PublisherRegistration::new(STOCK).data(["bolt://10.3.0.1:2"]))
        .await
        .unwrap();
    let c = connected(
        builder(&server.endpoint()).subscribe_mode(roster_core::SubscribeMode::ApplicationFirst),
    )
    .await;
    let orders = c
        .subscribe(SubscriberRegistration::new(ORDERS))
        .await
        .unwrap();
    let stock = c
        .subscribe(SubscriberRegistration::new(STOCK))
        .await
        .unwrap();
    orders
        .wait_for(|d| items(d) == ["bolt://10.3.0.1:1"], WAIT)
        .await
        .unwrap();
    stock
        .wait_for(|d| items(d) == ["bolt://10.3.0.1:2"], WAIT)
        .await
        .unwrap();
    // Per interface: the index and the interface level; the application once for both.
    assert_eq!(metric(&server, "roster_subscribers"), 5.0);
    drop(orders);
    let deadline = std::time::Instant::now() + WAIT;
    while metric(&server, "roster_subscribers") != 3.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            metric(&server, "roster_subscribers")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The application watch lives on for the other subscriber, which still gets changes.
    _s.republish(["bolt://10.3.0.1:3"]).await.unwrap();
    stock
        .wait_for(|d| items(d) == ["bolt://10.3.0.1:3"], WAIT)
        .await
        .unwrap();
    drop(stock);
    while metric(&server, "roster_subscribers") != 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            metric(&server, "roster_subscribers")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn subscribers_of_one_interface_share_one_resolution_and_one_copy_of_the_list() {
    let server = server().await;
    let p = provider(&server.endpoint(), "hot-app", PublishMode::Application).await;
    let hosts: Vec<String> = (1..=50).map(|i| format!("bolt://10.4.0.{i}:1")).collect();
    let mut pubs = Vec::new();
    for h in &hosts {
        let reg = PublisherRegistration::new(ORDERS).data([h.as_str()]);
        pubs.push(p.publish(reg).await.unwrap());
    }
    let c = connected(
        builder(&server.endpoint()).subscribe_mode(roster_core::SubscribeMode::ApplicationFirst),
    )
    .await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        let s = c
            .subscribe(SubscriberRegistration::new(ORDERS))
            .await
            .unwrap();
        s.wait_for(|d| d.len() == 50, WAIT).await.unwrap();
        subs.push(s);
    }
    // One resolution: the index, the interface level and the application once, for all
    // three; and they hold one copy of the converted list.
    assert_eq!(metric(&server, "roster_subscribers"), 3.0);
    let held = |subs: &[roster_core::Subscriber]| {
        let first = subs[0].peek().unwrap();
        subs.iter()
            .all(|s| std::sync::Arc::ptr_eq(&s.peek().unwrap(), &first))
    };
    assert!(held(&subs), "one copy of the list for every subscriber");
    // Many joining at once while the resolution runs: each is given the list.
    let joined = futures_util::future::join_all((0..30).map(|_| async {
        let s = c
            .subscribe(SubscriberRegistration::new(ORDERS))
            .await
            .unwrap();
        s.wait_for(|d| d.len() == 50, WAIT).await.unwrap();
        s
    }))
    .await;
    assert!(held(&joined));
    drop(joined);
    // A change reaches all of them, still as one copy, with its change set.
    pubs[7].republish(["bolt://10.4.0.99:1"]).await.unwrap();
    for s in &subs {
        let d = s
            .wait_for(
                |d| d.items().any(|i| i.starts_with("bolt://10.4.0.99:1")),
                WAIT,
            )
            .await
            .unwrap();
        assert_eq!(d.len(), 50);
        assert_eq!(d.removed().len(), 1, "{:?}", d.removed());
        assert!(d.removed()[0].starts_with("bolt://10.4.0.8:1"));
        assert_eq!(d.added().count(), 1);
    }
    assert!(held(&subs));
    // One subscription switching mode leaves the others' resolution running; the last one
    // to leave ends it.
    subs[0]
        .set_mode(Some(roster_core::SubscribeMode::ForceInterface))
        .await
        .unwrap();
    subs[0].wait_for(|d| d.len() == 50, WAIT).await.unwrap();
    drop(subs.remove(1));
    pubs[8].republish(["bolt://10.4.0.98:1"]).await.unwrap();
    for s in &subs {
        s.wait_for(
            |d| d.items().any(|i| i.starts_with("bolt://10.4.0.98:1")),
            WAIT,
        )
        .await
        .unwrap();
    }
    drop(subs);
    eventually("every subscription unregistered", || {
        metric(&server, "roster_subscribers") == 0.0
    })
    .await;
}
