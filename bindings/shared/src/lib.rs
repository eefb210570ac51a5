//! `roster-bindings`: what every language binding of Roster needs and is not specific to its
//! language, written once. A binding built on it is a translation table: its types in, the
//! core's out, errors mapped by kind, callbacks delivered.
//!
//! | module | what it does |
//! | --- | --- |
//! | `runtime` | one tokio runtime per process, a fresh one in a forked child |
//! | `blocking` | runs a core future from a host thread, in slices so the host can check for signals between them |
//! | `dispatch` | one thread per process that runs queued host calls (callbacks, async results) in batches, so the host's lock (a GIL, a JNI attach) is taken once per batch |
//! | `handles` | held registrations (and a subscriber's `wait`, the core's one wait rule for hosts that test the data themselves): a handle lives until unregistered or its client closes (not until its host object is collected), and a call on a closed one is `SHUT_DOWN` |
//! | `options` | a client from a map of option names to values, the one constructor every binding calls |
//! | `registration` | a publish's and a subscribe's options (each optional, names parsed once) and the core registrations they become |
//! | `names` | the names bindings show for modes, scopes, statuses and error kinds |
//! | `testing` | the reference server in-process on a free port, for users' tests |
//!
//! Errors stay the core's [`roster_core::Error`]: a binding maps its [`ErrorKind`] one to one
//! (see [`names::ERROR_KINDS`]) and never formats a message by hand.
//!
//! [`ErrorKind`]: roster_core::ErrorKind

pub mod blocking;
pub mod dispatch;
pub mod handles;
pub mod names;
pub mod options;
pub mod registration;
pub mod runtime;
pub mod testing;

pub use roster_core;
