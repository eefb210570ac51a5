//! What makes the registry safe to expose: TLS (`tls`), access keys and what each may do
//! (`auth`), limits that hold under abuse (`limits`), the gate each client frame passes
//! (`gate`: its session's frame budget and its key's grants), the files of the first two
//! loaded again when they change (`reload`), and the warnings at start when the node is
//! reachable without them (`exposure`).

pub mod auth;
pub(crate) mod exposure;
pub(crate) mod gate;
pub mod limits;
pub mod reload;
pub mod tls;
