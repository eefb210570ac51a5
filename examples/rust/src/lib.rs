//! Small helpers shared by the example binaries.

/// The value after `--name` on the command line, or `default`.
pub fn arg(name: &str, default: &str) -> String {
    let flag = format!("--{name}");
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

/// True when `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    let flag = format!("--{name}");
    std::env::args().any(|a| a == flag)
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings only, so the output stays
/// readable).
pub fn init_logging() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
}

use std::error::Error;
use std::time::Duration;

use roster_core::{
    Client, PublishMode, PublisherRegistration, SubscribeMode, Subscriber, SubscriberRegistration,
};
use roster_server::Server;

const ORDERS: &str = "com.example.OrderService:1.0";
const STOCK: &str = "com.example.StockService:1.0";
const STEP: Duration = Duration::from_secs(10);

/// Prints what each consumer sees once it sees `want[i]` providers.
async fn show(
    consumers: &[(SubscribeMode, &Subscriber)],
    want: &[usize],
) -> Result<(), Box<dyn Error>> {
    for ((mode, s), &want) in consumers.iter().zip(want) {
        let d = s.wait_for(|d| d.len() == want, STEP).await?;
        let mut items: Vec<&str> = d.items().collect();
        items.sort();
        println!(
            "   {:<18} {:?} sees {items:?}",
            mode.as_str(),
            s.migration_status()
        );
    }
    Ok(())
}

/// The migration to application-level discovery, on `server`: providers in each publish
/// mode seen by consumers in each subscribe mode, and a provider moving from interface to
/// application level while every consumer keeps its full list.
pub async fn migration(server: &Server, first_step: u32) -> Result<(), Box<dyn Error>> {
    let n = |i: u32| first_step + i;
    let endpoint = server.endpoint();
    println!(
        "{}. three providers of {ORDERS} (and {STOCK}), one per publish mode",
        n(0)
    );
    let mut providers = Vec::new();
    let mut handles = Vec::new();
    for (i, (app, mode)) in [
        ("orders-v1", PublishMode::Interface),
        ("orders-v2", PublishMode::All),
        ("orders-v3", PublishMode::Application),
    ]
    .into_iter()
    .enumerate()
    {
        let c = Client::builder()
            .endpoints([&endpoint])
            .app_name(app)
            .publish_mode(mode)
            .build()?;
        c.wait_connected(STEP).await?;
        let host = format!("10.0.0.{}", i + 1);
        let orders = format!("bolt://{host}:12200?timeout=3000&weight=100");
        let stock = format!("bolt://{host}:12200?timeout=1000&weight=100");
        handles.push(
            c.publish(PublisherRegistration::new(ORDERS).data([orders]))
                .await?,
        );
        handles.push(
            c.publish(PublisherRegistration::new(STOCK).data([stock]))
                .await?,
        );
        println!("   {app:<10} publish mode {:<11} at {host}", mode.as_str());
        providers.push(c);
    }
    println!(
        "   publishers at the server: {} (orders-v1: 2 interface publishers; orders-v2: 2 and 1 application publisher; orders-v3: 1 application publisher)",
        server.stats().publishers
    );

    println!("{}. one consumer per subscribe mode", n(1));
    let mut consumers = Vec::new();
    for mode in [
        SubscribeMode::ForceInterface,
        SubscribeMode::ApplicationFirst,
        SubscribeMode::ForceApplication,
    ] {
        let c = Client::builder()
            .endpoints([&endpoint])
            .subscribe_mode(mode)
            .build()?;
        c.wait_connected(STEP).await?;
        consumers.push((
            mode,
            c.subscribe(SubscriberRegistration::new(ORDERS)).await?,
            c,
        ));
    }
    let view: Vec<(SubscribeMode, &Subscriber)> =
        consumers.iter().map(|(m, s, _)| (*m, s)).collect();
    // force-application sees only application-level providers: orders-v1 is not one yet.
    show(&view, &[3, 3, 2]).await?;

    println!(
        "{}. orders-v1 migrates: interface -> all -> application",
        n(2)
    );
    for mode in [PublishMode::All, PublishMode::Application] {
        providers[0].set_publish_mode(mode).await?;
        println!(
            "   orders-v1 now publishes in mode {} ({} publishers at the server)",
            mode.as_str(),
            server.stats().publishers
        );
        show(&view, &[3, 3, 3]).await?;
    }
    drop(handles);
    for c in providers.iter().chain(consumers.iter().map(|(_, _, c)| c)) {
        c.close().await;
    }
    Ok(())
}
