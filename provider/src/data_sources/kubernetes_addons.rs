//! `cloudtemple_kubernetes_addons`: the catalog of platform components (Cilium, MetalLB,
//! Rook-Ceph, ingress, Kyverno, ...): their versions, the default version for a Kubernetes
//! version, dependencies, product tiers and the JSON schema of their `configuration_values`.

use crate::catalog::{Addon, Catalog, MinorVersion, TierAvailability, Version};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::one_of;
use tfplugin::{AttributePath, Context, DataSource, Diagnostic, Diagnostics, Type, Value};

/// The data source.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesAddons;

fn addon_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("description", Type::String),
        ("category", Type::String),
        ("namespace", Type::String),
        ("core_tier", Type::String),
        ("full_tier", Type::String),
        ("dependencies", Type::list(Type::String)),
        ("versions", Type::list(Type::String)),
        ("compatible_versions", Type::list(Type::String)),
        ("default_version", Type::String),
        ("configuration_schema", Type::String),
        ("aliases", Type::list(Type::String)),
    ])
}

fn tier_name(t: TierAvailability) -> &'static str {
    match t {
        TierAvailability::Included => "included",
        TierAvailability::Optional => "optional",
        TierAvailability::No => "unavailable",
    }
}

/// The category as written in the catalog files (single lowercase words).
fn category_name(addon: &Addon) -> String {
    format!("{:?}", addon.category).to_ascii_lowercase()
}

fn strings<I: IntoIterator<Item = String>>(items: I) -> Value {
    Value::List(items.into_iter().map(Value::from).collect())
}

fn addon_row(catalog: &Catalog, addon: &Addon, kubernetes: Option<MinorVersion>) -> Value {
    let compatible: Vec<String> = addon
        .versions()
        .iter()
        .filter(|v| kubernetes.is_none_or(|k| v.supports(k)))
        .map(|v| v.version.to_string())
        .collect();
    let minor = kubernetes.unwrap_or_else(|| catalog.default_kubernetes().minor_line());
    let default = addon.default_version_for(minor).ok().map(|v| v.version.to_string());
    let aliases = catalog.aliases().filter(|a| a.alias_of == addon.name).map(|a| a.name.clone());
    Value::object([
        ("name", Value::from(addon.name.clone())),
        ("description", Value::from(addon.description.trim().to_string())),
        ("category", Value::from(category_name(addon))),
        ("namespace", Value::from(addon.namespace.clone())),
        ("core_tier", Value::from(tier_name(addon.tiers.core))),
        ("full_tier", Value::from(tier_name(addon.tiers.full))),
        ("dependencies", strings(addon.dependencies.iter().map(|d| d.name.clone()))),
        ("versions", strings(addon.versions().iter().map(|v| v.version.to_string()))),
        ("compatible_versions", strings(compatible)),
        ("default_version", default.map_or(Value::Null, Value::from)),
        ("configuration_schema", Value::from(addon.configuration_schema.to_string())),
        ("aliases", strings(aliases)),
    ])
}

#[tfplugin::async_trait]
impl DataSource for KubernetesAddons {
    fn type_name(&self) -> &'static str {
        "cloudtemple_kubernetes_addons"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The catalog of platform components that `cloudtemple_kubernetes_addon` installs: versions, the \
                 default version for a Kubernetes version, dependencies, product tiers, and the JSON schema \
                 of each add-on's `configuration_values`.",
            )
            .attribute(
                Attribute::string("kubernetes_version")
                    .optional()
                    .description(
                        "Kubernetes version (`1.36` or `1.36.4`) of the target cluster: `compatible_versions` and \
                         `default_version` are computed for it. Defaults to the default Kubernetes version.",
                    ),
            )
            .attribute(
                Attribute::string("tier")
                    .optional()
                    .description(
                        "Only add-ons offered in this product tier (`core`: Managed Core Kubernetes, `full`: Managed \
                         Kubernetes).",
                    )
                    .validator(one_of(&["core", "full"])),
            )
            .attribute(Attribute::string("id").computed().description("Identifier of this query."))
            .attribute(Attribute::new("names", Type::list(Type::String)).computed().description("Names of the listed add-ons, sorted."))
            .attribute(
                Attribute::new("addons", Type::list(addon_type()))
                    .computed()
                    .description(
                        "The add-ons, sorted by name: `name`, `description`, `category`, default `namespace`, \
                         availability in each tier (`core_tier`, `full_tier`: `included`, `optional` or \
                         `unavailable`), `dependencies` (add-ons to install first), all `versions` (newest \
                         first), the `compatible_versions` for `kubernetes_version`, its `default_version` \
                         (null when none is compatible), `configuration_schema` (JSON Schema of \
                         `configuration_values`), and deprecated `aliases`.",
                    ),
            ),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(v) = config.get_attr("kubernetes_version").and_then(Value::as_str)
            && parse_kubernetes(v).is_none()
        {
            {
                diags.error_at(
                    AttributePath::root().attr("kubernetes_version"),
                    "Invalid Kubernetes version",
                    format!("{v:?} is not a Kubernetes version; write it like `1.36` or `1.36.4`."),
                );
            }
        }
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let catalog = Catalog::embedded();
        let kubernetes = match config.get_attr("kubernetes_version").and_then(Value::as_str) {
            Some(v) => {
                let minor = parse_kubernetes(v).ok_or_else(|| {
                    Diagnostics::from(
                        Diagnostic::error(
                            "Invalid Kubernetes version",
                            format!("{v:?} is not a Kubernetes version."),
                        )
                        .at(AttributePath::root().attr("kubernetes_version")),
                    )
                })?;
                if catalog.kubernetes_release(minor).is_none() {
                    let known: Vec<String> =
                        catalog.kubernetes_versions().iter().map(|r| r.minor.to_string()).collect();
                    return Err(Diagnostic::error(
                        "Unknown Kubernetes version",
                        format!(
                            "Kubernetes {minor} is not in the catalog; known minor versions: {}.",
                            known.join(", ")
                        ),
                    )
                    .at(AttributePath::root().attr("kubernetes_version"))
                    .into());
                }
                Some(minor)
            }
            None => None,
        };
        let tier = config.get_attr("tier").and_then(Value::as_str);
        let addons: Vec<&Addon> = catalog
            .addons()
            .filter(|a| match tier {
                Some("core") => a.tiers.core != TierAvailability::No,
                Some("full") => a.tiers.full != TierAvailability::No,
                _ => true,
            })
            .collect();
        let id = format!(
            "kubernetes-addons:{}:{}",
            kubernetes.map(|k| k.to_string()).unwrap_or_default(),
            tier.unwrap_or_default()
        );
        Ok(Value::object([
            ("kubernetes_version", config.get_attr("kubernetes_version").cloned().unwrap_or(Value::Null)),
            ("tier", config.get_attr("tier").cloned().unwrap_or(Value::Null)),
            ("id", Value::from(id)),
            ("names", strings(addons.iter().map(|a| a.name.clone()))),
            ("addons", Value::List(addons.iter().map(|a| addon_row(catalog, a, kubernetes)).collect())),
        ]))
    }
}

/// `1.36` or `1.36.4` (a leading `v` allowed) → the minor line.
fn parse_kubernetes(text: &str) -> Option<MinorVersion> {
    Version::parse(text).map(|v| v.minor_line()).or_else(|_| MinorVersion::parse(text)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kubernetes: Option<&str>, tier: Option<&str>) -> Value {
        Value::object([
            ("kubernetes_version", kubernetes.map_or(Value::Null, Value::from)),
            ("tier", tier.map_or(Value::Null, Value::from)),
        ])
    }

    fn row<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
        v.get_attr("addons")?
            .as_list()?
            .iter()
            .find(|r| r.get_attr("name").and_then(Value::as_str) == Some(name))
    }

    #[tokio::test]
    async fn lists_the_catalog_with_defaults_dependencies_and_schemas() {
        let v = KubernetesAddons.read(&Context::background(), &config(None, None)).await.unwrap();
        assert!(v.is_wholly_known());
        v.clone().conform(&KubernetesAddons.schema().block.implied_type()).expect("matches schema");
        for name in ["cilium", "hubble", "metallb", "ingress-nginx", "rook-ceph", "kyverno", "opencost"] {
            let r = row(&v, name).unwrap_or_else(|| panic!("{name} listed"));
            assert!(r.get_attr("default_version").and_then(Value::as_str).is_some(), "{name} has a default");
            let schema = r.get_attr("configuration_schema").and_then(Value::as_str).unwrap();
            assert!(serde_json::from_str::<serde_json::Value>(schema).unwrap().is_object(), "{name} schema");
        }
        let hubble = row(&v, "hubble").unwrap();
        assert_eq!(hubble.get_attr("dependencies"), Some(&Value::List(vec![Value::from("cilium")])));
        assert!(row(&v, "kubecost").is_none(), "aliases are not listed as add-ons");
        let opencost = row(&v, "opencost").unwrap();
        assert_eq!(opencost.get_attr("aliases"), Some(&Value::List(vec![Value::from("kubecost")])));
    }

    #[tokio::test]
    async fn core_tier_excludes_full_only_components() {
        let v = KubernetesAddons.read(&Context::background(), &config(None, Some("core"))).await.unwrap();
        assert!(row(&v, "cilium").is_some());
        assert!(row(&v, "harbor").is_none(), "Harbor is not offered in Managed Core Kubernetes");
    }

    #[tokio::test]
    async fn unknown_kubernetes_version_points_at_the_attribute() {
        let err =
            KubernetesAddons.read(&Context::background(), &config(Some("1.2"), None)).await.unwrap_err();
        let d = err.iter().next().unwrap();
        assert_eq!(d.attribute.as_ref().map(ToString::to_string).as_deref(), Some("kubernetes_version"));
        let mut diags = Diagnostics::new();
        KubernetesAddons.validate(&config(Some("latest"), None), &mut diags);
        assert!(diags.has_errors());
    }
}
