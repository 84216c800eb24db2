//! The `cloudtemple` provider: its configuration and the single registration list of its types.

use crate::{data_sources, resources};
use std::sync::{Arc, OnceLock};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::validate::{int_between, non_empty};
use tfplugin::{Context, DataSource, Diagnostics, Provider, Resource, Value};

/// Registry address of the provider.
pub const ADDRESS: &str = "registry.terraform.io/cloud-temple/cloudtemple";

/// The field manager used for server-side apply unless configured otherwise.
pub const DEFAULT_FIELD_MANAGER: &str = "terraform-provider-cloudtemple";

/// Default number of nodes the provider talks to at once.
pub const DEFAULT_MAX_PARALLEL_NODES: i64 = 16;

/// Settings from the `provider "cloudtemple"` block, shared with every resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Server-side apply field manager.
    pub field_manager: String,
    /// How many nodes are configured, upgraded or read at once.
    pub max_parallel_nodes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            field_manager: DEFAULT_FIELD_MANAGER.to_string(),
            max_parallel_nodes: DEFAULT_MAX_PARALLEL_NODES as usize,
        }
    }
}

/// Configured settings, readable by resources; defaults until `configure` runs.
#[derive(Clone, Debug, Default)]
pub struct SharedSettings(Arc<OnceLock<Settings>>);

impl SharedSettings {
    /// The settings in force.
    pub fn get(&self) -> Settings {
        self.0.get().cloned().unwrap_or_default()
    }
}

/// The provider.
#[derive(Debug, Default)]
pub struct CloudTempleProvider {
    settings: SharedSettings,
}

impl CloudTempleProvider {
    /// A provider with default settings.
    pub fn new() -> Self {
        Self::default()
    }
}

#[tfplugin::async_trait]
impl Provider for CloudTempleProvider {
    fn name(&self) -> &'static str {
        "cloudtemple"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "The Cloud Temple provider manages Cloud Temple Managed Kubernetes: Kubernetes clusters on Talos \
                 Linux, their node pools, and their platform components.\n\n\
                 Cluster credentials are attributes of the resources, not provider settings, so a cluster and \
                 everything running on it can be created in a single `terraform apply`. The provider block \
                 therefore needs no credentials.",
            )
            .attribute(
                Attribute::string("field_manager")
                    .optional()
                    .description(format!(
                        "Field manager name used for Kubernetes server-side apply. Defaults to `{DEFAULT_FIELD_MANAGER}`."
                    ))
                    .validator(non_empty()),
            )
            .attribute(
                Attribute::number("max_parallel_nodes")
                    .optional()
                    .description(format!(
                        "How many nodes the provider configures, upgrades or reads at once. Defaults to \
                         `{DEFAULT_MAX_PARALLEL_NODES}`. Rolling upgrades stay sequential where etcd quorum requires it."
                    ))
                    .validator(int_between(1, 256)),
            ),
        )
    }

    async fn configure(&self, _ctx: &Context, config: &Value, terraform_version: &str) -> Diagnostics {
        let mut settings = Settings::default();
        if let Some(v) = config.get_attr("field_manager").and_then(Value::as_str) {
            settings.field_manager = v.to_string();
        }
        if let Some(n) = config.get_attr("max_parallel_nodes").and_then(Value::as_i64) {
            settings.max_parallel_nodes = usize::try_from(n).unwrap_or(1).max(1);
        }
        tracing::debug!(
            terraform_version,
            max_parallel_nodes = settings.max_parallel_nodes,
            "provider configured"
        );
        let _ = self.settings.0.set(settings);
        Diagnostics::new()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        resources::all(&self.settings)
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        data_sources::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::schema::rules::check_block;

    /// Terraform refuses a provider with an invalid schema (and 1.0.3 may panic on one), so every
    /// schema the provider serves is checked against core's rules here.
    #[test]
    fn every_schema_follows_terraform_rules_and_is_documented() {
        let p = CloudTempleProvider::new();
        let mut problems = Vec::new();
        let mut check = |kind: &str, name: &str, schema: &Schema| {
            if schema.block.description.trim().is_empty() {
                problems.push(format!("{kind} {name}: no description"));
            }
            for v in check_block(&schema.block) {
                problems.push(format!("{kind} {name}: {v}"));
            }
        };
        check("provider", "cloudtemple", &p.schema());
        for r in p.resources() {
            assert!(r.type_name().starts_with("cloudtemple_"), "{}", r.type_name());
            check("resource", r.type_name(), &r.schema());
        }
        for d in p.data_sources() {
            assert!(d.type_name().starts_with("cloudtemple_"), "{}", d.type_name());
            check("data source", d.type_name(), &d.schema());
        }
        assert!(problems.is_empty(), "schema problems:\n{}", problems.join("\n"));
    }
}
