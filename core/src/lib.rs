//! `roster-core`: the Roster service-registry client engine.
//!
//! A [`Client`] holds one session stream to a registry node and the table of this
//! process's registrations. Publishers put a list of strings under a dataInfoId;
//! subscribers receive the union of all publishers' data, grouped by zone, as pushes.
//! Every registration is re-sent after a reconnect (redo), versions make re-sends
//! idempotent, and a subscriber never goes back to an older version.
//!
//! ```no_run
//! use roster_core::{Client, PublisherRegistration, SubscriberRegistration};
//! # async fn demo() -> roster_core::Result<()> {
//! let client = Client::builder().endpoints(["127.0.0.1:9600"]).app_name("demo").build()?;
//! let publisher = client
//!     .publish(PublisherRegistration::new("com.example.OrderService:1.0").data(["bolt://10.1.2.3:12200"]))
//!     .await?;
//! let subscriber = client.subscribe(SubscriberRegistration::new("com.example.OrderService:1.0")).await?;
//! let mut updates = subscriber.updates();
//! while let Some(data) = updates.next().await {
//!     println!("v{}: {:?}", data.version, data.items().collect::<Vec<_>>());
//! }
//! publisher.unregister().await?;
//! client.close().await;
//! # Ok(()) }
//! ```
//!
//! Application-level discovery: [`PublishMode`] decides whether the client's interface
//! publishers reach the registry as they are, as one application publisher plus revision
//! metadata, or both; [`SubscribeMode`] decides how a subscriber finds providers. The
//! metadata, the revision hash and the parameter merge rules (instance > service > base)
//! are in `roster_proto::appmeta`, shared with the server; the README describes them.
//!
//! Bindings build on this crate only; they convert types, map [`ErrorKind`] and deliver
//! callbacks.
//!
//! # Design
//!
//! | module | what it does |
//! | --- | --- |
//! | `client` | the public [`Client`]: a handle on the engine |
//! | `engine` | the engine: the table, the live session's link, the ops waiting for their acks, and what the registry says (pushes, acks, member lists) |
//! | `table` | the registration table (the truth every redo re-sends), changed only through methods that return the ops to send, and the subscribers' slots by the handle pushes name them by; `table::publishing`: publish modes and the application publisher |
//! | `connection` | the one task per client that finds a node (through the transport), opens the session, redoes, waits until it ends, reconnects with backoff, and unregisters everything on close |
//! | `transport::security` | TLS to the registry (tonic's rustls client; its failures named: unknown CA, expired, wrong name, client certificate required) and the AK/SK signature of each session start and signed call |
//! | `transport` | the seam: protocol-neutral `Op`s out, a `Sink` for what comes in, and each protocol's `Capabilities`; `transport::roster` (gRPC, redirects to the leader, incremental pushes: it holds one copy of each view per stream, applies the registry's splices to it and asks for the full data with `Refresh` when it cannot) and `transport::sofa` (SOFABolt + protobuf to a SOFARegistry) |
//! | `subscriber` | a subscriber's slot (newest data only: coalesced, never older), its updates stream and callback dispatch, and the change sets (`Changed`: what changed since the data the consumer was last given, computed once per push for the subscribers that held equal data) |
//! | `resolver` | subscribe modes: force-interface registrations, and the resolution of application-first / force-application subscriptions, one per (interface, scope, mode) shared by the client's subscriptions, which share one copy of its result; `resolver::merge`, pure: the conversion of application items and the de-duplicating merge, applied change by change (one instance's change is converted alone and spliced into the output) |
//! | `items` | [`Item`] (one shared published item) and [`Items`] (a zone's list, shared in chunks of 64: the versions of a 7,000-item list that a client holds at once share all but the changed chunk, and change sets skip the shared chunks unread) |
//! | `members`, `snapshot`, `cache_file` | the node-list cache and the failover snapshot, written atomically |
//! | `fuzzing` | (feature `fuzzing`, hidden) entry points for the fuzz targets in `fuzz/`: what the client reads from the network |
//! | `config`, `model`, `error` | the builder, the user-facing types ([`SubscriberData`] and its change set), the stable error kinds |
//!
//! The endpoints' scheme picks the registry ([`Protocol`]); the engine adapts to what the
//! protocol offers (no redo-complete mark and no application-level modes on SOFARegistry).
//!
//! The network task never waits on user code: pushes replace a slot's data and wake its
//! readers; callbacks run on the blocking pool.

mod cache_file;
mod client;
mod config;
mod connection;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod items;
mod members;
mod model;
mod publisher;
mod resolver;
mod snapshot;
mod subscriber;
mod table;
mod transport;

pub use client::Client;
pub use config::{
    ClientBuilder, ClientConfig, Credentials, TlsOptions, DEFAULT_DATA_CENTER, DEFAULT_ENDPOINT,
    DEFAULT_ZONE,
};
pub use error::{Error, ErrorKind, Result};
pub use items::{Item, Items};
pub use model::{
    Changes, DataInfoId, MigrationStatus, PublishMode, PublisherRegistration, Scope, SubscribeMode,
    SubscriberData, SubscriberRegistration, DEFAULT_GROUP, DEFAULT_INSTANCE_ID,
};
pub use publisher::Publisher;
pub use subscriber::{Callback, Subscriber, Updates};
pub use transport::{Capabilities, Protocol};
