//! `cloudtemple_kubernetes_node_pool`: worker, storage (Ceph) or GPU nodes of one cluster.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`spec`]: the typed form of a known plan, and node configuration rendering.
//! - [`create`], [`read`], [`update`], [`delete`]: the operations on the nodes.
//! - [`drain`]: cordon and drain through the Kubernetes API before a node reboots or leaves.
//! - [`import`]: a pool rebuilt from the cluster's Nodes.
//!
//! Rules checked here: node hostnames (the `nodes` keys) are DNS labels and `labels` stay out
//! of the provider's `node-pools.cloudtemple.com/` prefix (validate), and a storage pool of a
//! production cluster has a node in each of the three zones (plan, once the cluster's `access`
//! is known).
//!
//! Plan follows the cluster: the pool's `kubernetes_version` and `talos_version` are the ones
//! of the planned `cluster` access, so a cluster upgrade plans a pool update (and says which
//! nodes reboot for a Talos upgrade, in batches of `max_unavailable`).

pub mod create;
pub mod delete;
pub mod drain;
pub mod import;
pub mod read;
pub mod schema;
pub mod spec;
pub mod update;

pub use schema::schema;

use crate::provider::SharedSettings;
use crate::resources::kubernetes_cluster::ZONES;
use std::collections::BTreeSet;
use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, Imported, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::validate::is_dns_label;
use tfplugin::{AttributePath, Context, Diagnostics, Resource, Schema, Value};

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_node_pool";

/// Default time limits of create, update and delete (documented by the `timeouts` block).
pub const TIMEOUTS: [&str; 3] = ["30m", "60m", "30m"];

/// The resource; reaches the Kubernetes API under the configured field manager.
#[derive(Debug, Clone, Default)]
pub struct KubernetesNodePool {
    /// Provider settings (the field manager).
    pub settings: SharedSettings,
}

impl KubernetesNodePool {
    fn field_manager(&self) -> String {
        self.settings.get().field_manager
    }
}

/// Checks that `labels` leave the provider's own labels alone.
fn validate_labels(config: &Value, diags: &mut Diagnostics) {
    for key in config.get_attr("labels").and_then(Value::as_map).into_iter().flatten().map(|(k, _)| k) {
        if key.starts_with(spec::RESERVED_PREFIX) {
            diags.error_at(
                AttributePath::root().attr("labels").key(key.clone()),
                "Reserved label",
                format!(
                    "{key:?}: labels under {} are set by the provider (the pool's name and role).",
                    spec::RESERVED_PREFIX
                ),
            );
        }
    }
}

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

/// The pool's versions are its cluster's: known in the plan whenever the planned `cluster`
/// access is. A Talos move reboots every node of the pool; the plan says so.
fn follow_cluster(prior: Option<&Value>, planned: &mut Value, diags: &mut Diagnostics) {
    let cluster = planned.get_attr("cluster").filter(|c| c.is_known() && !c.is_null()).cloned();
    for attr in ["kubernetes_version", "talos_version"] {
        if let Some(v) =
            cluster.as_ref().and_then(|c| c.get_attr(attr)).filter(|v| v.is_known() && !v.is_null())
        {
            let _ = planned.set_attr(attr, v.clone());
        }
    }
    let version = |v: Option<&Value>| {
        v.and_then(|v| v.get_attr("talos_version")).and_then(Value::as_str).map(str::to_string)
    };
    let (Some(from), Some(to)) = (version(prior), version(Some(planned))) else { return };
    if from == to {
        return;
    }
    let kept: Vec<&String> = match (
        prior.and_then(|p| p.get_attr("nodes")).and_then(Value::as_map),
        planned.get_attr("nodes").and_then(Value::as_map),
    ) {
        (Some(old), Some(new)) => old.keys().filter(|k| new.contains_key(*k)).collect(),
        _ => Vec::new(),
    };
    if kept.is_empty() {
        return;
    }
    let batch = planned.get_attr("max_unavailable").and_then(Value::as_i64).unwrap_or(1);
    diags.warning_at(
        AttributePath::root().attr("talos_version"),
        "Pool nodes will reboot",
        format!(
            "The cluster moves from Talos {from} to {to}: {} upgrade and reboot, {batch} at a time (max_unavailable), \
             each batch back with its kubelet running before the next.",
            kept.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        ),
    );
}

/// Names the kept nodes that a configuration change reboots (the same reading update acts
/// on). Silent when the plan is not wholly known yet (the cluster's `access` unknown).
fn reboot_warning(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let (Ok(before), Ok(after)) = (spec::PoolSpec::from_value(prior), spec::PoolSpec::from_value(planned))
    else {
        return;
    };
    let kept: Vec<String> = after.nodes.keys().filter(|h| before.nodes.contains_key(*h)).cloned().collect();
    let Ok(changed) = update::changed_nodes(&before, &after, &kept) else { return };
    let rebooting: Vec<&str> =
        changed.iter().filter(|(_, reboot)| **reboot).map(|(h, _)| h.as_str()).collect();
    if !rebooting.is_empty() {
        diags.warning_at(
            AttributePath::root().attr("config_patches"),
            "Pool nodes will reboot",
            format!(
                "This change reboots {}, {} at a time (max_unavailable): Talos cannot apply it to a running node.",
                rebooting.join(", "),
                after.max_unavailable
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
        validate_labels(config, diags);
    }

    async fn plan(&self, _ctx: &Context, req: PlanRequest<'_>, resp: &mut PlanResponse) {
        check_storage_zones(&resp.planned, &mut resp.diags);
        follow_cluster(req.prior, &mut resp.planned, &mut resp.diags);
        if let Some(prior) = req.prior {
            reboot_warning(prior, &resp.planned, &mut resp.diags);
        }
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        create::create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        update::update(ctx, &self.field_manager(), req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        delete::delete(ctx, &self.field_manager(), req).await
    }

    async fn import(&self, ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
        let state = import::import(ctx, &self.field_manager(), id).await.map_err(Diagnostics::from)?;
        Ok(vec![Imported { state, private: Vec::new() }])
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
    fn versions_follow_the_planned_cluster() {
        let access = |talos: &str| {
            Value::object([
                ("kubernetes_version", Value::from("1.36.4")),
                ("talos_version", Value::from(talos)),
            ])
        };
        let pool = |talos: &str, versions: Value| {
            Value::object([
                ("cluster", access(talos)),
                ("nodes", Value::map([("w1", Value::Null), ("w2", Value::Null)])),
                ("max_unavailable", Value::from(2i64)),
                ("kubernetes_version", versions.clone()),
                ("talos_version", versions),
            ])
        };
        let prior = pool("1.13.9", Value::from("1.13.9"));
        let mut planned = pool("1.14.1", Value::Unknown);
        let mut diags = Diagnostics::new();
        follow_cluster(Some(&prior), &mut planned, &mut diags);
        assert_eq!(planned.get_attr("talos_version"), Some(&Value::from("1.14.1")));
        assert_eq!(planned.get_attr("kubernetes_version"), Some(&Value::from("1.36.4")));
        let d = diags.iter().next().expect("a reboot warning");
        assert!(!d.is_error() && d.detail.contains("w1, w2 upgrade and reboot, 2 at a time"), "{}", d.detail);
        // The same cluster: no warning.
        let mut same = prior.clone();
        let mut diags = Diagnostics::new();
        follow_cluster(Some(&prior), &mut same, &mut diags);
        assert!(diags.is_empty());
    }

    #[test]
    fn hostnames_are_dns_labels() {
        let mut diags = Diagnostics::new();
        validate_hostnames(&pool("dev", "worker", &["AZ05"]), &mut diags);
        assert!(!diags.has_errors());
        let bad = Value::object([("nodes", Value::map([("Bad_Name", Value::Null)]))]);
        validate_hostnames(&bad, &mut diags);
        assert!(diags.has_errors());
        let mut diags = Diagnostics::new();
        let labels = |k: &str| Value::object([("labels", Value::map([(k.to_string(), Value::from("x"))]))]);
        validate_labels(&labels("example.com/team"), &mut diags);
        assert!(!diags.has_errors());
        validate_labels(&labels("node-pools.cloudtemple.com/name"), &mut diags);
        assert!(diags.has_errors());
    }
}
