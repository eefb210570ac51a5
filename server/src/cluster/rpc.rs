//! The `Cluster` gRPC service: Raft RPCs from the other nodes, and membership changes.

use std::sync::Arc;

use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest};
use roster_proto::v1::{self, cluster_server::Cluster as ClusterRpc, RaftPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::TypeConfig;
use crate::Shared;

pub struct ClusterService {
    pub shared: Arc<Shared>,
}

impl ClusterService {
    fn cluster(&self) -> Result<&super::Cluster, Status> {
        self.shared
            .cluster
            .get()
            .ok_or_else(|| Status::failed_precondition("this node is not part of a cluster"))
    }
}

fn decode<T: DeserializeOwned>(req: Request<RaftPayload>) -> Result<T, Status> {
    postcard::from_bytes(&req.into_inner().data)
        .map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))
}

fn encode<T: Serialize>(reply: &T) -> Result<Response<RaftPayload>, Status> {
    postcard::to_allocvec(reply)
        .map(|data| Response::new(RaftPayload { data: data.into() }))
        .map_err(|e| Status::internal(format!("cannot encode a Raft reply: {e}")))
}

#[tonic::async_trait]
impl ClusterRpc for ClusterService {
    async fn append_entries(
        &self,
        req: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let cluster = self.cluster()?;
        let req: AppendEntriesRequest<TypeConfig> = decode(req)?;
        cluster.heard_from(&req.vote);
        encode(&cluster.raft.append_entries(req).await)
    }

    async fn vote(&self, req: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let raft = &self.cluster()?.raft;
        encode(&raft.vote(decode(req)?).await)
    }

    async fn install_snapshot(
        &self,
        req: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let cluster = self.cluster()?;
        let req: InstallSnapshotRequest<TypeConfig> = decode(req)?;
        cluster.heard_from(&req.vote);
        encode(&cluster.raft.install_snapshot(req).await)
    }

    async fn pre_vote(&self, req: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let req: super::election::PreVoteRequest = decode(req)?;
        encode(&super::election::answer(&self.shared, &req))
    }

    async fn add_member(
        &self,
        req: Request<v1::AddMemberRequest>,
    ) -> Result<Response<v1::MemberList>, Status> {
        let r = req.into_inner();
        let cluster = self.cluster()?;
        cluster.add_member(r.id, &r.address).await?;
        Ok(Response::new(cluster.members()))
    }

    async fn remove_member(
        &self,
        req: Request<v1::RemoveMemberRequest>,
    ) -> Result<Response<v1::MemberList>, Status> {
        let cluster = self.cluster()?;
        cluster.remove_member(req.into_inner().id).await?;
        Ok(Response::new(cluster.members()))
    }
}
