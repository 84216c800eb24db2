//! `cloudtemple_kubernetes_node_pool`: worker, storage (Ceph) or GPU nodes of one cluster.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`spec`]: the typed form of a known plan, and node configuration rendering.
//! - [`create`], [`read`], [`update`], [`delete`]: the operations on the nodes.
//!
//! Rules checked here: node hostnames (the `nodes` keys) are DNS labels (validate), and a
//! storage pool of a production cluster has a node in each of the three zones (plan, once the
//! cluster's `access` is known).
//!
//! Limits of this build: removed nodes are reset without cordon and drain (no Kubernetes client
//! yet); a change of the cluster's Talos version is not rolled out to pool nodes.

pub mod create;
pub mod delete;
pub mod read;
pub mod schema;
pub mod spec;
pub mod update;

pub use schema::schema;

use crate::resources::kubernetes_cluster::ZONES;
use std::collections::BTreeSet;
use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, PlanRequest, PlanResponse, ReadRequest, ReadResponse,
};
use tfplugin::validate::is_dns_label;
use tfplugin::{AttributePath, Context, Diagnostics, Resource, Schema, Value};

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_node_pool";

/// Default time limits of create, update and delete (documented by the `timeouts` block).
pub const TIMEOUTS: [&str; 3] = ["30m", "60m", "30m"];

/// The resource.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesNodePool;

/// Checks the `nodes` keys.
fn validate_hostnames(config: &Value, diags: &mut Diagnostics) {
    for hostname in config.get_attr("nodes").and_then(Value::as_map).into_iter().flatten().map(|(k, _)| k) {
        if !is_dns_label(hostname) {
            diags.error_at(
                AttributePath::root().attr("nodes").key(hostname.clone()),
                "Invalid hostname",
                format!(
                    "{hostname:?} is not a valid hostname: use 1-63 lowercase letters, digits and `-`, not starting \
                     or ending with `-`."
                ),
            );
        }
    }
}

/// A storage pool of a production cluster needs a node in each zone (Ceph keeps one replica
/// per zone). Checked only when the topology, role and every zone are known.
fn check_storage_zones(planned: &Value, diags: &mut Diagnostics) {
    let topology = planned.get_attr("cluster").and_then(|c| c.get_attr("topology")).and_then(Value::as_str);
    let role = planned.get_attr("role").and_then(Value::as_str);
    if topology != Some("production") || role != Some("storage") {
        return;
    }
    let Some(nodes) = planned.get_attr("nodes").and_then(Value::as_map) else { return };
    let zones: Option<BTreeSet<&str>> =
        nodes.values().map(|n| n.get_attr("zone").and_then(Value::as_str)).collect();
    let Some(zones) = zones else { return };
    let missing: Vec<&str> = ZONES.iter().copied().filter(|z| !zones.contains(z)).collect();
    if !missing.is_empty() {
        diags.error_at(
            AttributePath::root().attr("nodes"),
            "Storage pool not spread across zones",
            format!(
                "A storage pool of a production cluster needs one node in each of {}: no node in {}.",
                ZONES.join(", "),
                missing.join(", ")
            ),
        );
    }
}

#[tfplugin::async_trait]
impl Resource for KubernetesNodePool {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_hostnames(config, diags);
    }

    async fn plan(&self, _ctx: &Context, _req: PlanRequest<'_>, resp: &mut PlanResponse) {
        check_storage_zones(&resp.planned, &mut resp.diags);
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        create::create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        update::update(ctx, req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        delete::delete(ctx, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(topology: &str, role: &str, zones: &[&str]) -> Value {
        Value::object([
            ("cluster", Value::object([("topology", Value::from(topology))])),
            ("role", Value::from(role)),
            (
                "nodes",
                Value::map(zones.iter().enumerate().map(|(i, z)| {
                    (
                        format!("s{i}"),
                        Value::object([
                            ("address", Value::from(format!("10.0.0.{i}"))),
                            ("zone", Value::from(*z)),
                        ]),
                    )
                })),
            ),
        ])
    }

    #[test]
    fn production_storage_pools_span_every_zone() {
        let mut diags = Diagnostics::new();
        check_storage_zones(&pool("production", "storage", &["AZ05", "AZ06", "AZ07"]), &mut diags);
        assert!(!diags.has_errors());
        check_storage_zones(&pool("dev", "storage", &["AZ05"]), &mut diags);
        check_storage_zones(&pool("production", "worker", &["AZ05"]), &mut diags);
        assert!(!diags.has_errors());
        check_storage_zones(&pool("production", "storage", &["AZ05", "AZ05", "AZ06"]), &mut diags);
        assert!(diags.has_errors());
        assert!(format!("{diags:?}").contains("AZ07"), "{diags:?}");
    }

    #[test]
    fn hostnames_are_dns_labels() {
        let mut diags = Diagnostics::new();
        validate_hostnames(&pool("dev", "worker", &["AZ05"]), &mut diags);
        assert!(!diags.has_errors());
        let bad = Value::object([("nodes", Value::map([("Bad_Name", Value::Null)]))]);
        validate_hostnames(&bad, &mut diags);
        assert!(diags.has_errors());
    }
}
