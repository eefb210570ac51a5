//! `roster-bench`: the Roster benchmarks. Run `make bench` (a release build); it prints the
//! machine and every figure. `--only a,c` runs some scenarios (`p`: only the paced fan-out of `a`); `--secure` runs them with TLS and access keys; `--quick` uses small sizes
//! (a smoke run, not figures to quote). Scenario `s` compares with a real SOFARegistry when
//! one runs (see `sofa.rs`).
//!
//! The registry runs as a child process (this binary's `serve` mode) on loopback; the
//! clients run in this process, each with its own connection.

mod alloc;
mod cluster;
mod raw;
mod server;
mod sofa;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use hdrhistogram::Histogram;
use roster_core::{
    Client, Publisher, PublisherRegistration, Scope, Subscriber, SubscriberRegistration,
};
use server::ServerProcess;
use tokio::sync::Notify;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

static START: OnceLock<Instant> = OnceLock::new();

fn nanos() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A 100-byte data item carrying a tag after `#`.
fn item(tag: impl std::fmt::Display) -> String {
    let mut s = format!("bolt://10.1.2.3:12200?weight=100&timeout=3000&app=bench&zone=z#{tag}");
    while s.len() < 100 {
        s.insert(s.find('#').unwrap(), '_');
    }
    s
}

fn tag(d: &roster_core::SubscriberData) -> Option<u64> {
    d.items().next()?.rsplit_once('#')?.1.parse().ok()
}

/// `--secure`: the CA the server's certificate chains to and the access key clients use.
struct Secure {
    ca_file: std::path::PathBuf,
    access_key: String,
    secret_key: String,
}

static SECURE: OnceLock<Secure> = OnceLock::new();

/// The child server finds the files of `--secure` here.
const SECURE_DIR_ENV: &str = "ROSTER_BENCH_SECURE_DIR";

async fn clients(endpoints: &[String], n: usize) -> Vec<Client> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut b = Client::builder()
            .endpoints(endpoints.iter().map(String::as_str))
            .app_name(format!("bench-{i}"))
            .request_timeout(Duration::from_secs(60));
        if let Some(s) = SECURE.get() {
            b = b
                .tls(roster_core::TlsOptions {
                    ca_file: Some(s.ca_file.clone()),
                    ..Default::default()
                })
                .credentials(&s.access_key, &s.secret_key);
        }
        let c = b.build().unwrap();
        c.wait_connected(Duration::from_secs(10)).await.unwrap();
        out.push(c);
    }
    out
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "machine: {cpu}, {} cores, {:.1} GiB, Linux {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem as f64 / 1024.0 / 1024.0,
        kernel.trim()
    );
}

/// A prefix for dataIds that no earlier run used (a SOFARegistry keeps data between runs).
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("bench{}", uuid::Uuid::new_v4().simple()))
}

/// (a) Hot fan-out: S subscribers of one dataId over C connections; one republish at a
/// time; time until every subscriber has the new version.
async fn fanout(s: usize, c: usize, changes: u64) {
    let server = ServerProcess::start();
    fanout_on(&[server.endpoint()], "", s, c, changes).await;
}

/// S subscribers of one dataId spread over the given clients, each read by a task of its
/// own (as an application would); counts, once per subscriber, who has read data that
/// shows the awaited tag (`Seen`).
struct Consumers {
    subs: Vec<Subscriber>,
    current: Arc<AtomicU64>,
    remaining: Arc<AtomicUsize>,
    done: Arc<Notify>,
    /// When the first consumer read the awaited tag (`nanos()`), 0 before.
    first: Arc<AtomicU64>,
}

/// Whether a consumer's data shows the awaited tag.
type Seen = Arc<dyn Fn(&roster_core::SubscriberData, u64) -> bool + Send + Sync>;

/// Data holding an item tagged with the tag (`item(tag)`).
fn has_tag() -> Seen {
    Arc::new(|d, want| {
        d.items()
            .any(|it| it.rsplit_once('#').and_then(|(_, t)| t.parse().ok()) == Some(want))
    })
}

impl Consumers {
    /// Subscribes and returns once every subscriber has read data showing tag `first`.
    async fn start(
        clients: &[Client],
        reg: SubscriberRegistration,
        s: usize,
        first: u64,
        seen: Seen,
    ) -> Consumers {
        let current = Arc::new(AtomicU64::new(first));
        let remaining = Arc::new(AtomicUsize::new(s));
        let done = Arc::new(Notify::new());
        let first_seen = Arc::new(AtomicU64::new(0));
        let mut subs = Vec::with_capacity(s);
        for i in 0..s {
            let sub = clients[i % clients.len()]
                .subscribe(reg.clone())
                .await
                .unwrap();
            let mut updates = sub.updates();
            let (current, remaining, done) = (current.clone(), remaining.clone(), done.clone());
            let (seen, first_seen) = (seen.clone(), first_seen.clone());
            tokio::spawn(async move {
                let mut counted = u64::MAX;
                while let Some(d) = updates.next().await {
                    let want = current.load(Ordering::Acquire);
                    if counted != want && seen(&d, want) {
                        counted = want;
                        let _ = first_seen.compare_exchange(
                            0,
                            nanos(),
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        );
                        if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                            done.notify_one();
                        }
                    }
                }
            });
            subs.push(sub);
        }
        let consumers = Consumers {
            subs,
            current,
            remaining,
            done,
            first: first_seen,
        };
        consumers.all_read().await;
        consumers
    }

    /// The next tag to wait for (set before the change is made).
    fn expect(&self, tag: u64) {
        self.first.store(0, Ordering::Release);
        self.remaining.store(self.subs.len(), Ordering::Release);
        self.current.store(tag, Ordering::Release);
    }

    async fn all_read(&self) {
        tokio::time::timeout(Duration::from_secs(120), self.done.notified())
            .await
            .expect("every subscriber got it");
    }
}

pub(crate) async fn fanout_on(endpoints: &[String], label: &str, s: usize, c: usize, changes: u64) {
    let hot = format!("{}.Hot.{s}.{c}", run_id());
    let subscribers = clients(endpoints, c).await;
    let publisher_client = &clients(endpoints, 1).await[0];
    let publisher = publisher_client
        .publish(PublisherRegistration::new(&hot).data([item(0)]))
        .await
        .unwrap();
    let reg = SubscriberRegistration::new(&hot);
    let consumers = Consumers::start(&subscribers, reg, s, 0, has_tag()).await;
    let mut from_ack = Histogram::<u64>::new(3).unwrap();
    let mut from_send = Histogram::<u64>::new(3).unwrap();
    let warmup = 5;
    for i in 1..=changes + warmup {
        consumers.expect(i);
        let sent = Instant::now();
        publisher.republish([item(i)]).await.unwrap();
        let acked = Instant::now();
        consumers.all_read().await;
        if i > warmup {
            from_ack.record(acked.elapsed().as_micros() as u64).unwrap();
            from_send.record(sent.elapsed().as_micros() as u64).unwrap();
        }
    }
    println!(
        "(a) fan-out{label} S={s:>6} C={c:>3}: from ack p50 {} p99 {} max {} | from republish call p50 {} p99 {} max {} ({changes} changes)",
        ms(from_ack.value_at_quantile(0.5)),
        ms(from_ack.value_at_quantile(0.99)),
        ms(from_ack.max()),
        ms(from_send.value_at_quantile(0.5)),
        ms(from_send.value_at_quantile(0.99)),
        ms(from_send.max()),
    );
    drop(consumers);
    for c in subscribers.iter().chain([publisher_client]) {
        c.close().await;
    }
}

/// (a, paced) The hot fan-out as a registry sees it: S subscribers of one service over C
/// connections; the service has `instances` instances of one ~100-byte item each; one
/// instance changes at a time, `gap` apart (so the client's threads go idle between
/// changes). Time from the republish's acknowledgement until every subscriber has it.
async fn fanout_paced(s: usize, c: usize, instances: usize, gap: Duration, changes: u64) {
    let server = ServerProcess::start();
    let endpoints = [server.endpoint()];
    let hot = format!("{}.Paced.{s}.{c}", run_id());
    let subscribers = clients(&endpoints, c).await;
    let publisher_client = &clients(&endpoints, 1).await[0];
    let mut publishers = Vec::with_capacity(instances);
    for i in 0..instances {
        let reg = PublisherRegistration::new(&hot).data([item(i)]);
        publishers.push(publisher_client.publish(reg).await.unwrap());
    }
    // Every instance is published before anyone subscribes: the last one's tag means all.
    let reg = SubscriberRegistration::new(&hot);
    let last = instances as u64 - 1;
    let consumers = Consumers::start(&subscribers, reg, s, last, has_tag()).await;
    let mut from_ack = Histogram::<u64>::new(3).unwrap();
    let mut to_first = Histogram::<u64>::new(3).unwrap();
    let warmup = 5;
    for n in 1..=changes + warmup {
        tokio::time::sleep(gap).await;
        let tag = instances as u64 - 1 + n;
        consumers.expect(tag);
        publishers[(n as usize) % instances]
            .republish([item(tag)])
            .await
            .unwrap();
        let (acked, acked_ns) = (Instant::now(), nanos());
        consumers.all_read().await;
        if n > warmup {
            from_ack.record(acked.elapsed().as_micros() as u64).unwrap();
            // The first consumer may read it before the ack is in: then 0.
            let first = consumers.first.load(Ordering::Acquire);
            to_first
                .record(first.saturating_sub(acked_ns) / 1000)
                .unwrap();
        }
    }
    println!(
        "(a) paced fan-out S={s} C={c}, {instances} instances, one change every {gap:?}: from ack p50 {} p99 {} max {} ({changes} changes); from ack to the first subscriber p50 {} p99 {}",
        ms(from_ack.value_at_quantile(0.5)),
        ms(from_ack.value_at_quantile(0.99)),
        ms(from_ack.max()),
        ms(to_first.value_at_quantile(0.5)),
        ms(to_first.value_at_quantile(0.99)),
    );
    drop(consumers);
    for c in subscribers.iter().chain([publisher_client]) {
        c.close().await;
    }
}

/// (b) Wide churn: N dataIds with one subscriber each; publishers republish as fast as the
/// server takes it (a bounded number in flight); deliveries per second and latency from the
/// republish call to the subscriber.
async fn churn(n: usize, secs: u64, in_flight: usize) {
    let server = ServerProcess::start();
    churn_on(&[server.endpoint()], "", n, secs, in_flight).await;
}

pub(crate) async fn churn_on(
    endpoints: &[String],
    label: &str,
    n: usize,
    secs: u64,
    in_flight: usize,
) {
    let sub_clients = clients(endpoints, 10).await;
    let pub_clients = clients(endpoints, 4).await;
    let measuring = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let mut subs = Vec::with_capacity(n);
    for i in 0..n {
        let sub = sub_clients[i % 10]
            .subscribe(SubscriberRegistration::new(format!(
                "{}.Churn.{i}",
                run_id()
            )))
            .await
            .unwrap();
        let mut updates = sub.updates();
        let (measuring, delivered, latency) =
            (measuring.clone(), delivered.clone(), latency.clone());
        tokio::spawn(async move {
            while let Some(d) = updates.next().await {
                if let (true, Some(sent)) = (measuring.load(Ordering::Relaxed), tag(&d)) {
                    delivered.fetch_add(1, Ordering::Relaxed);
                    let _ = latency
                        .lock()
                        .unwrap()
                        .record(nanos().saturating_sub(sent) / 1000);
                }
            }
        });
        subs.push(sub);
    }
    let mut pubs: Vec<Vec<Publisher>> = (0..4).map(|_| Vec::new()).collect();
    for i in 0..n {
        let reg =
            PublisherRegistration::new(format!("{}.Churn.{i}", run_id())).data([item(nanos())]);
        pubs[i % 4].push(pub_clients[i % 4].publish(reg).await.unwrap());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let republished = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let why: Arc<Mutex<Option<String>>> = Arc::default();
    let mut drivers = Vec::new();
    for list in pubs {
        let (stop, republished, failed, why) = (
            stop.clone(),
            republished.clone(),
            failed.clone(),
            why.clone(),
        );
        let list = Arc::new(list);
        drivers.push(tokio::spawn(async move {
            let running = move |i: &usize| (!stop.load(Ordering::Relaxed)).then_some(*i);
            stream::iter((0..).map_while(|i: usize| running(&i)))
                .map(|i| {
                    let (list, failed, why) = (list.clone(), failed.clone(), why.clone());
                    async move {
                        // Counted, not fatal: a registry may refuse under load.
                        if let Err(e) = list[i % list.len()].republish([item(nanos())]).await {
                            failed.fetch_add(1, Ordering::Relaxed);
                            why.lock().unwrap().get_or_insert_with(|| e.to_string());
                        }
                        // A republish returns at once while its client is reconnecting
                        // (it is queued for the redo): yield then, or this loop would hold
                        // the worker threads that the reconnect needs.
                        tokio::task::consume_budget().await;
                    }
                })
                .buffer_unordered(in_flight / 4)
                .for_each(|()| {
                    republished.fetch_add(1, Ordering::Relaxed);
                    async {}
                })
                .await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up
    measuring.store(true, Ordering::Relaxed);
    let r0 = republished.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let r1 = republished.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for d in drivers {
        d.await.unwrap();
    }
    let h = latency.lock().unwrap().clone();
    println!(
        "(b) churn{label} {n} dataIds, {in_flight} in flight: {:.0} republishes/s acked ({} refused), {:.0} pushes/s delivered; push latency p50 {} p99 {} p999 {} max {}",
        (r1 - r0) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
        delivered.load(Ordering::Relaxed) as f64 / elapsed,
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max()),
    );
    if let Some(why) = why.lock().unwrap().take() {
        println!("    first refusal: {why}");
    }
    drop(subs);
    for c in sub_clients.iter().chain(&pub_clients) {
        c.close().await;
    }
}

/// Every client registers `per_client` publishers (100-byte data), 64 in flight each; the
/// n-th publisher overall goes under `data_id(n)`. Returns those registered and how many
/// the registry refused.
async fn publish_all(
    all: &[Client],
    per_client: usize,
    data_id: impl Fn(usize) -> String,
) -> (Vec<Vec<Publisher>>, usize, Option<String>) {
    let tasks: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(ci, client)| {
            let client = client.clone();
            let regs: Vec<PublisherRegistration> = (0..per_client)
                .map(|i| PublisherRegistration::new(data_id(ci * per_client + i)).data([item(i)]))
                .collect();
            tokio::spawn(async move {
                stream::iter(regs)
                    .map(|reg| client.publish(reg))
                    .buffer_unordered(64)
                    .collect::<Vec<_>>()
                    .await
            })
        })
        .collect();
    let (mut held, mut refused, mut why) = (Vec::new(), 0, None);
    for t in tasks {
        let results = t.await.unwrap();
        for r in &results {
            if let Err(e) = r {
                refused += 1;
                why.get_or_insert_with(|| e.to_string());
            }
        }
        held.push(results.into_iter().filter_map(Result::ok).collect());
    }
    (held, refused, why)
}

/// (c) Registration throughput: C clients register publishers concurrently.
async fn registrations(c: usize, per_client: usize) {
    let server = ServerProcess::start();
    registrations_on(&[server.endpoint()], "", Some(&server), c, per_client).await;
}

/// `counted`: the process whose `/health` must then hold every publisher (the leader).
pub(crate) async fn registrations_on(
    endpoints: &[String],
    label: &str,
    counted: Option<&ServerProcess>,
    c: usize,
    per_client: usize,
) {
    let all = clients(endpoints, c).await;
    let t0 = Instant::now();
    let prefix = format!("{}.Reg.{c}", run_id());
    let (_held, refused, why) =
        publish_all(&all, per_client, |n| format!("{prefix}.{}", n % 1000)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let total = c * per_client;
    if let Some(server) = counted {
        assert_eq!((server.counts().0, refused), (total as u64, 0));
    }
    println!(
        "(c) registrations{label} from {c:>3} clients: {} publishers acknowledged ({refused} refused) in {elapsed:.2} s = {:.0}/s",
        total - refused,
        (total - refused) as f64 / elapsed
    );
    if let Some(why) = why {
        println!("    first refusal: {why}");
    }
    for c in &all {
        c.close().await;
    }
}

/// (d) Redo: the server is killed and restarted under C clients holding R registrations
/// each; time from the new server listening until it holds them all again.
async fn redo(c: usize, per_client: usize, runs: usize) {
    let mut server = ServerProcess::start();
    let all = clients(&[server.endpoint()], c).await;
    let (pubs_each, subs_each) = (per_client * 4 / 5, per_client / 5);
    let mut held_pubs = Vec::new();
    let mut held_subs: Vec<Subscriber> = Vec::new();
    for (ci, client) in all.iter().enumerate() {
        for i in 0..pubs_each {
            let reg =
                PublisherRegistration::new(format!("bench.Redo.{}", (ci * pubs_each + i) % 1000))
                    .data([item(i)]);
            held_pubs.push(client.publish(reg).await.unwrap());
        }
        for i in 0..subs_each {
            held_subs.push(
                client
                    .subscribe(SubscriberRegistration::new(format!("bench.Redo.{i}")))
                    .await
                    .unwrap(),
            );
        }
    }
    let (p, s) = ((c * pubs_each) as u64, (c * subs_each) as u64);
    server.wait_counts(p, s, Duration::from_secs(30));
    let mut times = Vec::new();
    for _ in 0..runs {
        let (grpc, http) = server.kill();
        server = ServerProcess::start_on(grpc, http);
        times.push(server.wait_counts(p, s, Duration::from_secs(60)));
    }
    times.sort();
    println!(
        "(d) redo of {c} clients x {per_client} registrations ({p} publishers, {s} subscribers) after a server restart: min {} median {} max {} over {runs} restarts",
        ms(times[0].as_micros() as u64),
        ms(times[runs / 2].as_micros() as u64),
        ms(times[runs - 1].as_micros() as u64),
    );
}

/// (h) Callback delivery, the yardstick for the bindings: S subscribers of one dataId on one
/// client, each with a callback; one republish at a time; callbacks per second and the time
/// from the republish call until the last callback ran. `bindings/python/bench.py` runs the
/// same from Python.
async fn callbacks(s: usize, changes: u64) {
    let server = ServerProcess::start();
    let consumer = clients(&[server.endpoint()], 1).await.remove(0);
    let provider = clients(&[server.endpoint()], 1).await.remove(0);
    let publisher = provider
        .publish(PublisherRegistration::new("bench.Callbacks").data([item(0)]))
        .await
        .unwrap();
    let current = Arc::new(AtomicU64::new(0));
    let remaining = Arc::new(AtomicUsize::new(s));
    let done = Arc::new(Notify::new());
    let calls = Arc::new(AtomicU64::new(0));
    let mut subs = Vec::with_capacity(s);
    for _ in 0..s {
        let (current, remaining, done, calls) = (
            current.clone(),
            remaining.clone(),
            done.clone(),
            calls.clone(),
        );
        let callback = move |d: Arc<roster_core::SubscriberData>| {
            calls.fetch_add(1, Ordering::Relaxed);
            if tag(&d) == Some(current.load(Ordering::Acquire))
                && remaining.fetch_sub(1, Ordering::AcqRel) == 1
            {
                done.notify_one();
            }
        };
        let reg = SubscriberRegistration::new("bench.Callbacks");
        subs.push(consumer.subscribe_with(reg, callback).await.unwrap());
    }
    done.notified().await; // every callback saw the initial data
    let mut latency = Histogram::<u64>::new(3).unwrap();
    let (c0, t0) = (calls.load(Ordering::Relaxed), Instant::now());
    for i in 1..=changes {
        remaining.store(s, Ordering::Release);
        current.store(i, Ordering::Release);
        let sent = Instant::now();
        publisher.republish([item(i)]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), done.notified())
            .await
            .expect("every callback ran");
        latency.record(sent.elapsed().as_micros() as u64).unwrap();
    }
    let rate = (calls.load(Ordering::Relaxed) - c0) as f64 / t0.elapsed().as_secs_f64();
    println!(
        "(h) callbacks: {s} subscribers of one dataId on one client, {changes} changes: {rate:.0} callbacks/s; republish to last callback p50 {} p99 {}",
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
    );
    drop(subs);
}

/// (i) Per-call cost, the other yardstick for the bindings: one task publishes N publishers
/// then republishes one of them N times, each call awaited before the next.
async fn calls(n: u64) {
    let server = ServerProcess::start();
    let client = clients(&[server.endpoint()], 1).await.remove(0);
    let t0 = Instant::now();
    let mut held = Vec::with_capacity(n as usize);
    for i in 0..n {
        let reg = PublisherRegistration::new(format!("bench.Calls.{i}")).data([item(i)]);
        held.push(client.publish(reg).await.unwrap());
    }
    let publish = t0.elapsed().as_micros() as f64 / n as f64;
    let t0 = Instant::now();
    for i in 0..n {
        held[0].republish([item(i)]).await.unwrap();
    }
    let republish = t0.elapsed().as_micros() as f64 / n as f64;
    println!("(i) sequential calls from Rust, {n} each: publish {publish:.1} us/call, republish {republish:.1} us/call");
}

/// (g) Leader failover: a three-node cluster under steady load (10 publishers republishing
/// every 20 ms, watched by 10 subscriber clients); the leader is SIGKILLed. Times from the kill
/// until a client's write is acknowledged again and until every subscriber has seen a write
/// made after the failover; counts any empty list a subscriber was given.
async fn failover(runs: usize) {
    let mut cluster = cluster::ClusterProcesses::start(3);
    let endpoints = cluster.endpoints();
    let pub_clients = clients(&endpoints, 10).await;
    let sub_clients = clients(&endpoints, 10).await;
    let probe = clients(&endpoints, 1).await.remove(0);
    let probe_pub = probe
        .publish(PublisherRegistration::new("bench.Failover.probe").data([item(0)]))
        .await
        .unwrap();
    let mut pubs = Vec::new();
    for (i, c) in pub_clients.iter().enumerate() {
        let reg = PublisherRegistration::new(format!("bench.Failover.{i}")).data([item(0)]);
        pubs.push(c.publish(reg).await.unwrap());
    }
    let empties = Arc::new(AtomicU64::new(0));
    let target = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let converged = Arc::new(Notify::new());
    let mut subs = Vec::new();
    for c in &sub_clients {
        for i in 0..=10 {
            let data_id = if i < 10 {
                format!("bench.Failover.{i}")
            } else {
                "bench.Failover.probe".to_owned()
            };
            let s = c
                .subscribe(SubscriberRegistration::new(data_id))
                .await
                .unwrap();
            s.wait_for(|d| !d.is_empty(), Duration::from_secs(10))
                .await
                .unwrap();
            let mut updates = s.updates();
            let (empties, target, seen, converged) = (
                empties.clone(),
                target.clone(),
                seen.clone(),
                converged.clone(),
            );
            tokio::spawn(async move {
                while let Some(d) = updates.next().await {
                    if d.is_empty() {
                        empties.fetch_add(1, Ordering::Relaxed);
                    }
                    if i == 10
                        && tag(&d) == Some(target.load(Ordering::Acquire))
                        && seen.fetch_add(1, Ordering::AcqRel) + 1 == 10
                    {
                        converged.notify_one();
                    }
                }
            });
            subs.push(s);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = pubs
        .into_iter()
        .map(|p| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let _ = p.republish([item(n)]).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                p // still registered: dropping it would unregister
            })
        })
        .collect();
    let (mut resumed, mut all_seen) = (Vec::new(), Vec::new());
    for run in 0..runs as u64 {
        let leader = cluster.leader(Duration::from_secs(30));
        let killed = Instant::now();
        cluster.kill(leader);
        // The probe sees its session end, then finds the new leader.
        while probe.is_connected() {
            assert!(
                killed.elapsed() < Duration::from_secs(10),
                "the probe never noticed"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mark = 1_000_000 * (run + 1);
        seen.store(0, Ordering::Release);
        target.store(mark, Ordering::Release);
        loop {
            probe.wait_connected(Duration::from_secs(30)).await.unwrap();
            // Connected when sent: `Ok` means the new leader acknowledged it.
            if probe_pub.republish([item(mark)]).await.is_ok() && probe.is_connected() {
                break;
            }
        }
        resumed.push(killed.elapsed());
        tokio::time::timeout(Duration::from_secs(30), converged.notified())
            .await
            .expect("every subscriber saw the write made after the failover");
        all_seen.push(killed.elapsed());
        cluster.restart(leader);
        tokio::time::sleep(Duration::from_secs(1)).await; // let it catch up
    }
    let empty = empties.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut held = Vec::new();
    for l in load {
        held.push(l.await.unwrap());
    }
    let stats = |mut v: Vec<Duration>| {
        v.sort();
        let at = |i: usize| ms(v[i].as_micros() as u64);
        format!(
            "min {} median {} max {}",
            at(0),
            at(v.len() / 2),
            at(v.len() - 1)
        )
    };
    let each: Vec<String> = resumed.iter().map(|d| d.as_millis().to_string()).collect();
    println!(
        "(g) leader failover (3 nodes, 10 publishers republishing every 20 ms, 110 subscribers) over {runs} kills: writes acknowledged again after {} (each, ms: {}) | every subscriber has a post-failover write after {} | empty lists seen: {}",
        stats(resumed),
        each.join(" "),
        stats(all_seen),
        empty
    );
    drop(subs);
    drop(held);
}

/// (e) Memory: server bytes per publisher (100-byte data item), from its RSS; client heap
/// bytes per subscription, from this process's counting allocator.
async fn memory(publishers: usize, per_data_id: usize, subscriptions: usize) {
    let server = ServerProcess::start();
    let all = clients(&[server.endpoint()], 10).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss0 = server.rss_bytes();
    let _held = publish_all(&all, publishers / 10, |n| {
        format!("bench.Mem.{}", n / per_data_id)
    })
    .await;
    server.wait_counts(publishers as u64, 0, Duration::from_secs(30));
    let rss1 = server.rss_bytes();
    println!(
        "(e) server memory: {publishers} publishers ({per_data_id} per dataId), RSS {:.1} MiB -> {:.1} MiB = {} bytes per publisher",
        rss0 as f64 / 1048576.0,
        rss1 as f64 / 1048576.0,
        (rss1 - rss0) / publishers as u64
    );

    if subscriptions > 0 {
        let data_ids = publishers / per_data_id;
        let sub_client = &clients(&[server.endpoint()], 1).await[0];
        let before = alloc::live_bytes();
        let mut subs = Vec::with_capacity(subscriptions);
        for i in 0..subscriptions {
            let reg = SubscriberRegistration::new(format!("bench.Mem.{}", i % data_ids))
                .scope(Scope::Zone);
            subs.push(sub_client.subscribe(reg).await.unwrap());
        }
        for s in &subs {
            s.wait_for(|d| !d.is_empty(), Duration::from_secs(30))
                .await
                .unwrap();
        }
        let after = alloc::live_bytes();
        let items = subs[0].peek().unwrap().len();
        println!(
            "(e) client memory: {subscriptions} subscriptions, each holding {items} pushed items of 100 bytes = {} heap bytes per subscription",
            (after - before) / subscriptions as isize
        );
    }
}

/// (f) The hot application: one interface served by N instances of one application, S
/// subscribers over C connections: the time until every subscriber has seen one
/// instance's change, the push bytes per connection per change, and the client memory;
/// at application level (converted in the core), at interface level, and at application
/// level converted by the server for a force-interface consumer; with full pushes
/// (incremental pushes off) and with deltas.
async fn big_app(
    n: usize,
    subscribers: usize,
    connections: usize,
    changes: u64,
    case: Option<&str>,
) {
    use roster_core::SubscribeMode;
    use roster_proto::appmeta::{self, ServiceUrl};
    use roster_proto::v1;

    let server = ServerProcess::start();
    let mut provider = raw::Raw::open(&server.endpoint(), "big-provider").await;
    let app_iface = roster_core::DataInfoId::new("bench.BigApp:1.0").to_string();
    let services = [(
        app_iface,
        ServiceUrl::parse("bolt://10.0.0.1:12200?timeout=3000&weight=100").unwrap(),
    )];
    let meta = appmeta::instance_from_services("big-app", &services)
        .unwrap()
        .metadata;
    let rev = meta.revision.clone();
    let app_key = v1::DataKey {
        data_id: "big-app".into(),
        group: appmeta::APP_GROUP.into(),
        ..Default::default()
    };
    let iface_key = v1::DataKey {
        data_id: "bench.BigIface:1.0".into(),
        ..Default::default()
    };
    let host = |i: usize| format!("10.{}.{}.{}:12200", i / 65536, (i / 256) % 256, i % 256);
    let app_item = |i: usize, w: u64| {
        format!(
            "bolt://{}?{}={rev}&weight={w}",
            host(i),
            appmeta::REVISION_PARAM
        )
    };
    let iface_item = |i: usize, w: u64| format!("bolt://{}?timeout=3000&weight={w}", host(i));
    // What one copy of the list costs a client, roughly: a String per item.
    let list_bytes: usize = (0..n)
        .map(|i| iface_item(i, 100).len() + std::mem::size_of::<String>())
        .sum();
    let register = v1::client_frame::Body::RegisterRevision(v1::RegisterRevision {
        revision: Some((&meta).into()),
    });
    provider.call_all(vec![register]).await;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut bodies = Vec::new();
        for &i in chunk {
            bodies.push(raw::publish(
                format!("a{i}"),
                app_key.clone(),
                1,
                app_item(i, 100),
            ));
            bodies.push(raw::publish(
                format!("i{i}"),
                iface_key.clone(),
                1,
                iface_item(i, 100),
            ));
        }
        provider.call_all(bodies).await;
    }

    let cases = [
        (
            "application level, converted in the core (application-first)",
            "bench.BigApp:1.0",
            SubscribeMode::ApplicationFirst,
            'a',
        ),
        (
            "interface level (force-interface)",
            "bench.BigIface:1.0",
            SubscribeMode::ForceInterface,
            'i',
        ),
        (
            "application level, converted by the server (force-interface)",
            "bench.BigApp:1.0",
            SubscribeMode::ForceInterface,
            'a',
        ),
    ];
    let mut version = 1;
    let cases = cases
        .into_iter()
        .filter(|c| case.is_none_or(|want| c.0.contains(want)));
    for (name, data_id, mode, prefix) in cases {
        for deltas in [false, true] {
            let mut clients = Vec::with_capacity(connections);
            for _ in 0..connections {
                let client = Client::builder()
                    .endpoints([server.endpoint()])
                    .subscribe_mode(mode)
                    .incremental_pushes(deltas)
                    .build()
                    .unwrap();
                client
                    .wait_connected(Duration::from_secs(10))
                    .await
                    .unwrap();
                clients.push(client);
            }
            let before = alloc::live_bytes();
            // Tag 0: the whole list; then a change's weight, seen in the change set (so a
            // 7,000-item list is not searched 1,000 times per change).
            let seen: Seen = Arc::new(move |d, want| {
                if want == 0 {
                    return d.len() == n;
                }
                let marker = format!("weight={want}");
                d.added().any(|x| x.ends_with(&marker))
            });
            let reg = SubscriberRegistration::new(data_id).scope(Scope::Global);
            let watchers = Consumers::start(&clients, reg, subscribers, 0, seen).await;
            let subscribed = alloc::live_bytes() - before;
            let (bytes0, pushes0) = (
                server.metric("roster_push_bytes_total"),
                server.metric("roster_pushes_total"),
            );
            let mut h = Histogram::<u64>::new(3).unwrap();
            // On stderr, for a profiler to start at the changes.
            eprintln!("(f) {name}, deltas {deltas}: subscribed; changing");
            for j in 0..changes {
                version += 1;
                let (i, weight) = ((j as usize * 7919) % n, 1000 + version);
                let (regist_id, key, item) = if prefix == 'a' {
                    (format!("a{i}"), app_key.clone(), app_item(i, weight))
                } else {
                    (format!("i{i}"), iface_key.clone(), iface_item(i, weight))
                };
                watchers.expect(weight);
                let start = Instant::now();
                provider
                    .call_all(vec![raw::publish(regist_id, key, version, item)])
                    .await;
                watchers.all_read().await;
                h.record(start.elapsed().as_micros() as u64).unwrap();
            }
            let bytes = server.metric("roster_push_bytes_total") - bytes0;
            let pushes = server.metric("roster_pushes_total") - pushes0;
            let held = alloc::live_bytes() - before;
            println!(
                "(f) {n} instances, {name}, {subscribers} subscribers over {connections} connections, deltas {}: one instance's change seen by all p50 {} p99 {} max {}; {:.0} bytes per push per connection; client memory {:.1} MiB after subscribing, {:.1} MiB after the changes ({:.2} list copies per connection)",
                if deltas { "on " } else { "off" },
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.max()),
                bytes / pushes.max(1.0),
                subscribed as f64 / 1048576.0,
                held as f64 / 1048576.0,
                held as f64 / connections as f64 / list_bytes as f64,
            );
            drop(watchers);
            for c in clients {
                c.close().await;
            }
            // Let the closed clients' tasks finish freeing before the next baseline.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        server::serve(&args[2], &args[3], &args[4..]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    // `--gap MS`: the paced fan-out's time between changes (100 ms).
    let gap_ms: u64 = args
        .iter()
        .position(|a| a == "--gap")
        .and_then(|i| args.get(i + 1))
        .map_or(100, |g| g.parse().expect("--gap takes milliseconds"));
    // `--case TEXT`: only (f)'s cases whose name contains TEXT (to profile one).
    let case = args
        .iter()
        .position(|a| a == "--case")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let run = |s: &str| only.as_ref().is_none_or(|o| o.split(',').any(|x| x == s));
    START.get_or_init(Instant::now);
    machine();
    // `--secure`: TLS and access keys between the clients and the server (child processes
    // inherit where the files are).
    let _secrets = args.iter().any(|a| a == "--secure").then(|| {
        let s = roster_bindings::testing::Secrets::generate().unwrap();
        std::env::set_var(SECURE_DIR_ENV, s.dir());
        let _ = SECURE.set(Secure {
            ca_file: s.ca_file(),
            access_key: roster_bindings::testing::Secrets::ACCESS_KEY.into(),
            secret_key: s.secret_key.clone(),
        });
        println!("secure: TLS 1.3 (rustls, ring) and AK/SK authentication on every session");
        s
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if run("a") {
            let changes = if quick { 10 } else { 200 };
            for (s, c) in [(1_000, 10), (1_000, 100), (10_000, 10), (10_000, 100)] {
                if !quick || s == 1_000 {
                    fanout(s, c, changes).await;
                }
            }
        }
        if run("a") || run("p") {
            let (s, changes) = if quick { (1_000, 5) } else { (10_000, 100) };
            fanout_paced(s, 100, 8, Duration::from_millis(gap_ms), changes).await;
        }
        if run("b") {
            let (n, secs) = if quick { (1_000, 2) } else { (10_000, 10) };
            churn(n, secs, 1024).await;
        }
        if run("c") {
            for c in [10, 64] {
                registrations(c, if quick { 100 } else { 100_000 / c }).await;
            }
        }
        if run("d") {
            redo(if quick { 10 } else { 100 }, 100, if quick { 1 } else { 5 }).await;
        }
        if run("f") {
            if quick {
                big_app(500, 20, 10, 5, case.as_deref()).await;
            } else {
                big_app(7_000, 1_000, 100, 50, case.as_deref()).await;
            }
        }
        if run("g") {
            let cluster = cluster::ClusterProcesses::start(3);
            let endpoints = cluster.endpoints();
            for c in [10, 64] {
                let per_client = if quick { 100 } else { 100_000 / c };
                registrations_on(
                    &endpoints,
                    " (3-node cluster)",
                    Some(cluster.leader_process()),
                    c,
                    per_client,
                )
                .await;
            }
            let (n, secs) = if quick { (1_000, 2) } else { (10_000, 10) };
            churn_on(&endpoints, " (3-node cluster)", n, secs, 1024).await;
            drop(cluster);
            failover(if quick { 1 } else { 20 }).await;
        }
        if run("h") {
            callbacks(
                if quick { 1_000 } else { 10_000 },
                if quick { 5 } else { 50 },
            )
            .await;
        }
        if run("i") {
            calls(if quick { 200 } else { 5_000 }).await;
        }
        if run("s") {
            sofa::side_by_side(quick).await;
        }
        if run("e") {
            if quick {
                memory(10_000, 1, 1_000).await;
            } else {
                memory(100_000, 100, 0).await;
                memory(50_000, 1, 10_000).await;
            }
        }
    });
}
