//! Drift: what happened to applied objects since. Each is fetched and the live object is
//! projected onto the shape of what was applied (only the fields we set, the ones our field
//! manager owns after a clean apply): a field edited out of band, taken over by another
//! manager with another value, or removed shows up as a difference; fields others added
//! (status, defaults, labels of other managers) do not.

use super::apply::{ApplyOptions, settle_namespace};
use super::budget::Budget;
use super::client::KubeClient;
use super::error::KubeError;
use super::object::ObjectRef;
use serde_json::Value;

/// What happened to one applied object.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// The object (namespace resolved).
    pub reference: ObjectRef,
    /// How it drifted.
    pub kind: DriftKind,
}

/// How an object drifted.
#[derive(Clone, Debug, PartialEq)]
pub enum DriftKind {
    /// It no longer exists (or its kind is no longer served).
    Missing,
    /// Fields we set have other values (or are gone).
    Changed {
        /// Dotted paths of the differing fields (`.spec.replicas`, `.data.color`).
        fields: Vec<String>,
        /// The live object projected onto the shape of what was applied.
        live: Value,
    },
}

/// Whether two scalars are the same value, allowing the text of a number or bool for the number
/// or bool itself (YAML `"80"` sent where the API keeps `80`).
fn same_scalar(applied: &Value, live: &Value) -> bool {
    match (applied, live) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::Number(_) | Value::Bool(_)) => a.as_str() == live.to_string().as_str(),
        _ => applied == live,
    }
}

/// The live value projected onto the shape of `applied`: objects keep only the keys applied
/// has (a key missing live is left out), lists of the same length are projected element by
/// element, anything else is the live value, except that a scalar equal to the applied one
/// ([`same_scalar`]) keeps the applied form.
pub fn project(applied: &Value, live: &Value) -> Value {
    match (applied, live) {
        (Value::Object(a), Value::Object(l)) => Value::Object(
            a.iter().filter_map(|(k, av)| l.get(k).map(|lv| (k.clone(), project(av, lv)))).collect(),
        ),
        (Value::Array(a), Value::Array(l)) => Value::Array(
            l.iter()
                .enumerate()
                .map(|(i, lv)| a.get(i).map_or_else(|| lv.clone(), |av| project(av, lv)))
                .collect(),
        ),
        _ if same_scalar(applied, live) => applied.clone(),
        _ => live.clone(),
    }
}

/// Dotted paths where `projected` differs from `applied`.
pub fn differences(applied: &Value, projected: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into("", applied, projected, &mut out);
    out
}

fn diff_into(path: &str, a: &Value, p: &Value, out: &mut Vec<String>) {
    match (a, p) {
        (Value::Object(a), Value::Object(p)) => {
            for (k, av) in a {
                let sub = format!("{path}.{k}");
                match p.get(k) {
                    Some(pv) => diff_into(&sub, av, pv, out),
                    None => out.push(sub),
                }
            }
        }
        (Value::Array(a), Value::Array(p)) if a.len() == p.len() => {
            for (i, (av, pv)) in a.iter().zip(p).enumerate() {
                diff_into(&format!("{path}[{i}]"), av, pv, out);
            }
        }
        _ if a == p => {}
        _ => out.push(if path.is_empty() { ".".into() } else { path.into() }),
    }
}

/// The managers other than `ours` whose `managedFields` own the field at the dotted `path`
/// (`.data.color`); list items are not followed (their keys are not in the path).
pub fn managers_of(live: &Value, path: &str, ours: &str) -> Vec<String> {
    let steps: Vec<&str> =
        path.split('.').filter(|s| !s.is_empty()).take_while(|s| !s.contains('[')).collect();
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter(|e| e["manager"].as_str().is_some_and(|m| m != ours))
        .filter(|e| {
            let mut at = &e["fieldsV1"];
            steps.iter().all(|s| {
                at = &at[format!("f:{s}")];
                !at.is_null()
            })
        })
        .filter_map(|e| e["manager"].as_str().map(str::to_string))
        .collect()
}

/// The part of `live` that `manager` owns through server-side apply (its `Apply` entry of
/// `managedFields`), with apiVersion, kind, name and namespace: what that manager applied, as
/// far as the server recorded it. Used to import an object without its configuration.
pub fn owned_by(live: &Value, manager: &str) -> Value {
    let fields = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager && e["operation"] == "Apply")
        .and_then(|e| e.get("fieldsV1"));
    // No entry: the manager owns nothing (an empty set would select everything).
    let mut out = fields.map_or(Value::Null, |f| select(live, f));
    if !out.is_object() {
        out = Value::Object(serde_json::Map::new());
    }
    for key in ["apiVersion", "kind"] {
        out[key] = live[key].clone();
    }
    if !out["metadata"].is_object() {
        out["metadata"] = Value::Object(serde_json::Map::new());
    }
    for key in ["name", "namespace"] {
        if let Some(v) = live.pointer(&format!("/metadata/{key}")) {
            out["metadata"][key] = v.clone();
        }
    }
    out
}

/// `value` restricted to a `fieldsV1` set: `f:<name>` members, `k:<json>` list items by key,
/// `v:<json>` set values, `i:<n>` indices; an empty set (a leaf) takes the whole value.
fn select(value: &Value, fields: &Value) -> Value {
    let Some(set) = fields.as_object().filter(|m| m.keys().any(|k| k != ".")) else { return value.clone() };
    match value {
        Value::Object(m) => Value::Object(
            set.iter()
                .filter_map(|(k, sub)| k.strip_prefix("f:").map(|name| (name, sub)))
                .filter_map(|(name, sub)| m.get(name).map(|v| (name.to_string(), select(v, sub))))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    set.iter().find_map(|(k, sub)| {
                        let hit = if let Some(key) = k.strip_prefix("k:") {
                            serde_json::from_str::<serde_json::Map<String, Value>>(key)
                                .is_ok_and(|key| key.iter().all(|(kk, kv)| item.get(kk) == Some(kv)))
                        } else if let Some(v) = k.strip_prefix("v:") {
                            serde_json::from_str::<Value>(v).is_ok_and(|v| v == *item)
                        } else {
                            k.strip_prefix("i:").and_then(|n| n.parse::<usize>().ok()) == Some(i)
                        };
                        hit.then(|| select(item, sub))
                    })
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

impl KubeClient {
    /// The drift of each applied object (objects with none are left out).
    pub async fn drift(
        &self,
        applied: &[Value],
        opts: &ApplyOptions,
        budget: &Budget,
    ) -> Result<Vec<Drift>, KubeError> {
        let mut out = Vec::new();
        for obj in applied {
            let r = ObjectRef::from_object(obj)?;
            let Some(kind) = self.resolve(&r.api_version, &r.kind, budget).await? else {
                out.push(Drift { reference: r, kind: DriftKind::Missing });
                continue;
            };
            let (r, settled) = settle_namespace(obj, &kind, opts)?;
            let Some(live) = self.get(&r, budget).await? else {
                tracing::info!(object = %r, "deleted out of band");
                out.push(Drift { reference: r, kind: DriftKind::Missing });
                continue;
            };
            let mut projected = project(&settled, &live);
            let fields = differences(&settled, &projected);
            if !fields.is_empty() {
                let by: Vec<String> =
                    fields.iter().flat_map(|f| managers_of(&live, f, self.field_manager())).collect();
                tracing::info!(object = %r, fields = ?fields, managers = ?by, "changed out of band");
                // Give back the shape that was applied: a namespace we filled in is not drift.
                if obj.pointer("/metadata/namespace").is_none()
                    && let Some(m) = projected.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    m.remove("namespace");
                }
                out.push(Drift { reference: r, kind: DriftKind::Changed { fields, live: projected } });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_what_we_set_and_shows_what_changed() {
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}},
            "data": {"color": "blue", "size": "3"}});
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "uid": "u", "labels": {"x": "1", "other": "y"}, "managedFields": []},
            "data": {"color": "red", "size": "3", "extra": "z"}});
        let p = project(&applied, &live);
        assert_eq!(p["data"], json!({"color": "red", "size": "3"}));
        assert_eq!(p["metadata"], json!({"name": "a", "labels": {"x": "1"}}));
        assert_eq!(differences(&applied, &p), vec![".data.color".to_string()]);
        let unchanged = project(
            &applied,
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"color": "blue", "size": "3"}}),
        );
        assert_eq!(unchanged, applied);
    }

    #[test]
    fn what_a_manager_owns_is_what_it_applied() {
        let live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n", "uid": "u",
            "labels": {"mine": "1", "theirs": "2"},
            "managedFields": [{"manager": "me", "operation": "Apply", "fieldsV1": {
                "f:metadata": {"f:labels": {"f:mine": {}}},
                "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}, "f:selector": {}}}},
              {"manager": "other", "operation": "Update", "fieldsV1": {"f:spec": {"f:type": {}}}}]},
            "spec": {"type": "ClusterIP", "selector": {"app": "x"},
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "TCP"}]}});
        assert_eq!(
            owned_by(&live, "me"),
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "n", "labels": {"mine": "1"}},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}})
        );
        assert_eq!(owned_by(&live, "nobody")["metadata"], json!({"name": "s", "namespace": "n"}));
        assert_eq!(managers_of(&live, ".spec.type", "me"), vec!["other".to_string()]);
        assert!(managers_of(&live, ".spec.selector", "me").is_empty());
    }

    #[test]
    fn lists_removed_keys_and_loose_scalars() {
        let applied = json!({"spec": {"ports": [{"port": "80"}, {"port": 443}], "replicas": 2, "gone": "x"}});
        let live =
            json!({"spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 8443}], "replicas": 2.0}});
        let p = project(&applied, &live);
        assert_eq!(p, json!({"spec": {"ports": [{"port": "80"}, {"port": 8443}], "replicas": 2}}));
        assert_eq!(
            differences(&applied, &p),
            vec![".spec.gone".to_string(), ".spec.ports[1].port".to_string()]
        );
        let longer = project(&json!({"a": [1]}), &json!({"a": [1, 2]}));
        assert_eq!(differences(&json!({"a": [1]}), &longer), vec![".a".to_string()]);
    }
}
