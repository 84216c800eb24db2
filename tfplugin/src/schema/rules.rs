//! The structural rules Terraform core enforces on schemas.
//!
//! Terraform 1.1+ runs `InternalValidate` on every schema and refuses the provider when a rule
//! fails; Terraform 1.0.3 skips the check but panics on some violations (an attribute with both a
//! type and nested attributes). Checking the same rules here, in a unit test over every schema of
//! a provider, moves those failures from a user's terminal to our CI.

use super::{Attribute, AttributeType, Block, Nesting, Presence};
use crate::value::Type;
use std::collections::BTreeSet;

/// One broken rule, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RuleViolation {
    /// Dotted location inside the schema, such as `control_plane.address`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Checks a block (and everything under it) against Terraform core's schema rules; also checks
/// that every attribute and block carries a description, because descriptions are our docs.
pub fn check_block(block: &Block) -> Vec<RuleViolation> {
    let mut out = Vec::new();
    walk_block(block, "", &mut out);
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn violation(out: &mut Vec<RuleViolation>, path: &str, message: impl Into<String>) {
    out.push(RuleViolation { path: path.to_string(), message: message.into() });
}

fn walk_block(block: &Block, prefix: &str, out: &mut Vec<RuleViolation>) {
    let mut seen = BTreeSet::new();
    for a in &block.attributes {
        let path = join(prefix, &a.name);
        if !seen.insert(a.name.as_str()) {
            violation(out, &path, "name used twice");
        }
        walk_attribute(a, &path, false, out);
    }
    for b in &block.blocks {
        let path = join(prefix, &b.name);
        if !seen.insert(b.name.as_str()) {
            violation(out, &path, "name used both as an attribute and as a block, or twice");
        }
        if !valid_name(&b.name) {
            violation(out, &path, "block names must be lowercase letters, digits and underscores");
        }
        if b.block.description.trim().is_empty() {
            violation(out, &path, "block has no description");
        }
        match b.nesting {
            Nesting::Single => {
                if !(b.min_items == b.max_items && (0..=1).contains(&b.min_items)) {
                    violation(out, &path, "single blocks need min_items == max_items, 0 or 1");
                }
            }
            Nesting::Group => {
                if b.min_items != 0 || b.max_items != 0 {
                    violation(out, &path, "group blocks take no item limits");
                }
            }
            Nesting::List | Nesting::Set => {
                if b.min_items < 0 || b.max_items < 0 {
                    violation(out, &path, "item limits cannot be negative");
                }
                if b.max_items != 0 && b.min_items > b.max_items {
                    violation(out, &path, "min_items is greater than max_items");
                }
                if b.nesting == Nesting::Set && contains_dynamic(&b.block.implied_type()) {
                    violation(out, &path, "set blocks cannot contain dynamically-typed attributes");
                }
            }
            Nesting::Map => {
                if b.min_items != 0 || b.max_items != 0 {
                    violation(out, &path, "map blocks take no item limits");
                }
            }
        }
        walk_block(&b.block, &path, out);
    }
}

fn walk_attribute(a: &Attribute, path: &str, in_set: bool, out: &mut Vec<RuleViolation>) {
    if !valid_name(&a.name) {
        violation(out, path, "attribute names must be lowercase letters, digits and underscores");
    }
    if a.description.trim().is_empty() {
        violation(out, path, "attribute has no description");
    }
    if a.presence == Presence::Computed && !a.validators.is_empty() {
        violation(out, path, "validators on a computed-only attribute never run");
    }
    match &a.ty {
        AttributeType::Type(t) => {
            if in_set && contains_dynamic(t) {
                violation(out, path, "dynamically-typed attributes cannot be inside a set");
            }
        }
        AttributeType::Nested { nesting, attributes } => {
            if *nesting == Nesting::Group {
                violation(out, path, "nested attributes cannot use group nesting");
            }
            if attributes.is_empty() {
                violation(out, path, "nested attributes need at least one attribute");
            }
            let mut seen = BTreeSet::new();
            for child in attributes {
                let child_path = join(path, &child.name);
                if !seen.insert(child.name.as_str()) {
                    violation(out, &child_path, "name used twice");
                }
                walk_attribute(child, &child_path, in_set || *nesting == Nesting::Set, out);
            }
        }
    }
}

fn contains_dynamic(t: &Type) -> bool {
    match t {
        Type::Dynamic => true,
        Type::List(e) | Type::Set(e) | Type::Map(e) => contains_dynamic(e),
        Type::Object(attrs) => attrs.values().any(contains_dynamic),
        Type::Tuple(elems) => elems.iter().any(contains_dynamic),
        Type::Bool | Type::Number | Type::String => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NestedBlock;

    fn messages(block: &Block) -> Vec<String> {
        check_block(block).into_iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_documented_schema_passes() {
        let block = Block::new("root")
            .attribute(Attribute::string("name").required().description("The name."))
            .block(
                NestedBlock::new(
                    "node",
                    Nesting::List,
                    Block::new("A node.").attribute(Attribute::string("address").description("IP.")),
                )
                .items(1, 3),
            );
        assert_eq!(messages(&block), Vec::<String>::new());
    }

    #[test]
    fn each_rule_is_reported_with_its_path() {
        let block = Block::new("root")
            .attribute(Attribute::string("Name").description("bad name"))
            .attribute(Attribute::string("undocumented"))
            .attribute(Attribute::string("dup").description("a"))
            .block(NestedBlock::new("dup", Nesting::List, Block::new("b")).items(3, 1))
            .block(NestedBlock::new("one", Nesting::Single, Block::new("b")).items(0, 2))
            .block(NestedBlock::new(
                "s",
                Nesting::Set,
                Block::new("b").attribute(Attribute::new("any", Type::Dynamic).description("d")),
            ));
        let m = messages(&block);
        assert!(m.iter().any(|s| s.starts_with("Name: attribute names")), "{m:?}");
        assert!(m.iter().any(|s| s == "undocumented: attribute has no description"), "{m:?}");
        assert!(m.iter().any(|s| s.starts_with("dup: name used both")), "{m:?}");
        assert!(m.iter().any(|s| s == "dup: min_items is greater than max_items"), "{m:?}");
        assert!(m.iter().any(|s| s.starts_with("one: single blocks")), "{m:?}");
        assert!(m.iter().any(|s| s.starts_with("s: set blocks cannot contain")), "{m:?}");
    }

    #[test]
    fn dynamic_inside_set_nested_attributes_is_rejected() {
        let block = Block::new("root").attribute(
            Attribute::nested(
                "items",
                Nesting::Set,
                vec![Attribute::new("v", Type::Dynamic).description("v")],
            )
            .description("items"),
        );
        let m = messages(&block);
        assert_eq!(m, vec!["items.v: dynamically-typed attributes cannot be inside a set"]);
    }
}
