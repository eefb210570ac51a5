//! Membership administration from outside the cluster (the `roster-server member`
//! sub-command, and tests): finds the leader through redirects and asks it for the change.

use std::time::Duration;

use crate::cluster::client_channel;
use crate::config::DialTls;
use crate::security::tls::host_of;
use roster_proto::meta;
use roster_proto::v1::{self, cluster_client::ClusterClient};

/// Redirects followed before giving up (nodes disagreeing during an election).
const MAX_HOPS: usize = 5;

/// Adds node `id` at `address` (it must be running, started with `--node-id id`) as a voter.
/// `tls`: how to dial the nodes (a cluster whose Raft service requires a client
/// certificate needs one here).
pub async fn add_member(
    endpoints: &[String],
    tls: Option<&DialTls>,
    id: u64,
    address: &str,
) -> Result<v1::MemberList, String> {
    change(endpoints, tls, |mut c| {
        let req = v1::AddMemberRequest {
            id,
            address: address.to_owned(),
        };
        async move { c.add_member(req).await }
    })
    .await
}

/// Removes node `id` from the cluster.
pub async fn remove_member(
    endpoints: &[String],
    tls: Option<&DialTls>,
    id: u64,
) -> Result<v1::MemberList, String> {
    change(endpoints, tls, |mut c| async move {
        c.remove_member(v1::RemoveMemberRequest { id }).await
    })
    .await
}

async fn change<F, Fut>(
    endpoints: &[String],
    tls: Option<&DialTls>,
    call: F,
) -> Result<v1::MemberList, String>
where
    F: Fn(ClusterClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<v1::MemberList>, tonic::Status>>,
{
    let mut last_error = String::from("no endpoint given");
    // Tried last to first; a redirect goes on top.
    let mut queue: Vec<String> = endpoints.iter().rev().cloned().collect();
    let mut hops = 0;
    while let Some(endpoint) = queue.pop() {
        let channel = match client_channel(&endpoint, host_of(&endpoint), tls) {
            Ok(e) => e.connect_timeout(Duration::from_secs(2)).connect().await,
            Err(e) => {
                last_error = format!("{endpoint}: {e}");
                continue;
            }
        };
        let channel = match channel {
            Ok(c) => c,
            Err(e) => {
                last_error = format!("{endpoint}: cannot connect: {e}");
                continue;
            }
        };
        match call(ClusterClient::new(channel)).await {
            Ok(list) => return Ok(list.into_inner()),
            Err(status) => {
                last_error = format!("{endpoint}: {}", status.message());
                let leader = status
                    .metadata()
                    .get(meta::LEADER_ADDR)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if let Some(leader) = leader.filter(|_| hops < MAX_HOPS) {
                    hops += 1;
                    queue.push(leader);
                }
            }
        }
    }
    Err(last_error)
}
