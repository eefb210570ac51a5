//! The Roster wire protocol, package `roster.v1`, generated from `roster/v1/registry.proto`.

#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("roster.v1");
}

/// gRPC metadata keys and status details shared by the client and the server.
pub mod meta {
    /// Set on a status that refuses a session because this node is not the leader.
    pub const LEADER_ID: &str = "roster-leader-id";
    /// The address of the leader, when known.
    pub const LEADER_ADDR: &str = "roster-leader-addr";
}

pub mod appmeta;
pub mod rules;

/// The protobuf runtime the generated types use.
pub use prost;
