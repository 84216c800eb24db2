//! Long-running calls with progress streams: the Talos upgrade of a node and the server-side
//! cluster health check.
//!
//! Upgrade follows what Talos clients do since 1.13: `LifecycleService.Upgrade` installs the
//! new release to the inactive boot partition while streaming progress and the node runs it
//! after the next reboot, which this client requests (unless the upgrade is only staged). A
//! node without the LifecycleService (Talos < 1.13) answers `Unimplemented`, and the
//! deprecated `MachineService.Upgrade` (which installs and reboots by itself) is used instead.

use std::net::IpAddr;
use std::time::Duration;

use ct_proto::talos::cluster as cpb;
use ct_proto::talos::machine as pb;
use ct_proto::talos::machine::lifecycle_service_install_progress::Response as Progress;
use tonic::Status;

use super::connect::TalosClient;
use super::error::{ErrorKind, TalosError};
use super::machine::RebootMode;
use super::options::Options;

/// How long before the deadline a health check wait ends on the node.
const HEALTH_MARGIN: Duration = Duration::from_millis(500);

/// A Talos upgrade to run on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeSpec {
    /// Installer image with the target release tag (`ghcr.io/siderolabs/installer:v1.14.1`).
    pub image: String,
    /// Install now, boot the new release at the next reboot (no reboot requested).
    pub stage: bool,
    /// Skip the node's etcd health check before upgrading a control plane (deprecated API only).
    pub force: bool,
    /// Keep the EPHEMERAL partition (deprecated API only; always kept since Talos 1.8).
    pub preserve: bool,
    /// How the node reboots into the new release.
    pub reboot_mode: RebootMode,
}

/// Which API carried out an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradePath {
    /// `LifecycleService.Upgrade` followed by `Reboot` (Talos 1.13+).
    Lifecycle,
    /// The deprecated `MachineService.Upgrade` (the node reboots by itself).
    Legacy,
}

/// What an upgrade call did. The node is rebooting (unless staged) when this returns: wait for
/// it with [`super::wait::wait_for_configured`] and compare [`super::VersionInfo::tag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOutcome {
    /// The API used.
    pub path: UpgradePath,
    /// Progress lines (installer steps, or the deprecated API's acknowledgement).
    pub progress: Vec<String>,
    /// Whether a reboot into the new release was requested.
    pub rebooting: bool,
}

impl TalosClient {
    /// Upgrades Talos on the node (see the module docs for the two APIs).
    ///
    /// # Errors
    /// `Unknown` for an installer image the node cannot use or an installer that fails; the
    /// deprecated API refuses a control plane whose etcd peers are unhealthy unless `force`.
    pub async fn upgrade(&self, spec: &UpgradeSpec, opts: &Options) -> Result<UpgradeOutcome, TalosError> {
        match self.lifecycle_upgrade(spec, opts).await {
            Err(e) if e.is_unimplemented() && !e.is_maintenance_mode() => {
                tracing::debug!(node = %self.target(), "no LifecycleService: using the deprecated MachineService.Upgrade");
                self.legacy_upgrade(spec, opts).await
            }
            other => other,
        }
    }

    async fn lifecycle_upgrade(
        &self,
        spec: &UpgradeSpec,
        opts: &Options,
    ) -> Result<UpgradeOutcome, TalosError> {
        const RPC: &str = "LifecycleService.Upgrade";
        let request = pb::LifecycleServiceUpgradeRequest {
            containerd: None,
            source: Some(pb::InstallArtifactsSource { image_name: spec.image.clone() }),
        };
        let mut api = self.lifecycle_api();
        let request = self.request(request, opts);
        let target = self.target();
        let (progress, exit_code) = self
            .run(RPC, opts, async {
                let mut stream = api.upgrade(request).await?.into_inner();
                let mut lines = Vec::new();
                while let Some(event) = stream.message().await? {
                    match event.progress.and_then(|p| p.response) {
                        Some(Progress::Message(line)) => {
                            tracing::info!(node = %target, progress = %line, "Talos upgrade");
                            lines.push(line);
                        }
                        Some(Progress::ExitCode(code)) => return Ok((lines, Some(code))),
                        None => {}
                    }
                }
                Ok::<_, Status>((lines, None))
            })
            .await?;
        match exit_code {
            Some(0) => {}
            Some(code) => {
                let last = progress.last().map(|l| format!(" (last step: {l})")).unwrap_or_default();
                return Err(self.error(
                    RPC,
                    ErrorKind::Status {
                        code: tonic::Code::Unknown,
                        message: format!("the installer exited with code {code}{last}"),
                    },
                ));
            }
            None => {
                return Err(self
                    .error(RPC, ErrorKind::Reply("the progress stream ended without an exit code".into())));
            }
        }
        if !spec.stage {
            self.reboot(spec.reboot_mode, opts).await?;
        }
        Ok(UpgradeOutcome { path: UpgradePath::Lifecycle, progress, rebooting: !spec.stage })
    }

    async fn legacy_upgrade(&self, spec: &UpgradeSpec, opts: &Options) -> Result<UpgradeOutcome, TalosError> {
        const RPC: &str = "Upgrade";
        let request = pb::UpgradeRequest {
            image: spec.image.clone(),
            preserve: spec.preserve,
            stage: spec.stage,
            force: spec.force,
            reboot_mode: match spec.reboot_mode {
                RebootMode::Default => pb::upgrade_request::RebootMode::Default,
                RebootMode::Powercycle => pb::upgrade_request::RebootMode::Powercycle,
            } as i32,
        };
        let reply = self.run(RPC, opts, self.machine_api().upgrade(self.request(request, opts))).await?;
        let message = self.first(RPC, reply.into_inner().messages)?;
        tracing::info!(node = %self.target(), ack = %message.ack, "Talos upgrade (deprecated API)");
        Ok(UpgradeOutcome { path: UpgradePath::Legacy, progress: vec![message.ack], rebooting: true })
    }

    /// Runs the Talos cluster health checks on this node, waiting up to `wait` (and the
    /// deadline) for them to pass. Progress lines are logged as they come and returned.
    /// Empty node lists let the node discover the cluster members itself.
    ///
    /// # Errors
    /// The check that did not pass in time, as the node words it.
    pub async fn health_check(
        &self,
        control_planes: &[IpAddr],
        workers: &[IpAddr],
        wait: Duration,
        opts: &Options,
    ) -> Result<Vec<String>, TalosError> {
        const RPC: &str = "HealthCheck";
        // Leave the node time to report which check failed before our own deadline hits.
        let wait = wait.min(opts.remaining().saturating_sub(HEALTH_MARGIN));
        let request = cpb::HealthCheckRequest {
            wait_timeout: prost_types::Duration::try_from(wait).ok(),
            cluster_info: Some(cpb::ClusterInfo {
                control_plane_nodes: control_planes.iter().map(ToString::to_string).collect(),
                worker_nodes: workers.iter().map(ToString::to_string).collect(),
                force_endpoint: String::new(),
            }),
        };
        let mut api = self.cluster_api();
        let request = self.request(request, opts);
        let target = self.target();
        let mut lines = Vec::new();
        let result = self
            .run(RPC, opts, async {
                let mut stream = api.health_check(request).await?.into_inner();
                while let Some(progress) = stream.message().await? {
                    if let Some(meta) = progress.metadata.as_ref().filter(|m| !m.error.is_empty()) {
                        return Err(Status::unknown(meta.error.clone()));
                    }
                    tracing::info!(node = %target, progress = %progress.message, "cluster health");
                    lines.push(progress.message);
                }
                Ok(())
            })
            .await;
        match result {
            Ok(()) => Ok(lines),
            Err(mut e) => {
                // Say which check was still pending when time ran out.
                if let ErrorKind::Timeout { last, .. } = &mut e.kind {
                    *last = lines.pop();
                }
                Err(e)
            }
        }
    }
}
