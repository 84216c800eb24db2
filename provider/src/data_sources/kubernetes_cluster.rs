//! The `cloudtemple_kubernetes_cluster` data source: a live view of a cluster from its `access`
//! object, for configurations that did not create it (versions, control plane nodes with their
//! readiness and etcd membership, the etcd members, and a status).
//!
//! Everything is read through the Talos API of the control planes listed in `access`; each is
//! asked in parallel, and one that does not answer shows as not ready instead of failing the
//! read, so that a degraded cluster can still be inspected.

use crate::resources::access::access_type;
use crate::resources::kubernetes_cluster::create::TALOS_PORT;
use crate::resources::kubernetes_cluster::import::member_address;
use crate::talos::Sensitive;
use crate::talos::client::{EtcdMember, Options, TalosClient, TalosCredentials};
use std::net::IpAddr;
use std::time::Duration;
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{AttributePath, Context, DataSource, Diagnostic, Diagnostics, Type, Value};

/// The data source.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesCluster;

/// How long each node may take to answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(30);

fn node_type() -> Type {
    Type::object([
        ("address", Type::String),
        ("hostname", Type::String),
        ("role", Type::String),
        ("talos_version", Type::String),
        ("etcd_member", Type::Bool),
        ("ready", Type::Bool),
    ])
}

fn member_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("hostname", Type::String),
        ("address", Type::String),
        ("peer_urls", Type::list(Type::String)),
        ("is_learner", Type::Bool),
    ])
}

/// What one control plane answered.
#[derive(Debug)]
struct Probe {
    address: IpAddr,
    talos_version: Option<String>,
    members: Option<Vec<EtcdMember>>,
}

async fn probe(address: IpAddr, talos: &TalosCredentials, opts: &Options) -> Probe {
    let mut found = Probe { address, talos_version: None, members: None };
    let Ok(client) = TalosClient::connect(address, TALOS_PORT, talos) else { return found };
    match client.version(opts).await {
        Ok(v) => found.talos_version = Some(v.tag.trim_start_matches('v').to_string()),
        Err(e) => {
            tracing::warn!(node = %address, error = %e, "control plane not answering");
            return found;
        }
    }
    found.members = client.etcd_member_list(opts).await.ok();
    found
}

fn access_error(field: &str) -> Diagnostics {
    Diagnostic::error(
        "Incomplete cluster access",
        format!("access.{field} is missing: pass the whole `access` attribute of a cloudtemple_kubernetes_cluster."),
    )
    .at(AttributePath::root().attr("access"))
    .into()
}

fn text(access: &Value, field: &str) -> Result<String, Diagnostics> {
    access.get_attr(field).and_then(Value::as_str).map(str::to_string).ok_or_else(|| access_error(field))
}

fn member_value(m: &EtcdMember) -> Value {
    Value::object([
        ("id", Value::from(format!("{:x}", m.id))),
        ("hostname", Value::from(m.hostname.clone())),
        ("address", member_address(m).map_or(Value::Null, |a| Value::from(a.to_string()))),
        ("peer_urls", Value::List(m.peer_urls.iter().map(|u| Value::from(u.clone())).collect())),
        ("is_learner", Value::from(m.is_learner)),
    ])
}

#[tfplugin::async_trait]
impl DataSource for KubernetesCluster {
    fn type_name(&self) -> &'static str {
        "cloudtemple_kubernetes_cluster"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "A live view of a Cloud Temple Managed Kubernetes cluster, read through the Talos API of its \
                 control planes with the credentials of its `access` object: versions, control plane nodes \
                 with readiness and etcd membership, the etcd members and a status. Worker, storage and GPU \
                 nodes are not listed: `access` names the control planes only.",
            )
            .attribute(Attribute::new("access", access_type()).required().sensitive().description(
                "The `access` attribute of the `cloudtemple_kubernetes_cluster` to read (from this or \
                 another configuration's outputs).",
            ))
            .attribute(Attribute::string("name").computed().description("Cluster name."))
            .attribute(Attribute::string("api_url").computed().description("URL of the Kubernetes API."))
            .attribute(Attribute::string("topology").computed().description("`dev` or `production`."))
            .attribute(
                Attribute::string("kubernetes_version")
                    .computed()
                    .description("Kubernetes version, as recorded in `access`."),
            )
            .attribute(Attribute::string("talos_version").computed().description(
                "Talos version the control planes run (the first answering one's; `access`'s when none \
                 answers).",
            ))
            .attribute(Attribute::new("nodes", Type::list(node_type())).computed().description(
                "Control plane nodes: `address`, `hostname` (from etcd; empty when the node is not a member), \
                 `role`, running `talos_version` (null when not answering), `etcd_member` and `ready` \
                 (answering and an etcd member).",
            ))
            .attribute(Attribute::new("etcd_members", Type::list(member_type())).computed().description(
                "etcd members as the first answering control plane sees them: `id` (hex), `hostname`, \
                 `address`, `peer_urls`, `is_learner`.",
            ))
            .attribute(Attribute::string("status").computed().description("`ready`, or what is degraded.")),
        )
    }

    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let access = config.get_attr("access").filter(|a| !a.is_null()).ok_or_else(|| access_error("*"))?;
        let talos = TalosCredentials {
            ca_pem: text(access, "talos_ca_certificate")?,
            cert_pem: text(access, "talos_client_certificate")?,
            key_pem: Sensitive::new(text(access, "talos_client_key")?),
        };
        let mut addresses = Vec::new();
        for e in access.get_attr("talos_endpoints").and_then(Value::as_list).unwrap_or_default() {
            let s = e.as_str().ok_or_else(|| access_error("talos_endpoints"))?;
            let address: IpAddr = s.parse().map_err(|_| access_error("talos_endpoints"))?;
            addresses.push(address);
        }
        if addresses.is_empty() {
            return Err(access_error("talos_endpoints"));
        }
        let opts = Options::new(NODE_TIMEOUT, ctx.token());
        let probes = futures::future::join_all(addresses.iter().map(|a| probe(*a, &talos, &opts))).await;
        let members: Vec<EtcdMember> = probes.iter().find_map(|p| p.members.clone()).unwrap_or_default();
        let mut problems = Vec::new();
        let nodes: Vec<Value> = probes
            .iter()
            .map(|p| {
                let member = members.iter().find(|m| member_address(m) == Some(p.address));
                let ready = p.talos_version.is_some() && member.is_some();
                if p.talos_version.is_none() {
                    problems.push(format!("{} is not answering", p.address));
                } else if member.is_none() {
                    problems.push(format!("{} is not an etcd member", p.address));
                }
                Value::object([
                    ("address", Value::from(p.address.to_string())),
                    ("hostname", Value::from(member.map(|m| m.hostname.clone()).unwrap_or_default())),
                    ("role", Value::from("controlplane")),
                    ("talos_version", p.talos_version.clone().map_or(Value::Null, Value::from)),
                    ("etcd_member", Value::from(member.is_some())),
                    ("ready", Value::from(ready)),
                ])
            })
            .collect();
        let talos_version = match probes.iter().find_map(|p| p.talos_version.clone()) {
            Some(v) => v,
            None => text(access, "talos_version")?,
        };
        let status = if problems.is_empty() {
            "ready".to_string()
        } else {
            format!("degraded: {}", problems.join("; "))
        };
        Ok(Value::object([
            ("access", access.clone()),
            ("name", Value::from(text(access, "cluster_name")?)),
            ("api_url", Value::from(text(access, "api_url")?)),
            ("topology", Value::from(text(access, "topology")?)),
            ("kubernetes_version", Value::from(text(access, "kubernetes_version")?)),
            ("talos_version", Value::from(talos_version)),
            ("nodes", Value::List(nodes)),
            ("etcd_members", Value::List(members.iter().map(member_value).collect())),
            ("status", Value::from(status)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_show_their_address_in_hex_ids() {
        let m = EtcdMember {
            id: 255,
            hostname: "c-cp-1".into(),
            peer_urls: vec!["https://10.0.0.1:2380".into()],
            client_urls: Vec::new(),
            is_learner: false,
        };
        let v = member_value(&m);
        assert_eq!(v.get_attr("id").and_then(Value::as_str), Some("ff"));
        assert_eq!(v.get_attr("address").and_then(Value::as_str), Some("10.0.0.1"));
    }

    #[test]
    fn incomplete_access_is_reported_at_the_attribute() {
        let access = Value::object([("cluster_name", Value::from("c"))]);
        assert!(text(&access, "api_url").is_err());
        assert_eq!(text(&access, "cluster_name").ok().as_deref(), Some("c"));
    }
}
