//! `cloudtemple_kubernetes_versions`: the Kubernetes and Talos versions the provider supports
//! under Cloud Temple's N-2 policy, the defaults, and the Talos ↔ Kubernetes matrix. Reading
//! versions from here instead of hard-coding them avoids plans that drift when versions move.

use crate::catalog::{Catalog, KubernetesRelease, TalosRelease};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::non_empty;
use tfplugin::{Context, DataSource, Diagnostic, Diagnostics, Type, Value};

/// The data source.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesVersions;

fn kubernetes_type() -> Type {
    Type::object([
        ("version", Type::String),
        ("minor", Type::String),
        ("released", Type::String),
        ("end_of_life", Type::String),
        ("cloudtemple_end_of_support", Type::String),
        ("supported", Type::Bool),
        ("default", Type::Bool),
        ("note", Type::String),
    ])
}

fn talos_type() -> Type {
    Type::object([
        ("version", Type::String),
        ("minor", Type::String),
        ("installer_image", Type::String),
        ("kubernetes_min", Type::String),
        ("kubernetes_max", Type::String),
        ("upgrade_from", Type::String),
        ("default", Type::Bool),
    ])
}

fn opt_string<T: ToString>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |s| Value::from(s.to_string()))
}

fn kubernetes_row(catalog: &Catalog, r: &KubernetesRelease) -> Value {
    let supported = catalog.supported_kubernetes().iter().any(|s| s.minor == r.minor);
    Value::object([
        ("version", Value::from(r.latest_patch.to_string())),
        ("minor", Value::from(r.minor.to_string())),
        ("released", Value::from(r.released.to_string())),
        ("end_of_life", Value::from(r.end_of_life.to_string())),
        ("cloudtemple_end_of_support", opt_string(catalog.cloudtemple_end_of_support(r.minor))),
        ("supported", Value::from(supported)),
        ("default", Value::from(catalog.default_kubernetes().minor_line() == r.minor)),
        ("note", opt_string(r.note.as_deref())),
    ])
}

fn talos_row(catalog: &Catalog, t: &TalosRelease) -> Value {
    Value::object([
        ("version", Value::from(t.latest_patch.to_string())),
        ("minor", Value::from(t.minor.to_string())),
        ("installer_image", Value::from(t.installer_image.clone())),
        ("kubernetes_min", opt_string(t.kubernetes.min)),
        ("kubernetes_max", opt_string(t.kubernetes.max)),
        ("upgrade_from", Value::from(t.upgrade_from.to_string())),
        ("default", Value::from(catalog.default_talos() == t.latest_patch)),
    ])
}

#[tfplugin::async_trait]
impl DataSource for KubernetesVersions {
    fn type_name(&self) -> &'static str {
        "cloudtemple_kubernetes_versions"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Kubernetes and Talos versions for Cloud Temple Managed Kubernetes clusters.\n\n\
                 Cloud Temple supports the current Kubernetes minor version and the two before it (N-2); each \
                 Talos release supports a range of Kubernetes versions. Use this data source to pick versions \
                 instead of hard-coding them, and to check an upgrade path before planning it.",
            )
            .attribute(
                Attribute::string("version_prefix")
                    .optional()
                    .description(
                        "Only Kubernetes versions starting with this prefix, e.g. `1.36` or `1.36.`. \
                         `latest_kubernetes_version` is then the newest matching version.",
                    )
                    .validator(non_empty()),
            )
            .attribute(
                Attribute::bool("include_unsupported")
                    .optional()
                    .description(
                        "Also list Kubernetes minor versions outside the supported N-2 window (for upgrade \
                         paths of older clusters). Defaults to `false`.",
                    ),
            )
            .attribute(Attribute::string("id").computed().description("Identifier of this query."))
            .attribute(Attribute::string("as_of").computed().description("Date the version facts were last reconciled with their sources (`YYYY-MM-DD`)."))
            .attribute(
                Attribute::string("latest_kubernetes_version")
                    .computed()
                    .description("Newest listed Kubernetes version (matching `version_prefix` when set)."),
            )
            .attribute(
                Attribute::string("default_kubernetes_version")
                    .computed()
                    .description("Kubernetes version a new cluster gets when `kubernetes_version` is not set."),
            )
            .attribute(
                Attribute::string("default_talos_version")
                    .computed()
                    .description("Talos version a new cluster gets when `talos_version` is not set."),
            )
            .attribute(
                Attribute::new("supported_kubernetes_minors", Type::list(Type::String))
                    .computed()
                    .description("The supported Kubernetes minor versions (N-2 window), newest first."),
            )
            .attribute(
                Attribute::new("kubernetes_versions", Type::list(kubernetes_type()))
                    .computed()
                    .description(
                        "Kubernetes minor versions, newest first: `version` (latest patch), `minor`, `released`, \
                         `end_of_life` (upstream), `cloudtemple_end_of_support` (null while the N+3 release \
                         is not out), `supported` (in the N-2 window), `default`, and `note`.",
                    ),
            )
            .attribute(
                Attribute::new("talos_versions", Type::list(talos_type()))
                    .computed()
                    .description(
                        "Talos versions, newest first: `version`, `minor`, `installer_image`, the Kubernetes \
                         range it supports (`kubernetes_min`, `kubernetes_max`), the oldest Talos minor it \
                         upgrades from directly (`upgrade_from`), and `default`.",
                    ),
            )
            .attribute(
                Attribute::new(
                    "compatibility",
                    Type::list(Type::object([
                        ("talos_version", Type::String),
                        ("kubernetes_minors", Type::list(Type::String)),
                    ])),
                )
                .computed()
                .description("The Talos ↔ Kubernetes matrix: for each Talos version, the listed Kubernetes minors it runs."),
            )
            .attribute(Attribute::string("support_policy").computed().description("Cloud Temple's version policy, in words.")),
        )
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let catalog = Catalog::embedded();
        let prefix = config.get_attr("version_prefix").and_then(Value::as_str).unwrap_or_default();
        let include_unsupported =
            config.get_attr("include_unsupported").and_then(Value::as_bool).unwrap_or(false);
        let releases =
            if include_unsupported { catalog.kubernetes_versions() } else { catalog.supported_kubernetes() };
        let matching: Vec<&KubernetesRelease> =
            releases.iter().filter(|r| r.latest_patch.to_string().starts_with(prefix)).collect();
        let Some(latest) = matching.first() else {
            let listed: Vec<String> = releases.iter().map(|r| r.latest_patch.to_string()).collect();
            return Err(Diagnostic::error(
                "No matching Kubernetes version",
                format!(
                    "No {}Kubernetes version starts with {prefix:?}. Listed versions: {}.",
                    if include_unsupported { "" } else { "supported " },
                    listed.join(", ")
                ),
            )
            .at(tfplugin::AttributePath::root().attr("version_prefix"))
            .into());
        };
        let policy = catalog.policy();
        let policy_text = format!(
            "The newest {} Kubernetes minor versions are supported (N-{}), about {} months each; the oldest \
             reaches end of support {} days after a new minor version is released. Upgrades go one minor version \
             at a time, about {} times a year.",
            policy.supported_minors,
            policy.supported_minors.saturating_sub(1),
            policy.support_months,
            policy.end_of_support_days_after_n,
            policy.upgrade_windows_per_year
        );
        let compatibility = catalog
            .compatibility_matrix()
            .iter()
            .map(|row| {
                Value::object([
                    ("talos_version", Value::from(row.talos.latest_patch.to_string())),
                    (
                        "kubernetes_minors",
                        Value::List(
                            row.kubernetes.iter().map(|k| Value::from(k.minor.to_string())).collect(),
                        ),
                    ),
                ])
            })
            .collect();
        let id = format!("kubernetes-versions:{prefix}:{include_unsupported}");
        Ok(Value::object([
            ("version_prefix", config.get_attr("version_prefix").cloned().unwrap_or(Value::Null)),
            ("include_unsupported", config.get_attr("include_unsupported").cloned().unwrap_or(Value::Null)),
            ("id", Value::from(id)),
            ("as_of", Value::from(catalog.as_of().to_string())),
            ("latest_kubernetes_version", Value::from(latest.latest_patch.to_string())),
            ("default_kubernetes_version", Value::from(catalog.default_kubernetes().to_string())),
            ("default_talos_version", Value::from(catalog.default_talos().to_string())),
            (
                "supported_kubernetes_minors",
                Value::List(
                    catalog.supported_kubernetes().iter().map(|r| Value::from(r.minor.to_string())).collect(),
                ),
            ),
            (
                "kubernetes_versions",
                Value::List(matching.iter().map(|r| kubernetes_row(catalog, r)).collect()),
            ),
            (
                "talos_versions",
                Value::List(catalog.talos_versions().iter().map(|t| talos_row(catalog, t)).collect()),
            ),
            ("compatibility", Value::List(compatibility)),
            ("support_policy", Value::from(policy_text)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(prefix: Option<&str>, unsupported: Option<bool>) -> Value {
        Value::object([
            ("version_prefix", prefix.map_or(Value::Null, Value::from)),
            ("include_unsupported", unsupported.map_or(Value::Null, Value::from)),
        ])
    }

    #[tokio::test]
    async fn lists_the_supported_window_and_defaults() {
        let v = KubernetesVersions.read(&Context::background(), &config(None, None)).await.unwrap();
        let catalog = Catalog::embedded();
        let minors = v.get_attr("supported_kubernetes_minors").unwrap().as_list().unwrap();
        assert_eq!(minors.len(), catalog.policy().supported_minors);
        let rows = v.get_attr("kubernetes_versions").unwrap().as_list().unwrap();
        assert_eq!(rows.len(), minors.len(), "only supported lines without include_unsupported");
        assert!(rows.iter().all(|r| r.get_attr("supported") == Some(&Value::from(true))));
        assert_eq!(
            v.get_attr("default_kubernetes_version").and_then(Value::as_str),
            Some(catalog.default_kubernetes().to_string().as_str())
        );
        assert!(v.is_wholly_known());
        let ty = KubernetesVersions.schema().block.implied_type();
        v.clone().conform(&ty).expect("result matches the schema");
    }

    #[tokio::test]
    async fn prefix_filters_and_bad_prefix_points_at_the_attribute() {
        let catalog = Catalog::embedded();
        let minor = catalog.supported_kubernetes()[1].minor.to_string();
        let v = KubernetesVersions.read(&Context::background(), &config(Some(&minor), None)).await.unwrap();
        let latest = v.get_attr("latest_kubernetes_version").and_then(Value::as_str).unwrap();
        assert!(latest.starts_with(&minor), "{latest} vs {minor}");
        let err =
            KubernetesVersions.read(&Context::background(), &config(Some("0.1"), None)).await.unwrap_err();
        let d = err.iter().next().unwrap();
        assert_eq!(d.attribute.as_ref().map(ToString::to_string).as_deref(), Some("version_prefix"));
        let all = KubernetesVersions.read(&Context::background(), &config(None, Some(true))).await.unwrap();
        assert_eq!(
            all.get_attr("kubernetes_versions").unwrap().as_list().unwrap().len(),
            catalog.kubernetes_versions().len()
        );
    }
}
