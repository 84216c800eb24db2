//! Drift detection hash of machine configurations: two configurations that Talos reads the
//! same way hash the same, whatever their formatting, key order, comments or explicit nulls,
//! so a rendered configuration compares with one read back from a node.

use serde_norway::Value;
use sha2::{Digest as _, Sha256};

use super::error::ConfigError;
use super::patch;

/// Hex SHA-256 of a machine configuration after normalisation: documents parsed, nulls and
/// empty mappings/lists dropped, keys sorted, the v1alpha1 document first and the others
/// ordered by kind and name, then serialised as compact JSON. Two configurations that Talos
/// reads the same way (formatting, key order, comments) hash the same, so this compares a
/// rendered configuration with one read back from a node.
pub fn config_hash(yaml: &str) -> Result<String, ConfigError> {
    let docs = patch::parse_documents(yaml).map_err(ConfigError::Yaml)?;
    hash_documents(&docs)
}

pub(crate) fn hash_documents(docs: &[Value]) -> Result<String, ConfigError> {
    let mut normalised = docs.iter().filter_map(normalise).collect::<Vec<_>>();
    let key = |d: &serde_json::Value| {
        let field = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        (d.get("kind").is_some(), field("kind"), field("name"))
    };
    normalised.sort_by_key(key);
    let text = serde_json::to_string(&normalised).map_err(|e| ConfigError::Yaml(e.to_string()))?;
    Ok(Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
}

fn normalise(value: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(J::Bool(*b)),
        Value::Number(n) => serde_json::to_value(n).ok(),
        Value::String(text) => Some(J::String(text.clone())),
        Value::Sequence(items) => {
            let items: Vec<J> = items.iter().filter_map(normalise).collect();
            (!items.is_empty()).then_some(J::Array(items))
        }
        Value::Mapping(m) => {
            let object: serde_json::Map<String, J> = m
                .iter()
                .filter_map(|(k, v)| {
                    let key = match k {
                        Value::String(text) => text.clone(),
                        other => serde_norway::to_string(other).ok()?.trim_end().to_owned(),
                    };
                    Some((key, normalise(v)?))
                })
                .collect();
            (!object.is_empty()).then_some(J::Object(object))
        }
        Value::Tagged(tagged) => normalise(&tagged.value),
    }
}
