//! The non-apply patch types: JSON merge patch (RFC 7386), strategic merge patch (merge patch
//! plus lists merged by key for the built-in associative lists, and the `$patch`,
//! `$setElementOrder`, `$retainKeys` and `$deleteFromPrimitiveList` directives kubectl sends), and
//! JSON patch (RFC 6902).

use serde_json::{Map, Value};

use crate::kube::fieldset::{associative_keys, item_key};

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies a strategic merge patch.
///
/// # Errors
/// A message for a malformed directive.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    smp_object(target, patch)
}

fn smp_object(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replacement = p.clone();
            replacement.remove("$patch");
            *target = Value::Object(replacement);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) => return Err(format!("unknown patch type: {other}")),
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return Ok(()) };
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Value::Array(gone)) = (t.get_mut(field), v) {
                items.retain(|i| !gone.contains(i));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v) {
            (Some(Value::Array(items)), Value::Array(patch_items)) => smp_list(k, items, patch_items)?,
            (Some(existing), Value::Object(_)) => smp_object(existing, v)?,
            _ => {
                let mut fresh = Value::Null;
                smp_object(&mut fresh, v)?;
                if let Value::Array(items) = &mut fresh {
                    strip_directives(items);
                }
                t.insert(k.clone(), fresh);
            }
        }
    }
    Ok(())
}

fn strip_directives(items: &mut Vec<Value>) {
    items.retain(|i| i.get("$patch").is_none());
}

fn smp_list(field: &str, items: &mut Vec<Value>, patch_items: &[Value]) -> Result<(), String> {
    if patch_items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
        *items = patch_items.iter().filter(|i| i.get("$patch").is_none()).cloned().collect();
        return Ok(());
    }
    let Some(keys) = associative_keys(field, patch_items).or_else(|| {
        // A patch made only of `$patch: delete` items still names the key fields.
        associative_keys(field, items)
    }) else {
        *items = patch_items.to_vec();
        return Ok(());
    };
    for pi in patch_items {
        let key = item_key(pi, keys);
        let pos = items.iter().position(|i| item_key(i, keys) == key);
        match (pi.get("$patch").and_then(Value::as_str), pos) {
            (Some("delete"), Some(i)) => {
                items.remove(i);
            }
            (Some("delete"), None) => {}
            (_, Some(i)) => smp_object(&mut items[i], pi)?,
            (_, None) => {
                let mut fresh = Value::Null;
                smp_object(&mut fresh, pi)?;
                items.push(fresh);
            }
        }
    }
    Ok(())
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(t).ok_or_else(|| format!("path component {t:?} not found"))?,
            Value::Array(a) => {
                let i: usize = t.parse().map_err(|_| format!("invalid array index {t:?}"))?;
                a.get_mut(i).ok_or_else(|| format!("array index {i} out of bounds"))?
            }
            _ => return Err(format!("cannot descend into a scalar at {t:?}")),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = split_pointer(path)?;
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse().map_err(|_| format!("invalid index {last:?}"))?
            };
            if i > a.len() {
                return Err(format!("array index {i} out of bounds"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("cannot add to a scalar at {path}")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = split_pointer(path)?;
    let (last, parents) = tokens.split_last().ok_or("cannot remove the whole document")?;
    match parent_mut(doc, parents)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| format!("unable to remove nonexistent key: {last}")),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| format!("invalid index {last:?}"))?;
            if i >= a.len() {
                return Err(format!("array index {i} out of bounds"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("cannot remove from a scalar at {path}")),
    }
}

/// Applies an RFC 6902 JSON patch (add, remove, replace, move, copy, test).
///
/// # Errors
/// The failing operation, worded like the real server's messages.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("a JSON patch must be a list of operations")?;
    for op in ops {
        let path = op.get("path").and_then(Value::as_str).ok_or("operation has no path")?;
        let value = || op.get("value").cloned().ok_or_else(|| format!("operation on {path} has no value"));
        let from = || {
            op.get("from").and_then(Value::as_str).ok_or_else(|| format!("operation on {path} has no from"))
        };
        match op.get("op").and_then(Value::as_str) {
            Some("add") => add(doc, path, value()?)?,
            Some("remove") => {
                remove(doc, path)?;
            }
            Some("replace") => {
                if path.is_empty() {
                    *doc = value()?;
                } else {
                    remove(doc, path).map_err(|_| {
                        format!("replace operation does not apply: doc is missing key: {path}")
                    })?;
                    add(doc, path, value()?)?;
                }
            }
            Some("move") => {
                let v = remove(doc, from()?)?;
                add(doc, path, v)?;
            }
            Some("copy") => {
                let v = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or_else(|| format!("copy from a missing path {}", from().unwrap_or_default()))?;
                add(doc, path, v)?;
            }
            Some("test") => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected kind: {}", other.unwrap_or("<none>"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "l": [3]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "l": [3]}));
    }

    #[test]
    fn strategic_patch_merges_containers_by_name_and_honours_directives() {
        let mut doc = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
                                      "tolerations": [{"key": "t"}]}});
        let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "x2"}, {"name": "b", "$patch": "delete"}, {"name": "c", "image": "z"}],
            "tolerations": [{"key": "u"}]}});
        strategic_merge_patch(&mut doc, &patch).expect("applies");
        assert_eq!(
            doc["spec"]["containers"],
            json!([{"name": "a", "image": "x2"}, {"name": "c", "image": "z"}])
        );
        assert_eq!(doc["spec"]["tolerations"], json!([{"key": "u"}]));
        assert!(doc["spec"].get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn json_patch_supports_every_operation() {
        let mut doc = json!({"a": {"b": [1, 2]}, "m": "x"});
        let ops = json!([
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "replace", "path": "/m", "value": "y"},
            {"op": "copy", "from": "/m", "path": "/n"},
            {"op": "move", "from": "/n", "path": "/o"},
            {"op": "remove", "path": "/a/b/0"},
            {"op": "test", "path": "/o", "value": "y"},
            {"op": "add", "path": "/a~1c", "value": true}
        ]);
        json_patch(&mut doc, &ops).expect("applies");
        assert_eq!(doc, json!({"a": {"b": [2, 3]}, "m": "y", "o": "y", "a/c": true}));
        assert!(json_patch(&mut doc, &json!([{"op": "test", "path": "/m", "value": "no"}])).is_err());
        assert!(json_patch(&mut doc, &json!([{"op": "replace", "path": "/nope", "value": 1}])).is_err());
    }
}
