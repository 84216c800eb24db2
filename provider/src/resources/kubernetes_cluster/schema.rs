//! The schema of `cloudtemple_kubernetes_cluster`.

use crate::resources::{access, timeouts};
use tfplugin::Type;
use tfplugin::plan::{requires_replace, use_state_for_unknown};
use tfplugin::schema::{Attribute, Block, Nesting, Schema};
use tfplugin::validate::{cidr, dns_label, each, ip_address, one_of, yaml};

use super::ZONES;

fn network() -> Attribute {
    Attribute::nested(
        "network",
        Nesting::Single,
        vec![
            Attribute::string("node_cidr")
                .required()
                .description(
                    "The cluster's private node network (a /22 agreed at setup in Cloud Temple's layout). \
                     `endpoint` and every node address must be inside it.",
                )
                .validator(cidr()),
            Attribute::string("pod_cidr")
                .optional_computed()
                .description("Pod network. Defaults to `10.244.0.0/16`; must not overlap the other networks.")
                .validator(cidr()),
            Attribute::string("service_cidr")
                .optional_computed()
                .description(
                    "Service network. Defaults to `10.96.0.0/12`; must not overlap the other networks.",
                )
                .validator(cidr()),
            Attribute::string("dns_domain").optional_computed().description(
                "Cluster DNS domain. Defaults to `<name>-cluster.local`, as Cloud Temple clusters use.",
            ),
        ],
    )
    .required()
    .description(
        "Cluster networks. They cannot change once the cluster exists: any change replaces the cluster.",
    )
    .plan_modifier(requires_replace())
}

fn control_plane() -> Attribute {
    Attribute::nested(
        "control_plane",
        Nesting::List,
        vec![
            Attribute::string("address")
                .required()
                .description("Node address: the node answers the Talos API on port 50000 (maintenance mode before creation).")
                .validator(ip_address()),
            Attribute::string("zone").required().description("Availability zone of the node.").validator(one_of(&ZONES)),
            Attribute::string("hostname")
                .optional_computed()
                .description("Node hostname. Defaults to `<name>-cp-<n>` (n from 1).")
                .validator(dns_label()),
        ],
    )
    .required()
    .description(
        "Control plane nodes. `dev` topology: exactly 1. `production`: exactly 3, one in each of AZ05, AZ06 and \
         AZ07. In `production`, one control plane at a time can move to another machine (a new `address`, in its \
         own apply): the new machine joins etcd, then the old one leaves and is reset. Other changes are refused at \
         plan. A node reset out of band is repaired in place (configured again, it rejoins etcd).",
    )
}

fn nodes() -> Attribute {
    Attribute::new(
        "nodes",
        Type::list(Type::object([
            ("address", Type::String),
            ("hostname", Type::String),
            ("role", Type::String),
            ("zone", Type::String),
            ("talos_version", Type::String),
            ("kubelet_version", Type::String),
            ("etcd_member", Type::Bool),
            ("ready", Type::Bool),
        ])),
    )
    .computed()
    .description(
        "Live view of the control plane nodes, refreshed on every plan: `address`, `hostname`, `role`, `zone`, \
         running `talos_version` and `kubelet_version`, whether the node is an `etcd_member`, and `ready`.",
    )
}

fn upgrade() -> Attribute {
    Attribute::nested(
        "upgrade",
        Nesting::Single,
        vec![
            Attribute::bool("drain").optional_computed().description(
                "Cordon each control plane before it reboots (Talos upgrade, or a `config_patches` change Talos \
                 cannot apply live) and uncordon it once it is back with etcd healthy. Defaults to `true`. Control \
                 planes are cordoned, not drained: a production control plane runs no ordinary workload, and the \
                 single control plane of a dev cluster has nowhere to send its pods, so evicting them would only \
                 leave them pending until it is back. A cordon the Kubernetes API refuses or does not answer is \
                 logged and the rollout goes on (the upgrade may be what repairs the API); an uncordon that fails \
                 is reported as a warning. Node pools drain their own nodes (their `drain` argument).",
            ),
            Attribute::string("reboot_mode")
                .optional_computed()
                .description(
                    "How control planes reboot during rollouts (a Talos upgrade, or a `config_patches` change Talos \
                     cannot apply live): `default` (kexec into the new kernel where possible) or `powercycle` (a \
                     full power cycle, for hardware or firmware that kexec does not handle). Defaults to `default`. \
                     Node pool nodes reboot in the default mode.",
                )
                .validator(one_of(&["default", "powercycle"])),
        ],
    )
    .optional_computed()
    .description(
        "How version changes roll out: control plane nodes are upgraded one at a time with etcd health checked \
         between nodes; Kubernetes goes up one minor version per apply.",
    )
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new(
            "A Cloud Temple Managed Kubernetes cluster: Talos Linux control plane nodes, their etcd and the \
             Kubernetes API.\n\n\
             Creation configures every control plane node in parallel from maintenance mode, bootstraps etcd \
             exactly once and waits for the Kubernetes API. Kubernetes upgrades (one minor version at a time) \
             and Talos upgrades (one node at a time, never losing etcd quorum) happen in place. Worker, storage \
             and GPU nodes are `cloudtemple_kubernetes_node_pool` resources.",
        )
        .attribute(
            Attribute::string("id")
                .computed()
                .description("Cluster identifier: its name. Import takes another ID (see Import below).")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(
            Attribute::string("name")
                .required()
                .description("Cluster name (Cloud Temple uses 5 letters for production clusters, 6 for dev/test).")
                .validator(dns_label())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::string("topology")
                .required()
                .description(
                    "`dev`: one availability zone, 1 control plane, Ceph on the workers, no SLA. `production`: 3 \
                     control planes across AZ05, AZ06 and AZ07, dedicated Ceph storage nodes, 99.95% SLA.",
                )
                .validator(one_of(&["dev", "production"]))
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::string("endpoint")
                .required()
                .description("Virtual IP of the Kubernetes API, inside `network.node_cidr`.")
                .validator(ip_address())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::string("kubernetes_version")
                .optional_computed()
                .description(
                    "Kubernetes version (`1.36.4`). Defaults to the provider's default (see \
                     `cloudtemple_kubernetes_versions`). Changing it upgrades in place, one minor version at a \
                     time; downgrades are refused at plan.",
                ),
        )
        .attribute(
            Attribute::string("talos_version")
                .optional_computed()
                .description(
                    "Talos Linux version (`1.14.1`). Defaults to the provider's default. Changing it upgrades the \
                     control planes one at a time (each back on the new version, etcd healthy on every member, before \
                     the next); the plan warns that they reboot. It must support `kubernetes_version`.",
                ),
        )
        .attribute(network())
        .attribute(control_plane())
        .attribute(
            Attribute::new("config_patches", Type::list(Type::String))
                .optional()
                .description(
                    "Talos machine configuration patches (YAML, strategic merge), applied in order to every \
                     control plane node. Validated at plan; the plan says which nodes must reboot.",
                )
                .validator(each(yaml())),
        )
        .attribute(upgrade())
        .attribute(
            Attribute::string("on_destroy")
                .optional_computed()
                .description(
                    "What destroy does to the nodes: `reset` wipes them gracefully back to maintenance mode (leaving \
                     etcd first); `keep` leaves them running and only forgets them. Defaults to `reset`.",
                )
                .validator(one_of(&["reset", "keep"])),
        )
        .attribute(Attribute::string("api_url").computed().description("URL of the Kubernetes API.").plan_modifier(use_state_for_unknown()))
        .attribute(
            Attribute::string("ca_certificate")
                .computed()
                .description("PEM certificate of the cluster's Kubernetes CA.")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(
            Attribute::string("kubeconfig")
                .computed()
                .sensitive()
                .description("Admin kubeconfig. Generated once and stable across plans (no perpetual diff).")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(
            Attribute::string("talosconfig")
                .computed()
                .sensitive()
                .description("talosctl client configuration with `os:admin` rights. Stable across plans.")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(access::exported().plan_modifier(use_state_for_unknown()))
        .attribute(nodes())
        .attribute(Attribute::string("status").computed().description("`ready`, or what is degraded."))
        .block(timeouts::block(super::TIMEOUTS)),
    )
}
