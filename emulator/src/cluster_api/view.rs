//! What each cluster's Kubernetes API should show, derived from the region state alone: the
//! Nodes its machines' kubelets register, the version its API servers run, whether etcd lets it
//! answer, and the faults injected into it. A pure function, so that the wiring can re-derive it
//! after every region change and converge (restarts included).

use crate::config::{CaPem, MachineConfig};
use crate::faults::{FaultKind, kube_faults_for, machine_faulted};
use crate::kube::{KubeFaults, NodeInfo};
use crate::region::state::{ClusterRecord, MachineRecord, Phase, RegionState};
use crate::version::TalosVersion;

/// The label kubelets of control planes carry.
pub(crate) const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// One machine of the cluster as its kubelet reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodePlan {
    /// The Node (name = hostname, labels, taints, InternalIP, kubelet version, Ready).
    pub info: NodeInfo,
    /// Whether the kubelet runs in this boot (it registers the Node if missing).
    pub kubelet_running: bool,
    /// Whether the machine is a control plane (it runs the static pods).
    pub control_plane: bool,
    /// The version of the control plane images this node runs (`v1.32.3`).
    pub control_plane_version: String,
}

/// Workloads Talos puts in `kube-system` at bootstrap (its bootstrap manifests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addons {
    /// kube-proxy DaemonSet, unless `cluster.proxy.disabled`.
    pub kube_proxy: bool,
    /// CoreDNS Deployment and the `kube-dns` Service, unless `cluster.coreDNS.disabled`.
    pub coredns: bool,
    /// The flannel DaemonSet when `cluster.network.cni.name` is `flannel`.
    pub flannel: bool,
}

/// Everything the wiring needs to drive one cluster's API server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterView {
    /// Cluster key.
    pub key: String,
    /// `cluster.clusterName`.
    pub name: String,
    /// `cluster.controlPlane.endpoint`.
    pub endpoint: String,
    /// Whether etcd was bootstrapped: the API is served from then on.
    pub bootstrapped: bool,
    /// Whether etcd has quorum: without it every request fails with 503.
    pub available: bool,
    /// The Kubernetes CA with its key (from a control plane configuration).
    pub ca: Option<CaPem>,
    /// Extra serving certificate names (`cluster.apiServer.certSANs`).
    pub cert_sans: Vec<String>,
    /// The version `/version` reports: the oldest API server of the control planes.
    pub version: String,
    /// Machines configured for the cluster.
    pub nodes: Vec<NodePlan>,
    /// IPs of every machine of the region: a Node with one of these addresses that no machine
    /// of this cluster reports any more has left (reset, or configured for another cluster).
    pub region_ips: Vec<String>,
    /// Injected Kubernetes API faults.
    pub faults: KubeFaults,
    /// Bootstrap workloads.
    pub addons: Addons,
}

/// The Kubernetes version a Talos release installs when the configuration names no image: the
/// newest minor it supports (Talos 1.12 → 1.35, 1.13 → 1.36, 1.14 → 1.37), patch 0.
pub(crate) fn default_kubernetes(talos_version: &str) -> String {
    let minor = TalosVersion::parse(talos_version).map_or(13, |v| v.minor);
    format!("v1.{}.0", minor + 23)
}

fn with_v(version: &str) -> String {
    if version.starts_with('v') { version.to_owned() } else { format!("v{version}") }
}

fn node_plan(st: &RegionState, m: &MachineRecord, cfg: &MachineConfig) -> NodePlan {
    let control_plane = m.is_controlplane();
    let kube = &cfg.kube;
    let mut labels = kube.node_labels.clone();
    let mut taints: Vec<(String, String, String)> =
        kube.node_taints.iter().map(|t| (t.key.clone(), t.value.clone(), t.effect.clone())).collect();
    if control_plane {
        labels.push((CONTROL_PLANE_LABEL.to_owned(), String::new()));
        if !kube.allow_scheduling_on_control_planes {
            taints.push((CONTROL_PLANE_LABEL.to_owned(), String::new(), "NoSchedule".to_owned()));
        }
    }
    let unreachable =
        machine_faulted(&st.faults, m, |k| matches!(k, FaultKind::Down | FaultKind::Partitioned));
    let kubelet_running = matches!(m.phase, Phase::Booting | Phase::Running | Phase::Upgrading { .. });
    let ready = matches!(m.phase, Phase::Running | Phase::Upgrading { .. }) && !unreachable;
    let default = || default_kubernetes(&m.talos_version);
    NodePlan {
        info: NodeInfo {
            name: m.hostname(),
            labels,
            taints,
            internal_ip: Some(m.addr.ip().to_string()),
            kubelet_version: with_v(&kube.kubelet_version.clone().unwrap_or_else(default)),
            ready,
        },
        kubelet_running: kubelet_running && !unreachable,
        control_plane,
        control_plane_version: with_v(&kube.apiserver_version.clone().unwrap_or_else(default)),
    }
}

fn view(st: &RegionState, c: &ClusterRecord) -> ClusterView {
    let machines: Vec<(&MachineRecord, &MachineConfig)> =
        st.cluster_machines(&c.key).filter_map(|m| m.parsed().map(|cfg| (m, cfg.as_ref()))).collect();
    let control_planes: Vec<&MachineConfig> =
        machines.iter().filter(|(m, _)| m.is_controlplane()).map(|(_, cfg)| *cfg).collect();
    let nodes: Vec<NodePlan> = machines.iter().map(|(m, cfg)| node_plan(st, m, cfg)).collect();
    let version = nodes
        .iter()
        .filter(|n| n.control_plane)
        .map(|n| n.control_plane_version.clone())
        .min_by(|a, b| match (TalosVersion::parse(a), TalosVersion::parse(b)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => a.cmp(b),
        })
        .unwrap_or_else(|| default_kubernetes(machines.first().map_or("", |(m, _)| &m.talos_version)));
    let first_cp = control_planes.first();
    let faults = kube_faults_for(
        st.kube_faults.iter().map(|f| &f.spec).filter(|s| s.matches_cluster(&c.key, &c.name, &c.endpoint)),
    );
    ClusterView {
        key: c.key.clone(),
        name: c.name.clone(),
        endpoint: c.endpoint.clone(),
        bootstrapped: c.bootstrapped,
        available: st.has_quorum(c),
        ca: control_planes.iter().find(|cfg| cfg.k8s_ca.key.is_some()).map(|cfg| cfg.k8s_ca.clone()),
        cert_sans: first_cp.map(|cfg| cfg.kube.apiserver_cert_sans.clone()).unwrap_or_default(),
        version,
        nodes,
        region_ips: st.machines.values().map(|m| m.addr.ip().to_string()).collect(),
        faults,
        addons: Addons {
            kube_proxy: first_cp.is_none_or(|cfg| !cfg.kube.proxy_disabled),
            coredns: first_cp.is_none_or(|cfg| !cfg.kube.coredns_disabled),
            flannel: first_cp.is_none_or(|cfg| cfg.cni == "flannel"),
        },
    }
}

/// The views of every cluster of the region.
pub(crate) fn views(st: &RegionState) -> Vec<ClusterView> {
    st.clusters.values().map(|c| view(st, c)).collect()
}

/// Splits `https://host[:port][/path]` into host and port (443 when absent); IPv6 hosts come
/// without brackets.
pub(crate) fn endpoint_host_port(endpoint: &str) -> Option<(String, u16)> {
    let rest = endpoint.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, tail) = v6.split_once(']')?;
        (host, tail.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 443,
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;

    use super::*;
    use crate::faults::{KubeFault, KubeFaultSpec};
    use crate::pki::CertPair;
    use crate::region::state::{MachineRuntime, RegionState};

    fn machine(id: &str, ip: &str, phase: Phase, yaml: &str) -> MachineRecord {
        let config = MachineConfig::parse(yaml.as_bytes()).expect("valid config");
        MachineRecord {
            id: id.into(),
            addr: format!("{ip}:50000").parse().expect("addr"),
            phase,
            deadline_ms: None,
            talos_version: "v1.13.9".into(),
            maintenance_cert: CertPair { cert_pem: String::new(), key_pem: String::new() },
            server_cert: None,
            config: Some(yaml.into()),
            staged_config: None,
            try_rollback: None,
            etcd_data: false,
            events: Vec::new(),
            next_boot_version: None,
            pending: None,
            rt: MachineRuntime { config: Some(Arc::new(config)), ..MachineRuntime::default() },
        }
    }

    fn config(kind: &str, host: &str, extra_machine: &str, extra_cluster: &str) -> String {
        let ca = crate::kube::certs::generate_ca("ca").expect("ca");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let key = if kind == "controlplane" { b64(&ca.key_pem) } else { String::new() };
        format!(
            "version: v1alpha1\nmachine:\n  type: {kind}\n  token: t.t\n  ca: {{crt: {crt}, key: \"{key}\"}}\n  network: {{hostname: {host}}}\n{extra_machine}cluster:\n  id: c1\n  clusterName: demo\n  controlPlane: {{endpoint: \"https://10.0.0.1:6443\"}}\n  ca: {{crt: {crt}, key: \"{key}\"}}\n{extra_cluster}",
            crt = b64(&ca.cert_pem),
        )
    }

    #[test]
    fn nodes_carry_roles_taints_versions_and_readiness() {
        let cp = config(
            "controlplane",
            "cp-1",
            "  nodeTaints: {gpu: \"yes:NoSchedule\"}\n",
            "  apiServer: {image: \"registry.k8s.io/kube-apiserver:v1.32.3\"}\n  allowSchedulingOnControlPlanes: true\n  proxy: {disabled: true}\n",
        );
        let worker = config("worker", "w-1", "  nodeLabels: {topology.kubernetes.io/zone: az-2}\n", "");
        let mut st = RegionState::default();
        st.machines.insert("m1".into(), machine("m1", "10.0.0.1", Phase::Running, &cp));
        st.machines.insert(
            "m2".into(),
            machine("m2", "10.0.0.2", Phase::Rebooting { into_maintenance: false }, &worker),
        );
        st.clusters.insert(
            "c1".into(),
            ClusterRecord {
                key: "c1".into(),
                name: "demo".into(),
                endpoint: "https://10.0.0.1:6443".into(),
                bootstrapped: true,
                members: Vec::new(),
                leader: None,
            },
        );
        let spec = KubeFaultSpec { cluster: "demo".into(), kind: FaultKind::Delay { ms: 40 } };
        st.kube_faults.push(KubeFault { id: 1, spec });
        let v = views(&st).remove(0);
        assert_eq!((v.version.as_str(), v.faults.latency_ms, v.available), ("v1.32.3", 40, false));
        assert!(v.ca.as_ref().is_some_and(|ca| ca.key.is_some()));
        assert_eq!(v.addons, Addons { kube_proxy: false, coredns: true, flannel: true });
        let cp = &v.nodes[0];
        assert!(cp.control_plane && cp.kubelet_running && cp.info.ready);
        assert!(cp.info.labels.contains(&(CONTROL_PLANE_LABEL.to_owned(), String::new())));
        assert_eq!(
            cp.info.taints,
            [("gpu".to_owned(), "yes".to_owned(), "NoSchedule".to_owned())],
            "allowSchedulingOnControlPlanes drops the control plane taint"
        );
        assert_eq!(cp.info.kubelet_version, "v1.36.0", "no kubelet image: Talos 1.13's default");
        let w = &v.nodes[1];
        assert!(!w.control_plane && !w.kubelet_running && !w.info.ready, "a rebooting worker");
        assert_eq!(w.info.labels, [("topology.kubernetes.io/zone".to_owned(), "az-2".to_owned())]);
        assert_eq!((w.info.name.as_str(), w.info.internal_ip.as_deref()), ("w-1", Some("10.0.0.2")));
    }

    #[test]
    fn endpoints_split_into_host_and_port() {
        let split = |e: &str| endpoint_host_port(e);
        assert_eq!(split("https://127.0.1.1:6443"), Some(("127.0.1.1".into(), 6443)));
        assert_eq!(split("https://api.example/"), Some(("api.example".into(), 443)));
        assert_eq!(split("https://[fd00::1]:6443/x"), Some(("fd00::1".into(), 6443)));
        assert_eq!(split("https://host:port"), None);
        assert_eq!(split("http://host:6443"), None);
    }

    #[test]
    fn default_versions_follow_talos() {
        assert_eq!(default_kubernetes("v1.13.9"), "v1.36.0");
        assert_eq!(default_kubernetes("v1.14.0-rc.1"), "v1.37.0");
        assert_eq!(with_v("1.32.3"), "v1.32.3");
    }
}
