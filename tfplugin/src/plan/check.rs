//! Asserts that a plan obeys Terraform core's validity rules (reference §3.3), and an applied
//! state its consistency rules (§3.4), before they leave the provider. Terraform would reject a violating plan with "Provider produced invalid plan";
//! finding it here gives the attribute and both values, and tests catch it without Terraform.

use crate::path::AttributePath;
use crate::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::value::Value;

/// Returns one message per violated rule; empty when the plan is valid.
pub fn plan_violations(block: &Block, prior: Option<&Value>, config: &Value, planned: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if planned.is_unknown() {
        out.push("the planned object itself is unknown".to_string());
        return out;
    }
    check_object(&block.attributes, &block.blocks, &AttributePath::root(), prior, config, planned, &mut out);
    out
}

fn get(v: Option<&Value>, name: &str) -> Option<Value> {
    match v {
        Some(Value::Object(m)) => Some(m.get(name).cloned().unwrap_or(Value::Null)),
        Some(Value::Unknown) => Some(Value::Unknown),
        Some(_) => Some(Value::Null),
        None => None,
    }
}

fn check_object(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    path: &AttributePath,
    prior: Option<&Value>,
    config: &Value,
    planned: &Value,
    out: &mut Vec<String>,
) {
    for a in attrs {
        let p = path.clone().attr(a.name.clone());
        let cfg = get(Some(config), &a.name).unwrap_or(Value::Null);
        let pr = get(prior, &a.name);
        let pl = get(Some(planned), &a.name).unwrap_or(Value::Null);
        if pl == cfg || pr.as_ref() == Some(&pl) {
            continue;
        }
        if cfg.is_null() {
            if !a.presence.is_computed() && !pl.is_null() {
                out.push(format!(
                    "{p}: planned a value for a non-computed attribute the configuration leaves unset"
                ));
            }
            continue;
        }
        if let Some((nesting, nested)) = a.nested_attributes()
            && nesting != Nesting::Set
            && !cfg.is_unknown()
            && !pl.is_unknown()
            && !pl.is_null()
        {
            check_elements(nesting, nested, &[], &p, pr.as_ref(), &cfg, &pl, out);
            continue;
        }
        out.push(format!("{p}: planned value does not match the configuration nor the prior state"));
    }
    for b in blocks {
        let p = path.clone().attr(b.name.clone());
        let cfg = get(Some(config), &b.name).unwrap_or(Value::Null);
        let pr = get(prior, &b.name);
        let pl = get(Some(planned), &b.name).unwrap_or(Value::Null);
        if cfg.is_null() != pl.is_null() && b.nesting == Nesting::Single {
            out.push(format!("{p}: a block must be planned null exactly when it is not configured"));
            continue;
        }
        if b.nesting != Nesting::Set {
            check_elements(b.nesting, &b.block.attributes, &b.block.blocks, &p, pr.as_ref(), &cfg, &pl, out);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_elements(
    nesting: Nesting,
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    path: &AttributePath,
    prior: Option<&Value>,
    config: &Value,
    planned: &Value,
    out: &mut Vec<String>,
) {
    match nesting {
        Nesting::Single | Nesting::Group => {
            if !planned.is_null() {
                check_object(attrs, blocks, path, prior, config, planned, out);
            }
        }
        Nesting::List | Nesting::Set => {
            let (Some(cfg), Some(pl)) = (config.as_list(), planned.as_list()) else { return };
            if cfg.len() != pl.len() {
                out.push(format!("{path}: planned {} elements for {} configured", pl.len(), cfg.len()));
                return;
            }
            let prior_items = prior.and_then(Value::as_list);
            for (i, (c, p)) in cfg.iter().zip(pl).enumerate() {
                if p.is_unknown() {
                    out.push(format!("{path}[{i}]: a nested object cannot be unknown"));
                    continue;
                }
                let pr = prior_items.and_then(|items| items.get(i));
                check_object(attrs, blocks, &path.clone().index(i as i64), pr, c, p, out);
            }
        }
        Nesting::Map => {
            let (Some(cfg), Some(pl)) = (config.as_map(), planned.as_map()) else { return };
            if cfg.len() != pl.len() || cfg.keys().ne(pl.keys()) {
                out.push(format!("{path}: planned keys differ from the configured keys"));
                return;
            }
            let prior_items = prior.and_then(Value::as_map);
            for (k, c) in cfg {
                let pr = prior_items.and_then(|items| items.get(k));
                check_object(attrs, blocks, &path.clone().key(k.clone()), pr, c, &pl[k], out);
            }
        }
    }
}

/// Checks that an applied state kept every known planned value (reference §3.4): Terraform
/// rejects the result with "Provider produced inconsistent result after apply" otherwise.
pub fn apply_violations(planned: &Value, applied: &Value) -> Vec<String> {
    let mut out = Vec::new();
    apply_walk(planned, applied, &AttributePath::root(), &mut out);
    out
}

fn apply_walk(planned: &Value, applied: &Value, path: &AttributePath, out: &mut Vec<String>) {
    match (planned, applied) {
        (Value::Unknown, _) => {}
        (_, Value::Unknown) => out.push(format!("{path}: known planned value became unknown")),
        (Value::Object(p), Value::Object(a)) => {
            for (k, pv) in p {
                let av = a.get(k).unwrap_or(&Value::Null);
                apply_walk(pv, av, &path.clone().attr(k.clone()), out);
            }
        }
        (Value::List(p), Value::List(a)) | (Value::Tuple(p), Value::Tuple(a)) if p.len() == a.len() => {
            for (i, (pv, av)) in p.iter().zip(a).enumerate() {
                apply_walk(pv, av, &path.clone().index(i as i64), out);
            }
        }
        (Value::Map(p), Value::Map(a)) if p.len() == a.len() => {
            for (k, pv) in p {
                match a.get(k) {
                    Some(av) => apply_walk(pv, av, &path.clone().key(k.clone()), out),
                    None => out.push(format!("{path}: planned key {k:?} is missing after apply")),
                }
            }
        }
        (Value::Set(p), Value::Set(_)) if !p.iter().all(Value::is_wholly_known) => {}
        (p, a) if p == a => {}
        _ => out.push(format!("{path}: planned value was changed by apply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> Block {
        Block::new("t")
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("note").optional())
            .attribute(Attribute::string("id").computed())
    }

    fn obj(name: Value, note: Value, id: Value) -> Value {
        Value::Object([("name".into(), name), ("note".into(), note), ("id".into(), id)].into())
    }

    #[test]
    fn valid_plans_pass() {
        let cfg = obj("a".into(), Value::Null, Value::Null);
        let planned = obj("a".into(), Value::Null, Value::Unknown);
        assert!(plan_violations(&block(), None, &cfg, &planned).is_empty());
    }

    #[test]
    fn each_violation_names_the_attribute() {
        let cfg = obj("a".into(), Value::Null, Value::Null);
        let planned = obj("b".into(), "x".into(), Value::Unknown);
        let v = plan_violations(&block(), None, &cfg, &planned);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].starts_with("name: planned value does not match"), "{v:?}");
        assert!(v[1].starts_with("note: planned a value for a non-computed"), "{v:?}");
    }

    #[test]
    fn apply_must_keep_known_planned_values() {
        let planned = obj("a".into(), Value::Null, Value::Unknown);
        assert!(apply_violations(&planned, &obj("a".into(), Value::Null, "id".into())).is_empty());
        let v = apply_violations(&planned, &obj("b".into(), Value::Null, "id".into()));
        assert_eq!(v, vec!["name: planned value was changed by apply"]);
        let v = apply_violations(
            &obj("a".into(), Value::Null, "id".into()),
            &obj("a".into(), Value::Null, Value::Unknown),
        );
        assert_eq!(v, vec!["id: known planned value became unknown"]);
    }

    #[test]
    fn prior_value_is_an_allowed_plan() {
        let prior = obj("a".into(), Value::Null, "id".into());
        let cfg = obj("A".into(), Value::Null, Value::Null);
        let planned = obj("a".into(), Value::Null, "id".into());
        assert!(plan_violations(&block(), Some(&prior), &cfg, &planned).is_empty());
    }
}
