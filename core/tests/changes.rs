//! What changed, not only the list: every `SubscriberData` says which items were added and
//! removed since the previous data its consumer was given, exactly, across republish,
//! unregister, a second publisher of the same address, a consumer that falls behind, and a
//! publisher's client that vanishes until its session expires.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use parking_lot::Mutex;
use roster_core::{PublisherRegistration, SubscriberData, SubscriberRegistration, Updates};

const SVC: &str = "svc.Changes:1.0";

/// The items of `d` as a multiset.
fn counts<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.to_owned()).or_default() += 1;
    }
    m
}

/// A consumer's view built only from the change sets; checked against the full list on
/// every data it is given.
#[derive(Default)]
struct View(BTreeMap<String, usize>);

impl View {
    fn apply(&mut self, d: &SubscriberData) {
        for r in d.removed() {
            let n = self
                .0
                .get_mut(r)
                .unwrap_or_else(|| panic!("{r} removed but never added"));
            *n -= 1;
            if *n == 0 {
                self.0.remove(r);
            }
        }
        for a in d.added() {
            *self.0.entry(a.to_owned()).or_default() += 1;
        }
        assert_eq!(
            self.0,
            counts(d.items()),
            "the change sets add up to the list at v{}",
            d.version
        );
    }
}

/// The next data with `len` items, applying every change set on the way.
async fn next_with(updates: &mut Updates, view: &mut View, len: usize) -> Arc<SubscriberData> {
    loop {
        let d = tokio::time::timeout(WAIT, updates.next())
            .await
            .expect("data in time")
            .expect("still subscribed");
        view.apply(&d);
        if d.len() == len {
            return d;
        }
    }
}

fn sorted<'a>(v: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = v.into_iter().collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_are_exact_across_republish_unregister_and_session_expiry() {
    let (server, proxy) = proxied_server(Duration::from_secs(1)).await;
    let doomed = client(&proxy.endpoint()).await;
    let provider = client(&server.endpoint()).await;
    let consumer = client(&server.endpoint()).await;

    // A callback consumer on the same data: its change sets must add up too.
    let callback_view = Arc::new(Mutex::new(View::default()));
    let calls = Arc::new(Mutex::new(0usize));
    let (v, n) = (callback_view.clone(), calls.clone());
    let _with_callback = consumer
        .subscribe_with(SubscriberRegistration::new(SVC), move |d| {
            v.lock().apply(&d);
            *n.lock() += 1;
        })
        .await
        .unwrap();

    let sub = consumer
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let mut updates = sub.updates();
    let mut view = View::default();

    let a = doomed
        .publish(PublisherRegistration::new(SVC).data(["bolt://a:1"]))
        .await
        .unwrap();
    let d = next_with(&mut updates, &mut view, 1).await;
    assert_eq!(sorted(d.added()), ["bolt://a:1"]);
    assert!(d.removed().is_empty());

    let b = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://b:1", "bolt://b:2"]))
        .await
        .unwrap();
    let d = next_with(&mut updates, &mut view, 3).await;
    assert_eq!(sorted(d.added()), ["bolt://b:1", "bolt://b:2"]);
    assert!(d.removed().is_empty());

    a.republish(["bolt://a:2"]).await.unwrap();
    let d = next_with(&mut updates, &mut view, 3).await;
    assert_eq!(sorted(d.added()), ["bolt://a:2"]);
    assert_eq!(
        sorted(d.removed().iter().map(String::as_str)),
        ["bolt://a:1"]
    );

    // The same address from a second publisher counts twice, and leaves once.
    let twin = provider
        .publish(PublisherRegistration::new(SVC).data(["bolt://a:2"]))
        .await
        .unwrap();
    let d = next_with(&mut updates, &mut view, 4).await;
    assert_eq!(sorted(d.added()), ["bolt://a:2"]);
    twin.unregister().await.unwrap();
    let d = next_with(&mut updates, &mut view, 3).await;
    assert_eq!(
        sorted(d.removed().iter().map(String::as_str)),
        ["bolt://a:2"]
    );
    assert!(d.added().next().is_none());

    b.unregister().await.unwrap();
    let d = next_with(&mut updates, &mut view, 1).await;
    assert_eq!(
        sorted(d.removed().iter().map(String::as_str)),
        ["bolt://b:1", "bolt://b:2"]
    );
    assert!(d.added().next().is_none());

    // The publisher's client vanishes: once its session expires, its item is removed.
    proxy.kill();
    let d = next_with(&mut updates, &mut view, 0).await;
    assert_eq!(
        sorted(d.removed().iter().map(String::as_str)),
        ["bolt://a:2"]
    );
    assert!(d.added().next().is_none());
    drop(a);

    // The callback saw the same list in the end, through change sets that add up.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !callback_view.lock().0.is_empty() || *calls.lock() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the callback caught up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_falls_behind_gets_the_change_since_what_it_was_given() {
    let server = server().await;
    let provider = client(&server.endpoint()).await;
    let consumer = client(&server.endpoint()).await;
    let p = provider
        .publish(PublisherRegistration::new(SVC).data(["v0"]))
        .await
        .unwrap();
    // Two subscribers on one connection: one reads every version, one only at the end.
    let eager = consumer
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let late = consumer
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let (mut eager_updates, mut late_updates) = (eager.updates(), late.updates());
    let (mut eager_view, mut late_view) = (View::default(), View::default());
    let first = next_with(&mut late_updates, &mut late_view, 1).await;
    assert_eq!(sorted(first.added()), ["v0"]);
    next_with(&mut eager_updates, &mut eager_view, 1).await;

    for i in 1..=5 {
        p.republish([format!("v{i}"), "shared".to_owned()])
            .await
            .unwrap();
        let d = next_with(&mut eager_updates, &mut eager_view, 2).await;
        assert!(d.items().any(|x| x == format!("v{i}")));
    }
    // The late one skips to the newest, with the change since v0. (Its slot may take the
    // push a moment after the eager one's; waiting does not count as being given it.)
    late.wait_for(|d| d.items().any(|x| x == "v5"), WAIT)
        .await
        .unwrap();
    let d = tokio::time::timeout(WAIT, late_updates.next())
        .await
        .unwrap()
        .unwrap();
    late_view.apply(&d);
    assert_eq!(sorted(d.items()), ["shared", "v5"]);
    assert_eq!(sorted(d.added()), ["shared", "v5"]);
    assert_eq!(sorted(d.removed().iter().map(String::as_str)), ["v0"]);
    // The eager one's last change was v4 -> v5 only.
    let last = eager.peek().unwrap();
    assert_eq!(sorted(last.added()), ["v5"]);
    assert_eq!(sorted(last.removed().iter().map(String::as_str)), ["v4"]);
}
