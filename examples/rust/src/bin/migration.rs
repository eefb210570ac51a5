//! The migration to application-level discovery, on its own in-process server: providers
//! in each publish mode (`interface`, `all`, `application`) seen by consumers in each
//! subscribe mode (`force-interface`, `application-first`, `force-application`), then one
//! provider moving from interface to application level.
//!
//! ```text
//! cargo run -p roster-examples --bin migration
//! ```

use roster_examples::init_logging;
use roster_server::{Config, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let server = Server::start(Config::ephemeral()).await?;
    println!("roster-server on {}", server.endpoint());
    roster_examples::migration(&server, 1).await?;
    server.shutdown().await;
    Ok(())
}
