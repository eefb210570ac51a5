//! Raft RPCs to the other nodes: openraft's messages, postcard-encoded, over the `Cluster`
//! gRPC service on each node's port (see `rpc.rs` for the receiving side).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use roster_proto::v1::{cluster_client::ClusterClient, RaftPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};

use super::TypeConfig;
use crate::config::DialTls;
use crate::security::tls;

/// Largest Raft message (a batch of entries or a snapshot chunk).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Dials members at their address in the membership, or at the route this node's
/// configuration gives for them (`Config::peer_routes`), over TLS when the node has it.
/// Raft's RPCs and the pre-vote (`election`) both dial through it.
#[derive(Clone, Default)]
pub struct Network {
    pub routes: Arc<BTreeMap<u64, String>>,
    pub tls: Option<Arc<DialTls>>,
}

impl Network {
    /// A client of member `target`'s `Cluster` service. Lazy: it connects on first use and
    /// reconnects after a failure.
    pub fn client(&self, target: u64, addr: &str) -> Result<ClusterClient<Channel>, String> {
        let route = self.routes.get(&target).map_or(addr, String::as_str);
        let channel = client_channel(route, tls::host_of(addr), self.tls.as_deref())?;
        let channel = channel.connect_lazy();
        Ok(ClusterClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }
}

/// An endpoint for a node's gRPC port at `addr`, in TLS when `tls` is given: the node's
/// certificate must name `host` (its host in the membership, which a route does not
/// change) unless `tls` names another.
pub fn client_channel(addr: &str, host: &str, tls: Option<&DialTls>) -> Result<Endpoint, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|e| format!("{addr} is not host:port: {e}"))?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true);
    if let Some(tls) = tls {
        let config = tls::dial_config(tls, host)?;
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("TLS for {addr}: {e}"))?;
    }
    Ok(endpoint)
}

pub struct Peer {
    target: u64,
    client: Result<ClusterClient<Channel>, String>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Peer {
        let client = self.client(target, &node.addr);
        if let Err(e) = &client {
            tracing::error!(target, "cannot dial a member: {e}");
        }
        Peer { target, client }
    }
}

#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl Peer {
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, BasicNode, RaftError<u64, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let client = match self.client.as_mut() {
            Ok(c) => c,
            Err(e) => {
                let e = std::io::Error::other(e.clone());
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
        };
        let data =
            postcard::to_allocvec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { data: data.into() });
        request.set_timeout(option.hard_ttl());
        let reply = match rpc {
            Rpc::Append => client.append_entries(request).await,
            Rpc::Vote => client.vote(request).await,
            Rpc::Snapshot => client.install_snapshot(request).await,
        }
        .map_err(|status| RPCError::Unreachable(Unreachable::new(&status)))?;
        let result: Result<Resp, RaftError<u64, E>> =
            postcard::from_bytes(&reply.into_inner().data)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(Rpc::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}
