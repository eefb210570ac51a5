//! The demo: starts the reference server on its embedded default (127.0.0.1:9600), then a
//! subscriber and a publisher in two clients, and shows every push as the publisher
//! registers, republishes and unregisters. Exits 0 when each step was seen.
//!
//! `--ephemeral` runs the server on free ports instead (used by the tests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use roster_core::{Client, PublisherRegistration, Scope, SubscriberData, SubscriberRegistration};
use roster_examples::{flag, init_logging};
use roster_server::{Config, Server};

const SERVICE: &str = "com.example.OrderService:1.0";
const STEP: Duration = Duration::from_secs(10);

/// Waits until the callback has printed `version` (callbacks run on their own thread).
async fn printed(last: &AtomicU64, version: u64) {
    while last.load(Ordering::SeqCst) < version {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
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
    println!(
        "1. roster-server is up on {} (metrics on http://{}/metrics)",
        server.endpoint(),
        server.http_addr().unwrap()
    );

    let consumer = Client::builder()
        .endpoints([server.endpoint()])
        .app_name("demo-consumer")
        .build()?;
    let provider = Client::builder()
        .endpoints([server.endpoint()])
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
    printed(&last, sub.wait_for(STEP, |d| d.len() == 1).await?.version).await;

    println!("4. the provider republishes two addresses");
    publisher
        .republish([
            "bolt://10.1.2.3:12200?weight=100",
            "bolt://10.1.2.4:12200?weight=50",
        ])
        .await?;
    printed(&last, sub.wait_for(STEP, |d| d.len() == 2).await?.version).await;

    println!("5. the provider unregisters");
    publisher.unregister().await?;
    let end = sub.wait_for(STEP, |d| d.is_empty()).await?;
    printed(&last, end.version).await;

    sub.unsubscribe().await?;
    let stats = server.stats();
    println!(
        "6. the consumer ended on v{} with no providers; the server holds {} publishers and {} subscribers",
        end.version, stats.publishers, stats.subscribers
    );
    consumer.close().await;
    provider.close().await;

    println!("-- application-level service discovery --");
    roster_examples::migration(&server, 7).await?;
    println!("10. done: every consumer kept its full list through the migration");
    server.shutdown().await;
    Ok(())
}
