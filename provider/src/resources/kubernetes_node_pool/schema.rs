//! The schema of `cloudtemple_kubernetes_node_pool`. Nodes are a map keyed by hostname so that
//! adding or removing one node plans exactly that node, never a shift of the others.

use crate::resources::kubernetes_cluster::ZONES;
use crate::resources::{access, timeouts};
use tfplugin::Type;
use tfplugin::plan::{default_value, requires_replace, use_state_for_unknown};
use tfplugin::schema::{Attribute, Block, Nesting, Schema};
use tfplugin::validate::{dns_label, each, int_between, ip_address, non_empty, one_of, yaml};

fn nodes() -> Attribute {
    Attribute::nested(
        "nodes",
        Nesting::Map,
        vec![
            Attribute::string("address").required().description("Node address (Talos API on port 50000).").validator(ip_address()),
            Attribute::string("zone").required().description("Availability zone of the node.").validator(one_of(&ZONES)),
        ],
    )
    .required()
    .description(
        "Nodes of the pool, keyed by hostname. A new key joins a node (in parallel with the others); a removed \
         key resets that node back to maintenance mode. In `production`, spread nodes across AZ05, AZ06 and AZ07 \
         (storage pools need one node per zone).",
    )
}

fn taints() -> Attribute {
    Attribute::nested(
        "taints",
        Nesting::List,
        vec![
            Attribute::string("key").required().description("Taint key.").validator(non_empty()),
            Attribute::string("value").optional().description("Taint value."),
            Attribute::string("effect")
                .required()
                .description("Taint effect.")
                .validator(one_of(&["NoSchedule", "PreferNoSchedule", "NoExecute"])),
        ],
    )
    .optional()
    .description("Kubernetes taints of every node of the pool. `gpu` pools get `nvidia.com/gpu=present:NoSchedule` unless set.")
}

fn node_status() -> Attribute {
    Attribute::new(
        "node_status",
        Type::map(Type::object([
            ("address", Type::String),
            ("zone", Type::String),
            ("talos_version", Type::String),
            ("kubelet_version", Type::String),
            ("ready", Type::Bool),
        ])),
    )
    .computed()
    .description("Live view of each node, keyed by hostname: `address`, `zone`, `talos_version`, `kubelet_version`, `ready` \
         (the node answers its Talos API configured for this cluster). A node found back in maintenance mode is \
         dropped from `nodes` and `node_status`, so the next plan re-joins it.")
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new(
            "A pool of worker, storage (dedicated Ceph) or GPU nodes joined to a `cloudtemple_kubernetes_cluster`.\n\n\
             Nodes are rendered with the cluster's Kubernetes and Talos versions. Configuration changes (labels, \
             taints, `config_patches`, the cluster's Kubernetes version) roll through the pool in batches of \
             `max_unavailable` nodes; Talos upgrades of pool nodes are not performed yet.",
        )
        .attribute(Attribute::string("id").computed().description("Pool identifier (`<cluster id>/<name>`).").plan_modifier(use_state_for_unknown()))
        .attribute(access::argument())
        .attribute(
            Attribute::string("name")
                .required()
                .description("Pool name, unique in the cluster.")
                .validator(dns_label())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::string("role")
                .required()
                .description(
                    "`worker` (applications), `storage` (dedicated Ceph nodes of production clusters) or `gpu` (bare \
                     metal NVIDIA nodes, `runtimeClassName: nvidia`).",
                )
                .validator(one_of(&["worker", "storage", "gpu"]))
                .plan_modifier(requires_replace()),
        )
        .attribute(nodes())
        .attribute(Attribute::new("labels", Type::map(Type::String)).optional().description("Kubernetes labels of every node of the pool."))
        .attribute(taints())
        .attribute(
            Attribute::number("max_unavailable")
                .optional_computed()
                .description("How many nodes are changed at once during configuration changes.")
                .validator(int_between(1, 100))
                .plan_modifier(default_value(1i64, "1")),
        )
        .attribute(
            Attribute::new("config_patches", Type::list(Type::String))
                .optional()
                .description("Talos machine configuration patches (YAML) for the pool's nodes, applied after the cluster's.")
                .validator(each(yaml())),
        )
        .attribute(Attribute::string("kubernetes_version").computed().description("Kubernetes version of the nodes (the cluster's)."))
        .attribute(Attribute::string("talos_version").computed().description("Talos version of the nodes (the cluster's)."))
        .attribute(node_status())
        .block(timeouts::block(super::TIMEOUTS)),
    )
}
