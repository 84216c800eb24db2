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
        "Nodes of the pool, keyed by hostname (also the Kubernetes node name). A new key joins a node (in \
         parallel with the others); a removed key cordons and drains that node (see `drain`), resets it back to \
         maintenance mode and deletes its Node object. In `production`, spread nodes across AZ05, AZ06 and AZ07 \
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

fn drain() -> Attribute {
    Attribute::bool("drain")
        .optional_computed()
        .description(
            "Cordon and drain a node (through the cluster's Kubernetes API) before it reboots in a rollout (Talos \
             upgrade, or a `config_patches` change Talos cannot apply live) and before it leaves the pool (scale-down, \
             destroy); a rebooted node is uncordoned once its kubelet runs again. Draining evicts every pod through \
             the Eviction API, so PodDisruptionBudgets hold: evictions they refuse are retried until the update or \
             delete timeout, after which the apply fails without rebooting or resetting that node (a rebooting \
             node is uncordoned again; a leaving node stays cordoned and in the pool). DaemonSet and mirror pods stay; emptyDir data is \
             lost, as the node reboots or is wiped anyway. A leaving node that already runs nothing (back in \
             maintenance mode, or not answering its Talos API) is removed without a drain. When the Kubernetes API \
             cannot be reached, nothing is rebooted or removed and the error says so: set `false` to go ahead \
             without draining (for a destroy, apply `drain = false` first). Nodes whose configuration changes live \
             (labels, taints, kubelet settings) are never drained.",
        )
        .plan_modifier(default_value(true, "true"))
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new(
            "A pool of worker, storage (dedicated Ceph) or GPU nodes joined to a `cloudtemple_kubernetes_cluster`.\n\n\
             Nodes are rendered with the cluster's Kubernetes and Talos versions and follow them: when the \
             cluster's `access` carries new versions, the pool plans an update. Talos upgrades (install, reboot, \
             wait for the kubelet) and configuration changes (labels, taints, `config_patches`, the kubelet image \
             of a Kubernetes upgrade) roll through the pool in batches of `max_unavailable` nodes; nodes that \
             reboot are cordoned and drained first and uncordoned once back (`drain`). Removed nodes are cordoned, \
             drained, reset to maintenance mode and their Node objects deleted.\n\n\
             Every node carries the labels `node-pools.cloudtemple.com/name` and `node-pools.cloudtemple.com/role`, \
             from which import rebuilds the pool (see Import below).",
        )
        .attribute(Attribute::string("id").computed().description("Pool identifier (`<cluster id>/<name>`). Import takes this ID with the cluster's access (see Import below).").plan_modifier(use_state_for_unknown()))
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
        .attribute(Attribute::new("labels", Type::map(Type::String)).optional().description(
            "Kubernetes labels of every node of the pool. The provider adds `node-pools.cloudtemple.com/name` (the pool \
             name) and `node-pools.cloudtemple.com/role` (its role), and keeps that prefix for itself.",
        ))
        .attribute(taints())
        .attribute(
            Attribute::number("max_unavailable")
                .optional_computed()
                .description("How many nodes are upgraded or reconfigured at once.")
                .validator(int_between(1, 100))
                .plan_modifier(default_value(1i64, "1")),
        )
        .attribute(drain())
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
