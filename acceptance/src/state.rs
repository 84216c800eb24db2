//! A typed view of `terraform show -json` for state (format 0.2 on terraform 1.0.x, 1.0 from 1.1).
//!
//! Only the fields the checks need are typed; unknown fields are ignored, as the JSON format's
//! compatibility promise asks. An empty state prints no `values` at all.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::path::AttrPath;

/// The state document.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct State {
    /// `0.2` on terraform 1.0.x, `1.0` on later versions.
    pub format_version: String,
    /// The terraform that wrote it (absent for an empty state on 1.1+).
    #[serde(default)]
    pub terraform_version: Option<String>,
    /// Outputs and resources; `None` when the state is empty.
    #[serde(default)]
    pub values: Option<Values>,
}

/// Outputs and the module tree, shared by state and by a plan's `planned_values`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Values {
    /// Root module outputs by name.
    #[serde(default)]
    pub outputs: BTreeMap<String, Output>,
    /// The root module.
    #[serde(default)]
    pub root_module: Module,
}

/// One output value.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Output {
    /// Whether the output is marked sensitive (its value is still shown in the JSON).
    #[serde(default)]
    pub sensitive: bool,
    /// The value; absent (null) while unknown in a plan.
    #[serde(default)]
    pub value: Value,
    /// The type constraint (terraform 1.1+ only).
    #[serde(default, rename = "type")]
    pub type_constraint: Option<Value>,
}

/// A module and its resources.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Module {
    /// `module.name`, absent for the root module.
    #[serde(default)]
    pub address: Option<String>,
    /// Resources directly in this module.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Nested modules.
    #[serde(default)]
    pub child_modules: Vec<Module>,
}

/// Managed resource or data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A `resource` block.
    Managed,
    /// A `data` block.
    Data,
}

/// One resource instance.
#[derive(Clone, Debug, Deserialize)]
pub struct Resource {
    /// Full address, `cloudtemple_kubernetes_cluster.c` or `module.m.x.y[0]`.
    pub address: String,
    /// Managed or data.
    pub mode: Mode,
    /// The resource type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The name in configuration.
    pub name: String,
    /// The `count` or `for_each` key, if any.
    #[serde(default)]
    pub index: Option<Value>,
    /// The provider's full source address.
    pub provider_name: String,
    /// The schema version the values were written with.
    #[serde(default)]
    pub schema_version: u64,
    /// Attribute values, sensitive ones included in clear.
    #[serde(default)]
    pub values: Value,
    /// Mask with `true` at sensitive attributes (terraform 1.0+).
    #[serde(default)]
    pub sensitive_values: Value,
    /// Whether the instance is tainted.
    #[serde(default)]
    pub tainted: bool,
    /// Set on deposed instances (left over from a failed create-before-destroy).
    #[serde(default)]
    pub deposed_key: Option<String>,
}

impl State {
    /// Parses the output of `terraform show -json` run on a state.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Every resource instance in every module, in document order.
    pub fn resources(&self) -> Vec<&Resource> {
        let mut all = Vec::new();
        if let Some(values) = &self.values {
            collect(&values.root_module, &mut all);
        }
        all
    }

    /// Managed resource instances only: what must be gone after a destroy.
    pub fn managed_resources(&self) -> Vec<&Resource> {
        self.resources().into_iter().filter(|resource| resource.mode == Mode::Managed).collect()
    }

    /// The resource instance at `address` (not deposed).
    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.resources()
            .into_iter()
            .find(|resource| resource.address == address && resource.deposed_key.is_none())
    }

    /// The output named `name`.
    pub fn output(&self, name: &str) -> Option<&Output> {
        self.values.as_ref()?.outputs.get(name)
    }

    /// True when there is no managed resource left (outputs and data sources do not count).
    pub fn has_no_managed_resources(&self) -> bool {
        self.managed_resources().is_empty()
    }

    /// The addresses of all resource instances, for messages.
    pub fn addresses(&self) -> Vec<String> {
        self.resources().into_iter().map(|resource| resource.address.clone()).collect()
    }
}

fn collect<'s>(module: &'s Module, all: &mut Vec<&'s Resource>) {
    all.extend(module.resources.iter());
    for child in &module.child_modules {
        collect(child, all);
    }
}

impl Resource {
    /// The value at `path` (`None` when the path does not exist; `Some(Null)` when it is null).
    pub fn attr(&self, path: &str) -> Result<Option<&Value>, Error> {
        Ok(AttrPath::parse(path)?.get(&self.values))
    }

    /// Whether terraform marks the value at `path` (or a parent of it) sensitive.
    pub fn is_sensitive(&self, path: &str) -> Result<bool, Error> {
        Ok(AttrPath::parse(path)?.is_marked(&self.sensitive_values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Shaped after `terraform show -json` of terraform 1.0.3: format 0.2, a module, a data source.
    const STATE_1_0_3: &str = r#"{
      "format_version": "0.2",
      "terraform_version": "1.0.3",
      "values": {
        "outputs": {
          "endpoint": {"sensitive": false, "value": "https://127.0.10.1:6443"},
          "kubeconfig": {"sensitive": true, "value": "apiVersion: v1\n"}
        },
        "root_module": {
          "resources": [
            {
              "address": "cloudtemple_kubernetes_cluster.c",
              "mode": "managed",
              "type": "cloudtemple_kubernetes_cluster",
              "name": "c",
              "provider_name": "registry.terraform.io/cloudtemple/cloudtemple",
              "schema_version": 0,
              "values": {
                "id": "c1",
                "name": "c1",
                "kubeconfig": "apiVersion: v1\n",
                "network": {"pod_cidr": "10.244.0.0/16", "dns_domain": "c1-cluster.local"},
                "control_plane": [{"address": "127.0.10.1", "zone": "az05"}],
                "config_patches": null
              },
              "sensitive_values": {"kubeconfig": true, "network": {}, "control_plane": [{}]}
            },
            {
              "address": "data.cloudtemple_kubernetes_versions.all",
              "mode": "data",
              "type": "cloudtemple_kubernetes_versions",
              "name": "all",
              "provider_name": "registry.terraform.io/cloudtemple/cloudtemple",
              "schema_version": 0,
              "values": {"id": "versions", "kubernetes": ["1.31.4", "1.32.0"]},
              "sensitive_values": {"kubernetes": [false, false]}
            }
          ],
          "child_modules": [
            {
              "address": "module.addons",
              "resources": [
                {
                  "address": "module.addons.cloudtemple_kubernetes_addon.a[\"cilium\"]",
                  "mode": "managed",
                  "type": "cloudtemple_kubernetes_addon",
                  "name": "a",
                  "index": "cilium",
                  "provider_name": "registry.terraform.io/cloudtemple/cloudtemple",
                  "schema_version": 0,
                  "values": {"id": "c1/cilium", "name": "cilium"},
                  "sensitive_values": {}
                }
              ]
            }
          ]
        }
      }
    }"#;

    /// Shaped after terraform 1.11: format 1.0, outputs carry their type.
    const STATE_1_11: &str = r#"{
      "format_version": "1.0",
      "terraform_version": "1.11.4",
      "values": {
        "outputs": {"n": {"sensitive": false, "value": 3, "type": "number"}},
        "root_module": {
          "resources": [
            {
              "address": "tfexample_thing.a[0]",
              "mode": "managed",
              "type": "tfexample_thing",
              "name": "a",
              "index": 0,
              "provider_name": "example.com/test/tfexample",
              "schema_version": 1,
              "values": {"id": "a", "secret": "s3cr3t"},
              "sensitive_values": {"secret": true},
              "tainted": true
            }
          ]
        }
      }
    }"#;

    #[test]
    fn reads_a_1_0_3_state_with_modules_and_data_sources() {
        let state = State::from_json(STATE_1_0_3).unwrap();
        assert_eq!(state.format_version, "0.2");
        assert_eq!(state.terraform_version.as_deref(), Some("1.0.3"));
        assert_eq!(
            state.addresses(),
            [
                "cloudtemple_kubernetes_cluster.c",
                "data.cloudtemple_kubernetes_versions.all",
                "module.addons.cloudtemple_kubernetes_addon.a[\"cilium\"]"
            ]
        );
        assert_eq!(state.managed_resources().len(), 2);
        assert!(!state.has_no_managed_resources());

        let cluster = state.resource("cloudtemple_kubernetes_cluster.c").unwrap();
        assert_eq!(cluster.mode, Mode::Managed);
        assert_eq!(cluster.type_name, "cloudtemple_kubernetes_cluster");
        assert_eq!(cluster.attr("network.pod_cidr").unwrap(), Some(&json!("10.244.0.0/16")));
        assert_eq!(cluster.attr("control_plane[0].zone").unwrap(), Some(&json!("az05")));
        assert_eq!(cluster.attr("config_patches").unwrap(), Some(&Value::Null));
        assert_eq!(cluster.attr("nope").unwrap(), None);
        assert!(cluster.is_sensitive("kubeconfig").unwrap());
        assert!(!cluster.is_sensitive("network.pod_cidr").unwrap());
        assert!(cluster.attr("a..b").is_err());

        let addon = state.resource("module.addons.cloudtemple_kubernetes_addon.a[\"cilium\"]").unwrap();
        assert_eq!(addon.index, Some(json!("cilium")));

        let kubeconfig = state.output("kubeconfig").unwrap();
        assert!(kubeconfig.sensitive);
        assert_eq!(kubeconfig.value, json!("apiVersion: v1\n"));
        assert_eq!(kubeconfig.type_constraint, None);
    }

    #[test]
    fn reads_a_1_11_state() {
        let state = State::from_json(STATE_1_11).unwrap();
        assert_eq!(state.format_version, "1.0");
        let thing = state.resource("tfexample_thing.a[0]").unwrap();
        assert!(thing.tainted);
        assert_eq!(thing.schema_version, 1);
        assert!(thing.is_sensitive("secret").unwrap());
        assert_eq!(state.output("n").unwrap().type_constraint, Some(json!("number")));
    }

    #[test]
    fn reads_empty_states_of_both_versions() {
        for text in [r#"{"format_version":"0.2"}"#, r#"{"format_version":"1.0"}"#] {
            let state = State::from_json(text).unwrap();
            assert!(state.resources().is_empty());
            assert!(state.has_no_managed_resources());
            assert!(state.output("x").is_none());
        }
        // After destroying a config with outputs only, 1.0.3 keeps an empty root module.
        let state = State::from_json(
            r#"{"format_version":"0.2","terraform_version":"1.0.3","values":{"root_module":{}}}"#,
        )
        .unwrap();
        assert!(state.resources().is_empty());
    }
}
