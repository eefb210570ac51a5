//! The seam between the protocol-neutral engine and the registries it can talk to.
//!
//! The engine (registration table, redo, push coalescing, snapshots, node list, errors)
//! says *what* to tell the registry as [`Op`]s and receives what the registry says through
//! a [`Sink`]. A session transport per protocol only frames, maps and sends:
//!
//! | protocol | module | endpoints |
//! | --- | --- | --- |
//! | Roster (gRPC, `roster.v1`) | `roster` | `host:port` (or `roster://host:port`) |
//! | SOFARegistry (SOFABolt + protobuf) | `sofa` | `sofa://host[:port]`, the session server's HTTP port (9603) |
//!
//! Each protocol declares what it supports as [`Capabilities`], and the engine adapts:
//! e.g. no `RedoComplete` where the registry has no session resume, and application-level
//! modes refused with a clear error where the registry cannot serve them.

pub(crate) mod roster;
pub(crate) mod security;
pub(crate) mod sofa;

use std::sync::Arc;

use roster_proto::appmeta::AppMetadata;
use roster_proto::rules::Limits;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::members::{MemberView, Members};
use crate::model::{DataInfoId, Scope, SubscriberData};
use crate::protocol::Protocol;
use crate::slot::Changed;

/// A client's way to its registry: how it finds nodes and opens sessions.
pub(crate) enum Transport {
    Roster,
    Sofa(sofa::Discovery),
}

impl Transport {
    /// The transport for `endpoints` (all of one protocol, checked by the config), and the
    /// bootstrap entries of the node list.
    pub fn new(
        protocol: Protocol,
        endpoints: &[String],
        timeout: std::time::Duration,
    ) -> Result<(Transport, Vec<String>)> {
        let mut plain = Vec::new();
        for e in endpoints {
            plain.push(Protocol::split(e)?.1.to_owned());
        }
        match protocol {
            Protocol::Roster => {
                let bootstrap = plain
                    .iter()
                    .map(|e| crate::members::normalize(e))
                    .collect::<Result<Vec<_>>>()?;
                Ok((Transport::Roster, bootstrap))
            }
            // The node list holds session servers; the endpoints are where to ask for them.
            Protocol::Sofa => Ok((
                Transport::Sofa(sofa::Discovery::new(&plain, timeout)?),
                Vec::new(),
            )),
        }
    }

    /// Where to try to open a session, best first.
    pub async fn candidates(&self, members: &Members) -> Vec<String> {
        match self {
            Transport::Roster => members.candidates(),
            Transport::Sofa(d) => d.candidates(members).await,
        }
    }

    pub async fn open(&self, id: &Identity, endpoint: &str, sink: Arc<dyn Sink>) -> Result<Opened> {
        match self {
            Transport::Roster => roster::open(id, endpoint, sink).await,
            Transport::Sofa(d) => sofa::open(id, d, endpoint, sink).await,
        }
    }
}

/// One registration as a frame names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reg {
    pub regist_id: Arc<str>,
    pub key: DataInfoId,
    pub version: u64,
}

/// What the engine asks the registry to do. Every change of a registration carries a
/// higher version than the last one sent for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Publish {
        reg: Reg,
        data: Vec<String>,
    },
    Subscribe {
        reg: Reg,
        scope: Scope,
        /// Ask for server-side conversion of application publishers.
        convert: bool,
        /// The client's number for it, which pushes may name it by (see `Table`).
        handle: u32,
    },
    /// Removes a publisher (`Publish`'s registId) at `reg.version`.
    Unpublish {
        reg: Reg,
    },
    /// Removes a subscriber at `reg.version`.
    Unsubscribe {
        reg: Reg,
        scope: Scope,
    },
    RegisterRevision(Arc<AppMetadata>),
    /// Everything live was re-sent: the registry drops what was not.
    RedoComplete,
}

impl Op {
    /// Whether it takes something away from what subscribers see.
    pub fn is_removal(&self) -> bool {
        matches!(self, Op::Unpublish { .. } | Op::Unsubscribe { .. })
    }
}

/// An op for a session, with the id its acknowledgement will carry (0: nobody waits).
pub(crate) enum Outgoing {
    Op {
        request_id: u64,
        op: Op,
    },
    /// Resolves once the registry has handled everything sent before it (used on close,
    /// so the unregisters are read before the client hangs up).
    Barrier(oneshot::Sender<()>),
}

/// How the registry answered an op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Acked {
    Ok,
    /// Older than what the registry holds: nothing to do.
    Stale,
    /// The registration is unknown there (an unregister that never reached it): done.
    NotFound,
    Refused {
        kind: ErrorKind,
        message: String,
    },
}

impl Acked {
    pub fn into_result(self, regist_id: &str) -> Result<()> {
        match self {
            Acked::Ok | Acked::Stale | Acked::NotFound => Ok(()),
            Acked::Refused { kind, message } => Err(Error::new(
                kind,
                format!("the registry refused {regist_id}: {message}"),
            )),
        }
    }
}

/// Where a transport delivers what the registry says.
pub(crate) trait Sink: Send + Sync {
    fn acked(&self, request_id: u64, regist_id: &str, acked: Acked);
    /// A push for the named subscribers. Returns once the data is in their slots, so a
    /// transport can acknowledge it to the registry afterwards, with the data as they
    /// share it (a transport that applies deltas keeps it as the next one's base).
    fn pushed(
        &self,
        data: Changed,
        subscriber_ids: &[String],
        handles: &[u32],
    ) -> Option<Arc<SubscriberData>>;
    fn members(&self, view: MemberView);
}

/// What the registry said when the session opened.
#[derive(Clone, Debug, Default)]
pub(crate) struct Welcome {
    pub resumed: bool,
    pub limits: Option<Limits>,
    pub members: Option<MemberView>,
}

/// A session that is up: its sender, and the task that runs it (it ends when the session is
/// lost, or when every sender is dropped after the close).
pub(crate) struct Opened {
    pub welcome: Welcome,
    pub link: Link,
    pub driver: JoinHandle<()>,
}

/// The engine's handle on the live session.
#[derive(Clone)]
pub(crate) struct Link {
    pub tx: mpsc::UnboundedSender<Outgoing>,
    /// Unary lookups the protocol offers besides the session.
    pub lookups: Lookups,
}

#[derive(Clone)]
pub(crate) enum Lookups {
    Roster(roster::Lookups),
    None,
}

impl Link {
    /// Revision metadata by (application, revision), where the protocol has revisions;
    /// `None` when it could not be asked.
    pub async fn revisions(
        &self,
        wanted: &[(String, String)],
        timeout: std::time::Duration,
    ) -> Option<Vec<AppMetadata>> {
        match &self.lookups {
            Lookups::Roster(l) => l.revisions(wanted, timeout).await,
            Lookups::None => None,
        }
    }
}

/// Who this client is, as a session announces it. No `Debug`: tonic's TLS configuration
/// prints a client certificate's private key.
#[derive(Clone)]
pub(crate) struct Identity {
    pub client_id: String,
    pub app_name: String,
    pub zone: String,
    pub data_center: String,
    pub connect_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub incremental_pushes: bool,
    /// TLS to the registry, its files read when the client was built.
    pub tls: Option<tonic::transport::ClientTlsConfig>,
    pub signer: Option<Arc<security::Signer>>,
}

impl Identity {
    pub fn new(config: &crate::ClientConfig, client_id: String) -> Result<Identity> {
        Ok(Identity {
            client_id,
            app_name: config.app_name.clone(),
            zone: config.zone.clone(),
            data_center: config.data_center.clone(),
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            incremental_pushes: config.incremental_pushes,
            tls: config.tls.as_ref().map(security::client_tls).transpose()?,
            signer: config
                .credentials
                .clone()
                .map(|c| Arc::new(security::Signer::new(c))),
        })
    }
}
