//! MachineService calls about the node itself: Version, ApplyConfiguration, Bootstrap,
//! Kubeconfig, ServiceList, Reboot and Reset, with typed inputs and outputs.

use std::io::Read as _;

use ct_proto::talos::machine as pb;
use tonic::Code;

use super::connect::TalosClient;
use super::error::{ErrorKind, TalosError};
use super::options::Options;
use crate::catalog::Version;
use crate::talos::sensitive::Sensitive;
use crate::talos::version::ApplyMode;

/// Largest kubeconfig archive accepted (a kubeconfig is a few KiB).
const MAX_KUBECONFIG: u64 = 1 << 20;

/// What a node's Version call reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Talos release tag (`v1.13.9`).
    pub tag: String,
    /// Git commit.
    pub sha: String,
    /// CPU architecture (`amd64`).
    pub arch: String,
    /// Operating system (`linux`).
    pub os: String,
    /// Go toolchain the release was built with.
    pub go_version: String,
    /// Platform (`metal`, `vmware`...), when reported.
    pub platform: Option<String>,
    /// Whether the API enforces roles (RBAC).
    pub rbac: bool,
}

impl VersionInfo {
    /// The release as a version number, without any pre-release suffix (`v1.14.0-rc.1` is
    /// 1.14.0: it follows the 1.14 contract).
    pub fn version(&self) -> Option<Version> {
        let core = self.tag.split('-').next().unwrap_or_default();
        Version::parse(core).ok()
    }
}

/// What ApplyConfiguration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyResult {
    /// The mode the node actually used (AUTO resolves to REBOOT or NO_REBOOT).
    pub mode: ApplyMode,
    /// The node's explanation (a configuration diff on dry runs).
    pub mode_details: String,
    /// Validation warnings.
    pub warnings: Vec<String>,
}

/// What Bootstrap found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// etcd was bootstrapped by this call.
    Bootstrapped,
    /// etcd already had data (`AlreadyExists`): bootstrapped before, nothing done.
    AlreadyDone,
}

/// One Talos service as ServiceList reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Service id (`etcd`, `kubelet`, `apid`...).
    pub id: String,
    /// State (`Running`, `Preparing`, `Waiting`, `Finished`, `Failed`).
    pub state: String,
    /// Health, `None` when the service has no health check or it has not run yet.
    pub healthy: Option<bool>,
    /// The last health message.
    pub last_message: String,
}

/// How Reboot restarts the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RebootMode {
    /// Kexec where possible.
    #[default]
    Default,
    /// A full power cycle.
    Powercycle,
}

/// What Reset wipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WipeMode {
    /// System disk and user disks.
    #[default]
    All,
    /// The system disk only: the node comes back in maintenance mode.
    SystemDisk,
    /// User disks only.
    UserDisks,
}

fn mode_from_proto(value: i32) -> Option<ApplyMode> {
    Some(match value {
        0 => ApplyMode::Reboot,
        1 => ApplyMode::Auto,
        2 => ApplyMode::NoReboot,
        3 => ApplyMode::Staged,
        4 => ApplyMode::Try,
        _ => return None,
    })
}

impl TalosClient {
    /// The node's Talos version. In maintenance mode this is `Unimplemented` (see
    /// [`TalosError::is_maintenance_mode`]): upstream answers it only over SideroLink.
    ///
    /// # Errors
    /// Any [`TalosError`] of the call.
    pub async fn version(&self, opts: &Options) -> Result<VersionInfo, TalosError> {
        const RPC: &str = "Version";
        let reply = self.run(RPC, opts, self.machine_api().version(self.request((), opts))).await?;
        let message = self.first(RPC, reply.into_inner().messages)?;
        let info =
            message.version.ok_or_else(|| self.error(RPC, ErrorKind::Reply("no version info".into())))?;
        Ok(VersionInfo {
            tag: info.tag,
            sha: info.sha,
            arch: info.arch,
            os: info.os,
            go_version: info.go_version,
            platform: message.platform.map(|p| p.name).filter(|n| !n.is_empty()),
            rbac: message.features.is_some_and(|f| f.rbac),
        })
    }

    /// Applies a machine configuration. In maintenance mode this installs Talos and reboots
    /// into the configuration; on a configured node `mode` says whether it may reboot. With
    /// `dry_run` nothing changes and `mode_details` holds the diff. The configuration is never
    /// logged nor put in errors.
    ///
    /// # Errors
    /// `InvalidArgument` for a configuration the node rejects, `Unimplemented` for a mode the
    /// node does not support (REBOOT on Talos 1.14+, STAGED in maintenance mode).
    pub async fn apply_configuration(
        &self,
        config: &Sensitive,
        mode: ApplyMode,
        dry_run: bool,
        opts: &Options,
    ) -> Result<ApplyResult, TalosError> {
        const RPC: &str = "ApplyConfiguration";
        let request = pb::ApplyConfigurationRequest {
            data: config.expose().as_bytes().to_vec(),
            mode: mode.proto_value(),
            dry_run,
            try_mode_timeout: None,
        };
        let reply =
            self.run(RPC, opts, self.machine_api().apply_configuration(self.request(request, opts))).await?;
        let message = self.first(RPC, reply.into_inner().messages)?;
        let used = mode_from_proto(message.mode).ok_or_else(|| {
            self.error(RPC, ErrorKind::Reply(format!("unknown apply mode {}", message.mode)))
        })?;
        tracing::debug!(node = %self.target(), requested = ?mode, used = ?used, dry_run, "configuration applied");
        Ok(ApplyResult { mode: used, mode_details: message.mode_details, warnings: message.warnings })
    }

    /// Bootstraps etcd on this control plane. `AlreadyExists` (etcd has data) is success:
    /// bootstrap is done once per cluster, and a retried or resumed create must not fail on it.
    ///
    /// # Errors
    /// `FailedPrecondition` "not available yet" while the node boots (transient), on a worker
    /// (permanent); `InvalidArgument` when etcd is not configured.
    pub async fn bootstrap(&self, opts: &Options) -> Result<BootstrapOutcome, TalosError> {
        const RPC: &str = "Bootstrap";
        let request = self.request(pb::BootstrapRequest::default(), opts);
        match self.run(RPC, opts, self.machine_api().bootstrap(request)).await {
            Ok(reply) => match self.check(RPC, &reply.into_inner().messages) {
                Ok(()) => Ok(BootstrapOutcome::Bootstrapped),
                Err(e) if already_exists(&e) => Ok(BootstrapOutcome::AlreadyDone),
                Err(e) => Err(e),
            },
            Err(e) if already_exists(&e) => Ok(BootstrapOutcome::AlreadyDone),
            Err(e) => Err(e),
        }
    }

    /// A fresh admin kubeconfig from this control plane (the node streams a `.tar.gz` holding
    /// one file).
    ///
    /// # Errors
    /// `Unimplemented` on workers; [`ErrorKind::Reply`] when the archive is not one file.
    pub async fn kubeconfig(&self, opts: &Options) -> Result<Sensitive, TalosError> {
        const RPC: &str = "Kubeconfig";
        let mut api = self.machine_api();
        let request = self.request((), opts);
        let archive = self
            .run(RPC, opts, async {
                let mut stream = api.kubeconfig(request).await?.into_inner();
                let mut bytes = Vec::new();
                while let Some(chunk) = stream.message().await? {
                    if let Some(meta) = &chunk.metadata
                        && !meta.error.is_empty()
                    {
                        return Err(tonic::Status::new(
                            meta.status.as_ref().map_or(Code::Unknown, |s| Code::from_i32(s.code)),
                            meta.error.clone(),
                        ));
                    }
                    bytes.extend_from_slice(&chunk.bytes);
                    if bytes.len() as u64 > MAX_KUBECONFIG {
                        return Err(tonic::Status::resource_exhausted(
                            "kubeconfig archive larger than 1 MiB",
                        ));
                    }
                }
                Ok(bytes)
            })
            .await?;
        unpack_single_file(&archive)
            .map(Sensitive::new)
            .map_err(|reason| self.error(RPC, ErrorKind::Reply(reason)))
    }

    /// The node's services and their health.
    ///
    /// # Errors
    /// Any [`TalosError`] of the call.
    pub async fn service_list(&self, opts: &Options) -> Result<Vec<ServiceInfo>, TalosError> {
        const RPC: &str = "ServiceList";
        let reply = self.run(RPC, opts, self.machine_api().service_list(self.request((), opts))).await?;
        let message = self.first(RPC, reply.into_inner().messages)?;
        Ok(message
            .services
            .into_iter()
            .map(|s| {
                let health = s.health.unwrap_or_default();
                ServiceInfo {
                    id: s.id,
                    state: s.state,
                    healthy: (!health.unknown).then_some(health.healthy),
                    last_message: health.last_message,
                }
            })
            .collect())
    }

    /// Reboots the node (it answers first, then goes down).
    ///
    /// # Errors
    /// Any [`TalosError`] of the call.
    pub async fn reboot(&self, mode: RebootMode, opts: &Options) -> Result<(), TalosError> {
        const RPC: &str = "Reboot";
        let mode = match mode {
            RebootMode::Default => pb::reboot_request::Mode::Default,
            RebootMode::Powercycle => pb::reboot_request::Mode::Powercycle,
        };
        let request = self.request(pb::RebootRequest { mode: mode as i32 }, opts);
        let reply = self.run(RPC, opts, self.machine_api().reboot(request)).await?;
        self.check(RPC, &reply.into_inner().messages)
    }

    /// Resets the node: with `graceful` a control plane leaves etcd first; `wipe` says which
    /// disks are wiped; with `reboot` the node restarts (into maintenance mode once its system
    /// disk is wiped), else it halts. Upstream runs the reset in the background after answering:
    /// a graceful reset that cannot leave etcd fails only on the node, so callers wait for
    /// maintenance mode ([`super::wait::wait_for_maintenance`]) to know it happened.
    ///
    /// # Errors
    /// Any [`TalosError`] of the call.
    pub async fn reset(
        &self,
        graceful: bool,
        reboot: bool,
        wipe: WipeMode,
        opts: &Options,
    ) -> Result<(), TalosError> {
        const RPC: &str = "Reset";
        let mode = match wipe {
            WipeMode::All => pb::reset_request::WipeMode::All,
            WipeMode::SystemDisk => pb::reset_request::WipeMode::SystemDisk,
            WipeMode::UserDisks => pb::reset_request::WipeMode::UserDisks,
        };
        let request = pb::ResetRequest { graceful, reboot, mode: mode as i32, ..Default::default() };
        let reply = self.run(RPC, opts, self.machine_api().reset(self.request(request, opts))).await?;
        tracing::info!(node = %self.target(), graceful, reboot, ?wipe, "reset requested");
        self.check(RPC, &reply.into_inner().messages)
    }
}

fn already_exists(e: &TalosError) -> bool {
    matches!(e.kind, ErrorKind::Status { code: Code::AlreadyExists, .. })
}

/// The content of the only regular file of a `.tar.gz`.
pub(crate) fn unpack_single_file(archive: &[u8]) -> Result<String, String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut found: Option<String> = None;
    let entries = tar.entries().map_err(|e| format!("kubeconfig archive is not a tar.gz: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("kubeconfig archive is corrupt: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if found.is_some() {
            return Err("kubeconfig archive holds more than one file".into());
        }
        let mut text = String::new();
        entry
            .take(MAX_KUBECONFIG)
            .read_to_string(&mut text)
            .map_err(|e| format!("kubeconfig archive entry is not UTF-8 text: {e}"))?;
        found = Some(text);
    }
    found.filter(|t| !t.is_empty()).ok_or_else(|| "kubeconfig archive holds no file".into())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(gz);
        for (name, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o600);
            header.set_cksum();
            builder.append_data(&mut header, name, body.as_bytes()).expect("append");
        }
        let mut gz = builder.into_inner().expect("tar");
        gz.flush().expect("flush");
        gz.finish().expect("gzip")
    }

    #[test]
    fn unpacks_exactly_one_file() {
        assert_eq!(
            unpack_single_file(&tar_gz(&[("kubeconfig", "apiVersion: v1\n")])).as_deref(),
            Ok("apiVersion: v1\n")
        );
        assert!(
            unpack_single_file(&tar_gz(&[("a", "x"), ("b", "y")])).unwrap_err().contains("more than one")
        );
        assert!(unpack_single_file(&tar_gz(&[])).unwrap_err().contains("no file"));
        assert!(unpack_single_file(b"not gzip").is_err());
    }

    #[test]
    fn versions_drop_pre_releases_and_modes_round_trip() {
        let info = |tag: &str| VersionInfo {
            tag: tag.into(),
            sha: String::new(),
            arch: String::new(),
            os: String::new(),
            go_version: String::new(),
            platform: None,
            rbac: true,
        };
        assert_eq!(info("v1.14.0-rc.1").version(), Some(Version::new(1, 14, 0)));
        assert_eq!(info("v1.13.9").version(), Some(Version::new(1, 13, 9)));
        assert_eq!(info("garbage").version(), None);
        for mode in
            [ApplyMode::Reboot, ApplyMode::Auto, ApplyMode::NoReboot, ApplyMode::Staged, ApplyMode::Try]
        {
            assert_eq!(mode_from_proto(mode.proto_value()), Some(mode));
        }
        assert_eq!(mode_from_proto(9), None);
    }
}
