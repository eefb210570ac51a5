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
//! Modules import in one direction, from the user's handles down to plain data (a module
//! uses only those on later lines; `python3 ../shared/tools/module_cycles.py core/src`
//! checks that there is no cycle):
//!
//! | module | what it does |
//! | --- | --- |
//! | `client`, `publisher`, `subscriber` | the public handles: [`Client`] on the engine and the resolver; [`Publisher`] on the engine; [`Subscriber`] on its user subscription (its slot, its mode through the resolver) |
//! | `resolver` | subscribe modes, above the engine: the `Resolver` owns every user subscription (for client-wide mode switches), the resolutions of application-first / force-application subscriptions (one per interface, scope and mode, shared, with one copy of its result), the application watches they share and the revisions known; force-interface subscriptions are one registration each. `resolver::merge`, pure: the conversion of application items and the de-duplicating merge, change by change |
//! | `engine` | the `Engine`, with private state reached through its methods: the table, the live session's link, the ops waiting for their acks, and what the registry says (pushes, acks, member lists); `engine::connection`, its one task that finds a node (through the transport), opens the session, redoes, waits until it ends, reconnects with backoff, and unregisters everything on close |
//! | `table` | the registration table (the truth every redo re-sends), changed only through methods that return the ops to send, and the subscribers' slots by the handle pushes name them by; `table::publishing`: publish modes and the application publisher |
//! | `transport` | the seam: protocol-neutral `Op`s out, a `Sink` for what comes in; `transport::roster` (gRPC, redirects to the leader, incremental pushes: one copy of each view per stream, the registry's splices applied to it, `Refresh` when it cannot), `transport::sofa` (SOFABolt + protobuf to a SOFARegistry), `transport::security` (TLS, its failures named, and the AK/SK signatures) |
//! | `slot` | push delivery, knowing nothing of the engine: a subscriber's slot (newest data only: coalesced, never older), its updates stream and callback dispatch, the one wait rule (`wait_until`), and the change sets (`Changed`: computed once per push for the subscribers that held equal data) |
//! | `config`, `protocol`, `members`, `snapshot`, `cache_file` | the builder; which registry the endpoints name ([`Protocol`]) and what it supports ([`Capabilities`]); the node-list cache (and `MemberView`, what a registry reports); the failover snapshot, written atomically |
//! | `model`, `items`, `error` | the user-facing types ([`SubscriberData`] and its change set; [`Item`], one shared published item, and [`Items`], a zone's list shared in chunks of 64), the stable error kinds |
//! | `fuzzing` | (feature `fuzzing`, hidden) entry points for the fuzz targets in `fuzz/`: what the client reads from the network |
//!
//! The endpoints' scheme picks the registry ([`Protocol`]); the engine adapts to what the
//! protocol offers (no redo-complete mark and no application-level modes on SOFARegistry).
//!
//! The network task never waits on user code: pushes replace a slot's data and wake its
//! readers; callbacks run on the blocking pool.

mod cache_file;
mod client;
mod config;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod items;
mod members;
mod model;
mod protocol;
mod publisher;
mod resolver;
mod slot;
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
pub use protocol::{Capabilities, Protocol};
pub use publisher::Publisher;
pub use slot::{Callback, Updates};
pub use subscriber::{Subscriber, Wait};
