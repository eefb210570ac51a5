//! The gRPC service: session streams plus the unary member-list and health calls.

use std::sync::Arc;

use roster_proto::v1::{self, registry_server::Registry};
use tonic::{Request, Response, Status, Streaming};

use roster_proto::{auth, DataInfoId};

use crate::security::auth::{Action, Authenticator, Grants, Presented};
use crate::security::tls::ConnInfo;
use crate::session::{self, FrameStream};
use crate::Shared;

/// The grants of a unary call signed in its metadata (`roster_proto::auth`). A read: the
/// signature may be used again within the skew window.
fn signed_call<T>(
    auth: &Authenticator,
    request: &Request<T>,
    shared: &Shared,
) -> Result<std::sync::Arc<Grants>, Status> {
    let md = request.metadata();
    let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let presented = Presented {
        access_key: get(auth::ACCESS_KEY),
        client_id: get(auth::CLIENT_ID),
        timestamp_ms: get(auth::TIMESTAMP).parse().unwrap_or(0),
        signature: get(auth::SIGNATURE),
    };
    auth.check(&presented, false, &shared.replica.metrics)
}

pub struct RegistryService {
    pub shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Registry for RegistryService {
    type SessionStream = FrameStream;

    async fn session(
        &self,
        request: Request<Streaming<v1::ClientFrame>>,
    ) -> Result<Response<FrameStream>, Status> {
        let remote = request
            .extensions()
            .get::<ConnInfo>()
            .and_then(|c| c.remote)
            .map(|a| a.ip());
        session::open(self.shared.clone(), remote, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_members(
        &self,
        _: Request<v1::GetMembersRequest>,
    ) -> Result<Response<v1::MemberList>, Status> {
        Ok(Response::new(self.shared.members()))
    }

    async fn get_revisions(
        &self,
        request: Request<v1::GetRevisionsRequest>,
    ) -> Result<Response<v1::GetRevisionsResponse>, Status> {
        let grants = match &self.shared.auth {
            Some(auth) => Some(signed_call(auth, &request, &self.shared)?),
            None => None,
        };
        let refs = request.into_inner().revisions;
        let mut found = self.shared.replica.registry.lock().revisions(&refs);
        if let Some(grants) = grants {
            // Only revisions naming an interface the key may subscribe to.
            found.revisions.retain(|r| {
                r.services.keys().any(|i| {
                    DataInfoId::<String>::parse(i).is_some_and(|k| {
                        grants
                            .allows(Action::Subscribe, &k.data_id, &k.instance_id)
                            .is_ok()
                    })
                })
            });
        }
        Ok(Response::new(found))
    }

    async fn health(
        &self,
        _: Request<v1::HealthRequest>,
    ) -> Result<Response<v1::HealthResponse>, Status> {
        Ok(Response::new(v1::HealthResponse {
            serving: !self.shared.shutdown.is_cancelled(),
            node_id: self.shared.replica.config.node_id,
        }))
    }
}
