//! The typed form of a node pool plan or state, and how one node's configuration is rendered
//! from it and the cluster's `access`.

use crate::catalog::Version;
use crate::resources::kubernetes_cluster::plan::{DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR};
use crate::resources::kubernetes_cluster::spec::INSTALL_DISK;
use crate::resources::timeouts::Timeouts;
use crate::talos::client::TalosCredentials;
use crate::talos::machine_config::{
    ClusterInput, ClusterNetwork, Cni, NodeInput, NodeRole, RenderedConfig, Taint, render,
};
use crate::talos::{SecretsBundle, Sensitive};
use std::collections::BTreeMap;
use std::net::IpAddr;
use tfplugin::{Diagnostic, Value};

/// Node label naming the pool a node belongs to.
pub const POOL_LABEL: &str = "node-pools.cloudtemple.com/name";

/// Node label naming the role of the pool a node belongs to.
pub const ROLE_LABEL: &str = "node-pools.cloudtemple.com/role";

/// The label prefix the provider keeps for itself (`labels` may not use it).
pub const RESERVED_PREFIX: &str = "node-pools.cloudtemple.com/";

/// One node of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolNode {
    /// Address of the node's Talos API.
    pub address: IpAddr,
    /// Availability zone.
    pub zone: String,
}

/// What the pool needs of its cluster, read from the cluster's `access`.
#[derive(Debug)]
pub struct ClusterAccess {
    /// Cluster identifier.
    pub cluster_id: String,
    /// Cluster name.
    pub cluster_name: String,
    /// `dev` or `production`.
    pub topology: String,
    /// Kubernetes API URL.
    pub api_url: String,
    /// Kubernetes version the nodes follow.
    pub kubernetes_version: Version,
    /// Talos version the nodes follow.
    pub talos_version: Version,
    /// The cluster's secrets bundle (joins nodes).
    pub bundle: SecretsBundle,
    /// Talos `os:admin` credentials.
    pub talos: TalosCredentials,
    /// The cluster's pod and service networks and DNS domain.
    pub network: ClusterNetwork,
}

/// A pool as planned or stored, every value known.
#[derive(Debug)]
pub struct PoolSpec {
    /// The cluster.
    pub cluster: ClusterAccess,
    /// Pool name.
    pub name: String,
    /// Role of every node.
    pub role: NodeRole,
    /// Nodes keyed by hostname.
    pub nodes: BTreeMap<String, PoolNode>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<Taint>,
    /// Machine configuration patches.
    pub config_patches: Vec<String>,
    /// Nodes changed at once.
    pub max_unavailable: usize,
    /// Whether nodes are cordoned and drained before they reboot or leave (`drain`).
    pub drain: bool,
    /// Operation time limits.
    pub timeouts: Timeouts,
}

fn missing(name: &str) -> Diagnostic {
    Diagnostic::error(
        "Incomplete node pool",
        format!(
            "{name} has no known value at apply time. The cluster's `access` must be known when the pool is \
             applied; if it is, this is a bug in the provider."
        ),
    )
}

fn text(v: &Value, name: &str) -> Result<String, Diagnostic> {
    v.get_attr(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| missing(name))
}

fn version(v: &Value, name: &str) -> Result<Version, Diagnostic> {
    let s = text(v, name)?;
    Version::parse(&s).map_err(|e| Diagnostic::error("Invalid version", format!("cluster.{name}: {e}.")))
}

/// The role named by the `role` attribute.
pub fn role(name: &str) -> Option<NodeRole> {
    match name {
        "worker" => Some(NodeRole::Worker),
        "storage" => Some(NodeRole::Storage),
        "gpu" => Some(NodeRole::Gpu),
        _ => None,
    }
}

/// The `nodes` map of a pool object (entries with unknown fields are skipped).
pub fn nodes_of(v: &Value) -> Result<BTreeMap<String, PoolNode>, Diagnostic> {
    let mut nodes = BTreeMap::new();
    for (hostname, node) in v.get_attr("nodes").and_then(Value::as_map).into_iter().flatten() {
        let address = text(node, "address")?;
        let address = address.parse().map_err(|_| {
            Diagnostic::error(
                "Invalid address",
                format!("nodes[{hostname:?}].address: {address:?} is not an IP address."),
            )
        })?;
        nodes.insert(hostname.clone(), PoolNode { address, zone: text(node, "zone")? });
    }
    Ok(nodes)
}

impl ClusterAccess {
    /// Reads the `cluster` argument.
    pub fn from_value(access: &Value) -> Result<Self, Diagnostic> {
        let bundle = SecretsBundle::from_yaml(&text(access, "secrets")?).map_err(|e| {
            Diagnostic::error(
                "Invalid cluster access",
                format!("cluster.secrets is not a secrets bundle: {e}."),
            )
        })?;
        let cluster_name = text(access, "cluster_name")?;
        // Accesses written before the networks were part of them carry the product defaults.
        let optional = |k: &str| access.get_attr(k).and_then(Value::as_str).map(str::to_string);
        let network = ClusterNetwork {
            pod_cidrs: vec![optional("pod_cidr").unwrap_or_else(|| DEFAULT_POD_CIDR.to_string())],
            service_cidrs: vec![optional("service_cidr").unwrap_or_else(|| DEFAULT_SERVICE_CIDR.to_string())],
            dns_domain: optional("dns_domain")
                .unwrap_or_else(|| ClusterNetwork::default_dns_domain(&cluster_name)),
            node_cidr: None,
            cni: Cni::None,
            kube_proxy: false,
        };
        Ok(Self {
            network,
            cluster_id: text(access, "cluster_id")?,
            topology: text(access, "topology")?,
            api_url: text(access, "api_url")?,
            kubernetes_version: version(access, "kubernetes_version")?,
            talos_version: version(access, "talos_version")?,
            talos: TalosCredentials {
                ca_pem: text(access, "talos_ca_certificate")?,
                cert_pem: text(access, "talos_client_certificate")?,
                key_pem: Sensitive::new(text(access, "talos_client_key")?),
            },
            bundle,
            cluster_name,
        })
    }
}

impl PoolSpec {
    /// Reads a planned or stored pool object.
    pub fn from_value(v: &Value) -> Result<Self, Diagnostic> {
        let cluster = ClusterAccess::from_value(v.get_attr("cluster").ok_or_else(|| missing("cluster"))?)?;
        let role_name = text(v, "role")?;
        let role = role(&role_name).ok_or_else(|| {
            Diagnostic::error("Invalid role", format!("role: {role_name:?} is not a pool role."))
        })?;
        let labels = v
            .get_attr("labels")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect();
        let mut taints: Vec<Taint> = v
            .get_attr("taints")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .map(|t| Taint {
                key: t.get_attr("key").and_then(Value::as_str).unwrap_or_default().to_string(),
                value: t.get_attr("value").and_then(Value::as_str).unwrap_or_default().to_string(),
                effect: t.get_attr("effect").and_then(Value::as_str).unwrap_or_default().to_string(),
            })
            .collect();
        // As documented: GPU nodes repel ordinary workloads unless the pool says otherwise.
        if role == NodeRole::Gpu && v.get_attr("taints").is_none_or(Value::is_null) {
            taints.push(Taint {
                key: "nvidia.com/gpu".into(),
                value: "present".into(),
                effect: "NoSchedule".into(),
            });
        }
        let config_patches = v
            .get_attr("config_patches")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let max_unavailable = v
            .get_attr("max_unavailable")
            .and_then(Value::as_i64)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1)
            .max(1);
        Ok(Self {
            cluster,
            name: text(v, "name")?,
            role,
            nodes: nodes_of(v)?,
            labels,
            taints,
            config_patches,
            max_unavailable,
            drain: v.get_attr("drain").and_then(Value::as_bool).unwrap_or(true),
            timeouts: Timeouts::from_value(v, super::TIMEOUTS),
        })
    }

    /// `<cluster id>/<name>`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.cluster.cluster_id, self.name)
    }

    /// The node labels: the pool's `labels` and the two that name the pool and its role (how
    /// import finds the pool's nodes again).
    pub fn node_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert(POOL_LABEL.into(), self.name.clone());
        labels.insert(ROLE_LABEL.into(), self.role.as_str().into());
        labels
    }

    /// Renders the configuration of node `hostname` with the cluster's networks.
    pub fn render(&self, hostname: &str, node: &PoolNode) -> Result<RenderedConfig, Diagnostic> {
        let network = &self.cluster.network;
        let labels = self.node_labels();
        let cluster = ClusterInput {
            name: &self.cluster.cluster_name,
            endpoint: &self.cluster.api_url,
            kubernetes_version: self.cluster.kubernetes_version,
            talos_version: self.cluster.talos_version,
            network,
        };
        let input = NodeInput {
            address: node.address,
            hostname,
            zone: &node.zone,
            install_disk: INSTALL_DISK,
            role: self.role,
            labels: &labels,
            taints: &self.taints,
            installer_repository: None,
        };
        render(&cluster, &input, &self.cluster.bundle, &self.config_patches)
            .map_err(|e| Diagnostic::error("Invalid machine configuration", format!("node {hostname}: {e}")))
    }
}
