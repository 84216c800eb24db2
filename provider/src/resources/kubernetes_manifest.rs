//! `cloudtemple_kubernetes_manifest`: any Kubernetes object, server-side applied with the
//! cluster's `access`.
//!
//! Schema only for now (see `issues show 5`).

use super::{access, timeouts};
use tfplugin::Type;
use tfplugin::plan::{default_value, semantic_yaml, use_state_for_unknown};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::{one_of, yaml};

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_manifest";

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new(
            "Any Kubernetes object (a StorageClass, a Kyverno policy, an ArgoCD Application), server-side \
             applied with the cluster's credentials.\n\n\
             Set exactly one of `manifest` (an HCL object) or `yaml_body`. When the object's kind comes from a \
             CRD installed in the same apply (by an add-on), the plan still succeeds and the kind is resolved \
             at apply.",
        )
        .attribute(
            Attribute::string("id")
                .computed()
                .description("Object identifier (`<cluster id>:<apiVersion>:<Kind>:<namespace>/<name>`, also the import ID).")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(access::argument())
        .attribute(Attribute::new("manifest", Type::Dynamic).optional().description("The object, as an HCL object."))
        .attribute(
            Attribute::string("yaml_body")
                .optional()
                .description("The object, as one YAML document (use `yamlencode` or a file).")
                .validator(yaml())
                .plan_modifier(semantic_yaml()),
        )
        .attribute(
            Attribute::string("conflict_resolution")
                .optional_computed()
                .description("`none` fails on fields owned by another manager; `overwrite` takes them over.")
                .validator(one_of(&["none", "overwrite"]))
                .plan_modifier(default_value("none", "\"none\"")),
        )
        .attribute(
            Attribute::bool("wait")
                .optional_computed()
                .description("Wait for workloads to roll out and for the object to be gone on delete.")
                .plan_modifier(default_value(true, "true")),
        )
        .attribute(Attribute::string("api_version").computed().description("`apiVersion` of the object."))
        .attribute(Attribute::string("kind").computed().description("`kind` of the object."))
        .attribute(Attribute::string("namespace").computed().description("Namespace (null for cluster-scoped kinds)."))
        .attribute(Attribute::string("name").computed().description("Name of the object."))
        .attribute(Attribute::string("uid").computed().description("UID assigned by the API server.").plan_modifier(use_state_for_unknown()))
        .block(timeouts::block(["10m", "10m", "10m"])),
    )
}
