//! Lifecycle transitions: installs, reboots, upgrades and resets, each a timed phase that the
//! ticker advances, plus the RPC-side entry points that start them.

use std::sync::Arc;

use tonic::Status;

use super::Region;
use super::state::{MachineRecord, Phase, RegionState};
use crate::faults::{FaultKind, machine_faulted};
use crate::pki::{Ca, LeafSpec};
use crate::timing::{Latencies, now_ms};
use crate::version::TalosVersion;

/// Delay between an RPC answering and the reboot/reset it started, so the reply gets out first.
const GRACE_MS: u64 = 100;

/// Puts a machine into a phase, with an optional modelled (unscaled) duration.
pub(super) fn enter(m: &mut MachineRecord, phase: Phase, delay_ms: Option<u64>, l: &Latencies) {
    m.deadline_ms = delay_ms.map(|d| now_ms().saturating_add(l.scaled_ms(d)));
    m.event(phase.name());
    m.phase = phase;
}

/// Schedules a phase change shortly after the current RPC returns.
fn schedule(m: &mut MachineRecord, phase: Phase) {
    m.pending = Some(phase);
    m.deadline_ms = Some(now_ms() + GRACE_MS);
}

/// The modelled duration of a phase entered through [`schedule`].
fn duration_of(phase: &Phase, l: &Latencies) -> Option<u64> {
    match phase {
        Phase::Rebooting { .. } => Some(l.reboot_ms),
        Phase::Resetting { .. } => Some(l.reset_ms),
        Phase::Installing => Some(l.install_ms),
        _ => None,
    }
}

/// Advances every machine whose deadline has passed.
pub(super) fn advance(st: &mut RegionState, now: u64, l: &Latencies) {
    let faults = st.faults.clone();
    for m in st.machines.values_mut() {
        if let Some(t) = m.try_rollback.take_if(|t| t.deadline_ms <= now) {
            m.event("try mode timeout: configuration rolled back");
            set_config(m, Some(t.previous));
        }
        if m.deadline_ms.is_none_or(|d| d > now) {
            continue;
        }
        if let Some(next) = m.pending.take() {
            let delay = duration_of(&next, l);
            enter(m, next, delay, l);
            continue;
        }
        let hung = machine_faulted(&faults, m, |k| *k == FaultKind::RebootHang);
        match m.phase.clone() {
            Phase::Installing => enter(m, Phase::Rebooting { into_maintenance: false }, Some(l.reboot_ms), l),
            Phase::Rebooting { .. } if hung => {
                m.deadline_ms = None;
                m.event("reboot hangs (injected fault)");
            }
            Phase::Rebooting { into_maintenance: true } => enter(m, Phase::Maintenance, None, l),
            Phase::Rebooting { into_maintenance: false } => boot_configured(m, l),
            Phase::Booting => enter(m, Phase::Running, None, l),
            Phase::Upgrading { version } => {
                m.next_boot_version = Some(version);
                enter(m, Phase::Rebooting { into_maintenance: false }, Some(l.reboot_ms), l);
            }
            Phase::Resetting { wipe_state, reboot } => finish_reset(m, wipe_state, reboot, l),
            Phase::Maintenance | Phase::Running | Phase::Halted => m.deadline_ms = None,
        }
    }
}

/// A configured boot: staged config and version take effect, the API certificate is reissued.
fn boot_configured(m: &mut MachineRecord, l: &Latencies) {
    if let Some(staged) = m.staged_config.take() {
        set_config(m, Some(staged));
    }
    if let Some(v) = m.next_boot_version.take() {
        m.talos_version = v;
    }
    if m.config.is_none() {
        // Nothing to boot with (the config was wiped): back to maintenance.
        enter(m, Phase::Maintenance, None, l);
        return;
    }
    // Reissued by the reconcile step, which can borrow a control plane's CA key for workers.
    m.server_cert = None;
    enter(m, Phase::Booting, Some(l.boot_ms), l);
}

fn finish_reset(m: &mut MachineRecord, wipe_state: bool, reboot: bool, l: &Latencies) {
    // Every system wipe loses EPHEMERAL, hence the etcd data directory.
    m.etcd_data = false;
    if wipe_state {
        set_config(m, None);
        m.staged_config = None;
        m.server_cert = None;
        match super::maintenance_cert(m.addr) {
            Ok(cert) => m.maintenance_cert = cert,
            Err(e) => m.event(format!("cannot generate maintenance certificate: {e}")),
        }
    }
    if reboot {
        let into_maintenance = m.config.is_none();
        enter(m, Phase::Rebooting { into_maintenance }, Some(l.reboot_ms), l);
    } else {
        enter(m, Phase::Halted, None, l);
    }
}

/// Replaces the active configuration (and its parsed form).
pub(super) fn set_config(m: &mut MachineRecord, config: Option<String>) {
    m.rt.config =
        config.as_deref().and_then(|c| crate::config::MachineConfig::parse(c.as_bytes()).ok()).map(Arc::new);
    m.config = config;
}

/// Issues the apid server certificate, signed by the OS CA (`key_pem` is the CA key).
pub(super) fn issue_server_cert(
    m: &MachineRecord,
    key_pem: &str,
) -> crate::error::Result<crate::pki::CertPair> {
    let cfg = m
        .parsed()
        .ok_or_else(|| crate::error::Error::pki("API certificate", "machine has no configuration"))?;
    let ca = Ca::from_pem(&cfg.os_ca.crt, key_pem)?;
    let mut dns = vec![m.hostname()];
    let mut ips = vec![m.addr.ip()];
    for san in &cfg.cert_sans {
        match san.parse() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(san.clone()),
        }
    }
    ca.issue(&LeafSpec {
        common_name: m.hostname(),
        organizations: vec![],
        ips,
        dns,
        server: true,
        client: true,
        lifetime: std::time::Duration::from_secs(365 * 24 * 3600),
    })
}

/// How a reset wipes disks, from the request.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResetPlan {
    /// Leave etcd first.
    pub graceful: bool,
    /// Reboot afterwards (otherwise halt).
    pub reboot: bool,
    /// System partitions to wipe (labels); empty means all.
    pub partitions: Vec<(String, bool)>,
    /// Whether the wipe mode is USER_DISKS (system disk untouched).
    pub user_disks_only: bool,
    /// Whether the wipe mode is SYSTEM_DISK.
    pub system_disk_only: bool,
    /// User disks to wipe.
    pub user_disks: Vec<String>,
}

impl Region {
    /// Reboots a configured machine (a moment after the RPC answers); `mode` (`default`,
    /// `powercycle`) is recorded in the machine's events, as the node's console would show it.
    pub(crate) fn reboot(&self, id: &str, mode: &str) -> Result<String, Status> {
        self.mutate(|st| {
            let m = st.machines.get_mut(id).ok_or_else(|| Status::not_found("machine not found"))?;
            m.event(format!("reboot requested (mode {mode})"));
            schedule(m, Phase::Rebooting { into_maintenance: false });
            Ok(crate::ids::actor_id())
        })
    }

    /// Installs a version to disk without rebooting (LifecycleService.Upgrade).
    pub(crate) fn install_version(&self, id: &str, version: &TalosVersion) -> Result<(), Status> {
        self.mutate(|st| {
            let m = st.machines.get_mut(id).ok_or_else(|| Status::not_found("machine not found"))?;
            m.next_boot_version = Some(version.to_string());
            m.event(format!("installed {version} (active after the next reboot)"));
            Ok(())
        })
    }

    /// MachineService.Upgrade: validates etcd on control planes, then installs and reboots (in
    /// `reboot_mode`, recorded in the machine's events).
    pub(crate) fn upgrade(
        &self,
        id: &str,
        image: &str,
        force: bool,
        reboot_mode: &str,
    ) -> Result<String, Status> {
        let version = TalosVersion::from_image(image).ok_or_else(|| {
            Status::unknown(format!(
                "error validating installer image {image:?}: no Talos version tag in the image reference"
            ))
        })?;
        let latencies = self.inner.latencies.clone();
        self.mutate(|st| {
            if !force {
                validate_etcd_for_upgrade(st, id)?;
            }
            let m = st.machines.get_mut(id).ok_or_else(|| Status::not_found("machine not found"))?;
            m.event(format!("upgrade to {version} requested (reboot mode {reboot_mode})"));
            enter(
                m,
                Phase::Upgrading { version: version.to_string() },
                Some(latencies.upgrade_ms),
                &latencies,
            );
            Ok(crate::ids::actor_id())
        })
    }

    /// Reset: validates the request, leaves etcd when graceful (asynchronously, like upstream:
    /// a failure is only visible in the machine's events), then wipes.
    pub(crate) fn reset(&self, id: &str, plan: &ResetPlan) -> Result<String, Status> {
        if plan.system_disk_only && !plan.user_disks.is_empty() {
            return Err(Status::unknown(
                "reset failed: invalid input, wipe mode SYSTEM_DISK doesn't support UserDisksToWipe parameter",
            ));
        }
        if plan.user_disks_only && !plan.partitions.is_empty() {
            return Err(Status::unknown(
                "reset failed: invalid input, wipe mode USER_DISKS doesn't support SystemPartitionsToWipe parameter",
            ));
        }
        for (label, _) in &plan.partitions {
            if !["STATE", "EPHEMERAL", "META"].contains(&label.as_str()) {
                return Err(Status::unknown(format!(
                    "failed to get volume status with label {label:?}: resource VolumeStatuses.block.talos.dev(runtime/{label}) doesn't exist"
                )));
            }
        }
        let wipe_state = if plan.user_disks_only {
            false
        } else if plan.partitions.is_empty() {
            true
        } else {
            plan.partitions.iter().any(|(l, wipe)| l == "STATE" && *wipe)
        };
        self.mutate(|st| {
            if plan.graceful
                && st.machines.get(id).is_some_and(MachineRecord::is_controlplane)
                && let Err(e) = super::etcd::leave(st, id)
            {
                if let Some(m) = st.machines.get_mut(id) {
                    m.event(format!("reset failed: failed to leave cluster: {}", e.message()));
                }
                return Ok(crate::ids::actor_id());
            }
            let m = st.machines.get_mut(id).ok_or_else(|| Status::not_found("machine not found"))?;
            if plan.user_disks_only && plan.partitions.is_empty() {
                let into_maintenance = m.config.is_none();
                schedule(m, if plan.reboot { Phase::Rebooting { into_maintenance } } else { Phase::Halted });
            } else {
                schedule(m, Phase::Resetting { wipe_state, reboot: plan.reboot });
            }
            Ok(crate::ids::actor_id())
        })
    }

    /// Applies a configuration that needs a reboot (staged, then reboot shortly after).
    pub(super) fn stage_and_reboot(st: &mut RegionState, id: &str, config: String) {
        if let Some(m) = st.machines.get_mut(id) {
            m.staged_config = Some(config);
            schedule(m, Phase::Rebooting { into_maintenance: false });
        }
    }

    /// Starts the install after a configuration was applied in maintenance mode.
    pub(super) fn start_install(st: &mut RegionState, id: &str, config: String) {
        if let Some(m) = st.machines.get_mut(id) {
            set_config(m, Some(config));
            if let Some(v) =
                m.parsed().and_then(|c| c.install_image.as_deref()).and_then(TalosVersion::from_image)
            {
                m.next_boot_version = Some(v.to_string());
            }
            schedule(m, Phase::Installing);
        }
    }
}

/// Upstream checks etcd before a control plane upgrade: every other member must be healthy so
/// that taking this node down keeps quorum.
fn validate_etcd_for_upgrade(st: &RegionState, id: &str) -> Result<(), Status> {
    let Some(m) = st.machines.get(id) else { return Ok(()) };
    if !m.is_controlplane() {
        return Ok(());
    }
    let Some(cluster) = m.cluster_key().and_then(|k| st.clusters.get(&k)) else { return Ok(()) };
    let unhealthy: Vec<&str> = cluster
        .members
        .iter()
        .filter(|mem| mem.machine_id != id && !st.member_healthy(mem))
        .map(|mem| mem.hostname.as_str())
        .collect();
    if !unhealthy.is_empty() {
        return Err(Status::unknown(format!(
            "error validating etcd for upgrade: etcd member(s) {} are not healthy, upgrading this node would lose quorum",
            unhealthy.join(", ")
        )));
    }
    Ok(())
}
