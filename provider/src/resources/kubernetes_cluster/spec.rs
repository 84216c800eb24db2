//! The typed form of a wholly known cluster plan, as create, read and delete use it.

use crate::catalog::Version;
use crate::resources::timeouts::Timeouts;
use crate::talos::client::RebootMode;
use crate::talos::machine_config::{ClusterInput, ClusterNetwork, Cni, NodeInput, NodeRole};
use std::collections::BTreeMap;
use std::net::IpAddr;
use tfplugin::{Diagnostic, Value};

/// Disk Talos installs itself on (the product's VMs boot from their first disk).
pub const INSTALL_DISK: &str = "/dev/sda";

/// One control plane node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Address.
    pub address: IpAddr,
    /// Availability zone.
    pub zone: String,
    /// Hostname.
    pub hostname: String,
}

/// A cluster as planned, every value known.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Name.
    pub name: String,
    /// `dev` or `production`.
    pub topology: String,
    /// API virtual IP.
    pub endpoint: IpAddr,
    /// Kubernetes version.
    pub kubernetes_version: Version,
    /// Talos version.
    pub talos_version: Version,
    /// Networks.
    pub network: ClusterNetwork,
    /// Control plane nodes, the first one bootstraps etcd.
    pub control_planes: Vec<NodeSpec>,
    /// Machine configuration patches.
    pub config_patches: Vec<String>,
    /// `reset` or `keep`.
    pub on_destroy: String,
    /// How control planes reboot during rollouts (`upgrade.reboot_mode`).
    pub reboot_mode: RebootMode,
    /// Operation time limits.
    pub timeouts: Timeouts,
}

fn text(v: &Value, name: &str) -> Result<String, Diagnostic> {
    v.get_attr(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| missing(name))
}

fn missing(name: &str) -> Diagnostic {
    Diagnostic::error(
        "Incomplete cluster plan",
        format!("{name} has no known value at apply time. This is a bug in the provider; please report it."),
    )
}

fn ip(s: &str, name: &str) -> Result<IpAddr, Diagnostic> {
    s.parse()
        .map_err(|_| Diagnostic::error("Invalid address", format!("{name}: {s:?} is not an IP address.")))
}

fn version(v: &Value, name: &str) -> Result<Version, Diagnostic> {
    let s = text(v, name)?;
    Version::parse(&s).map_err(|e| Diagnostic::error("Invalid version", format!("{name}: {e}.")))
}

impl ClusterSpec {
    /// Reads a planned or stored cluster object.
    pub fn from_value(v: &Value) -> Result<Self, Diagnostic> {
        let net = v.get_attr("network").ok_or_else(|| missing("network"))?;
        let name = text(v, "name")?;
        let network = ClusterNetwork {
            pod_cidrs: vec![text(net, "pod_cidr")?],
            service_cidrs: vec![text(net, "service_cidr")?],
            dns_domain: net
                .get_attr("dns_domain")
                .and_then(Value::as_str)
                .map_or_else(|| ClusterNetwork::default_dns_domain(&name), str::to_string),
            node_cidr: Some(text(net, "node_cidr")?),
            // Cilium comes as an add-on, replacing kube-proxy.
            cni: Cni::None,
            kube_proxy: false,
        };
        let mut control_planes = Vec::new();
        for (i, node) in
            v.get_attr("control_plane").and_then(Value::as_list).unwrap_or_default().iter().enumerate()
        {
            control_planes.push(NodeSpec {
                address: ip(&text(node, "address")?, &format!("control_plane[{i}].address"))?,
                zone: text(node, "zone")?,
                hostname: node
                    .get_attr("hostname")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{name}-cp-{}", i + 1), str::to_string),
            });
        }
        if control_planes.is_empty() {
            return Err(missing("control_plane"));
        }
        let config_patches = v
            .get_attr("config_patches")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        Ok(Self {
            endpoint: ip(&text(v, "endpoint")?, "endpoint")?,
            topology: text(v, "topology")?,
            kubernetes_version: version(v, "kubernetes_version")?,
            talos_version: version(v, "talos_version")?,
            network,
            control_planes,
            config_patches,
            on_destroy: v.get_attr("on_destroy").and_then(Value::as_str).unwrap_or("reset").to_string(),
            reboot_mode: match v
                .get_attr("upgrade")
                .and_then(|u| u.get_attr("reboot_mode"))
                .and_then(Value::as_str)
            {
                Some("powercycle") => RebootMode::Powercycle,
                _ => RebootMode::Default,
            },
            timeouts: Timeouts::from_value(v, super::TIMEOUTS),
            name,
        })
    }

    /// `https://<endpoint>:6443`.
    pub fn api_url(&self) -> String {
        super::plan::api_url(&self.endpoint.to_string())
    }

    /// The cluster-wide inputs of machine configuration rendering.
    pub fn cluster_input<'a>(&'a self, api_url: &'a str) -> ClusterInput<'a> {
        ClusterInput {
            name: &self.name,
            endpoint: api_url,
            kubernetes_version: self.kubernetes_version,
            talos_version: self.talos_version,
            network: &self.network,
        }
    }

    /// The per-node inputs for control plane `node`.
    pub fn node_input<'a>(node: &'a NodeSpec, labels: &'a BTreeMap<String, String>) -> NodeInput<'a> {
        NodeInput {
            address: node.address,
            hostname: &node.hostname,
            zone: &node.zone,
            install_disk: INSTALL_DISK,
            role: NodeRole::ControlPlane,
            labels,
            taints: &[],
            installer_repository: None,
        }
    }
}
