//! The named plan modifiers. Each is a small value with a description that also feeds the docs.

use super::normalize::{json_equal, yaml_equal};
use super::{AttributePlan, AttributePlanResult, PlanModifier};
use crate::value::Value;

/// Replaces the resource when the attribute changes and a predicate says so.
pub struct RequiresReplaceIf<F> {
    predicate: F,
    description: String,
}

impl<F> std::fmt::Debug for RequiresReplaceIf<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequiresReplaceIf").field("description", &self.description).finish()
    }
}

/// Changing the attribute forces a new resource.
pub fn requires_replace() -> RequiresReplaceIf<fn(&AttributePlan<'_>) -> bool> {
    RequiresReplaceIf {
        predicate: |_| true,
        description: "Changing this forces a new resource to be created.".into(),
    }
}

/// Changing the attribute forces a new resource when `predicate` holds, e.g. only on a
/// downgrade; `description` says when, for the docs.
pub fn requires_replace_if<F>(description: impl Into<String>, predicate: F) -> RequiresReplaceIf<F>
where
    F: Fn(&AttributePlan<'_>) -> bool + Send + Sync,
{
    RequiresReplaceIf { predicate, description: description.into() }
}

impl<F> PlanModifier for RequiresReplaceIf<F>
where
    F: Fn(&AttributePlan<'_>) -> bool + Send + Sync,
{
    fn description(&self) -> String {
        self.description.clone()
    }
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult) {
        // Creation replaces nothing; an unchanged value replaces nothing. An unknown planned
        // value may change, so it counts as a change, as Terraform core sees it.
        let Some(prior) = req.prior else { return };
        if resp.planned == *prior {
            return;
        }
        let req = AttributePlan { planned: &resp.planned, ..*req };
        if (self.predicate)(&req) {
            resp.requires_replace = true;
        }
    }
}

/// Keeps the prior value instead of "(known after apply)" for computed values that never change
/// after creation (ids, generated secrets).
#[derive(Clone, Copy, Debug)]
pub struct UseStateForUnknown;

/// Keep the prior value when the planned value would be unknown.
pub fn use_state_for_unknown() -> UseStateForUnknown {
    UseStateForUnknown
}

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "Once set, the value does not change unless the resource is replaced.".into()
    }
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult) {
        let Some(prior) = req.prior else { return };
        if prior.is_null() || !resp.planned.is_unknown() || req.config.is_unknown() {
            return;
        }
        resp.planned = prior.clone();
    }
}

/// A default for an optional+computed attribute that configuration leaves unset.
#[derive(Clone, Debug)]
pub struct DefaultValue {
    value: Value,
    shown: String,
}

/// Unset configuration takes `value`; `shown` is how the docs print it (e.g. `"reset"`).
pub fn default_value(value: impl Into<Value>, shown: impl Into<String>) -> DefaultValue {
    DefaultValue { value: value.into(), shown: shown.into() }
}

impl PlanModifier for DefaultValue {
    fn description(&self) -> String {
        format!("Defaults to `{}`.", self.shown)
    }
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult) {
        if req.config.is_null() {
            resp.planned = self.value.clone();
        }
    }
}

/// Suppresses diffs between JSON documents that mean the same (whitespace, key order).
#[derive(Clone, Copy, Debug)]
pub struct SemanticJson;

/// Equal JSON documents never diff: the prior text is kept when the new one means the same.
pub fn semantic_json() -> SemanticJson {
    SemanticJson
}

impl PlanModifier for SemanticJson {
    fn description(&self) -> String {
        "Compared as JSON: formatting and key order never cause a diff.".into()
    }
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult) {
        keep_prior_if(req, resp, json_equal);
    }
}

/// Suppresses diffs between YAML documents that mean the same.
#[derive(Clone, Copy, Debug)]
pub struct SemanticYaml;

/// Equal YAML documents never diff: the prior text is kept when the new one means the same.
pub fn semantic_yaml() -> SemanticYaml {
    SemanticYaml
}

impl PlanModifier for SemanticYaml {
    fn description(&self) -> String {
        "Compared as YAML: formatting, comments and key order never cause a diff.".into()
    }
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult) {
        keep_prior_if(req, resp, yaml_equal);
    }
}

fn keep_prior_if(req: &AttributePlan<'_>, resp: &mut AttributePlanResult, same: fn(&str, &str) -> bool) {
    let Some(prior) = req.prior else { return };
    // Only a configured string is compared: the plan must equal either the config or the prior.
    if let (Some(new), Some(old)) = (req.config.as_str(), prior.as_str())
        && resp.planned.as_str() == Some(new)
        && new != old
        && same(new, old)
    {
        resp.planned = prior.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::path::AttributePath;

    #[allow(clippy::needless_pass_by_value)] // owned test inputs read better
    fn run(m: &dyn PlanModifier, config: Value, prior: Option<Value>, planned: Value) -> AttributePlanResult {
        let path = AttributePath::root().attr("a");
        let req = AttributePlan { path: &path, config: &config, prior: prior.as_ref(), planned: &planned };
        let mut resp = AttributePlanResult {
            planned: planned.clone(),
            requires_replace: false,
            diags: Diagnostics::new(),
        };
        m.modify(&req, &mut resp);
        resp
    }

    #[test]
    fn requires_replace_only_on_change_of_existing_resource() {
        let m = requires_replace();
        assert!(!run(&m, "a".into(), None, "a".into()).requires_replace, "create");
        assert!(!run(&m, "a".into(), Some("a".into()), "a".into()).requires_replace, "same");
        assert!(run(&m, "b".into(), Some("a".into()), "b".into()).requires_replace, "changed");
        assert!(run(&m, Value::Unknown, Some("a".into()), Value::Unknown).requires_replace, "unknown");
    }

    #[test]
    fn requires_replace_if_consults_the_predicate() {
        let m = requires_replace_if("On downgrade.", |r: &AttributePlan<'_>| {
            r.planned.as_str() < r.prior.and_then(Value::as_str)
        });
        assert!(run(&m, "1".into(), Some("2".into()), "1".into()).requires_replace);
        assert!(!run(&m, "3".into(), Some("2".into()), "3".into()).requires_replace);
        assert_eq!(m.description(), "On downgrade.");
    }

    #[test]
    fn use_state_for_unknown_restores_prior_only_when_unknown() {
        let m = use_state_for_unknown();
        assert_eq!(run(&m, Value::Null, Some("id-1".into()), Value::Unknown).planned, Value::from("id-1"));
        assert_eq!(run(&m, Value::Null, None, Value::Unknown).planned, Value::Unknown);
        assert_eq!(run(&m, Value::Null, Some(Value::Null), Value::Unknown).planned, Value::Unknown);
        assert_eq!(run(&m, Value::Unknown, Some("x".into()), Value::Unknown).planned, Value::Unknown);
    }

    #[test]
    fn default_applies_only_when_unset() {
        let m = default_value("reset", "\"reset\"");
        assert_eq!(run(&m, Value::Null, None, Value::Unknown).planned, Value::from("reset"));
        assert_eq!(run(&m, "keep".into(), None, "keep".into()).planned, Value::from("keep"));
    }

    #[test]
    fn semantic_json_keeps_prior_text_for_equal_documents() {
        let m = semantic_json();
        let prior = Value::from("{\"a\":1,\"b\":[1,2]}");
        let same = Value::from("{ \"b\": [1, 2],\n \"a\": 1 }");
        assert_eq!(run(&m, same.clone(), Some(prior.clone()), same).planned, prior);
        let other = Value::from("{\"a\":2}");
        assert_eq!(run(&m, other.clone(), Some(prior), other.clone()).planned, other);
    }

    #[test]
    fn semantic_yaml_ignores_comments_and_order() {
        let m = semantic_yaml();
        let prior = Value::from("a: 1\nb: x\n");
        let same = Value::from("# comment\nb: \"x\"\na: 1\n");
        assert_eq!(run(&m, same.clone(), Some(prior.clone()), same).planned, prior);
    }
}
