//! Subscribes to a dataId and prints every push. Usage:
//!
//! ```text
//! cargo run -p roster-examples --bin subscriber -- --endpoint 127.0.0.1:9600 \
//!     --data-id com.example.OrderService:1.0 --scope global [--count 3]
//! ```

use roster_core::{Client, SubscriberRegistration, DEFAULT_ENDPOINT};
use roster_examples::{arg, init_logging};

#[tokio::main]
async fn main() -> Result<(), roster_core::Error> {
    init_logging();
    let client = Client::builder()
        .endpoints([arg("endpoint", DEFAULT_ENDPOINT)])
        .app_name("example-subscriber")
        .build()?;
    let scope = arg("scope", "global").parse()?;
    let count: usize = arg("count", "0").parse().unwrap_or(0);
    let data_id = arg("data-id", "com.example.OrderService:1.0");
    let subscriber = client
        .subscribe(SubscriberRegistration::new(&data_id).scope(scope))
        .await?;
    println!("subscribed to {}", subscriber.data_info_id());
    let mut updates = subscriber.updates();
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            next = updates.next() => {
                let Some(data) = next else { break };
                let cached = if data.from_cache { " (from the failover cache)" } else { "" };
                println!("v{}{cached}: {:?}", data.version, data.zones);
                seen += 1;
                if seen == count {
                    break;
                }
            }
        }
    }
    client.close().await;
    Ok(())
}
