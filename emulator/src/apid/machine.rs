//! `machine.MachineService`: the RPC layer over the region's operations. Each method admits the
//! call (roles, maintenance subset, faults, `node` targeting), runs the operation on the target
//! machine and shapes the upstream reply.

use std::pin::Pin;

use ct_proto::talos::common;
use ct_proto::talos::machine::{self as pb, machine_service_server::MachineService};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::guard::{self, WithMetadata, admit};
use crate::region::Region;
use crate::region::apply::{ApplyMode, ApplyRequest};
use crate::region::power::ResetPlan;

/// The MachineService of one machine.
#[derive(Debug, Clone)]
pub(crate) struct MachineApi {
    pub(crate) region: Region,
}

macro_rules! with_metadata {
    ($($t:ty),*) => {$(
        impl WithMetadata for $t {
            fn set_metadata(&mut self, metadata: common::Metadata) {
                self.metadata = Some(metadata);
            }
        }
    )*};
}

with_metadata!(
    pb::ApplyConfiguration,
    pb::Bootstrap,
    pb::EtcdMembers,
    pb::EtcdRemoveMemberById,
    pb::EtcdLeaveCluster,
    pb::EtcdForfeitLeadership,
    pb::Reboot,
    pb::Reset,
    pb::ServiceList,
    pb::Upgrade,
    pb::Version
);

fn timestamp() -> prost_types::Timestamp {
    let ms = crate::timing::now_ms();
    prost_types::Timestamp {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

#[tonic::async_trait]
impl MachineService for MachineApi {
    async fn apply_configuration(
        &self,
        request: Request<pb::ApplyConfigurationRequest>,
    ) -> Result<Response<pb::ApplyConfigurationResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::APPLY_CONFIGURATION)
            .await?;
        let req = request.into_inner();
        let mode = ApplyMode::from_i32(req.mode).ok_or_else(|| {
            Status::invalid_argument(format!(
                "incorrect mode '{}' specified for the apply config call",
                req.mode
            ))
        })?;
        let try_timeout = req.try_mode_timeout.and_then(|d| std::time::Duration::try_from(d).ok());
        let messages = call
            .each(|id| {
                let apply = ApplyRequest { data: req.data.clone(), mode, dry_run: req.dry_run, try_timeout };
                async move {
                    let out = self.region.apply_configuration(&id, apply).await?;
                    Ok(pb::ApplyConfiguration {
                        metadata: None,
                        warnings: out.warnings,
                        mode: out.mode,
                        mode_details: out.details,
                    })
                }
            })
            .await?;
        Ok(Response::new(pb::ApplyConfigurationResponse { messages }))
    }

    async fn bootstrap(
        &self,
        request: Request<pb::BootstrapRequest>,
    ) -> Result<Response<pb::BootstrapResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::BOOTSTRAP).await?;
        if request.get_ref().recover_etcd {
            return Err(Status::failed_precondition("etcd service is not ready for recovery yet"));
        }
        let messages = call
            .each(|id| async move {
                self.region.bootstrap(&id)?;
                Ok(pb::Bootstrap { metadata: None })
            })
            .await?;
        Ok(Response::new(pb::BootstrapResponse { messages }))
    }

    async fn etcd_member_list(
        &self,
        request: Request<pb::EtcdMemberListRequest>,
    ) -> Result<Response<pb::EtcdMemberListResponse>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::ETCD_MEMBER_LIST).await?;
        let messages = call
            .each(|id| async move {
                let members = self.region.etcd_members(&id)?;
                Ok(pb::EtcdMembers {
                    metadata: None,
                    legacy_members: members.iter().map(|m| m.hostname.clone()).collect(),
                    members: members
                        .into_iter()
                        .map(|m| pb::EtcdMember {
                            id: m.id,
                            hostname: m.hostname,
                            peer_urls: vec![m.peer_url],
                            client_urls: vec![m.client_url],
                            is_learner: false,
                        })
                        .collect(),
                })
            })
            .await?;
        Ok(Response::new(pb::EtcdMemberListResponse { messages }))
    }

    async fn etcd_remove_member_by_id(
        &self,
        request: Request<pb::EtcdRemoveMemberByIdRequest>,
    ) -> Result<Response<pb::EtcdRemoveMemberByIdResponse>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::ETCD_REMOVE_MEMBER_BY_ID)
                .await?;
        let member_id = request.get_ref().member_id;
        let messages = call
            .each(|id| async move {
                self.region.etcd_remove_member(&id, member_id)?;
                Ok(pb::EtcdRemoveMemberById { metadata: None })
            })
            .await?;
        Ok(Response::new(pb::EtcdRemoveMemberByIdResponse { messages }))
    }

    async fn etcd_leave_cluster(
        &self,
        request: Request<pb::EtcdLeaveClusterRequest>,
    ) -> Result<Response<pb::EtcdLeaveClusterResponse>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::ETCD_LEAVE_CLUSTER).await?;
        let messages = call
            .each(|id| async move {
                self.region.etcd_leave(&id)?;
                Ok(pb::EtcdLeaveCluster { metadata: None })
            })
            .await?;
        Ok(Response::new(pb::EtcdLeaveClusterResponse { messages }))
    }

    async fn etcd_forfeit_leadership(
        &self,
        request: Request<pb::EtcdForfeitLeadershipRequest>,
    ) -> Result<Response<pb::EtcdForfeitLeadershipResponse>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::ETCD_FORFEIT_LEADERSHIP)
                .await?;
        let messages = call
            .each(|id| async move {
                let member = self.region.etcd_forfeit(&id)?;
                Ok(pb::EtcdForfeitLeadership { metadata: None, member })
            })
            .await?;
        Ok(Response::new(pb::EtcdForfeitLeadershipResponse { messages }))
    }

    type KubeconfigStream = Pin<Box<dyn Stream<Item = Result<common::Data, Status>> + Send + 'static>>;

    async fn kubeconfig(&self, request: Request<()>) -> Result<Response<Self::KubeconfigStream>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::KUBECONFIG).await?;
        let id = call.single()?;
        let cfg = {
            let st = self.region.lock();
            st.machines.get(&id).and_then(|m| m.parsed().cloned())
        }
        .ok_or_else(|| Status::failed_precondition("machine is not configured"))?;
        if cfg.machine_type != crate::config::MachineType::Controlplane {
            return Err(Status::unimplemented("kubeconfig is only available on control plane nodes"));
        }
        let yaml = super::kubeconfig::admin_kubeconfig(&cfg).map_err(|e| Status::internal(e.to_string()))?;
        let bytes = super::kubeconfig::tar_gz(&yaml).map_err(|e| Status::internal(e.to_string()))?;
        let chunk = common::Data { metadata: None, bytes };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(chunk)))))
    }

    async fn reboot(
        &self,
        request: Request<pb::RebootRequest>,
    ) -> Result<Response<pb::RebootResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::REBOOT).await?;
        let mode = pb::reboot_request::Mode::try_from(request.get_ref().mode)
            .map_or("unknown", |m| m.as_str_name())
            .to_ascii_lowercase();
        let messages = call
            .each(|id| {
                let mode = mode.clone();
                async move {
                    let actor_id = self.region.reboot(&id, &mode)?;
                    Ok(pb::Reboot { metadata: None, actor_id })
                }
            })
            .await?;
        Ok(Response::new(pb::RebootResponse { messages }))
    }

    async fn reset(&self, request: Request<pb::ResetRequest>) -> Result<Response<pb::ResetResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::RESET).await?;
        let req = request.into_inner();
        let plan = ResetPlan {
            graceful: req.graceful,
            reboot: req.reboot,
            partitions: req.system_partitions_to_wipe.iter().map(|p| (p.label.clone(), p.wipe)).collect(),
            user_disks_only: req.mode == pb::reset_request::WipeMode::UserDisks as i32,
            system_disk_only: req.mode == pb::reset_request::WipeMode::SystemDisk as i32,
            user_disks: req.user_disks_to_wipe.clone(),
        };
        let messages = call
            .each(|id| {
                let plan = plan.clone();
                async move {
                    let actor_id = self.region.reset(&id, &plan)?;
                    Ok(pb::Reset { metadata: None, actor_id })
                }
            })
            .await?;
        Ok(Response::new(pb::ResetResponse { messages }))
    }

    async fn service_list(&self, request: Request<()>) -> Result<Response<pb::ServiceListResponse>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::SERVICE_LIST).await?;
        let messages = call
            .each(|id| async move {
                let services = self.region.services(&id)?;
                Ok(pb::ServiceList {
                    metadata: None,
                    services: services
                        .into_iter()
                        .map(|s| pb::ServiceInfo {
                            id: s.id.to_owned(),
                            state: s.state.to_owned(),
                            events: Some(pb::ServiceEvents {
                                events: vec![pb::ServiceEvent {
                                    msg: s.message.clone(),
                                    state: s.state.to_owned(),
                                    ts: Some(timestamp()),
                                }],
                            }),
                            health: Some(pb::ServiceHealth {
                                unknown: s.healthy.is_none(),
                                healthy: s.healthy.unwrap_or(false),
                                last_message: s.message,
                                last_change: Some(timestamp()),
                            }),
                        })
                        .collect(),
                })
            })
            .await?;
        Ok(Response::new(pb::ServiceListResponse { messages }))
    }

    async fn upgrade(
        &self,
        request: Request<pb::UpgradeRequest>,
    ) -> Result<Response<pb::UpgradeResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::UPGRADE).await?;
        let req = request.into_inner();
        let mode = pb::upgrade_request::RebootMode::try_from(req.reboot_mode)
            .map_or("unknown", |m| m.as_str_name())
            .to_ascii_lowercase();
        let messages = call
            .each(|id| {
                let image = req.image.clone();
                let mode = mode.clone();
                async move {
                    let actor_id = self.region.upgrade(&id, &image, req.force, &mode)?;
                    Ok(pb::Upgrade { metadata: None, ack: "Upgrade request received".into(), actor_id })
                }
            })
            .await?;
        Ok(Response::new(pb::UpgradeResponse { messages }))
    }

    async fn version(&self, request: Request<()>) -> Result<Response<pb::VersionResponse>, Status> {
        let call = admit(&self.region, request.metadata(), request.extensions(), &guard::VERSION).await?;
        let messages = call
            .each(|id| async move {
                let tag = {
                    let st = self.region.lock();
                    st.machines.get(&id).map(|m| m.talos_version.clone())
                }
                .ok_or_else(|| Status::not_found("machine not found"))?;
                Ok(version_message(&tag))
            })
            .await?;
        Ok(Response::new(pb::VersionResponse { messages }))
    }
}

/// The Version reply for a Talos tag.
fn version_message(tag: &str) -> pb::Version {
    use sha2::Digest as _;
    let sha: String =
        sha2::Sha256::digest(tag.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
    pb::Version {
        metadata: None,
        version: Some(pb::VersionInfo {
            tag: tag.to_owned(),
            sha,
            built: String::new(),
            go_version: "go1.24.6".into(),
            os: "linux".into(),
            arch: "amd64".into(),
        }),
        platform: Some(pb::PlatformInfo { name: "metal".into(), mode: "metal".into() }),
        features: Some(pb::FeaturesInfo { rbac: true }),
    }
}
