//! The gRPC service: session streams plus the unary member-list and health calls.

use std::sync::Arc;

use roster_proto::v1::{self, registry_server::Registry};
use tonic::{Request, Response, Status, Streaming};

use crate::session::{self, FrameStream};
use crate::Shared;

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
        session::open(self.shared.clone(), request.into_inner())
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
        let refs = request.into_inner().revisions;
        Ok(Response::new(self.shared.registry.lock().revisions(&refs)))
    }

    async fn health(
        &self,
        _: Request<v1::HealthRequest>,
    ) -> Result<Response<v1::HealthResponse>, Status> {
        Ok(Response::new(v1::HealthResponse {
            serving: !self.shared.shutdown.is_cancelled(),
            node_id: self.shared.config.node_id,
        }))
    }
}
