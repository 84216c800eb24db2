//! The plan engine: turns Terraform's proposed new state into the provider's planned state.
//!
//! Terraform (1.0.3, reference §3.3) proposes the configuration for configurable attributes and
//! the prior value (null on create) for computed ones. The engine then:
//! 1. on create, marks every computed attribute the configuration leaves unset as unknown;
//! 2. on update, runs the modifiers once so that semantically equal values are normalised
//!    back to the prior ones, and only if something still changes marks unset computed
//!    attributes unknown (the provider may recompute them) and runs the modifiers again, so that
//!    `use_state_for_unknown` and defaults settle the final value. Normalising before deciding
//!    is what keeps an equivalent JSON edit from making `status` "(known after apply)";
//! 3. collects the attribute paths whose modifiers require replacement.

use super::{AttributePlan, AttributePlanResult};
use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::value::Value;

/// The engine's result for one resource.
#[derive(Debug)]
pub struct PlanOutcome {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// Diagnostics from modifiers.
    pub diags: Diagnostics,
}

#[derive(Default)]
struct Collected {
    requires_replace: Vec<AttributePath>,
    diags: Diagnostics,
}

/// Plans one resource. `prior` is `None` on create.
pub fn plan(block: &Block, prior: Option<&Value>, proposed: Value, config: &Value) -> PlanOutcome {
    let mut planned = proposed;
    let root = AttributePath::root();
    let mut collected = Collected::default();
    match prior {
        None => {
            mark_unknown(&block.attributes, &block.blocks, config, &mut planned);
            run(&block.attributes, &block.blocks, &root, config, None, &mut planned, &mut collected);
        }
        Some(prior) => {
            run(&block.attributes, &block.blocks, &root, config, Some(prior), &mut planned, &mut collected);
            if planned != *prior {
                collected = Collected::default();
                mark_unknown(&block.attributes, &block.blocks, config, &mut planned);
                run(
                    &block.attributes,
                    &block.blocks,
                    &root,
                    config,
                    Some(prior),
                    &mut planned,
                    &mut collected,
                );
            }
        }
    }
    collected.requires_replace.dedup();
    PlanOutcome { planned, requires_replace: collected.requires_replace, diags: collected.diags }
}

/// The value of attribute `name` inside `object`, null or unknown when the object is.
fn attr_of(object: &Value, name: &str) -> Value {
    match object {
        Value::Unknown => Value::Unknown,
        Value::Object(map) => map.get(name).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Element `index` (lists, sets, tuples) or `key` (maps) of a collection, null when absent.
fn element_of(collection: &Value, index: usize, key: Option<&str>) -> Value {
    match (collection, key) {
        (Value::Unknown, _) => Value::Unknown,
        (Value::Map(m) | Value::Object(m), Some(k)) => m.get(k).cloned().unwrap_or(Value::Null),
        (Value::List(v) | Value::Set(v) | Value::Tuple(v), None) => {
            v.get(index).cloned().unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

/// Calls `f(path, element_config, element_prior, element_planned)` for each object under a
/// nested attribute or block. Set elements have no stable identity, so they get no prior.
fn for_each_object(
    nesting: Nesting,
    path: &AttributePath,
    config: &Value,
    prior: Option<&Value>,
    planned: &mut Value,
    mut f: impl FnMut(&AttributePath, &Value, Option<&Value>, &mut Value),
) {
    match nesting {
        Nesting::Single | Nesting::Group => f(path, config, prior, planned),
        Nesting::List | Nesting::Set => {
            let is_set = matches!(planned, Value::Set(_));
            if let Value::List(items) | Value::Set(items) = planned {
                for (i, item) in items.iter_mut().enumerate() {
                    let cfg = element_of(config, i, None);
                    let pr = if is_set { None } else { prior.map(|p| element_of(p, i, None)) };
                    let pr = pr.filter(|p| !p.is_null());
                    f(&path.clone().index(i as i64), &cfg, pr.as_ref(), item);
                }
            }
        }
        Nesting::Map => {
            if let Value::Map(items) = planned {
                for (k, item) in items.iter_mut() {
                    let cfg = element_of(config, 0, Some(k));
                    let pr = prior.map(|p| element_of(p, 0, Some(k))).filter(|p| !p.is_null());
                    f(&path.clone().key(k.clone()), &cfg, pr.as_ref(), item);
                }
            }
        }
    }
}

fn mark_unknown(attrs: &[Attribute], blocks: &[NestedBlock], config: &Value, planned: &mut Value) {
    let Value::Object(map) = planned else { return };
    for a in attrs {
        let cfg = attr_of(config, &a.name);
        let Some(value) = map.get_mut(&a.name) else { continue };
        if a.presence.is_computed() && cfg.is_null() {
            *value = Value::Unknown;
        } else if let Some((nesting, nested)) = a.nested_attributes() {
            let root = AttributePath::root();
            for_each_object(nesting, &root, &cfg, None, value, |_, c, _, p| mark_unknown(nested, &[], c, p));
        }
    }
    for b in blocks {
        let cfg = attr_of(config, &b.name);
        if let Some(value) = map.get_mut(&b.name) {
            let root = AttributePath::root();
            for_each_object(b.nesting, &root, &cfg, None, value, |_, c, _, p| {
                mark_unknown(&b.block.attributes, &b.block.blocks, c, p);
            });
        }
    }
}

fn run(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    path: &AttributePath,
    config: &Value,
    prior: Option<&Value>,
    planned: &mut Value,
    out: &mut Collected,
) {
    let Value::Object(map) = planned else { return };
    for a in attrs {
        let p = path.clone().attr(a.name.clone());
        let cfg = attr_of(config, &a.name);
        let pr = prior.map(|v| attr_of(v, &a.name));
        let Some(value) = map.get_mut(&a.name) else { continue };
        for m in &a.plan_modifiers {
            let req = AttributePlan { path: &p, config: &cfg, prior: pr.as_ref(), planned: value };
            let mut resp = AttributePlanResult {
                planned: value.clone(),
                requires_replace: false,
                diags: Diagnostics::new(),
            };
            m.modify(&req, &mut resp);
            *value = resp.planned;
            if resp.requires_replace && !out.requires_replace.contains(&p) {
                out.requires_replace.push(p.clone());
            }
            out.diags.extend(resp.diags);
        }
        if let Some((nesting, nested)) = a.nested_attributes() {
            let pr = pr.filter(|v| !v.is_null());
            for_each_object(nesting, &p, &cfg, pr.as_ref(), value, |ep, c, prv, pl| {
                run(nested, &[], ep, c, prv, pl, out);
            });
        }
    }
    for b in blocks {
        let p = path.clone().attr(b.name.clone());
        let cfg = attr_of(config, &b.name);
        let pr = prior.map(|v| attr_of(v, &b.name)).filter(|v| !v.is_null());
        if let Some(value) = map.get_mut(&b.name) {
            for_each_object(b.nesting, &p, &cfg, pr.as_ref(), value, |ep, c, prv, pl| {
                run(&b.block.attributes, &b.block.blocks, ep, c, prv, pl, out);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{default_value, requires_replace, semantic_json, use_state_for_unknown};
    use crate::schema::Attribute;

    fn schema() -> Block {
        Block::new("test")
            .attribute(Attribute::string("name").required().plan_modifier(requires_replace()))
            .attribute(Attribute::string("size").optional())
            .attribute(Attribute::string("config").optional().plan_modifier(semantic_json()))
            .attribute(Attribute::string("id").computed().plan_modifier(use_state_for_unknown()))
            .attribute(Attribute::string("status").computed())
            .attribute(
                Attribute::string("mode").optional_computed().plan_modifier(default_value("auto", "auto")),
            )
            .attribute(Attribute::nested(
                "nodes",
                Nesting::List,
                vec![
                    Attribute::string("address").required().plan_modifier(requires_replace()),
                    Attribute::string("ready").computed(),
                ],
            ))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect())
    }

    fn node(address: &str, ready: Value) -> Value {
        obj(&[("address", address.into()), ("ready", ready)])
    }

    fn config(name: &str, json: &str, nodes: Vec<Value>) -> Value {
        obj(&[
            ("name", name.into()),
            ("size", Value::Null),
            ("config", json.into()),
            ("id", Value::Null),
            ("status", Value::Null),
            ("mode", Value::Null),
            ("nodes", Value::List(nodes)),
        ])
    }

    fn state(name: &str, json: &str) -> Value {
        obj(&[
            ("name", name.into()),
            ("size", Value::Null),
            ("config", json.into()),
            ("id", "id-1".into()),
            ("status", "ready".into()),
            ("mode", "auto".into()),
            ("nodes", Value::List(vec![node("10.0.0.1", true.into())])),
        ])
    }

    /// What Terraform 1.0.3 proposes: config for configurable attributes, prior for computed.
    fn proposed(config: &Value, prior: Option<&Value>) -> Value {
        let mut p = config.clone();
        for key in ["id", "status", "mode"] {
            if let Some(prior) = prior {
                p.set_attr(key, attr_of(prior, key)).unwrap();
            }
        }
        if let (Some(prior), Value::Object(m)) = (prior, &mut p)
            && let Some(Value::List(nodes)) = m.get_mut("nodes")
        {
            for (i, n) in nodes.iter_mut().enumerate() {
                let prior_ready = attr_of(&element_of(&attr_of(prior, "nodes"), i, None), "ready");
                n.set_attr("ready", prior_ready).unwrap();
            }
        }
        p
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let cfg = config("a", "{}", vec![node("10.0.0.1", Value::Null)]);
        let out = plan(&schema(), None, proposed(&cfg, None), &cfg);
        assert_eq!(out.planned.get_attr("id"), Some(&Value::Unknown));
        assert_eq!(out.planned.get_attr("status"), Some(&Value::Unknown));
        assert_eq!(out.planned.get_attr("mode"), Some(&Value::from("auto")));
        let nodes = out.planned.get_attr("nodes").unwrap().as_list().unwrap().to_vec();
        assert_eq!(nodes[0].get_attr("ready"), Some(&Value::Unknown));
        assert!(out.requires_replace.is_empty());
    }

    #[test]
    fn unchanged_and_equivalent_json_plans_nothing() {
        let prior = state("a", "{\"x\":1,\"y\":2}");
        let cfg = config("a", "{ \"y\": 2, \"x\": 1 }", vec![node("10.0.0.1", Value::Null)]);
        let out = plan(&schema(), Some(&prior), proposed(&cfg, Some(&prior)), &cfg);
        assert_eq!(out.planned, prior, "equivalent JSON must not produce a diff");
        assert!(out.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_ids_and_recomputes_status() {
        let prior = state("a", "{}");
        let mut cfg = config("a", "{}", vec![node("10.0.0.1", Value::Null)]);
        cfg.set_attr("size", Value::from("large")).unwrap();
        let out = plan(&schema(), Some(&prior), proposed(&cfg, Some(&prior)), &cfg);
        assert_eq!(out.planned.get_attr("id"), Some(&Value::from("id-1")));
        assert_eq!(out.planned.get_attr("status"), Some(&Value::Unknown));
        assert_eq!(out.planned.get_attr("mode"), Some(&Value::from("auto")));
        assert!(out.requires_replace.is_empty());
    }

    #[test]
    fn replacement_paths_include_nested_elements() {
        let prior = state("a", "{}");
        let cfg = config("b", "{}", vec![node("10.0.0.2", Value::Null)]);
        let out = plan(&schema(), Some(&prior), proposed(&cfg, Some(&prior)), &cfg);
        let paths: Vec<String> = out.requires_replace.iter().map(ToString::to_string).collect();
        assert_eq!(paths, vec!["name".to_string(), "nodes[0].address".to_string()]);
    }
}
