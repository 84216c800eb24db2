//! Navigating values by [`AttributePath`]: lookup, traversal and bottom-up rewriting.
//!
//! Paths use Terraform's steps: attributes select object attributes, string keys select map
//! elements and integer indexes select list and tuple elements. Set elements have no address in
//! Terraform's paths; traversal gives them their position, which is only meaningful locally, and
//! diagnostics about them should point at the set itself.

use super::Value;
use crate::path::{AttributePath, PathStep};

impl Value {
    /// Whether this value and everything inside it is known (nulls count as known).
    pub fn is_wholly_known(&self) -> bool {
        match self.strip_dynamic() {
            Value::Unknown => false,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(entries) | Value::Object(entries) => entries.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// The part of this value at `path`, if the path leads somewhere. Dynamic wrappers are
    /// looked through.
    pub fn path_get(&self, path: &AttributePath) -> Option<&Value> {
        path.steps().iter().try_fold(self, |v, step| v.step(step))
    }

    /// Mutable access to the part of this value at `path`.
    pub fn path_get_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        path.steps().iter().try_fold(self, |v, step| v.step_mut(step))
    }

    fn step(&self, step: &PathStep) -> Option<&Value> {
        match (self.strip_dynamic(), step) {
            (Value::Object(attrs), PathStep::Attribute(name)) => attrs.get(name),
            (Value::Map(entries), PathStep::ElementKeyString(key)) => entries.get(key),
            (Value::List(items) | Value::Tuple(items) | Value::Set(items), PathStep::ElementKeyInt(i)) => {
                items.get(usize::try_from(*i).ok()?)
            }
            _ => None,
        }
    }

    fn step_mut(&mut self, step: &PathStep) -> Option<&mut Value> {
        match (self.strip_dynamic_mut(), step) {
            (Value::Object(attrs), PathStep::Attribute(name)) => attrs.get_mut(name),
            (Value::Map(entries), PathStep::ElementKeyString(key)) => entries.get_mut(key),
            (Value::List(items) | Value::Tuple(items) | Value::Set(items), PathStep::ElementKeyInt(i)) => {
                items.get_mut(usize::try_from(*i).ok()?)
            }
            _ => None,
        }
    }

    /// Visits this value and everything inside it, parents before children, with each part's
    /// path. Parts are given without their dynamic wrappers. Returning `false` from `visit`
    /// skips the children of that part.
    pub fn walk<F>(&self, mut visit: F)
    where
        F: FnMut(&AttributePath, &Value) -> bool,
    {
        let mut path = AttributePath::root();
        walk_inner(self, &mut path, &mut visit);
    }

    /// Rebuilds this value bottom-up: `f` gets every part (children already rewritten) with its
    /// path and returns its replacement. Dynamic wrappers are kept; `f` sees what is inside.
    #[must_use]
    pub fn transform<F>(self, mut f: F) -> Value
    where
        F: FnMut(&AttributePath, Value) -> Value,
    {
        let mut path = AttributePath::root();
        transform_inner(self, &mut path, &mut f)
    }
}

fn walk_inner<F>(value: &Value, path: &mut AttributePath, visit: &mut F)
where
    F: FnMut(&AttributePath, &Value) -> bool,
{
    let value = value.strip_dynamic();
    if !visit(path, value) {
        return;
    }
    match value {
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::ElementKeyInt(i as i64));
                walk_inner(item, path, visit);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (key, item) in entries {
                path.push(PathStep::ElementKeyString(key.clone()));
                walk_inner(item, path, visit);
                path.pop();
            }
        }
        Value::Object(attrs) => {
            for (name, item) in attrs {
                path.push(PathStep::Attribute(name.clone()));
                walk_inner(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

fn transform_inner<F>(value: Value, path: &mut AttributePath, f: &mut F) -> Value
where
    F: FnMut(&AttributePath, Value) -> Value,
{
    let rebuilt = match value {
        Value::Dynamic(ty, inner) => {
            return Value::Dynamic(ty, Box::new(transform_inner(*inner, path, f)));
        }
        Value::List(items) => Value::List(transform_seq(items, path, f)),
        Value::Set(items) => Value::Set(transform_seq(items, path, f)),
        Value::Tuple(items) => Value::Tuple(transform_seq(items, path, f)),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, item)| {
                    path.push(PathStep::ElementKeyString(key.clone()));
                    let item = transform_inner(item, path, f);
                    path.pop();
                    (key, item)
                })
                .collect(),
        ),
        Value::Object(attrs) => Value::Object(
            attrs
                .into_iter()
                .map(|(name, item)| {
                    path.push(PathStep::Attribute(name.clone()));
                    let item = transform_inner(item, path, f);
                    path.pop();
                    (name, item)
                })
                .collect(),
        ),
        leaf => leaf,
    };
    f(path, rebuilt)
}

fn transform_seq<F>(items: Vec<Value>, path: &mut AttributePath, f: &mut F) -> Vec<Value>
where
    F: FnMut(&AttributePath, Value) -> Value,
{
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            path.push(PathStep::ElementKeyInt(i as i64));
            let item = transform_inner(item, path, f);
            path.pop();
            item
        })
        .collect()
}
