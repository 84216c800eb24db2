//! Placeholder resolution and conditions: what a template string or `when:` means for one
//! (add-on, version, namespace, configuration, `each` item).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Image;
use crate::catalog::version::Version;

/// What placeholders resolve against.
pub(super) struct Scope<'a> {
    pub(super) addon: &'a str,
    pub(super) version: Version,
    pub(super) namespace: &'a str,
    pub(super) config: &'a Value,
    pub(super) item: Option<&'a Map<String, Value>>,
    pub(super) images: &'a BTreeMap<String, Image>,
}

/// A resolved placeholder: a value, or nothing when the setting is absent.
pub(super) type Resolved = Option<Value>;

impl Scope<'_> {
    pub(super) fn resolve(&self, expression: &str) -> Result<Resolved, String> {
        if let Some((inner, filter)) = expression.split_once('|') {
            let value = self.resolve(inner)?;
            return match (filter.trim(), value) {
                ("string", Some(Value::String(s))) => Ok(Some(Value::String(s))),
                ("string", Some(v @ (Value::Number(_) | Value::Bool(_)))) => {
                    Ok(Some(Value::String(v.to_string())))
                }
                ("string", None) => Ok(None),
                ("string", Some(other)) => Err(format!("`{}` is {other}, not a scalar", inner.trim())),
                (other, _) => Err(format!("unknown filter `{other}`")),
            };
        }
        let expression = expression.trim();
        match expression {
            "version" => return Ok(Some(Value::String(self.version.to_string()))),
            "namespace" => return Ok(Some(Value::String(self.namespace.to_owned()))),
            "addon" => return Ok(Some(Value::String(self.addon.to_owned()))),
            _ => {}
        }
        if let Some(path) = expression.strip_prefix("config.") {
            return Ok(lookup(self.config, path).cloned());
        }
        if let Some(key) = expression.strip_prefix("item.") {
            let item = self.item.ok_or_else(|| format!("`${{{expression}}}` outside an `each` template"))?;
            return Ok(lookup(&Value::Object(item.clone()), key).cloned());
        }
        if let Some(name) = expression.strip_prefix("image.") {
            let image = self.images.get(name).ok_or_else(|| format!("no image named `{name}`"))?;
            let tag = image.tags.get(&self.version).unwrap_or(&image.tag);
            let tag = self.interpolate(tag)?;
            return Ok(Some(Value::String(format!("{}:{tag}", image.repository))));
        }
        Err(format!("unknown placeholder `${{{expression}}}`"))
    }

    /// Replaces every placeholder in `text`; the values must be present scalars.
    pub(super) fn interpolate(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("unclosed placeholder in {text:?}"))?;
            let expression = &after[..end];
            match self.resolve(expression)? {
                Some(Value::String(s)) => out.push_str(&s),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                Some(other) => {
                    return Err(format!("`${{{expression}}}` is {other}, not a scalar, inside {text:?}"));
                }
                None => return Err(format!("`${{{expression}}}` has no value, inside {text:?}")),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Renders a string: a lone placeholder keeps its type (or vanishes when absent).
    pub(super) fn string(&self, text: &str) -> Result<Resolved, String> {
        if let Some(inner) = text.trim().strip_prefix("${").and_then(|t| t.strip_suffix('}'))
            && !inner.contains("${")
            && !inner.contains('}')
        {
            return self.resolve(inner);
        }
        self.interpolate(text).map(|s| Some(Value::String(s)))
    }

    pub(super) fn value(&self, value: &Value) -> Result<Resolved, String> {
        Ok(Some(match value {
            Value::String(text) => return self.string(text),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.value(item)?);
                }
                Value::Array(out)
            }
            Value::Object(fields) => {
                let mut out = Map::new();
                for (key, field) in fields {
                    if let Some(field) = self.value(field)? {
                        out.insert(self.interpolate(key)?, field);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }))
    }

    pub(super) fn holds(&self, condition: &str) -> Result<bool, String> {
        let condition = self.interpolate(condition)?;
        let condition = condition.trim();
        let operand = |text: &str| -> Result<Resolved, String> {
            let text = text.trim();
            if !(text.starts_with("config.") || text.starts_with("item.")) {
                return Err(format!("condition operand `{text}` must start with config. or item."));
            }
            self.resolve(text)
        };
        for (operator, equal) in [("==", true), ("!=", false)] {
            if let Some((left, right)) = condition.split_once(operator) {
                let literal: Value = serde_norway::from_str(right.trim())
                    .map_err(|e| format!("literal `{}` in condition: {e}", right.trim()))?;
                let left = operand(left)?.unwrap_or(Value::Null);
                return Ok((left == literal) == equal);
            }
        }
        if let Some(negated) = condition.strip_prefix('!') {
            return Ok(!truthy(operand(negated)?.as_ref()));
        }
        Ok(truthy(operand(condition)?.as_ref()))
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |value, key| value.get(key))
}
