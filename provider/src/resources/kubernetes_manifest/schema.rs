//! The schema of `cloudtemple_kubernetes_manifest`.

use super::TIMEOUTS;
use crate::resources::{access, timeouts};
use tfplugin::Type;
use tfplugin::plan::{default_value, semantic_yaml, use_state_for_unknown};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::{one_of, yaml};

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new(
            "Any Kubernetes object (a StorageClass, a Kyverno policy, an ArgoCD Application), server-side \
             applied with the cluster's credentials.\n\n\
             Set exactly one of `manifest` (an HCL object) or `yaml_body`; `apiVersion`, `kind` and \
             `metadata.name` are required, and built-in cluster-scoped kinds take no namespace (checked at plan). \
             A namespaced object that names no namespace goes to `default`.\n\n\
             The object is applied with Kubernetes server-side apply under the provider's `field_manager`. Fields \
             another manager changed since make the apply fail with the list of fields and managers, unless \
             `conflict_resolution = \"overwrite\"`. Fields set by others and not in the configuration are left \
             alone.\n\n\
             When the object's kind comes from a CRD installed in the same apply (by an add-on or another \
             manifest), the plan still succeeds (only `namespace` and `id` may be unknown) and the apply waits up \
             to a minute for the kind to be served.\n\n\
             Refresh compares the fields of the configuration with the live object: an object deleted out of band \
             is planned for creation, an edited field shows as an update back to the configuration. Delete waits \
             until the object is gone (finalizers included) unless `wait = false`.",
        )
        .attribute(
            Attribute::string("id")
                .computed()
                .description(
                    "Object identifier: `<apiVersion>//<Kind>//<namespace>//<name>`, or `<apiVersion>//<Kind>//<name>` for a \
                     cluster-scoped object (the import ID starts with it).",
                )
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(access::argument())
        .attribute(Attribute::new("manifest", Type::Dynamic).optional().description(
            "The object, as an HCL object (`{ apiVersion = ..., kind = ..., metadata = { name = ... }, ... }`).",
        ))
        .attribute(
            Attribute::string("yaml_body")
                .optional()
                .description("The object, as one YAML document (a heredoc, `file(...)` or `yamlencode(...)`).")
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
        .attribute(Attribute::string("namespace").computed().description(
            "Namespace (null for cluster-scoped kinds; `default` when a namespaced object names none). Unknown in \
             the plan when the kind comes from a CRD the cluster does not serve yet.",
        ))
        .attribute(Attribute::string("name").computed().description("Name of the object."))
        .attribute(Attribute::string("uid").computed().description("UID assigned by the API server.").plan_modifier(use_state_for_unknown()))
        .block(timeouts::block(TIMEOUTS)),
    )
}
