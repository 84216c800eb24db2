//! The persisted state of a region: machines (phase, certificates, configs, local etcd data) and
//! clusters (etcd membership). Everything here is plain data that serialises to the state file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::{MachineConfig, MachineType};
use crate::faults::{Fault, KubeFault};
use crate::pki::CertPair;

/// Where a machine is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Phase {
    /// No configuration: the API answers with a self-signed certificate, maintenance subset only.
    Maintenance,
    /// Installing to disk after the first configuration (API down).
    Installing,
    /// Rebooting (API down); comes back in maintenance mode after a wipe.
    Rebooting {
        /// Whether the machine comes back without a configuration.
        into_maintenance: bool,
    },
    /// Booted with a configuration: mTLS API up, services still starting.
    Booting,
    /// Booted and ready.
    Running,
    /// Pulling and installing an upgrade (API up); reboots into `version` afterwards.
    Upgrading {
        /// The version the machine reboots into.
        version: String,
    },
    /// Wiping disks (API down).
    Resetting {
        /// The STATE partition (machine config) is wiped: the machine returns to maintenance.
        wipe_state: bool,
        /// Reboot afterwards (otherwise the machine halts).
        reboot: bool,
    },
    /// Powered off after a reset without reboot (API down until powered on).
    Halted,
}

impl Phase {
    /// Whether the API listener accepts connections in this phase.
    pub fn serving(&self) -> bool {
        matches!(self, Self::Maintenance | Self::Booting | Self::Running | Self::Upgrading { .. })
    }

    /// A short name for logs and the admin API.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Maintenance => "maintenance",
            Self::Installing => "installing",
            Self::Rebooting { .. } => "rebooting",
            Self::Booting => "booting",
            Self::Running => "running",
            Self::Upgrading { .. } => "upgrading",
            Self::Resetting { .. } => "resetting",
            Self::Halted => "halted",
        }
    }
}

/// A pending rollback of a configuration applied in TRY mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TryRollback {
    /// When the previous configuration comes back (Unix ms).
    pub deadline_ms: u64,
    /// The configuration to restore.
    pub previous: String,
}

/// Runtime-only companions of a machine record (never persisted).
#[derive(Debug, Clone)]
pub struct MachineRuntime {
    /// Cancelled when the machine stops serving: every open connection is cut.
    pub boot: CancellationToken,
    /// Bumped whenever the serving mode or certificates change.
    pub generation: u64,
    /// Held while an ApplyConfiguration runs (upstream allows one at a time).
    pub apply_lock: Arc<tokio::sync::Mutex<()>>,
    /// The parsed active configuration.
    pub config: Option<Arc<MachineConfig>>,
}

impl Default for MachineRuntime {
    fn default() -> Self {
        Self {
            boot: CancellationToken::new(),
            generation: 0,
            apply_lock: Arc::new(tokio::sync::Mutex::new(())),
            config: None,
        }
    }
}

/// One emulated machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineRecord {
    /// Stable id (`m1`, `cp-a`...).
    pub id: String,
    /// The address its API listens on.
    pub addr: SocketAddr,
    /// Lifecycle phase.
    #[serde(flatten)]
    pub phase: Phase,
    /// When the current phase ends (Unix ms), for timed phases.
    pub deadline_ms: Option<u64>,
    /// The installed Talos version (`v1.13.9`).
    pub talos_version: String,
    /// The self-signed certificate served in maintenance mode (new after every wipe).
    pub maintenance_cert: CertPair,
    /// The API server certificate signed by the OS CA (configured mode).
    pub server_cert: Option<CertPair>,
    /// The active machine configuration (YAML as applied).
    pub config: Option<String>,
    /// A configuration staged for the next boot.
    pub staged_config: Option<String>,
    /// A TRY-mode configuration waiting to be rolled back.
    pub try_rollback: Option<TryRollback>,
    /// Whether /var/lib/etcd holds data (bootstrapped or joined).
    pub etcd_data: bool,
    /// The last lifecycle events (newest last), e.g. a reset that failed.
    pub events: Vec<String>,
    /// A version installed to disk (LifecycleService.Upgrade, install) that the next boot runs.
    pub next_boot_version: Option<String>,
    /// A phase to enter at `deadline_ms`: reboots and resets start a moment after the RPC that
    /// asked for them has answered, as upstream runs them in the background.
    pub pending: Option<Phase>,
    /// Runtime companions.
    #[serde(skip)]
    pub rt: MachineRuntime,
}

impl MachineRecord {
    /// The parsed active configuration, when configured.
    pub fn parsed(&self) -> Option<&Arc<MachineConfig>> {
        self.rt.config.as_ref()
    }

    /// Whether the machine is a control plane node.
    pub fn is_controlplane(&self) -> bool {
        self.parsed().is_some_and(|c| c.machine_type == MachineType::Controlplane)
    }

    /// The cluster key of the active configuration.
    pub fn cluster_key(&self) -> Option<String> {
        self.parsed().map(|c| c.cluster_key())
    }

    /// The hostname: from the configuration, else derived from the address like Talos does.
    pub fn hostname(&self) -> String {
        self.parsed()
            .and_then(|c| c.hostname.clone())
            .unwrap_or_else(|| format!("talos-{}", self.addr.ip().to_string().replace(['.', ':'], "-")))
    }

    /// Records a lifecycle event, keeping the last few.
    pub fn event(&mut self, text: impl Into<String>) {
        self.events.push(text.into());
        if self.events.len() > 20 {
            self.events.remove(0);
        }
    }

    /// Whether this machine answers to a `node` target (id, hostname, `ip:port` or bare IP).
    pub fn matches(&self, target: &str) -> bool {
        target == self.id
            || target == self.addr.to_string()
            || target == self.addr.ip().to_string()
            || target == self.hostname()
    }
}

/// One etcd member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdMemberRecord {
    /// Member id.
    pub id: u64,
    /// The machine running it.
    pub machine_id: String,
    /// Member name (the machine hostname).
    pub hostname: String,
    /// Peer URL (`https://IP:2380`).
    pub peer_url: String,
    /// Client URL (`https://IP:2379`).
    pub client_url: String,
}

/// One cluster: machines sharing a `cluster.id` (or endpoint), and its etcd.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// `cluster.id`, or the endpoint when the config has no id.
    pub key: String,
    /// `cluster.clusterName`.
    pub name: String,
    /// `cluster.controlPlane.endpoint`: where the Kubernetes API will listen.
    pub endpoint: String,
    /// Whether etcd was bootstrapped.
    pub bootstrapped: bool,
    /// The etcd members.
    pub members: Vec<EtcdMemberRecord>,
    /// The current etcd leader.
    pub leader: Option<u64>,
}

/// Everything that the state file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegionState {
    /// Machines by id.
    pub machines: BTreeMap<String, MachineRecord>,
    /// Clusters by key.
    pub clusters: BTreeMap<String, ClusterRecord>,
    /// Active faults of machines.
    pub faults: Vec<Fault>,
    /// Active faults of Kubernetes APIs.
    #[serde(default)]
    pub kube_faults: Vec<KubeFault>,
    /// The next fault id.
    pub next_fault_id: u64,
    /// Last known Kubernetes API availability per cluster (to report changes once).
    #[serde(skip)]
    pub api_available: BTreeMap<String, bool>,
}

impl RegionState {
    /// Finds the machine a `node` target names (id, `ip:port`, hostname, or a unique bare IP).
    pub fn resolve(&self, target: &str) -> Option<&MachineRecord> {
        let exact = self
            .machines
            .values()
            .find(|m| target == m.id || target == m.addr.to_string() || target == m.hostname());
        if exact.is_some() {
            return exact;
        }
        let mut by_ip = self.machines.values().filter(|m| m.addr.ip().to_string() == target);
        match (by_ip.next(), by_ip.next()) {
            (Some(m), None) => Some(m),
            _ => None,
        }
    }

    /// Whether a machine's etcd member is healthy (serving, not faulted, holding data).
    pub fn member_healthy(&self, member: &EtcdMemberRecord) -> bool {
        let Some(m) = self.machines.get(&member.machine_id) else {
            return false;
        };
        m.etcd_data
            && matches!(m.phase, Phase::Running | Phase::Booting | Phase::Upgrading { .. })
            && !crate::faults::machine_faulted(&self.faults, m, crate::faults::FaultKind::is_etcd_breaking)
    }

    /// Healthy and total member counts of a cluster.
    pub fn etcd_health(&self, cluster: &ClusterRecord) -> (usize, usize) {
        let healthy = cluster.members.iter().filter(|m| self.member_healthy(m)).count();
        (healthy, cluster.members.len())
    }

    /// Whether a cluster's etcd has quorum (a strict majority of members healthy).
    pub fn has_quorum(&self, cluster: &ClusterRecord) -> bool {
        let (healthy, total) = self.etcd_health(cluster);
        cluster.bootstrapped && total > 0 && healthy * 2 > total
    }

    /// Machines configured for a cluster.
    pub fn cluster_machines<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a MachineRecord> + 'a {
        self.machines.values().filter(move |m| m.cluster_key().as_deref() == Some(key))
    }
}
