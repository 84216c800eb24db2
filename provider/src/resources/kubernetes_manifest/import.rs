//! Import. The ID is the object's `id` (`<apiVersion>//<Kind>//<namespace>//<name>`, or
//! `<apiVersion>//<Kind>//<name>` when cluster-scoped), optionally followed by
//! `,access=<path>`: a JSON file holding the cluster's `access` object, as
//! `terraform output -json` prints it.
//!
//! Why a file: `terraform import` (1.0.3 as much as later versions) calls the provider with the
//! ID alone, and then reads the imported state without the configuration, so the `cluster`
//! argument of the configuration never reaches the provider during an import. With the access
//! file, the state gets the same `cluster` value as the configuration and the object's
//! configuration is rebuilt from the fields the provider's field manager owns, so the plan
//! after import is empty. Without it, the import records the object's identity only; the next
//! plan shows an update (the `cluster` and the object from the configuration) whose apply
//! re-applies the object and takes ownership of its fields.

use crate::kube::ObjectRef;
use crate::resources::access::access_type;
use tfplugin::{Diagnostic, Type, Value};

/// The documented form of the import ID.
pub const ID_FORMAT: &str = "<apiVersion>//<Kind>//<namespace>//<name>[,access=<path to the access JSON>] \
     (`<apiVersion>//<Kind>//<name>` for a cluster-scoped object)";

fn bad_id(id: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("Invalid import ID", format!("{id:?}: {why}. The import ID is {ID_FORMAT}."))
}

/// The `access` object from its JSON (every attribute of the access type; missing ones null).
pub fn access_from_json(json: &serde_json::Value) -> Result<Value, String> {
    let Type::Object(attrs) = access_type() else { return Err("access type".into()) };
    let obj = json.as_object().ok_or("not a JSON object")?;
    let field = |name: &str, ty: &Type| -> Result<Value, String> {
        match (obj.get(name), ty) {
            (None | Some(serde_json::Value::Null), _) => Ok(Value::Null),
            (Some(serde_json::Value::String(s)), Type::String) => Ok(Value::from(s.clone())),
            (Some(serde_json::Value::Array(items)), Type::List(_)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(|s| Value::from(s.to_string())).ok_or(format!("{name}: strings expected"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::list),
            _ => Err(format!("{name}: unexpected value")),
        }
    };
    let values = attrs.iter().map(|(name, ty)| field(name, ty).map(|v| (name.clone(), v)));
    Ok(Value::object(values.collect::<Result<Vec<_>, _>>()?))
}

/// The state an import starts from; `read` then fills in the object.
pub fn import(id: &str) -> Result<Value, Diagnostic> {
    let (object_id, rest) = id.split_once(',').map_or((id, None), |(a, b)| (a, Some(b)));
    let r = ObjectRef::parse_id(object_id.trim()).map_err(|e| bad_id(id, e))?;
    let cluster = match rest.map(str::trim) {
        None => Value::Null,
        Some(opt) => {
            let path =
                opt.strip_prefix("access=").ok_or_else(|| bad_id(id, format!("unknown option {opt:?}")))?;
            let text =
                std::fs::read_to_string(path).map_err(|e| bad_id(id, format!("cannot read {path}: {e}")))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| bad_id(id, format!("{path} is not JSON: {e}")))?;
            access_from_json(&json).map_err(|e| bad_id(id, format!("{path}: {e}")))?
        }
    };
    Ok(Value::object([
        ("id", Value::from(r.to_id())),
        ("cluster", cluster),
        ("manifest", Value::Null),
        ("yaml_body", Value::Null),
        ("conflict_resolution", Value::from("none")),
        ("wait", Value::from(true)),
        ("api_version", Value::from(r.api_version.clone())),
        ("kind", Value::from(r.kind.clone())),
        ("namespace", r.namespace.clone().map_or(Value::Null, Value::from)),
        ("name", Value::from(r.name)),
        ("uid", Value::Null),
        ("timeouts", Value::Null),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_and_without_access() {
        let s = import("v1//ConfigMap//team//settings").expect("id");
        assert_eq!(s.get_attr("namespace").and_then(Value::as_str), Some("team"));
        assert!(s.get_attr("cluster").is_some_and(Value::is_null));
        let s = import("storage.k8s.io/v1//StorageClass//fast").expect("cluster-scoped");
        assert!(s.get_attr("namespace").is_some_and(Value::is_null));
        assert!(import("v1/ConfigMap/a").is_err());
        assert!(import("v1//ConfigMap//a//b,token=x").is_err());
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("access.json");
        std::fs::write(
            &path,
            r#"{"api_url": "https://x:6443", "talos_endpoints": ["a"], "client_key": "k"}"#,
        )
        .expect("write");
        let s = import(&format!("v1//ConfigMap//team//a,access={}", path.display())).expect("with access");
        let cluster = s.get_attr("cluster").expect("cluster");
        assert_eq!(cluster.get_attr("api_url").and_then(Value::as_str), Some("https://x:6443"));
        assert!(cluster.get_attr("secrets").is_some_and(Value::is_null));
    }
}
