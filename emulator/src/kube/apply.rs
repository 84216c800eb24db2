//! Field ownership: `metadata.managedFields` bookkeeping for every write, and server-side apply
//! (merge the applied configuration, drop what the manager no longer applies, refuse to change
//! fields another manager owns unless forced), with the real server's conflict messages.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::kube::error::ApiError;
use crate::kube::fieldset::{
    self, FieldSet, Path, PathElement, Scope, associative_keys, is_prefix, is_set_list, item_key, members,
};
use crate::kube::meta;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager wrote with.
    pub api_version: String,
    /// When it last wrote.
    pub time: String,
    /// `""` or `status`.
    pub subresource: String,
    /// Owned fields.
    pub set: FieldSet,
}

impl Manager {
    fn same_identity(&self, other: &Self) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    /// How conflict messages name the manager: `"kubectl" using apps/v1` for updaters.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// The managers recorded on an object.
pub fn read_managers(obj: &Value) -> Vec<Manager> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                    Manager {
                        manager: s("manager"),
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: s("subresource"),
                        set: e.get("fieldsV1").map(fieldset::from_fields_v1).unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_managers(obj: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.set.is_empty())
        .map(|m| {
            let mut e = json!({"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version,
                "time": m.time, "fieldsType": "FieldsV1", "fieldsV1": fieldset::to_fields_v1(&m.set)});
            if !m.subresource.is_empty() {
                e["subresource"] = Value::String(m.subresource.clone());
            }
            e
        })
        .collect();
    meta::meta_mut(obj).insert("managedFields".into(), Value::Array(entries));
}

/// Who is writing, and how.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// Field manager name.
    pub manager: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// `""` or `status`.
    pub subresource: &'a str,
    /// Which part of the object the endpoint writes.
    pub scope: Scope,
}

impl Writer<'_> {
    fn entry(&self, operation: &str, set: FieldSet) -> Manager {
        Manager {
            manager: self.manager.to_owned(),
            operation: operation.to_owned(),
            api_version: self.api_version.to_owned(),
            time: meta::now_rfc3339(),
            subresource: self.subresource.to_owned(),
            set,
        }
    }
}

/// Records an ordinary write (create, update, patch): the writer owns what it changed and
/// everyone else loses it. Managers supplied in `new` (a client resetting them) win over `old`'s.
pub fn track_update(old: Option<&Value>, new: &mut Value, w: &Writer<'_>) {
    let mut managers = match new.pointer("/metadata/managedFields") {
        Some(Value::Array(_)) => read_managers(new),
        _ => old.map(read_managers).unwrap_or_default(),
    };
    let before = old.map(|o| members(o, w.scope)).unwrap_or_default();
    let after = members(new, w.scope);
    let changes = fieldset::changed(&before, &after);
    let me = w.entry("Update", FieldSet::new());
    for m in &mut managers {
        m.set.retain(|p| !changes.contains(p));
    }
    let gained: FieldSet = changes.into_iter().filter(|p| after.contains_key(p)).collect();
    match managers.iter_mut().find(|m| m.same_identity(&me)) {
        Some(m) => {
            m.set.extend(gained);
            m.time = me.time;
        }
        None => managers.push(Manager { set: gained, ..me }),
    }
    write_managers(new, &managers);
}

/// Server-side apply of `applied` onto `live` (absent: create). Returns the new object.
///
/// # Errors
/// 409 Conflict listing each field another manager owns and the apply would change.
pub fn apply(live: Option<&Value>, applied: &Value, w: &Writer<'_>, force: bool) -> Result<Value, ApiError> {
    let applied = scoped(applied, w.scope);
    let applied_set: FieldSet = members(&applied, w.scope).into_keys().collect();
    let Some(live) = live else {
        let mut obj = applied;
        write_managers(&mut obj, &[w.entry("Apply", applied_set)]);
        return Ok(obj);
    };
    let mut managers = read_managers(live);
    let me = w.entry("Apply", FieldSet::new());
    let mine = managers.iter().position(|m| m.same_identity(&me));
    let previous = mine.map(|i| managers[i].set.clone()).unwrap_or_default();
    let others: FieldSet = managers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != mine)
        .flat_map(|(_, m)| m.set.iter().cloned())
        .collect();

    let mut merged = live.clone();
    merge_into(&mut merged, &applied, "");
    // Fields this manager applied before and no longer applies go away, unless someone else
    // still owns them (or something beneath them).
    let mut dropped: Vec<&Path> = previous
        .iter()
        .filter(|p| !applied_set.iter().any(|a| is_prefix(p, a)))
        .filter(|p| !others.iter().any(|o| is_prefix(p, o)))
        .collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        remove_path(&mut merged, p);
    }

    let changes = fieldset::changed(&members(live, w.scope), &members(&merged, w.scope));
    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    for (i, m) in managers.iter().enumerate().filter(|(i, _)| Some(*i) != mine) {
        conflicts.extend(
            m.set.iter().filter(|p| changes.contains(*p) && applied_set.contains(*p)).map(|p| (i, p.clone())),
        );
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&managers, &conflicts));
        }
        for (i, p) in &conflicts {
            managers[*i].set.remove(p);
        }
    }
    match mine {
        Some(i) => managers[i] = Manager { set: applied_set, ..me },
        None => managers.push(Manager { set: applied_set, ..me }),
    }
    write_managers(&mut merged, &managers);
    Ok(merged)
}

/// The part of an applied configuration the endpoint writes.
fn scoped(applied: &Value, scope: Scope) -> Value {
    let mut v = applied.clone();
    if let Some(o) = v.as_object_mut() {
        match scope {
            Scope::Whole => {}
            Scope::NoStatus => {
                o.remove("status");
            }
            Scope::StatusOnly => {
                o.retain(|k, _| matches!(k.as_str(), "status" | "apiVersion" | "kind" | "metadata"));
            }
        }
    }
    v
}

fn conflict_error(managers: &[Manager], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", managers[*i].describe()),
                   "field": fieldset::display(p)})
        })
        .collect();
    let message = if let [(i, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            managers[*i].describe(),
            fieldset::display(p)
        )
    } else {
        let mut by_manager: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, p) in conflicts {
            by_manager.entry(managers[*i].describe()).or_default().push(fieldset::display(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
    };
    ApiError::apply_conflict(message, &causes)
}

/// Deep merge of an applied configuration: objects field by field, associative lists item by
/// item (by key), set-lists as a union, everything else replaced.
pub(crate) fn merge_into(live: &mut Value, applied: &Value, field: &str) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                match l.get_mut(k) {
                    Some(lv) => merge_into(lv, v, k),
                    None => {
                        l.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) if associative_keys(field, a).is_some() => {
            let keys = associative_keys(field, a).unwrap_or_default();
            for item in a {
                let key = item_key(item, keys);
                match l.iter_mut().find(|li| li.is_object() && item_key(li, keys) == key) {
                    Some(li) => merge_into(li, item, ""),
                    None => l.push(item.clone()),
                }
            }
        }
        (Value::Array(l), Value::Array(a)) if is_set_list(field, a) && is_set_list(field, l) => {
            for item in a {
                if !l.contains(item) {
                    l.push(item.clone());
                }
            }
        }
        (l, a) => *l = a.clone(),
    }
}

fn key_fields(key: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Map<String, Value>>(key)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn child_mut<'a>(v: &'a mut Value, e: &PathElement) -> Option<&'a mut Value> {
    match (v, e) {
        (Value::Object(m), PathElement::Field(f)) => m.get_mut(f),
        (Value::Array(items), PathElement::Key(k)) => {
            let fields = key_fields(k);
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            items.iter_mut().find(|i| item_key(i, &refs) == *e)
        }
        _ => None,
    }
}

/// Removes the member at `path` (a field, a list item by key, or a set value).
pub(crate) fn remove_path(obj: &mut Value, path: &[PathElement]) {
    let Some((last, parent_path)) = path.split_last() else { return };
    let mut parent = obj;
    for e in parent_path {
        match child_mut(parent, e) {
            Some(c) => parent = c,
            None => return,
        }
    }
    match (parent, last) {
        (Value::Object(m), PathElement::Field(f)) => {
            m.remove(f);
        }
        (Value::Array(items), PathElement::Key(k)) => {
            let fields = key_fields(k);
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            items.retain(|i| item_key(i, &refs) != *last);
        }
        (Value::Array(items), PathElement::Value(v)) => {
            items.retain(|i| serde_json::from_str::<Value>(v).ok().as_ref() != Some(i));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer<'_> {
        Writer { manager, api_version: "apps/v1", subresource: "", scope: Scope::NoStatus }
    }

    fn deploy(replicas: u32, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn apply_conflicts_with_an_updater_and_force_takes_ownership() {
        let mut live = deploy(1, "nginx");
        track_update(None, &mut live, &Writer { manager: "kubectl-client-side-apply", ..writer("") });
        let err = apply(Some(&live), &deploy(3, "nginx"), &writer("kubectl"), false).expect_err("conflict");
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
        );
        // Same values are shared, not conflicting.
        assert!(apply(Some(&live), &deploy(1, "nginx"), &writer("kubectl"), false).is_ok());
        let forced = apply(Some(&live), &deploy(3, "nginx:2"), &writer("kubectl"), true).expect("forced");
        assert_eq!(forced["spec"]["replicas"], 3);
        let managers = read_managers(&forced);
        let csa = managers.iter().find(|m| m.manager == "kubectl-client-side-apply").expect("kept");
        assert!(!csa.set.iter().any(|p| fieldset::display(p) == ".spec.replicas"));
    }

    #[test]
    fn reapplying_without_a_field_removes_it_and_lists_merge_by_key() {
        let mut first = deploy(2, "nginx");
        first["metadata"]["labels"] = json!({"team": "a"});
        let live = apply(None, &first, &writer("mgr"), false).expect("create");
        let mut other = live.clone();
        other["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("list")
            .push(json!({"name": "sidecar", "image": "envoy"}));
        track_update(Some(&live), &mut other, &writer("someone"));
        let next = apply(Some(&other), &deploy(2, "nginx:2"), &writer("mgr"), false).expect("apply");
        assert!(next["metadata"].get("labels").and_then(|l| l.get("team")).is_none(), "{next}");
        let containers = next["spec"]["template"]["spec"]["containers"].as_array().expect("list");
        assert_eq!(containers.len(), 2, "sidecar owned by someone else stays");
        assert_eq!(containers[0]["image"], "nginx:2");
    }
}
