//! Cluster mode: three (or four) Raft nodes in-process over loopback, each on a runtime of its
//! own so that killing one drops its sockets at once. Every wait is on a condition with a
//! deadline.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use roster_core::{PublisherRegistration, Scope, SubscriberRegistration};

const SVC: &str = "svc.Cluster:1.0";

fn sub(data_id: &str) -> SubscriberRegistration {
    SubscriberRegistration::new(data_id).scope(Scope::Global)
}

fn publish(i: usize) -> PublisherRegistration {
    PublisherRegistration::new(SVC).data([format!("bolt://10.0.0.{i}:12200")])
}

#[tokio::test]
async fn a_client_bootstrapped_at_a_follower_ends_up_on_the_leader() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = cluster.follower().await;
    let client = client(&cluster.node(follower).addr).await;
    let _p = client.publish(publish(1)).await.unwrap();
    let s = client.subscribe(sub(SVC)).await.unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();

    let on = |id: u64| cluster.node(id).server.as_ref().unwrap();
    assert_eq!(on(leader).stats().sessions_attached, 1);
    assert_eq!(on(follower).stats().sessions_attached, 0);
    assert!(metric(on(follower), "roster_session_redirects_total") >= 1.0);
    // The client now knows every member, the leader first.
    let leader_addr = cluster.node(leader).addr.clone();
    assert_eq!(client.members()[0], leader_addr);
    for ep in cluster.endpoints() {
        assert!(client.members().contains(&ep), "{ep} missing");
    }
    // The registration is replicated to every node.
    cluster.wait_replicated(1).await;
    client.close().await;
}

#[tokio::test]
async fn killing_the_leader_loses_nothing_and_never_empties_a_list() {
    let cluster = Cluster::start(3).await;
    let mut cluster = cluster;
    let endpoints = cluster.endpoints();
    let mut publishers = Vec::new();
    let mut handles = Vec::new();
    for i in 0..3 {
        let c = connected(builder(&endpoints[i]).endpoints(endpoints.clone())).await;
        handles.push(c.publish(publish(i)).await.unwrap());
        publishers.push(c);
    }
    let mut watchers = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let c = connected(builder(&endpoints[0]).endpoints(endpoints.clone())).await;
        let s = c.subscribe(sub(SVC)).await.unwrap();
        s.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
        let log: Arc<Mutex<Vec<usize>>> = Arc::default();
        let (l, mut updates) = (log.clone(), s.updates());
        tokio::spawn(async move {
            while let Some(d) = updates.next().await {
                l.lock().unwrap().push(d.len());
            }
        });
        seen.push(log);
        watchers.push((c, s));
    }

    let old = cluster.leader().await;
    cluster.kill(old);
    let new = cluster.leader().await;
    assert_ne!(new, old);
    // Every client moves to the new leader, resuming its session.
    eventually("every client is on the new leader", || {
        let n = cluster.node(new).server.as_ref().unwrap();
        n.stats().sessions_attached == 5
    })
    .await;
    // Writes go on: each publisher changes its data, and subscribers converge on it.
    for (i, p) in handles.iter().enumerate() {
        p.republish([format!("bolt://10.0.1.{i}:12200")])
            .await
            .unwrap();
    }
    for (_, s) in &watchers {
        s.wait_for(
            |d| d.items().all(|i| i.starts_with("bolt://10.0.1.")) && d.len() == 3,
            WAIT,
        )
        .await
        .unwrap();
    }
    cluster.wait_replicated(3).await;
    for log in &seen {
        let log = log.lock().unwrap();
        assert!(!log.contains(&0), "a subscriber saw an empty list: {log:?}");
    }
    for c in publishers.iter().chain(watchers.iter().map(|(c, _)| c)) {
        c.close().await;
    }
}

#[tokio::test]
async fn a_restarted_follower_rejoins_and_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start(3).await;
    // Small snapshots, so that what the follower missed is purged from the leader's log and
    // comes back as a snapshot.
    cluster.snapshot_every = 20;
    for id in 1..=3 {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.boot(id);
    }
    let follower = cluster.follower().await;
    let endpoints = cluster.endpoints();
    let c = connected(builder(&endpoints[0]).endpoints(endpoints.clone())).await;
    let mut handles = vec![c.publish(publish(0)).await.unwrap()];
    cluster.wait_replicated(1).await;

    cluster.kill(follower);
    for i in 1..60 {
        let reg = PublisherRegistration::new(format!("{SVC}.{i}")).data([format!("x{i}")]);
        handles.push(c.publish(reg).await.unwrap());
    }
    cluster.boot(follower);
    cluster.wait_replicated(60).await;
    let stats = |id: u64| cluster.node(id).server.as_ref().unwrap().stats();
    let leader = cluster.leader().await;
    assert_eq!(stats(follower).data_info_ids, stats(leader).data_info_ids);
    c.close().await;
}

#[tokio::test]
async fn a_client_whose_bootstrap_node_was_removed_finds_the_cluster_in_its_cache() {
    let mut cluster = Cluster::start(3).await;
    let cache = tempfile::tempdir().unwrap();
    let gone = cluster.follower().await;
    let gone_addr = cluster.node(gone).addr.clone();
    let first = connected(builder(&gone_addr).cache_dir(cache.path())).await;
    first.close().await;

    let rest: Vec<String> = cluster
        .endpoints()
        .into_iter()
        .filter(|e| *e != gone_addr)
        .collect();
    let list = roster_server::admin::remove_member(&rest, None, gone)
        .await
        .unwrap();
    assert!(list.members.iter().all(|m| m.id != gone), "{list:?}");
    cluster.kill(gone);

    // Only the removed node as bootstrap: the cached node list leads to the cluster.
    let again = connected(builder(&gone_addr).cache_dir(cache.path())).await;
    let _p = again.publish(publish(7)).await.unwrap();
    cluster.wait_replicated(1).await;
    again.close().await;
}

#[tokio::test]
async fn members_added_and_removed_at_run_time_reach_clients() {
    let mut cluster = Cluster::start(3).await;
    let endpoints = cluster.endpoints();
    let c = connected(builder(&endpoints[0])).await;
    let _p = c.publish(publish(1)).await.unwrap();
    let added = cluster.boot_extra(4);
    let list = roster_server::admin::add_member(&endpoints, None, 4, &added)
        .await
        .unwrap();
    assert!(list.members.iter().any(|m| m.id == 4), "{list:?}");
    eventually("the client learns the new member", || {
        c.members().contains(&added)
    })
    .await;
    // The new node caught up with what was registered before it joined.
    cluster.wait_replicated(1).await;

    roster_server::admin::remove_member(&endpoints, None, 4)
        .await
        .unwrap();
    eventually("the client forgets the removed member", || {
        !c.members().contains(&added)
    })
    .await;
    c.close().await;
}

#[tokio::test]
async fn a_leader_without_a_majority_stops_serving_and_writes_wait_for_one() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let endpoints = cluster.endpoints();
    let b = builder(&cluster.node(leader).addr)
        .endpoints(endpoints.clone())
        .request_timeout(Duration::from_secs(1));
    let c = connected(b).await;
    let _kept = c.publish(publish(1)).await.unwrap();
    let watcher = client(&cluster.node(leader).addr).await;
    let s = watcher.subscribe(sub(SVC)).await.unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();

    // Two of three nodes stop: the leader hears from no majority, so after its lease it
    // closes its sessions and refuses new ones (it could commit nothing), and the client,
    // with no node to serve it, keeps the write for its redo (acknowledged at once, as any
    // write made while disconnected).
    let followers: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    for &f in &followers {
        cluster.kill(f);
    }
    eventually("the leader without a majority drops the client", || {
        !c.is_connected()
    })
    .await;
    let _two = c.publish(publish(2)).await.unwrap();

    // A majority is back: the kept write and a new one arrive, and what was registered
    // before is all there.
    for &f in &followers {
        cluster.boot(f);
    }
    let _later = c.publish(publish(3)).await.unwrap();
    s.wait_for(
        |d| {
            let items: Vec<&str> = d.items().collect();
            items.len() == 3
                && ["1", "2", "3"]
                    .iter()
                    .all(|n| items.contains(&format!("bolt://10.0.0.{n}:12200").as_str()))
        },
        WAIT,
    )
    .await
    .unwrap();
    cluster.wait_replicated(3).await;
    c.close().await;
    watcher.close().await;
}

#[tokio::test]
async fn a_session_that_never_comes_back_expires_under_the_new_leader() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let endpoints = cluster.endpoints();
    // A raw session that will never reconnect, and a real client that will.
    let mut gone = Raw::open(&cluster.node(leader).addr, "gone-client", "DEFAULT_ZONE").await;
    let (ack, _) = gone
        .call(common::publish("p-gone", SVC, 1, &["bolt://10.9.9.9:1"]))
        .await;
    assert_eq!(ack.code, 0, "{ack:?}");
    let stays = connected(builder(&endpoints[0]).endpoints(endpoints.clone())).await;
    let _kept = stays.publish(publish(1)).await.unwrap();
    let watcher = connected(builder(&endpoints[0]).endpoints(endpoints.clone())).await;
    let s = watcher.subscribe(sub(SVC)).await.unwrap();
    s.wait_for(|d| d.len() == 2, WAIT).await.unwrap();

    cluster.kill(leader);
    drop(gone);
    // The new leader gives both sessions a fresh grace period (3 s here): the client that
    // comes back keeps its publisher, the one that does not loses it, and nothing else.
    let d = s
        .wait_for(
            |d| d.len() == 1 && d.items().all(|i| i == "bolt://10.0.0.1:12200"),
            WAIT,
        )
        .await
        .unwrap();
    assert!(!d.is_empty());
    cluster.wait_replicated(1).await;
    stays.close().await;
    watcher.close().await;
}

/// A session's expiry is one command that changes many datums; every replica must give them
/// the same versions, or a subscriber that moves to a new leader sees data go back to an older
/// version (issue 9: versions were handed out in hash-map order, different on each replica).
#[tokio::test]
async fn an_expiry_gives_every_datum_the_same_version_on_every_replica() {
    let mut cluster = Cluster::with_grace(3, Duration::from_secs(1)).await;
    let leader = cluster.leader().await;
    let endpoints = cluster.endpoints();
    let ids: Vec<String> = (0..10).map(|i| format!("{SVC}.expiry{i}")).collect();
    // A client publishing on 10 dataIds that goes away without a word (as if SIGKILLed).
    let mut gone = Raw::open(&cluster.node(leader).addr, "killed-client", "DEFAULT_ZONE").await;
    for (i, id) in ids.iter().enumerate() {
        let item = format!("bolt://10.3.0.{i}:12200");
        let (ack, _) = gone
            .call(common::publish(&format!("p{i}"), id, 1, &[&item]))
            .await;
        assert_eq!(ack.code, 0, "{ack:?}");
    }
    let watcher = connected(builder(&endpoints[0]).endpoints(endpoints.clone())).await;
    let mut seen = Vec::new();
    for id in &ids {
        let s = watcher.subscribe(sub(id)).await.unwrap();
        s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
        let log: Arc<Mutex<Vec<u64>>> = Arc::default();
        let (l, mut updates) = (log.clone(), s.updates());
        tokio::spawn(async move {
            while let Some(d) = updates.next().await {
                l.lock().unwrap().push(d.version);
            }
        });
        seen.push((s, log));
    }
    drop(gone);
    let mut expired = Vec::new();
    for (s, _) in &seen {
        let d = s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
        expired.push(d.version);
    }
    cluster.assert_replicas_identical().await;

    cluster.kill(leader);
    let new = cluster.leader().await;
    assert_ne!(new, leader);
    cluster.assert_replicas_identical().await;
    // A new subscriber reads the same, unchanged data from the new leader: same versions.
    let reader = client(&cluster.node(new).addr).await;
    for (i, id) in ids.iter().enumerate() {
        let s = reader.subscribe(sub(id)).await.unwrap();
        let d = s.wait_for(|_| true, WAIT).await.unwrap();
        assert!(d.is_empty(), "{id}: {d:?}");
        assert_eq!(
            d.version, expired[i],
            "{id}: the new leader's version differs"
        );
    }
    // The watcher moved to the new leader too; none of its subscribers went back.
    for (i, (_, log)) in seen.iter().enumerate() {
        let log = log.lock().unwrap();
        assert!(
            log.windows(2).all(|w| w[0] <= w[1]),
            "{}: versions went back: {log:?}",
            ids[i]
        );
    }
    watcher.close().await;
    reader.close().await;
}

/// The first member forms the cluster and wins its first term; the others wait their turn,
/// so no two nodes lead term 1 (they all formed it at once before, and openraft let a
/// higher id lead term 1 after a lower one: the chaos runner saw it).
#[tokio::test]
async fn the_first_member_forms_the_cluster_and_alone_leads_term_one() {
    let cluster = Cluster::start(3).await;
    assert_eq!(cluster.leader().await, 1);
    for s in cluster.live() {
        let m = s.members();
        assert_eq!((m.leader_id, m.term), (1, 1), "{m:?}");
    }
}
