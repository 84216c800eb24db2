//! Attribute paths: where in a value a diagnostic, a requires-replace or a plan rule applies.
//!
//! The steps mirror tfplugin6's `AttributePath.Step` (attribute name, string map key, integer list
//! index), so a path converts one to one to the wire form. `Display` renders a path the way Terraform
//! prints one to users: `control_plane[0].zone`, `labels["app"]`.

use std::fmt;

/// One step of an [`AttributePath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An attribute of an object (or a nested block).
    Attribute(String),
    /// An element of a map, by key.
    ElementKeyString(String),
    /// An element of a list or tuple, by index.
    ElementKeyInt(i64),
}

/// A path from the root of a value (a resource's object) to one of its parts.
///
/// The root path (no steps) designates the whole value and displays as an empty string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath {
    steps: Vec<PathStep>,
}

impl AttributePath {
    /// The path of the whole value.
    pub fn root() -> Self {
        Self::default()
    }

    /// A path made of the given steps.
    pub fn new(steps: Vec<PathStep>) -> Self {
        Self { steps }
    }

    /// This path extended by an attribute step (builder style).
    #[must_use]
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attribute(name.into()));
        self
    }

    /// This path extended by a list/tuple index step (builder style).
    #[must_use]
    pub fn index(mut self, index: i64) -> Self {
        self.steps.push(PathStep::ElementKeyInt(index));
        self
    }

    /// This path extended by a map key step (builder style).
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::ElementKeyString(key.into()));
        self
    }

    /// A new path: this one plus `step`, leaving `self` untouched.
    #[must_use]
    pub fn child(&self, step: PathStep) -> Self {
        let mut steps = Vec::with_capacity(self.steps.len() + 1);
        steps.extend_from_slice(&self.steps);
        steps.push(step);
        Self { steps }
    }

    /// The steps, from the root outwards.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    /// Consumes the path, giving its steps.
    pub fn into_steps(self) -> Vec<PathStep> {
        self.steps
    }

    /// Appends a step in place.
    pub fn push(&mut self, step: PathStep) {
        self.steps.push(step);
    }

    /// Removes and returns the last step.
    pub fn pop(&mut self) -> Option<PathStep> {
        self.steps.pop()
    }

    /// Inserts a step at the root end; used when an error bubbles up through enclosing values.
    pub fn prepend(&mut self, step: PathStep) {
        self.steps.insert(0, step);
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no steps (same as [`AttributePath::is_root`]).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The last step, if any.
    pub fn last(&self) -> Option<&PathStep> {
        self.steps.last()
    }

    /// The enclosing path (the root's parent is `None`).
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.steps.split_last()?;
        Some(Self { steps: rest.to_vec() })
    }

    /// Whether `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &AttributePath) -> bool {
        self.steps.starts_with(&prefix.steps)
    }
}

impl From<Vec<PathStep>> for AttributePath {
    fn from(steps: Vec<PathStep>) -> Self {
        Self { steps }
    }
}

impl FromIterator<PathStep> for AttributePath {
    fn from_iter<I: IntoIterator<Item = PathStep>>(iter: I) -> Self {
        Self { steps: iter.into_iter().collect() }
    }
}

impl<'a> IntoIterator for &'a AttributePath {
    type Item = &'a PathStep;
    type IntoIter = std::slice::Iter<'a, PathStep>;

    fn into_iter(self) -> Self::IntoIter {
        self.steps.iter()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
                PathStep::ElementKeyString(key) => {
                    f.write_str("[")?;
                    write_quoted(f, key)?;
                    f.write_str("]")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes `s` as a double-quoted string with the escapes Go's `%q` uses for the common cases,
/// which is how Terraform quotes map keys in paths.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_terraform_notation() {
        let p = AttributePath::root().attr("control_plane").index(0).attr("zone");
        assert_eq!(p.to_string(), "control_plane[0].zone");
        let p = AttributePath::root().attr("labels").key("x");
        assert_eq!(p.to_string(), "labels[\"x\"]");
        assert_eq!(AttributePath::root().to_string(), "");
        let p = AttributePath::root().attr("m").key("a\"b\\c\nd");
        assert_eq!(p.to_string(), r#"m["a\"b\\c\nd"]"#);
        let p = AttributePath::root().index(2).attr("a");
        assert_eq!(p.to_string(), "[2].a");
    }

    #[test]
    fn builders_and_accessors() {
        let p = AttributePath::root().attr("a").index(1).key("k");
        assert_eq!(
            p.steps(),
            &[
                PathStep::Attribute("a".into()),
                PathStep::ElementKeyInt(1),
                PathStep::ElementKeyString("k".into())
            ]
        );
        assert_eq!(p.len(), 3);
        assert!(!p.is_root());
        assert_eq!(p.last(), Some(&PathStep::ElementKeyString("k".into())));
        let parent = p.parent().expect("has a parent");
        assert_eq!(parent, AttributePath::root().attr("a").index(1));
        assert!(p.starts_with(&parent));
        assert!(!parent.starts_with(&p));
        assert!(p.starts_with(&AttributePath::root()));
        assert_eq!(AttributePath::root().parent(), None);
        assert_eq!(parent.child(PathStep::ElementKeyString("k".into())), p);

        let mut q = AttributePath::root().attr("b");
        q.prepend(PathStep::Attribute("a".into()));
        q.push(PathStep::ElementKeyInt(3));
        assert_eq!(q.to_string(), "a.b[3]");
        assert_eq!(q.pop(), Some(PathStep::ElementKeyInt(3)));
        let collected: AttributePath = q.steps().iter().cloned().collect();
        assert_eq!(collected, q);
        assert_eq!((&q).into_iter().count(), 2);
    }

    #[test]
    fn ordering_is_stepwise_and_prefix_first() {
        let a = AttributePath::root().attr("a");
        let a0 = a.clone().index(0);
        let b = AttributePath::root().attr("b");
        assert!(a < a0);
        assert!(a0 < b);
        let mut v = vec![b.clone(), a0.clone(), a.clone()];
        v.sort();
        assert_eq!(v, vec![a, a0, b]);
    }
}
