//! Which registry a client talks to, and what each protocol supports: chosen from the
//! endpoints' scheme by the config, read by the engine to adapt (the transports only frame).

use crate::error::{Error, Result};

/// Which registry a client talks to, chosen by the endpoints' scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The Roster reference server: gRPC sessions with resume, leader redirect and
    /// application-level discovery. Endpoints `host:port` or `roster://host:port`.
    Roster,
    /// A SOFARegistry session server: SOFABolt with protobuf payloads. Endpoints
    /// `sofa://host[:port]` name its HTTP port (default 9603), where the client finds the
    /// session servers.
    Sofa,
}

impl Protocol {
    /// The protocol an endpoint's scheme names, and the endpoint without it.
    pub(crate) fn split(endpoint: &str) -> Result<(Protocol, &str)> {
        let e = endpoint.trim();
        if let Some(rest) = e.strip_prefix("sofa://") {
            return Ok((Protocol::Sofa, rest));
        }
        if let Some(rest) = e.strip_prefix("roster://") {
            return Ok((Protocol::Roster, rest));
        }
        match e.split_once("://") {
            Some((scheme, _)) if scheme != "http" => Err(Error::invalid(format!(
                "endpoint {endpoint:?} has scheme {scheme:?}; use host:port or roster://host:port for a Roster server, sofa://host[:port] for SOFARegistry"
            ))),
            _ => Ok((Protocol::Roster, e)),
        }
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            Protocol::Roster => Capabilities {
                resume: true,
                redo_complete: true,
                leader_redirect: true,
                server_conversion: true,
                application_level: true,
            },
            Protocol::Sofa => Capabilities {
                resume: false,
                redo_complete: false,
                leader_redirect: false,
                server_conversion: false,
                application_level: false,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Roster => "roster",
            Protocol::Sofa => "sofa",
        }
    }
}

/// What a protocol supports; the engine adapts to what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// A session that comes back within the grace period resumes without a push to anyone.
    pub resume: bool,
    /// After a redo the registry drops what was not re-sent (`Op::RedoComplete`).
    pub redo_complete: bool,
    /// Non-leaders redirect to the leader.
    pub leader_redirect: bool,
    /// An interface subscription can ask for entries converted from application publishers.
    pub server_conversion: bool,
    /// Revisions, application publishers and the interface -> applications index.
    pub application_level: bool,
}
