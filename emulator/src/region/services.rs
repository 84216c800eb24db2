//! What a configured node reports about itself: its services (ServiceList) and the checks of a
//! cluster health check: the Talos-level ones here, then the Kubernetes-level ones (nodes,
//! control plane components, kube-proxy, CoreDNS) from [`crate::cluster_api::health`].

use tonic::Status;

use super::Region;
use super::state::{MachineRecord, Phase, RegionState};
use crate::cluster_api::health::{self, Expected};
use crate::faults::{FaultKind, machine_faulted};

/// One service as ServiceList reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Service id (`etcd`, `kubelet`, `apid`...).
    pub id: &'static str,
    /// Upstream state name (`Running`, `Preparing`, `Waiting`, `Finished`).
    pub state: &'static str,
    /// Health: `None` when unknown.
    pub healthy: Option<bool>,
    /// Last health or event message.
    pub message: String,
}

/// How a health check step that does not fail ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The condition holds (`: OK`).
    Passed,
    /// The condition does not apply, e.g. kube-proxy is disabled (`: SKIP`).
    Skipped,
}

/// One step of a cluster health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthStep {
    /// What is awaited (`etcd to be healthy`).
    pub name: &'static str,
    /// How the check ends, or why it does not pass yet.
    pub result: Result<Outcome, String>,
}

fn service(
    id: &'static str,
    state: &'static str,
    healthy: Option<bool>,
    message: impl Into<String>,
) -> ServiceStatus {
    ServiceStatus { id, state, healthy, message: message.into() }
}

fn etcd_service(st: &RegionState, m: &MachineRecord) -> ServiceStatus {
    let cluster = m.cluster_key().and_then(|k| st.clusters.get(&k));
    let member = cluster.and_then(|c| c.members.iter().find(|x| x.machine_id == m.id));
    match (cluster, member) {
        (Some(c), Some(mem)) if m.etcd_data => {
            if machine_faulted(&st.faults, m, |k| *k == FaultKind::EtcdMemberLost) {
                service("etcd", "Failed", Some(false), "etcd member lost: data directory is corrupt")
            } else if st.has_quorum(c) && st.member_healthy(mem) {
                service("etcd", "Running", Some(true), "")
            } else {
                service("etcd", "Running", Some(false), "context deadline exceeded")
            }
        }
        _ if m.etcd_data => service("etcd", "Running", Some(false), "member was removed from the cluster"),
        (Some(c), None) if c.bootstrapped => {
            service("etcd", "Preparing", None, "Running pre state: joining etcd cluster")
        }
        _ => service("etcd", "Preparing", None, "Running pre state: waiting for etcd bootstrap"),
    }
}

fn node_services(st: &RegionState, m: &MachineRecord) -> Vec<ServiceStatus> {
    let ready = m.phase != Phase::Booting;
    let kubelet = if ready {
        service("kubelet", "Running", Some(true), "Health check successful")
    } else {
        service("kubelet", "Waiting", None, "Waiting for service \"cri\" to be \"up\"")
    };
    let mut out = vec![
        service("apid", "Running", Some(true), "Health check successful"),
        service("auditd", "Running", None, ""),
        service("containerd", "Running", Some(true), "Health check successful"),
        service("cri", "Running", Some(true), "Health check successful"),
        service("dashboard", "Running", Some(true), "Health check successful"),
    ];
    if m.is_controlplane() {
        out.push(etcd_service(st, m));
    }
    out.push(kubelet);
    out.push(service("machined", "Running", Some(true), "Health check successful"));
    out.push(service("syslogd", "Running", Some(true), "Health check successful"));
    if m.is_controlplane() {
        out.push(service("trustd", "Running", Some(true), "Health check successful"));
    }
    out.push(service("udevd", "Running", Some(true), "Health check successful"));
    out
}

fn reachable(st: &RegionState, m: &MachineRecord) -> bool {
    m.phase.serving()
        && m.phase != Phase::Maintenance
        && !machine_faulted(&st.faults, m, |k| matches!(k, FaultKind::Down | FaultKind::Partitioned))
}

impl Region {
    /// ServiceList of a configured node.
    pub(crate) fn services(&self, id: &str) -> Result<Vec<ServiceStatus>, Status> {
        let st = self.lock();
        let m = st.machines.get(id).ok_or_else(|| Status::not_found("machine not found"))?;
        Ok(node_services(&st, m))
    }

    /// Runs the health checks once (Talos, then Kubernetes), from the point of view of node `id`.
    pub(crate) fn health_steps(
        &self,
        id: &str,
        control_planes: &[String],
        workers: &[String],
    ) -> Vec<HealthStep> {
        let st = self.lock();
        let Some(me) = st.machines.get(id) else { return Vec::new() };
        let key = me.cluster_key().unwrap_or_default();
        let (cps, wks): (Vec<&MachineRecord>, Vec<&MachineRecord>) = if control_planes.is_empty() {
            st.cluster_machines(&key).partition(|m| m.is_controlplane())
        } else {
            (
                control_planes.iter().filter_map(|n| st.resolve(n)).collect(),
                workers.iter().filter_map(|n| st.resolve(n)).collect(),
            )
        };
        let unknown: Vec<&String> =
            control_planes.iter().chain(workers).filter(|n| st.resolve(n).is_none()).collect();
        let cluster = st.clusters.get(&key);
        let etcd = match cluster {
            None => Err("etcd is not bootstrapped".to_owned()),
            Some(c) if !c.bootstrapped => Err("etcd is not bootstrapped".to_owned()),
            Some(c) if !st.has_quorum(c) => Err("etcdserver: no leader".to_owned()),
            Some(c) => match c.members.iter().find(|m| !st.member_healthy(m)) {
                Some(bad) => Err(format!("etcd member {} ({:x}) is not healthy", bad.hostname, bad.id)),
                None => Ok(Outcome::Passed),
            },
        };
        let members_are_cps = cluster.map_or(Err("no etcd members".to_owned()), |c| {
            let mut members: Vec<&str> = c.members.iter().map(|m| m.machine_id.as_str()).collect();
            let mut expected: Vec<&str> = cps.iter().map(|m| m.id.as_str()).collect();
            members.sort_unstable();
            expected.sort_unstable();
            if members == expected {
                Ok(Outcome::Passed)
            } else {
                Err(format!("etcd members {members:?} are not the control plane nodes {expected:?}"))
            }
        });
        let all: Vec<&MachineRecord> = cps.iter().chain(wks.iter()).copied().collect();
        let check_all = |pred: &dyn Fn(&MachineRecord) -> bool, what: &str| -> Result<Outcome, String> {
            if let Some(n) = unknown.first() {
                return Err(format!("node {n} is not part of the cluster"));
            }
            match all.iter().find(|m| !pred(m)) {
                Some(m) => Err(format!("{}: {what}", m.addr.ip())),
                None => Ok(Outcome::Passed),
            }
        };
        let reachable_all = |what: &str| check_all(&|m| reachable(&st, m), what);
        let expected = Expected {
            control_planes: cps
                .iter()
                .map(|m| (m.addr.ip().to_string(), reachable(&st, m) && m.phase != Phase::Booting))
                .collect(),
            workers: wks.iter().map(|m| m.addr.ip().to_string()).collect(),
        };
        let url = cluster.map_or_else(
            || me.parsed().map(|c| c.endpoint.clone()).unwrap_or_default(),
            |c| c.endpoint.clone(),
        );
        let mut steps = vec![
            HealthStep { name: "etcd to be healthy", result: etcd.clone() },
            HealthStep { name: "etcd members to be consistent across nodes", result: etcd },
            HealthStep { name: "etcd members to be control plane nodes", result: members_are_cps },
            HealthStep { name: "apid to be ready", result: reachable_all("apid is not reachable") },
            HealthStep { name: "all nodes memory sizes", result: reachable_all("error getting memory") },
            HealthStep { name: "all nodes disk sizes", result: reachable_all("error getting volume status") },
            HealthStep { name: "no diagnostics", result: reachable_all("error listing diagnostics") },
            HealthStep {
                name: "kubelet to be healthy",
                result: check_all(
                    &|m| reachable(&st, m) && m.phase == Phase::Running,
                    "service \"kubelet\" not in expected state \"Running\"",
                ),
            },
            HealthStep {
                name: "all nodes to finish boot sequence",
                result: check_all(&|m| m.phase == Phase::Running, "node is still booting"),
            },
        ];
        steps.extend(health::k8s_steps(&expected, self.kube_endpoint(&key).as_ref(), &url));
        steps
    }
}
