//! Publishes one address under a dataId and keeps it registered until Ctrl-C (then
//! unregisters). Usage:
//!
//! ```text
//! cargo run -p roster-examples --bin publisher -- --endpoint 127.0.0.1:9600 \
//!     --data-id com.example.OrderService:1.0 --data bolt://10.1.2.3:12200?weight=100 --zone zone-a
//! ```

use roster_core::{Client, PublisherRegistration, DEFAULT_ENDPOINT, DEFAULT_ZONE};
use roster_examples::{arg, init_logging};

#[tokio::main]
async fn main() -> Result<(), roster_core::Error> {
    init_logging();
    let client = Client::builder()
        .endpoints([arg("endpoint", DEFAULT_ENDPOINT)])
        .app_name("example-publisher")
        .zone(arg("zone", DEFAULT_ZONE))
        .build()?;
    client
        .wait_connected(std::time::Duration::from_secs(10))
        .await?;
    let data_id = arg("data-id", "com.example.OrderService:1.0");
    let data = arg("data", "bolt://127.0.0.1:12200?weight=100");
    let publisher = client
        .publish(PublisherRegistration::new(&data_id).data([&data]))
        .await?;
    println!(
        "published {data} under {} (registId {})",
        publisher.data_info_id(),
        publisher.regist_id()
    );
    let _ = tokio::signal::ctrl_c().await;
    publisher.unregister().await?;
    client.close().await;
    println!("unregistered");
    Ok(())
}
