//! etcd membership through a control plane's Talos API: list members, remove a member whose
//! node is gone, make this node leave, move leadership away before taking the node down.
//!
//! Upstream Talos answers these only on control planes (`Unimplemented` on workers) and only
//! once etcd runs there (`Unavailable` before: transient).

use ct_proto::talos::machine as pb;

use super::connect::TalosClient;
use super::error::TalosError;
use super::options::Options;

/// One etcd member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    /// Member id (etcd prints it in hex).
    pub id: u64,
    /// Member name: the node's hostname.
    pub hostname: String,
    /// Peer URLs (`https://IP:2380`).
    pub peer_urls: Vec<String>,
    /// Client URLs (`https://IP:2379`).
    pub client_urls: Vec<String>,
    /// Whether the member is a learner (not voting yet).
    pub is_learner: bool,
}

impl TalosClient {
    /// The etcd members as this control plane's etcd sees them.
    ///
    /// # Errors
    /// `Unimplemented` on workers, `Unavailable` while etcd is not running or has no quorum.
    pub async fn etcd_member_list(&self, opts: &Options) -> Result<Vec<EtcdMember>, TalosError> {
        const RPC: &str = "EtcdMemberList";
        let request = self.request(pb::EtcdMemberListRequest { query_local: false }, opts);
        let reply = self.run(RPC, opts, self.machine_api().etcd_member_list(request)).await?;
        let message = self.first(RPC, reply.into_inner().messages)?;
        Ok(message
            .members
            .into_iter()
            .map(|m| EtcdMember {
                id: m.id,
                hostname: m.hostname,
                peer_urls: m.peer_urls,
                client_urls: m.client_urls,
                is_learner: m.is_learner,
            })
            .collect())
    }

    /// Removes member `id` (a member whose node is gone; a live node leaves with
    /// [`TalosClient::etcd_leave_cluster`]).
    ///
    /// # Errors
    /// `NotFound` for an unknown member; an error when removing it would lose quorum.
    pub async fn etcd_remove_member(&self, id: u64, opts: &Options) -> Result<(), TalosError> {
        const RPC: &str = "EtcdRemoveMemberByID";
        let request = self.request(pb::EtcdRemoveMemberByIdRequest { member_id: id }, opts);
        let reply = self.run(RPC, opts, self.machine_api().etcd_remove_member_by_id(request)).await?;
        tracing::info!(node = %self.target(), member = %format!("{id:x}"), "etcd member removed");
        self.check(RPC, &reply.into_inner().messages)
    }

    /// Makes this node's etcd member leave the cluster.
    ///
    /// # Errors
    /// An error when leaving would lose quorum.
    pub async fn etcd_leave_cluster(&self, opts: &Options) -> Result<(), TalosError> {
        const RPC: &str = "EtcdLeaveCluster";
        let request = self.request(pb::EtcdLeaveClusterRequest {}, opts);
        let reply = self.run(RPC, opts, self.machine_api().etcd_leave_cluster(request)).await?;
        tracing::info!(node = %self.target(), "node left etcd");
        self.check(RPC, &reply.into_inner().messages)
    }

    /// Moves etcd leadership away from this node if it leads; returns the leader's member id
    /// as the node reports it (hex).
    ///
    /// # Errors
    /// `Unavailable` when etcd has no leader.
    pub async fn etcd_forfeit_leadership(&self, opts: &Options) -> Result<String, TalosError> {
        const RPC: &str = "EtcdForfeitLeadership";
        let request = self.request(pb::EtcdForfeitLeadershipRequest {}, opts);
        let reply = self.run(RPC, opts, self.machine_api().etcd_forfeit_leadership(request)).await?;
        let messages = reply.into_inner().messages;
        self.check(RPC, &messages)?;
        Ok(messages.into_iter().next().map(|m| m.member).unwrap_or_default())
    }
}
