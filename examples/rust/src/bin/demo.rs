//! The demo: starts the reference server on its embedded default (127.0.0.1:9600), then a
//! subscriber and a publisher in two clients, and shows every push as the publisher
//! registers, republishes and unregisters. Exits 0 when each step was seen.
//!
//! `--python` adds a Python process (`examples/python/subscriber.py`, needs
//! `pip install ./bindings/python`), `--node` a Node.js one (`examples/node/subscriber.js`,
//! needs `npm install ./bindings/node`) and `--java` a Java one
//! (`examples/java/.../Subscriber.java`, needs `mvn -f bindings/java install` and
//! `mvn -f examples/java package`) that subscribe too and print what they are pushed.
//! `--ephemeral` runs the server on free ports instead (used by the tests). `--cluster` runs
//! a three-node Raft cluster in-process on free loopback ports instead, and stops its leader
//! half-way: the clients follow the new leader and the consumer's list never empties.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use roster_core::{Client, PublisherRegistration, Scope, SubscriberData, SubscriberRegistration};
use roster_examples::{flag, init_logging};
use roster_server::{Config, Server};

const SERVICE: &str = "com.example.OrderService:1.0";
const STEP: Duration = Duration::from_secs(10);

/// Waits until the callback, and each foreign subscriber, has printed `version` or a newer
/// one (callbacks run on their own thread; a foreign one gets up to `STEP`), so each step's
/// lines come before the next step's.
async fn printed(last: &AtomicU64, foreign: &[ForeignSubscriber], version: u64) {
    while last.load(Ordering::SeqCst) < version {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = tokio::time::Instant::now() + STEP;
    while foreign
        .iter()
        .any(|f| f.seen.load(Ordering::SeqCst) < version)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A subscriber in another language's process, and the thread echoing its output.
struct ForeignSubscriber {
    name: &'static str,
    child: std::process::Child,
    echo: std::thread::JoinHandle<()>,
    /// The newest version it printed (`... v<version> ...`).
    seen: Arc<AtomicU64>,
}

/// Starts the example subscriber of `lang` ("python", "node" or "java") and waits until it
/// has subscribed.
fn foreign_subscriber(
    lang: &'static str,
    endpoints: &str,
) -> Result<ForeignSubscriber, Box<dyn std::error::Error>> {
    use std::io::BufRead;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let (program, mut args, install) = match lang {
        "python" => (
            "python3",
            vec![format!("{examples}/python/subscriber.py")],
            "pip install ./bindings/python",
        ),
        "node" => (
            "node",
            vec![format!("{examples}/node/subscriber.js")],
            "npm install ./bindings/node",
        ),
        _ => (
            "java",
            vec![
                "-Droster.log=warn".to_owned(),
                "-cp".to_owned(),
                format!("{examples}/java/target/roster-examples.jar"),
                "dev.roster.examples.Subscriber".to_owned(),
            ],
            "mvn -f bindings/java install && mvn -f examples/java package",
        ),
    };
    args.extend(
        [
            "--endpoint",
            endpoints,
            "--data-id",
            SERVICE,
            "--until-empty",
        ]
        .map(str::to_owned),
    );
    let mut child = std::process::Command::new(program)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program} {args:?}: {e}"))?;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    match lines.next() {
        Some(Ok(line)) if line.contains("subscribed") => println!("   {line}"),
        other => {
            let _ = child.kill();
            return Err(format!(
                "the {lang} subscriber did not start ({other:?}); install it with `{install}`"
            )
            .into());
        }
    }
    let seen = Arc::new(AtomicU64::new(0));
    let seen_by_echo = seen.clone();
    let echo = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            println!("   {line}");
            let version = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix('v')?.parse::<u64>().ok());
            if let Some(v) = version {
                seen_by_echo.fetch_max(v, Ordering::SeqCst);
            }
        }
    });
    Ok(ForeignSubscriber {
        name: lang,
        child,
        echo,
        seen,
    })
}

impl ForeignSubscriber {
    /// Waits (up to 10 s) for it to exit after seeing the provider go.
    fn finish(mut self) -> Result<(), Box<dyn std::error::Error>> {
        for _ in 0..1000 {
            if let Some(status) = self.child.try_wait()? {
                let _ = self.echo.join();
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the {} subscriber exited with {status}", self.name).into())
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        Err(format!(
            "the {} subscriber did not see the provider go within 10 s",
            self.name
        )
        .into())
    }
}

/// A free loopback port for a cluster node (its address is needed before it starts).
fn free_addr() -> std::net::SocketAddr {
    roster_server::free_local_addr()
}

/// Three nodes on free loopback ports, data in a fresh temporary directory.
async fn cluster(dir: &std::path::Path) -> Result<Vec<Server>, Box<dyn std::error::Error>> {
    let addrs: Vec<std::net::SocketAddr> = (0..3).map(|_| free_addr()).collect();
    let peers: std::collections::BTreeMap<u64, String> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| (i as u64 + 1, a.to_string()))
        .collect();
    let mut nodes = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let id = i as u64 + 1;
        let config = Config {
            listen: *addr,
            http_listen: Some(free_addr()),
            node_id: id,
            peers: peers.clone(),
            data_dir: Some(dir.join(format!("node-{id}"))),
            ..Config::ephemeral()
        };
        nodes.push(Server::start(config).await?);
    }
    Ok(nodes)
}

/// The current leader among `nodes`, waiting for the election.
async fn leader(nodes: &[Server]) -> Result<usize, Box<dyn std::error::Error>> {
    for _ in 0..1000 {
        if let Some(i) = nodes.iter().position(Server::is_leader) {
            return Ok(i);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("no leader elected within 10 s".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    if flag("cluster") {
        let dir = std::env::temp_dir().join(format!("roster-demo-{}", std::process::id()));
        let nodes = cluster(&dir).await?;
        let shown = run(nodes).await;
        let _ = std::fs::remove_dir_all(&dir);
        return shown;
    }
    let config = if flag("ephemeral") {
        Config::ephemeral()
    } else {
        // A fresh server with no clients that could be redoing: no need to hold back empty
        // pushes (the warm-up that protects subscribers after a restart).
        Config {
            warmup: std::time::Duration::ZERO,
            ..Config::default()
        }
    };
    let server = Server::start(config).await.map_err(|e| {
        format!("cannot start the server on 127.0.0.1:9600 (is one running already?): {e}")
    })?;
    run(vec![server]).await
}

/// The walkthrough, on one server or on a cluster's nodes.
async fn run(mut nodes: Vec<Server>) -> Result<(), Box<dyn std::error::Error>> {
    let clustered = nodes.len() > 1;
    let mut at = leader(&nodes).await?;
    if clustered {
        println!(
            "1. a three-node roster-server cluster is up on {:?}; node {} leads",
            nodes.iter().map(Server::endpoint).collect::<Vec<_>>(),
            nodes[at].members().leader_id
        );
    } else {
        println!(
            "1. roster-server is up on {} (metrics on http://{}/metrics)",
            nodes[0].endpoint(),
            nodes[0].http_addr().unwrap()
        );
    }
    let endpoints: Vec<String> = nodes.iter().map(Server::endpoint).collect();
    let mut foreign = Vec::new();
    for lang in ["python", "node", "java"] {
        if flag(lang) {
            foreign.push(foreign_subscriber(lang, &endpoints.join(","))?);
        }
    }

    let consumer = Client::builder()
        .endpoints(endpoints.iter().map(String::as_str))
        .app_name("demo-consumer")
        .build()?;
    let provider = Client::builder()
        .endpoints(endpoints.iter().map(String::as_str))
        .app_name("demo-provider")
        .zone("zone-a")
        .build()?;
    consumer.wait_connected(STEP).await?;
    provider.wait_connected(STEP).await?;

    println!("2. the consumer subscribes to {SERVICE} (scope global), with a callback");
    let last = Arc::new(AtomicU64::new(0));
    let seen = last.clone();
    let callback = move |d: Arc<SubscriberData>| {
        println!("   consumer callback: v{} {:?}", d.version, d.zones);
        seen.store(d.version, Ordering::SeqCst);
    };
    let sub = consumer
        .subscribe_with(
            SubscriberRegistration::new(SERVICE).scope(Scope::Global),
            callback,
        )
        .await?;

    println!("3. the provider publishes an address");
    let publisher = provider
        .publish(PublisherRegistration::new(SERVICE).data(["bolt://10.1.2.3:12200?weight=100"]))
        .await?;
    printed(
        &last,
        &foreign,
        sub.wait_for(|d| d.len() == 1, STEP).await?.version,
    )
    .await;

    println!("4. the provider republishes two addresses");
    publisher
        .republish([
            "bolt://10.1.2.3:12200?weight=100",
            "bolt://10.1.2.4:12200?weight=50",
        ])
        .await?;
    printed(
        &last,
        &foreign,
        sub.wait_for(|d| d.len() == 2, STEP).await?.version,
    )
    .await;

    if clustered {
        let old = nodes.remove(at);
        println!(
            "   the leader (node {}) stops; the cluster elects another and both clients follow it",
            old.members().leader_id
        );
        old.shutdown().await;
        at = leader(&nodes).await?;
        provider.wait_connected(STEP).await?;
        publisher
            .republish([
                "bolt://10.1.2.3:12200?weight=100",
                "bolt://10.1.2.4:12200?weight=50",
                "bolt://10.1.2.5:12200?weight=50",
            ])
            .await?;
        let after = sub.wait_for(|d| d.len() == 3, STEP).await?;
        printed(&last, &foreign, after.version).await;
        println!(
            "   node {} leads now; the consumer's list never emptied",
            nodes[at].members().leader_id
        );
    }

    println!("5. the provider unregisters");
    publisher.unregister().await?;
    let end = sub.wait_for(|d| d.is_empty(), STEP).await?;
    printed(&last, &foreign, end.version).await;

    sub.unsubscribe().await?;
    for child in foreign {
        child.finish()?;
    }
    let server = &nodes[at];
    let stats = server.stats();
    println!(
        "6. the consumer ended on v{} with no providers; the server holds {} publishers and {} subscribers",
        end.version, stats.publishers, stats.subscribers
    );
    consumer.close().await;
    provider.close().await;

    println!("-- application-level service discovery --");
    roster_examples::migration(server, 7).await?;
    println!("10. done: every consumer kept its full list through the migration");
    for node in nodes {
        node.shutdown().await;
    }
    Ok(())
}
