//! Schemas: what a provider, resource or data source accepts and returns.
//!
//! - [`Schema`], [`Block`], [`Attribute`], [`NestedBlock`]: the model, with builders so a
//!   resource's schema reads like its documentation.
//! - [`implied_type`](Block::implied_type): the cty object type Terraform derives from a block;
//!   every value exchanged with Terraform is encoded against it.
//! - [`rules`]: the checks Terraform core runs on schemas (`InternalValidate`), so a broken schema
//!   fails a unit test instead of a user's `terraform plan`.
//! - [`config`]: validation of a configuration value against a schema (computed-only attributes
//!   set in configuration, deprecations, attribute validators).

pub mod config;
pub mod rules;

use crate::plan::PlanModifier;
use crate::validate::Validator;
use crate::value::{Type, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A versioned schema. The version is bumped whenever stored state must be upgraded.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// State schema version (`UpgradeResourceState` receives the stored one).
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema around a block.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }

    /// Sets the schema version.
    #[must_use]
    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }
}

/// Whether Terraform or the provider sets an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    /// The user must set it.
    Required,
    /// The user may set it; null when unset.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The user may set it; the provider fills it in when unset.
    OptionalComputed,
}

impl Presence {
    /// Whether configuration may set the attribute.
    pub fn is_configurable(self) -> bool {
        !matches!(self, Presence::Computed)
    }

    /// Whether the provider may choose the value.
    pub fn is_computed(self) -> bool {
        matches!(self, Presence::Computed | Presence::OptionalComputed)
    }
}

/// How nested attributes or blocks repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nesting {
    /// Exactly one object (or null).
    Single,
    /// Like `Single` but never null (blocks only): absent means all attributes null.
    Group,
    /// An ordered list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects keyed by string.
    Map,
}

/// The type of an attribute: a plain cty type, or nested attributes.
#[derive(Clone, Debug)]
pub enum AttributeType {
    /// A cty type.
    Type(Type),
    /// Nested attributes (protocol 6 `nested_type`): written `attr = { ... }` or `attr = [{ ... }]`.
    Nested {
        /// How the nested objects repeat (`Group` is not allowed here).
        nesting: Nesting,
        /// The attributes of each object.
        attributes: Vec<Attribute>,
    },
}

/// One attribute of a block.
#[derive(Clone)]
pub struct Attribute {
    /// Name (lowercase letters, digits, underscores).
    pub name: String,
    /// Its type.
    pub ty: AttributeType,
    /// Markdown description; it is the documentation.
    pub description: String,
    /// Who sets it.
    pub presence: Presence,
    /// Hidden in plan output and treated as secret.
    pub sensitive: bool,
    /// When set, the attribute is deprecated and this says what to use instead.
    pub deprecation: Option<String>,
    /// Checks run on known, non-null configuration values.
    pub validators: Vec<Arc<dyn Validator>>,
    /// Plan modifiers, run in order.
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("presence", &self.presence)
            .field("sensitive", &self.sensitive)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    /// An optional attribute of a cty type; refine it with the builder methods.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty: AttributeType::Type(ty),
            description: String::new(),
            presence: Presence::Optional,
            sensitive: false,
            deprecation: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }

    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }

    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }

    /// An attribute made of nested attributes.
    pub fn nested(name: impl Into<String>, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        let mut a = Self::new(name, Type::Dynamic);
        a.ty = AttributeType::Nested { nesting, attributes };
        a
    }

    /// Sets the markdown description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// The user must set it.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.presence = Presence::Required;
        self
    }

    /// The user may set it (the default).
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.presence = Presence::Optional;
        self
    }

    /// Only the provider sets it.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.presence = Presence::Computed;
        self
    }

    /// The user may set it; otherwise the provider does.
    #[must_use]
    pub fn optional_computed(mut self) -> Self {
        self.presence = Presence::OptionalComputed;
        self
    }

    /// Marks it sensitive.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks it deprecated with a message saying what to use instead.
    #[must_use]
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecation = Some(message.into());
        self
    }

    /// Adds a validator.
    #[must_use]
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }

    /// Adds a plan modifier.
    #[must_use]
    pub fn plan_modifier(mut self, m: impl PlanModifier + 'static) -> Self {
        self.plan_modifiers.push(Arc::new(m));
        self
    }

    /// The cty type of the attribute's value.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Type(t) => t.clone(),
            AttributeType::Nested { nesting, attributes } => {
                let object =
                    Type::Object(attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect());
                wrap_nesting(*nesting, object)
            }
        }
    }

    /// The nested attributes, when the attribute has them.
    pub fn nested_attributes(&self) -> Option<(Nesting, &[Attribute])> {
        match &self.ty {
            AttributeType::Nested { nesting, attributes } => Some((*nesting, attributes)),
            AttributeType::Type(_) => None,
        }
    }
}

/// A nested block (`name { ... }` in configuration).
#[derive(Clone, Debug)]
pub struct NestedBlock {
    /// Block type name.
    pub name: String,
    /// How it repeats.
    pub nesting: Nesting,
    /// Its content.
    pub block: Block,
    /// Minimum number of blocks (list and set only).
    pub min_items: i64,
    /// Maximum number of blocks (list and set only; 0 means no limit).
    pub max_items: i64,
}

impl NestedBlock {
    /// A nested block without item limits.
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        Self { name: name.into(), nesting, block, min_items: 0, max_items: 0 }
    }

    /// Sets item limits (list and set nesting only).
    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The cty type of the block's value.
    pub fn value_type(&self) -> Type {
        wrap_nesting(self.nesting, self.block.implied_type())
    }
}

fn wrap_nesting(nesting: Nesting, object: Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => object,
        Nesting::List => Type::List(Box::new(object)),
        Nesting::Set => Type::Set(Box::new(object)),
        Nesting::Map => Type::Map(Box::new(object)),
    }
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Markdown description.
    pub description: String,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
    /// Attributes, in documentation order.
    pub attributes: Vec<Attribute>,
    /// Nested blocks, in documentation order.
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    /// An empty block with a description.
    pub fn new(description: impl Into<String>) -> Self {
        Self { description: description.into(), ..Self::default() }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Adds a nested block.
    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }

    /// The attribute with this name.
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block with this name.
    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The object type Terraform derives from this block.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> =
            self.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }

    /// A value of the implied type with every attribute null and every block empty: what
    /// Terraform sends for a block that sets nothing.
    pub fn empty_value(&self) -> Value {
        let mut attrs: BTreeMap<String, Value> =
            self.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
        for b in &self.blocks {
            let v = match b.nesting {
                Nesting::Single => Value::Null,
                Nesting::Group => b.block.empty_value(),
                Nesting::List => Value::List(Vec::new()),
                Nesting::Set => Value::Set(Vec::new()),
                Nesting::Map => Value::Map(BTreeMap::new()),
            };
            attrs.insert(b.name.clone(), v);
        }
        Value::Object(attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_attributes_nested_attributes_and_blocks() {
        let block = Block::new("x")
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::nested(
                "nodes",
                Nesting::List,
                vec![Attribute::string("address").required()],
            ))
            .block(NestedBlock::new(
                "timeouts",
                Nesting::Single,
                Block::new("t").attribute(Attribute::string("create")),
            ));
        let address = Type::Object([("address".to_string(), Type::String)].into());
        let expected = Type::Object(
            [
                ("name".to_string(), Type::String),
                ("nodes".to_string(), Type::List(Box::new(address))),
                ("timeouts".to_string(), Type::Object([("create".to_string(), Type::String)].into())),
            ]
            .into(),
        );
        assert_eq!(block.implied_type(), expected);
    }
}
