//! The schema of `cloudtemple_kubernetes_addon`.

use super::TIMEOUTS;
use crate::catalog::Catalog;
use crate::resources::{access, timeouts};
use tfplugin::Type;
use tfplugin::plan::{default_value, requires_replace, semantic_json, use_state_for_unknown};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::{json, one_of};

/// The schema.
pub fn schema() -> Schema {
    let catalog = Catalog::embedded();
    let mut names: Vec<String> = catalog.addons().map(|a| a.name.clone()).collect();
    names.extend(catalog.aliases().map(|a| a.name.clone()));
    names.sort();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Schema::new(
        Block::new(
            "A platform component of Cloud Temple Managed Kubernetes (Cilium, MetalLB, Rook-Ceph, ingress, \
             Kyverno, ...) installed from the provider's catalog with server-side apply.\n\n\
             Versions and configuration are checked at plan: an incompatible version, a downgrade or invalid \
             `configuration_values` fail the plan with the attribute (and JSON) path. Objects dropped by a new \
             version or configuration are pruned; an object deleted or changed out of band shows as an update.\n\n\
             An add-on that needs another (`hubble` needs `cilium`, `ingress-nginx` needs `metallb`) checks at apply \
             that it is installed on the cluster; when both are created in the same apply, add \
             `depends_on = [cloudtemple_kubernetes_addon.<dependency>]` so Terraform installs it first.\n\n\
             Import with the ID `<name>,access=<path to a JSON file holding the cluster's access object>`, for example \
             `terraform output -json cluster_access > access.json` with an output of the cluster's `access`: \
             the credentials must come from outside since an import sees no configuration.",
        )
        .attribute(
            Attribute::string("id")
                .computed()
                .description("Add-on identifier: `<cluster id>:<name>`.")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(access::argument())
        .attribute(
            Attribute::string("name")
                .required()
                .description("Catalog name of the component (see `cloudtemple_kubernetes_addons`). `kubecost` is a deprecated alias of `opencost`.")
                .validator(one_of(&names))
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::string("version")
                .optional_computed()
                .description(
                    "Version to install. Defaults to the catalog's default for the cluster's Kubernetes version. \
                     Upgrades happen in place; downgrades are refused at plan.",
                ),
        )
        .attribute(
            Attribute::string("configuration_values")
                .optional()
                .description(
                    "Configuration as JSON (use `jsonencode`), validated against the add-on's schema at plan. \
                     Equal documents never produce a diff.",
                )
                .validator(json())
                .plan_modifier(semantic_json()),
        )
        .attribute(
            Attribute::string("conflict_resolution")
                .optional_computed()
                .description(
                    "When another field manager owns a field the add-on sets: `none` fails with the conflicting \
                     fields and their managers; `overwrite` takes them over (server-side apply force).",
                )
                .validator(one_of(&["none", "overwrite"]))
                .plan_modifier(default_value("none", "\"none\"")),
        )
        .attribute(
            Attribute::bool("preserve")
                .optional_computed()
                .description("Keep the installed objects in the cluster when this resource is destroyed.")
                .plan_modifier(default_value(false, "false")),
        )
        .attribute(
            Attribute::bool("wait")
                .optional_computed()
                .description("Wait until the add-on's workloads are ready before finishing create and update.")
                .plan_modifier(default_value(true, "true")),
        )
        .attribute(Attribute::string("namespace").computed().description("Namespace the add-on runs in."))
        .attribute(Attribute::string("status").computed().description(
            "`ready` (applied and waited for), `applied` (with `wait = false`), or `drifted: ...` when a refresh finds \
             an object deleted or changed out of band (the plan then shows an update that re-applies it).",
        ))
        .attribute(
            Attribute::new("managed_objects", Type::list(Type::String))
                .computed()
                .description(
                    "Objects the add-on manages, as `<apiVersion>//<Kind>//<namespace>//<name>` (`<apiVersion>//<Kind>//<name>` \
                     when cluster-scoped): the inventory that pruning and deletion use. Known at plan once the version is.",
                ),
        )
        .block(timeouts::block(TIMEOUTS)),
    )
}
