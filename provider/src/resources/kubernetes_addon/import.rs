//! Import: `<name>,access=<path to a JSON file holding the cluster's access object>`, the same
//! `access=` convention as `cloudtemple_kubernetes_manifest`.
//!
//! An import sees no configuration, and the `cluster` argument (credentials) is part of the
//! state, so it must come from outside: `terraform output -json <output of the cluster's
//! access>` writes exactly that object. The add-on's version, configuration and inventory come
//! from its record ConfigMap in the cluster (written by every apply); `conflict_resolution`,
//! `preserve`, `wait` and `timeouts` come back as their defaults. The refresh that follows
//! checks the objects, so the plan after an import is empty when nothing drifted.

use super::apply::client;
use super::spec::{AddonError, record_ref, settled_status};
use crate::catalog::Catalog;
use crate::kube::Budget;
use crate::provider::SharedSettings;
use crate::resources::access::access_type;
use std::time::Duration;
use tfplugin::resource::Imported;
use tfplugin::{Context, Diagnostic, Diagnostics, Type, Value};

/// The documented form of the import ID.
pub const ID_FORMAT: &str = "<name>,access=<path to a JSON file holding the cluster's access object>";

fn bad_id(id: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("Invalid import ID", format!("{id:?}: {why}. The import ID is {ID_FORMAT}."))
}

/// The `cluster` value from the access JSON (every attribute of the access type, null when
/// the file lacks it).
pub fn access_from_json(json: &serde_json::Value) -> Result<Value, String> {
    let Type::Object(attributes) = access_type() else { unreachable!("access is an object type") };
    let object = json.as_object().ok_or("the file must hold a JSON object")?;
    let mut out = Vec::new();
    for (name, ty) in attributes {
        let value = match (object.get(&name), ty) {
            (None | Some(serde_json::Value::Null), _) => Value::Null,
            (Some(serde_json::Value::String(s)), Type::String) => Value::from(s.as_str()),
            (Some(serde_json::Value::Array(items)), Type::List(_)) => {
                Value::list(items.iter().map(|i| i.as_str().map_or(Value::Null, Value::from)))
            }
            (Some(other), _) => return Err(format!("`{name}` has an unexpected value {other}")),
        };
        out.push((name, value));
    }
    Ok(Value::object(out))
}

async fn import_addon(ctx: &Context, settings: &SharedSettings, id: &str) -> Result<Value, Diagnostics> {
    let (name, rest) = id.split_once(',').ok_or_else(|| bad_id(id, "expected two comma-separated parts"))?;
    let path = rest
        .trim()
        .strip_prefix("access=")
        .ok_or_else(|| bad_id(id, "the second part must be access=<path>"))?;
    let (name, path) = (name.trim(), path.trim());
    let addon = Catalog::embedded().addon(name).map_err(|e| bad_id(id, e))?.addon;
    let text = std::fs::read_to_string(path).map_err(|e| bad_id(id, format!("cannot read {path}: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad_id(id, format!("{path} is not JSON: {e}")))?;
    let cluster = access_from_json(&json).map_err(|e| bad_id(id, format!("{path}: {e}")))?;
    let cluster_id = cluster.get_attr("cluster_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let probe = Value::object([("cluster", cluster.clone())]);
    let client = client(settings, &probe).map_err(|e| Diagnostics::from(e.to_diagnostic()))?;
    let budget = Budget::new(ctx, Duration::from_secs(120));
    let record = client
        .get(&record_ref(addon), &budget)
        .await
        .map_err(|e| Diagnostics::from(AddonError::kube("Reading the add-on record")(e).to_diagnostic()))?
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Add-on not found",
                format!(
                    "{} is not installed on cluster {cluster_id}: its record ConfigMap {}/{} does not exist. Only \
                     add-ons installed by this provider can be imported.",
                    addon.name,
                    addon.namespace,
                    record_ref(addon).name
                ),
            ))
        })?;
    let data = |key: &str| record.pointer(&format!("/data/{key}")).and_then(serde_json::Value::as_str);
    let version =
        data("version").ok_or_else(|| Diagnostics::from(bad_id(id, "the add-on record has no version")))?;
    let objects: Vec<Value> =
        data("objects").unwrap_or_default().lines().filter(|l| !l.is_empty()).map(Value::from).collect();
    Ok(Value::object([
        ("id", Value::from(format!("{cluster_id}:{name}"))),
        ("cluster", cluster),
        ("name", Value::from(name)),
        ("version", Value::from(version)),
        ("configuration_values", data("configuration_values").map_or(Value::Null, Value::from)),
        ("conflict_resolution", Value::from("none")),
        ("preserve", Value::from(false)),
        ("wait", Value::from(true)),
        ("namespace", Value::from(addon.namespace.as_str())),
        ("status", Value::from(settled_status(true))),
        ("managed_objects", Value::list(objects)),
        ("timeouts", Value::Null),
    ]))
}

/// Import.
pub async fn import(
    ctx: &Context,
    settings: &SharedSettings,
    id: &str,
) -> Result<Vec<Imported>, Diagnostics> {
    let state = import_addon(ctx, settings, id).await?;
    Ok(vec![Imported { state, private: Vec::new() }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_json_becomes_the_cluster_value() {
        let json = serde_json::json!({"cluster_id": "c1", "talos_endpoints": ["10.0.0.1"], "api_url": "https://x:6443"});
        let value = access_from_json(&json).unwrap();
        assert_eq!(value.get_attr("cluster_id").and_then(Value::as_str), Some("c1"));
        assert!(value.get_attr("secrets").is_some_and(Value::is_null));
        assert_eq!(value.get_attr("talos_endpoints").and_then(Value::as_list).map(<[Value]>::len), Some(1));
        assert!(access_from_json(&serde_json::json!({"cluster_id": 3})).is_err());
    }
}
