//! HCL of the configurations the cluster suites apply: the `terraform` block that names the
//! cloudtemple provider, and clusters and node pools on a region's loopback network.
//!
//! A network `[127, a, b]` puts the endpoint at `127.a.b.20`, the node network at
//! `127.a.b.0/24` and each machine at `127.a.b.<host>`, as [`super::LocalRegion`] starts them.
//! The builders print the same layout as hand-written HCL, so a test may still `replace` a line
//! of it (for instance `  control_plane = [`) to derive a variant.

use std::fmt;

/// The `terraform` block every cloudtemple configuration starts with (without it,
/// `cloudtemple_*` would resolve to `hashicorp/cloudtemple`, which no dev override covers).
pub(crate) const CLOUDTEMPLE_REQUIRED: &str = r#"
terraform {
  required_providers {
    cloudtemple = { source = "cloud-temple/cloudtemple" }
  }
}
"#;

/// The cilium add-on (`cloudtemple_kubernetes_addon.cilium`) of the cluster `dev`: the network
/// the other add-ons' workloads need, which they name in `depends_on`.
pub(crate) const CILIUM_ADDON: &str = r#"
resource "cloudtemple_kubernetes_addon" "cilium" {
  cluster = cloudtemple_kubernetes_cluster.dev.access
  name    = "cilium"
}
"#;

/// The zones nodes spread over, in order.
const ZONES: [&str; 3] = ["AZ05", "AZ06", "AZ07"];

/// `127.a.b.<host>`.
fn address(net: [u8; 3], host: u8) -> String {
    format!("{}.{}.{}.{host}", net[0], net[1], net[2])
}

/// A `cloudtemple_kubernetes_cluster` resource; printed with [`fmt::Display`].
#[derive(Debug, Clone)]
pub(crate) struct ClusterHcl {
    label: String,
    name: String,
    topology: &'static str,
    net: [u8; 3],
    control_planes: Vec<u8>,
    arguments: String,
    network: String,
}

impl ClusterHcl {
    /// A dev cluster `name` (resource label `dev`) with its control plane on host 1 in AZ05.
    pub(crate) fn dev(name: &str, net: [u8; 3]) -> Self {
        Self {
            label: "dev".into(),
            name: name.into(),
            topology: "dev",
            net,
            control_planes: vec![1],
            arguments: String::new(),
            network: String::new(),
        }
    }

    /// A production cluster `name` (resource label `prod`) with its control planes on hosts 1-3,
    /// one per zone.
    pub(crate) fn production(name: &str, net: [u8; 3]) -> Self {
        Self {
            label: "prod".into(),
            topology: "production",
            control_planes: vec![1, 2, 3],
            ..Self::dev(name, net)
        }
    }

    /// The resource label (the `dev` of `cloudtemple_kubernetes_cluster.dev`).
    pub(crate) fn label(mut self, label: &str) -> Self {
        self.label = label.into();
        self
    }

    /// The control planes on `hosts`, the n-th in the n-th zone of AZ05, AZ06, AZ07.
    pub(crate) fn control_planes(mut self, hosts: &[u8]) -> Self {
        self.control_planes = hosts.to_vec();
        self
    }

    /// Adds the argument `key = expression` (an HCL expression: quote strings).
    pub(crate) fn arg(self, key: &str, expression: &str) -> Self {
        self.raw(&format!("  {key} = {expression}\n"))
    }

    /// Adds lines of HCL (each ending in a newline) after `endpoint`: arguments, blocks.
    pub(crate) fn raw(mut self, lines: &str) -> Self {
        self.arguments.push_str(lines);
        self
    }

    /// Adds the argument `key = expression` to the `network` object, after `node_cidr`.
    pub(crate) fn network_arg(mut self, key: &str, expression: &str) -> Self {
        self.network.push_str(&format!("    {key} = {expression}\n"));
        self
    }
}

impl fmt::Display for ClusterHcl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { label, name, topology, net, control_planes, arguments, network } = self;
        writeln!(f, "\nresource \"cloudtemple_kubernetes_cluster\" \"{label}\" {{")?;
        writeln!(f, "  name     = \"{name}\"")?;
        writeln!(f, "  topology = \"{topology}\"")?;
        writeln!(f, "  endpoint = \"{}\"", address(*net, 20))?;
        write!(f, "{arguments}")?;
        writeln!(f, "  network = {{\n    node_cidr = \"{}/24\"\n{network}  }}", address(*net, 0))?;
        writeln!(f, "  control_plane = [")?;
        for (host, zone) in control_planes.iter().zip(ZONES.iter().cycle()) {
            writeln!(f, "    {{ address = \"{}\", zone = \"{zone}\" }},", address(*net, *host))?;
        }
        writeln!(f, "  ]\n}}")
    }
}

/// A `cloudtemple_kubernetes_node_pool` resource of the cluster `dev` (or [`PoolHcl::of`]);
/// printed with [`fmt::Display`].
#[derive(Debug, Clone)]
pub(crate) struct PoolHcl {
    name: &'static str,
    role: &'static str,
    key: &'static str,
    cluster: String,
    net: [u8; 3],
    hosts: Vec<u8>,
    across_zones: bool,
    arguments: String,
}

impl PoolHcl {
    /// The pool `workers` (role `worker`) of nodes `w<host>` on `hosts`, all in AZ05.
    pub(crate) fn workers(net: [u8; 3], hosts: &[u8]) -> Self {
        Self {
            name: "workers",
            role: "worker",
            key: "w",
            cluster: "dev".into(),
            net,
            hosts: hosts.to_vec(),
            across_zones: false,
            arguments: String::new(),
        }
    }

    /// The pool `storage` (role `storage`) of nodes `s<host>` on `hosts`, one per zone.
    pub(crate) fn storage(net: [u8; 3], hosts: &[u8]) -> Self {
        Self { name: "storage", role: "storage", key: "s", across_zones: true, ..Self::workers(net, hosts) }
    }

    /// The pool of the cluster resource labelled `cluster` (`prod` for [`ClusterHcl::production`]).
    pub(crate) fn of(mut self, cluster: &str) -> Self {
        self.cluster = cluster.into();
        self
    }

    /// The n-th node in the n-th zone of AZ05, AZ06, AZ07 rather than all in AZ05.
    pub(crate) fn across_zones(mut self) -> Self {
        self.across_zones = true;
        self
    }

    /// Adds the argument `key = expression` (an HCL expression: quote strings).
    pub(crate) fn arg(self, key: &str, expression: &str) -> Self {
        self.raw(&format!("  {key} = {expression}\n"))
    }

    /// Adds lines of HCL (each ending in a newline) after `role`: arguments, blocks.
    pub(crate) fn raw(mut self, lines: &str) -> Self {
        self.arguments.push_str(lines);
        self
    }
}

impl fmt::Display for PoolHcl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { name, role, key, cluster, net, hosts, across_zones, arguments } = self;
        writeln!(f, "\nresource \"cloudtemple_kubernetes_node_pool\" \"{name}\" {{")?;
        writeln!(f, "  cluster = cloudtemple_kubernetes_cluster.{cluster}.access")?;
        writeln!(f, "  name    = \"{name}\"")?;
        writeln!(f, "  role    = \"{role}\"")?;
        write!(f, "{arguments}")?;
        writeln!(f, "  nodes = {{")?;
        for (i, host) in hosts.iter().enumerate() {
            let zone = if *across_zones { ZONES[i % ZONES.len()] } else { ZONES[0] };
            writeln!(f, "    {key}{host} = {{ address = \"{}\", zone = \"{zone}\" }}", address(*net, *host))?;
        }
        writeln!(f, "  }}\n}}")
    }
}
