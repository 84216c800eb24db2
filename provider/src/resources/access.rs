//! The `access` object: everything another resource needs to reach a cluster (Kubernetes API
//! and Talos API endpoints, CAs and admin client credentials). The cluster resource exports it
//! as a sensitive computed attribute; node pools, add-ons and manifests take it as their
//! `cluster` argument. Passing credentials as a resource attribute instead of provider
//! configuration is what lets one `terraform apply` create a cluster and what runs on it.

use tfplugin::Type;
use tfplugin::schema::Attribute;

/// The object type of `access`.
pub fn access_type() -> Type {
    Type::object([
        ("cluster_id", Type::String),
        ("cluster_name", Type::String),
        ("topology", Type::String),
        ("api_url", Type::String),
        ("ca_certificate", Type::String),
        ("client_certificate", Type::String),
        ("client_key", Type::String),
        ("talos_endpoints", Type::list(Type::String)),
        ("talos_ca_certificate", Type::String),
        ("talos_client_certificate", Type::String),
        ("talos_client_key", Type::String),
        ("kubernetes_version", Type::String),
        ("talos_version", Type::String),
        ("secrets", Type::String),
        ("pod_cidr", Type::String),
        ("service_cidr", Type::String),
        ("dns_domain", Type::String),
    ])
}

const FIELDS: &str = "`cluster_id`, `cluster_name`, `topology`, `api_url`, `ca_certificate`, \
    `client_certificate`, `client_key` (Kubernetes admin credentials), `talos_endpoints`, \
    `talos_ca_certificate`, `talos_client_certificate`, `talos_client_key` (Talos `os:admin` credentials), \
    `kubernetes_version`, `talos_version`, `secrets` (the Talos secrets bundle, which node pools need to \
    join nodes), and the cluster networks `pod_cidr`, `service_cidr` and `dns_domain`";

/// The computed `access` attribute of `cloudtemple_kubernetes_cluster`.
pub fn exported() -> Attribute {
    Attribute::new("access", access_type()).computed().sensitive().description(format!(
        "Everything other resources need to reach this cluster: {FIELDS}. Pass it whole as the `cluster` \
         argument of `cloudtemple_kubernetes_node_pool`, `cloudtemple_kubernetes_addon` and \
         `cloudtemple_kubernetes_manifest`."
    ))
}

/// The required `cluster` argument of resources that act on a cluster.
pub fn argument() -> Attribute {
    Attribute::new("cluster", access_type()).required().sensitive().description(
        "The `access` attribute of the `cloudtemple_kubernetes_cluster` to act on. It may be unknown at plan \
         time (the cluster is created in the same apply).",
    )
}
