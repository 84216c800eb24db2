//! Planning: how proposed changes become the plan Terraform shows.
//!
//! - [`PlanModifier`] and the named modifiers: [`requires_replace`], [`requires_replace_if`],
//!   [`use_state_for_unknown`], [`default_value`], [`semantic_json`], [`semantic_yaml`].
//! - [`engine`]: runs modifiers over a schema and marks computed attributes unknown where the
//!   provider will choose them, the way Terraform's rules (reference §3.3) require.
//! - [`check`]: asserts a plan obeys Terraform's validity rules before it leaves the provider.
//! - [`normalize`]: semantic comparison of JSON and YAML documents.

pub mod check;
pub mod engine;
mod modifiers;
pub mod normalize;

pub use modifiers::{
    DefaultValue, RequiresReplaceIf, SemanticJson, SemanticYaml, UseStateForUnknown, default_value,
    requires_replace, requires_replace_if, semantic_json, semantic_yaml, use_state_for_unknown,
};

use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::value::Value;
use std::fmt;

/// What a plan modifier sees for one attribute.
#[derive(Debug)]
pub struct AttributePlan<'a> {
    /// Where the attribute is.
    pub path: &'a AttributePath,
    /// Its configuration value (null when unset).
    pub config: &'a Value,
    /// Its prior state value; `None` while the resource is being created.
    pub prior: Option<&'a Value>,
    /// Its planned value so far.
    pub planned: &'a Value,
}

/// What a plan modifier decides.
#[derive(Debug)]
pub struct AttributePlanResult {
    /// The planned value (starts as the incoming one).
    pub planned: Value,
    /// Whether a change of this attribute replaces the resource.
    pub requires_replace: bool,
    /// Problems found while planning.
    pub diags: Diagnostics,
}

/// A named plan rule on one attribute. Modifiers must be idempotent: the engine may run them
/// twice (once to normalise, once more after marking computed attributes unknown).
pub trait PlanModifier: Send + Sync {
    /// Markdown sentence for the docs, e.g. "Changing this forces a new resource."
    fn description(&self) -> String;
    /// Adjusts the plan of one attribute.
    fn modify(&self, req: &AttributePlan<'_>, resp: &mut AttributePlanResult);
}

impl fmt::Debug for dyn PlanModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanModifier({})", self.description())
    }
}
