//! What makes the registry safe to expose: TLS (`tls`), access keys and what each may do
//! (`auth`), limits that hold under abuse (`limits`), and the files of the first two loaded
//! again when they change (`reload`).

pub mod auth;
pub mod limits;
pub mod reload;
pub mod tls;
