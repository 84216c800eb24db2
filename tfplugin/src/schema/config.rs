//! Validation of a configuration value against its schema, before any remote call.
//!
//! Terraform core already checks types and required attributes. What it does not check, and
//! this does: computed-only attributes set in configuration (Terraform 1.0.3 would later fail
//! with an inconsistent plan, newer versions silently accept it), deprecated attributes in use
//! (a warning), and every attribute validator on known, non-null values.

use super::{Attribute, Block, NestedBlock, Presence};
use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::value::Value;

/// Validates `config` against `block`, reporting at attribute paths.
pub fn validate_config(block: &Block, config: &Value, diags: &mut Diagnostics) {
    walk(&block.attributes, &block.blocks, &AttributePath::root(), config, diags);
}

fn walk(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    path: &AttributePath,
    config: &Value,
    diags: &mut Diagnostics,
) {
    let Some(map) = config.as_map() else { return };
    for a in attrs {
        let p = path.clone().attr(a.name.clone());
        let Some(value) = map.get(&a.name) else { continue };
        if value.is_null() {
            continue;
        }
        if a.presence == Presence::Computed {
            diags.error_at(
                p,
                "Value for unconfigurable attribute",
                format!("{:?} is set by the provider and cannot be set in configuration; remove it.", a.name),
            );
            continue;
        }
        if let Some(message) = &a.deprecation {
            diags.warning_at(p.clone(), "Deprecated attribute", message.clone());
        }
        if value.is_unknown() {
            continue;
        }
        for v in &a.validators {
            v.validate(&p, value, diags);
        }
        if let Some((_, nested)) = a.nested_attributes() {
            each_object(&p, value, |ep, obj| walk(nested, &[], ep, obj, diags));
        }
    }
    for b in blocks {
        let p = path.clone().attr(b.name.clone());
        if let Some(value) = map.get(&b.name) {
            each_object(&p, value, |ep, obj| walk(&b.block.attributes, &b.block.blocks, ep, obj, diags));
        }
    }
}

fn each_object(path: &AttributePath, value: &Value, mut f: impl FnMut(&AttributePath, &Value)) {
    match value {
        Value::Object(_) => f(path, value),
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                f(&path.clone().index(i as i64), item);
            }
        }
        // Set elements have no index Terraform can point at; report at the set itself.
        Value::Set(items) => {
            for item in items {
                f(path, item);
            }
        }
        Value::Map(items) => {
            for (k, item) in items {
                f(&path.clone().key(k.clone()), item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Nesting;
    use crate::validate::one_of;

    #[test]
    fn reports_computed_in_config_deprecations_and_validators_with_paths() {
        let block = Block::new("t")
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::string("old").deprecated("Use `new`."))
            .attribute(Attribute::nested(
                "nodes",
                Nesting::List,
                vec![Attribute::string("zone").validator(one_of(&["AZ05", "AZ06", "AZ07"]))],
            ));
        let zone = |z: &str| Value::Object([("zone".to_string(), Value::from(z))].into());
        let config = Value::Object(
            [
                ("id".to_string(), Value::from("x")),
                ("old".to_string(), Value::from("y")),
                ("nodes".to_string(), Value::List(vec![zone("AZ05"), zone("AZ09")])),
            ]
            .into(),
        );
        let mut diags = Diagnostics::new();
        validate_config(&block, &config, &mut diags);
        let got: Vec<String> = diags
            .iter()
            .map(|d| {
                format!("{}|{}", d.attribute.as_ref().map(ToString::to_string).unwrap_or_default(), d.summary)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "id|Value for unconfigurable attribute",
                "old|Deprecated attribute",
                "nodes[1].zone|Invalid value",
            ]
        );
    }
}
