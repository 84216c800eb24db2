//! A region: the set of emulated machines and the clusters they form, behind one lock, persisted
//! to a directory after every change and advanced through timed lifecycle phases by a ticker.
//!
//! The Kubernetes API half hooks in through [`Region::subscribe`]: a [`RegionEvent::Cluster`]
//! says when a cluster's API becomes available (etcd bootstrapped and in quorum) or goes away.

pub(crate) mod apply;
mod etcd;
mod kube;
pub(crate) mod power;
mod services;
pub mod state;

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};

pub use services::{HealthStep, Outcome, ServiceStatus};
use state::{MachineRecord, MachineRuntime, Phase, RegionState};

use crate::cluster_api::KubeEndpoint;
use crate::config::MachineConfig;
use crate::error::{Error, Result};
use crate::faults::{Fault, FaultKind, FaultSpec, KubeFaultSpec};
use crate::pki::{self, LeafSpec};
use crate::timing::{Latencies, now_ms};

/// The state file inside the state directory.
const STATE_FILE: &str = "region.json";

/// How a region is set up.
#[derive(Debug, Clone)]
pub struct RegionConfig {
    /// Where state is persisted; `None` keeps it in memory only.
    pub state_dir: Option<PathBuf>,
    /// Modelled latencies.
    pub latencies: Latencies,
    /// Talos version new machines boot (maintenance ISO version).
    pub talos_version: String,
    /// Machine faults active from the start.
    pub faults: Vec<FaultSpec>,
    /// Kubernetes API faults active from the start.
    pub kube_faults: Vec<KubeFaultSpec>,
}

impl Default for RegionConfig {
    fn default() -> Self {
        Self {
            state_dir: None,
            latencies: Latencies::default(),
            talos_version: "v1.13.9".to_owned(),
            faults: Vec::new(),
            kube_faults: Vec::new(),
        }
    }
}

/// Something that changed in the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionEvent {
    /// A machine changed phase.
    Machine {
        /// Machine id.
        id: String,
        /// New phase name.
        phase: &'static str,
    },
    /// A cluster's Kubernetes API availability changed (bootstrapped etcd with quorum).
    Cluster {
        /// Cluster key.
        key: String,
        /// The cluster endpoint (`https://host:6443`).
        endpoint: String,
        /// Whether the Kubernetes API should be served.
        kube_api_available: bool,
    },
    /// A cluster's Kubernetes API server started listening on its endpoint, or cannot.
    KubeApi {
        /// Cluster key.
        key: String,
        /// Cluster name.
        name: String,
        /// The endpoint URL (what kubeconfigs name).
        url: String,
        /// Why it cannot listen, if it cannot (it is retried).
        error: Option<String>,
    },
}

/// A summary of one machine, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MachineInfo {
    /// Machine id.
    pub id: String,
    /// API address.
    pub addr: SocketAddr,
    /// Phase name.
    pub phase: &'static str,
    /// Installed Talos version.
    pub talos_version: String,
    /// `controlplane` / `worker` once configured.
    pub role: Option<String>,
    /// Cluster key once configured.
    pub cluster: Option<String>,
    /// Hostname.
    pub hostname: String,
    /// Recent lifecycle events.
    pub events: Vec<String>,
}

/// A summary of one cluster, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterInfo {
    /// Cluster key.
    pub key: String,
    /// Cluster name.
    pub name: String,
    /// Kubernetes API endpoint.
    pub endpoint: String,
    /// Whether etcd was bootstrapped.
    pub bootstrapped: bool,
    /// Healthy etcd members.
    pub healthy_members: usize,
    /// All etcd members.
    pub members: usize,
    /// Whether the Kubernetes API is available (quorum).
    pub kube_api_available: bool,
    /// Where the Kubernetes API server listens, once etcd was bootstrapped.
    pub kube_api_listening: Option<SocketAddr>,
    /// Why the Kubernetes API server cannot listen, if it cannot.
    pub kube_api_error: Option<String>,
}

struct Inner {
    state: Mutex<RegionState>,
    latencies: Latencies,
    talos_version: String,
    state_file: Option<PathBuf>,
    changed: watch::Sender<u64>,
    events: broadcast::Sender<RegionEvent>,
    /// The Kubernetes API servers, by cluster key (kept by [`crate::cluster_api`]).
    kube: Mutex<BTreeMap<String, KubeEndpoint>>,
}

/// A handle on a region; cheap to clone.
#[derive(Clone)]
pub struct Region {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("state_file", &self.inner.state_file).finish_non_exhaustive()
    }
}

impl Region {
    /// Opens a region, loading its state file when there is one.
    ///
    /// # Errors
    /// [`Error::State`] / [`Error::CorruptState`] when the state file cannot be read, and
    /// [`Error::InvalidFault`] for an invalid start fault.
    pub fn open(config: RegionConfig) -> Result<Self> {
        let state_file = config.state_dir.as_ref().map(|d| d.join(STATE_FILE));
        if let Some(dir) = &config.state_dir {
            std::fs::create_dir_all(dir).map_err(|source| Error::State { path: dir.clone(), source })?;
        }
        let mut state = match &state_file {
            Some(path) if path.exists() => {
                let bytes =
                    std::fs::read(path).map_err(|source| Error::State { path: path.clone(), source })?;
                serde_json::from_slice::<RegionState>(&bytes)
                    .map_err(|source| Error::CorruptState { path: path.clone(), source })?
            }
            _ => RegionState::default(),
        };
        for m in state.machines.values_mut() {
            m.rt = MachineRuntime {
                config: m
                    .config
                    .as_deref()
                    .and_then(|c| MachineConfig::parse(c.as_bytes()).ok())
                    .map(Arc::new),
                ..MachineRuntime::default()
            };
        }
        let region = Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                latencies: config.latencies,
                talos_version: config.talos_version,
                state_file,
                changed: watch::channel(0).0,
                events: broadcast::channel(256).0,
                kube: Mutex::new(BTreeMap::new()),
            }),
        };
        for spec in config.faults {
            region.add_fault(spec)?;
        }
        for spec in config.kube_faults {
            region.add_kube_fault(spec)?;
        }
        Ok(region)
    }

    /// Adds a machine in maintenance mode, or updates the address of an existing one (a
    /// restarted region keeps every machine's state).
    ///
    /// # Errors
    /// [`Error::Pki`] if the maintenance certificate cannot be generated.
    pub fn add_machine(&self, id: &str, addr: SocketAddr) -> Result<()> {
        let exists = self.lock().machines.contains_key(id);
        let cert = if exists { None } else { Some(maintenance_cert(addr)?) };
        self.mutate(|st| match (st.machines.get_mut(id), cert) {
            (Some(m), _) => m.addr = addr,
            (None, None) => {}
            (None, Some(cert)) => {
                let record = MachineRecord {
                    id: id.to_owned(),
                    addr,
                    phase: Phase::Maintenance,
                    deadline_ms: None,
                    talos_version: self.inner.talos_version.clone(),
                    maintenance_cert: cert,
                    server_cert: None,
                    config: None,
                    staged_config: None,
                    try_rollback: None,
                    etcd_data: false,
                    events: vec!["booted in maintenance mode".to_owned()],
                    next_boot_version: None,
                    pending: None,
                    rt: MachineRuntime::default(),
                };
                st.machines.insert(id.to_owned(), record);
            }
        });
        Ok(())
    }

    /// Modelled latencies.
    pub fn latencies(&self) -> &Latencies {
        &self.inner.latencies
    }

    /// Subscribes to machine and cluster changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RegionEvent> {
        self.inner.events.subscribe()
    }

    /// A receiver that changes value whenever the region state changes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Lists machines.
    pub fn machines(&self) -> Vec<MachineInfo> {
        let st = self.lock();
        st.machines
            .values()
            .map(|m| MachineInfo {
                id: m.id.clone(),
                addr: m.addr,
                phase: m.phase.name(),
                talos_version: m.talos_version.clone(),
                role: m.parsed().map(|c| format!("{:?}", c.machine_type).to_lowercase()),
                cluster: m.cluster_key(),
                hostname: m.hostname(),
                events: m.events.clone(),
            })
            .collect()
    }

    /// Lists clusters.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        let st = self.lock();
        st.clusters
            .values()
            .map(|c| {
                let (healthy, total) = st.etcd_health(c);
                let listening = self.kube_endpoint(&c.key).map(|e| e.listening);
                ClusterInfo {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    endpoint: c.endpoint.clone(),
                    bootstrapped: c.bootstrapped,
                    healthy_members: healthy,
                    members: total,
                    kube_api_available: st.has_quorum(c),
                    kube_api_listening: listening.clone().and_then(Result::ok),
                    kube_api_error: listening.and_then(Result::err),
                }
            })
            .collect()
    }

    /// Whether a cluster's Kubernetes API is available (etcd bootstrapped and in quorum).
    pub fn kube_api_available(&self, cluster_key: &str) -> bool {
        let st = self.lock();
        st.clusters.get(cluster_key).is_some_and(|c| st.has_quorum(c))
    }

    /// Adds a fault, returning its id.
    ///
    /// # Errors
    /// [`Error::InvalidFault`] when the spec is not valid.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64> {
        spec.validate()?;
        Ok(self.mutate(|st| {
            st.next_fault_id += 1;
            let id = st.next_fault_id;
            st.faults.push(Fault { id, spec });
            id
        }))
    }

    /// Clears one fault (`Some(id)`), machine or Kubernetes API, or all of them; returns how many
    /// were removed.
    pub fn clear_faults(&self, id: Option<u64>) -> usize {
        self.mutate(|st| {
            let before = st.faults.len() + st.kube_faults.len();
            st.faults.retain(|f| id.is_some_and(|id| f.id != id));
            st.kube_faults.retain(|f| id.is_some_and(|id| f.id != id));
            // A cleared reboot-hang lets stuck reboots finish now.
            let now = now_ms();
            let faults = st.faults.clone();
            for m in st.machines.values_mut() {
                let hung = crate::faults::machine_faulted(&faults, m, |k| *k == FaultKind::RebootHang);
                if matches!(m.phase, Phase::Rebooting { .. }) && m.deadline_ms.is_none() && !hung {
                    m.deadline_ms = Some(now);
                }
            }
            before - st.faults.len() - st.kube_faults.len()
        })
    }

    /// Active machine faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Powers on a halted machine (after a reset without reboot).
    ///
    /// # Errors
    /// [`Error::UnknownMachine`] when no machine has that id.
    pub fn power_on(&self, id: &str) -> Result<()> {
        let latencies = self.inner.latencies.clone();
        self.mutate(|st| {
            let m = st.machines.get_mut(id).ok_or_else(|| Error::UnknownMachine(id.to_owned()))?;
            if m.phase == Phase::Halted {
                let into_maintenance = m.config.is_none();
                power::enter(m, Phase::Rebooting { into_maintenance }, Some(latencies.reboot_ms), &latencies);
            }
            Ok(())
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RegionState> {
        // A poisoned lock means a panic while mutating; the data is still the best we have.
        self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a mutation, then refreshes connection generations, emits events, persists and wakes
    /// listeners.
    pub(crate) fn mutate<R>(&self, f: impl FnOnce(&mut RegionState) -> R) -> R {
        let mut st = self.lock();
        let before: Vec<(String, u64, &'static str)> =
            st.machines.values().map(|m| (m.id.clone(), serve_key(&st, m), m.phase.name())).collect();
        let out = f(&mut st);
        self.after_change(&mut st, &before);
        out
    }

    fn after_change(&self, st: &mut RegionState, before: &[(String, u64, &'static str)]) {
        etcd::reconcile(st);
        let keys: Vec<(String, u64)> =
            st.machines.values().map(|m| (m.id.clone(), serve_key(st, m))).collect();
        for (id, key) in keys {
            let old = before.iter().find(|(i, _, _)| *i == id);
            let Some(m) = st.machines.get_mut(&id) else { continue };
            if old.is_none_or(|(_, k, _)| *k != key) {
                m.rt.boot.cancel();
                m.rt.boot = tokio_util::sync::CancellationToken::new();
                m.rt.generation += 1;
            }
            if old.is_none_or(|(_, _, p)| *p != m.phase.name()) {
                let _ =
                    self.inner.events.send(RegionEvent::Machine { id: id.clone(), phase: m.phase.name() });
            }
        }
        let flags: Vec<(String, String, bool)> =
            st.clusters.values().map(|c| (c.key.clone(), c.endpoint.clone(), st.has_quorum(c))).collect();
        for (key, endpoint, available) in flags {
            if st.api_available.insert(key.clone(), available) != Some(available) {
                tracing::info!(cluster = %key, available, "Kubernetes API availability changed");
                let _ = self.inner.events.send(RegionEvent::Cluster {
                    key,
                    endpoint,
                    kube_api_available: available,
                });
            }
        }
        self.persist(st);
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn persist(&self, st: &RegionState) {
        let Some(path) = &self.inner.state_file else { return };
        let result = serde_json::to_vec_pretty(st).map_err(std::io::Error::other).and_then(|bytes| {
            // Write a sibling temp file, then rename over: readers see old or new, never half.
            // No fsync: the state only has to survive an emulator restart, not a power cut.
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, bytes)?;
            // The state holds CA keys from machine configs: owner-only, like a secrets file.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::rename(&tmp, path)
        });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot persist region state");
        }
    }

    /// Advances timed phases; returns when the next deadline is due (Unix ms).
    pub(crate) fn tick(&self) -> Option<u64> {
        let now = now_ms();
        let due = {
            let st = self.lock();
            st.machines.values().any(|m| {
                m.deadline_ms.is_some_and(|d| d <= now)
                    || m.try_rollback.as_ref().is_some_and(|t| t.deadline_ms <= now)
            })
        };
        if due {
            let latencies = self.inner.latencies.clone();
            self.mutate(|st| power::advance(st, now, &latencies));
        }
        let st = self.lock();
        st.machines
            .values()
            .flat_map(|m| m.deadline_ms.into_iter().chain(m.try_rollback.as_ref().map(|t| t.deadline_ms)))
            .min()
    }

    /// Drives timed phases until `shutdown` resolves.
    pub async fn run_ticker(self, shutdown: impl std::future::Future<Output = ()>) {
        let mut changes = self.watch();
        tokio::pin!(shutdown);
        loop {
            let next = self.tick();
            let sleep = match next {
                Some(at) => std::time::Duration::from_millis(at.saturating_sub(now_ms())),
                None => std::time::Duration::from_secs(3600),
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(sleep) => {}
                r = changes.changed() => if r.is_err() { return },
            }
        }
    }
}

/// A digest of what a listener serves: any change cuts open connections.
fn serve_key(st: &RegionState, m: &MachineRecord) -> u64 {
    let mut h = DefaultHasher::new();
    m.phase.serving().hash(&mut h);
    (m.phase == Phase::Maintenance).hash(&mut h);
    m.maintenance_cert.cert_pem.hash(&mut h);
    m.server_cert.as_ref().map(|c| &c.cert_pem).hash(&mut h);
    crate::faults::machine_faulted(&st.faults, m, |k| matches!(k, FaultKind::Down | FaultKind::Partitioned))
        .hash(&mut h);
    h.finish()
}

/// A fresh self-signed maintenance certificate for a machine address.
pub(crate) fn maintenance_cert(addr: SocketAddr) -> Result<pki::CertPair> {
    pki::self_signed(&LeafSpec {
        common_name: "maintenance-service".into(),
        organizations: vec![],
        ips: vec![addr.ip()],
        dns: vec!["localhost".into()],
        server: true,
        client: false,
        lifetime: std::time::Duration::from_secs(365 * 24 * 3600),
    })
}
