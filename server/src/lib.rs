//! `roster-server`: the Roster reference registry.
//!
//! A library as well as a binary, so tests and the bindings' testing helpers can start a
//! registry in-process on a free port:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = roster_server::Server::start(roster_server::Config::ephemeral()).await?;
//! println!("dial {}", server.endpoint());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! | module | what it does |
//! | --- | --- |
//! | `registry` | the registry state, pure, no I/O (sessions, registrations, data, versions; an operation returns its acks and pushes as `Effects`, which the caller delivers to the sessions' outboxes under the lock), split by concern: `registry::key`, `registry::sessions` (epochs, expiry, redo, tombstones), `registry::registrations`, `registry::fanout` (versions, views, pushes, warm-up); `registry::apps` adds revisions, the interface -> applications index and server-side conversion; `registry::delta` the incremental pushes (after a view's full push, one splice per zone from what the session's stream was last sent, to clients that ask for them in their Hello); `registry::snapshot` writes and restores it whole |
//! | `server` | [`Server`]: binds the listeners, starts the services and the node's tasks, stops them |
//! | `replica` | the node's state: the `Replica` that applying commands changes (registry, streams being attached, metrics, settings, member list) and the `Shared` handle the service, sessions and HTTP hold (the replica, and in cluster mode the node's Raft) |
//! | `background` | a single node's end of warm-up, and the periodic collection of unreferenced revisions |
//! | `apply` | applies one command (an attachment, a session's frames, an expiry, a collection) to the registry: the one place that changes it |
//! | `session` | one client's stream: Hello (authenticated, within the handshake deadline, within its address's session allowance), frames in batches into commands after `security::gate`, frames out through a bounded queue, keep-alive, the grace period |
//! | `cluster` | cluster mode: the commands as a Raft log on openraft (log in redb, snapshots on disk, RPCs over gRPC), leader redirect, membership changes, check quorum (a leader that hears from no majority for its lease stops serving clients); `Config::peer_routes` names where a node dials a member when something sits between them; openraft's storage test suite runs against the log store and the state machine (`cluster::suite`) |
//! | `service` | the gRPC service (Session, GetMembers, Health, GetRevisions; a signed GetRevisions when keys are required) |
//! | `security` | TLS on the gRPC port (`security::tls`: tokio-rustls in front of tonic, so certificates reload when their files change, every connection has a handshake deadline, and the Raft service can require a node certificate), access keys and their grants (`security::auth`: AK/SK signatures checked at Hello, replays and clock skew refused, tenants and dataId patterns per key), abuse limits kept where the session is served (`security::limits`: sessions per address, a frame budget per session), the gate each client frame passes (`security::gate`: its session's frame budget and its key's grants; a refused frame is answered with its Ack and never reaches the registry), `security::reload` (a value re-read from files when they change) and `security::exposure` (warnings at start when the node is reachable without TLS or keys) |
//! | `admin` | membership changes from outside (`roster-server member add/remove`) |
//! | `http`, `metrics` | `/health` and Prometheus `/metrics` |
//! | `config` | every setting and its default |
//! | `ports` | [`free_local_addr`]: a loopback port for a node whose address must be known before it starts, below the ephemeral range |

pub mod admin;
mod apply;
mod background;
mod cluster;
mod config;
mod http;
mod metrics;
mod ports;
pub mod registry;
mod replica;
mod security;
mod server;
mod service;
mod session;

pub use config::{AbuseLimits, Config, DialTls, ServerTls, DEFAULT_HTTP_PORT, DEFAULT_PORT};
pub use ports::free_local_addr;
pub use registry::Stats;
pub use server::Server;

pub(crate) use replica::{Replica, Shared};
