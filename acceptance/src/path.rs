//! Attribute paths into the JSON values of `terraform show -json`.
//!
//! A path is written `network.pod_cidr`, `nodes.0.address` or `nodes[0].labels["kubernetes.io/os"]`:
//! dots separate attribute names, a number or `[N]` indexes a list, and `["..."]` names a map key
//! that contains dots. The same path also walks the masks terraform prints beside values
//! (`after_unknown`, `sensitive_values`): there, `true` on the path or on any prefix of it marks the
//! whole subtree.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::error::Error;

/// One step of an [`AttrPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// An attribute name or map key.
    Key(String),
    /// A list, set or tuple index (numbers also address objects with numeric keys).
    Index(usize),
}

/// A parsed attribute path.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AttrPath {
    segments: Vec<Segment>,
}

impl AttrPath {
    /// Parses `a.b`, `a.0.b`, `a[0].b` and `a["k.with.dots"]`; the empty string is the root.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidPath { path: text.to_owned(), reason: reason.to_owned() };
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_name = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let (segment, tail) = parse_bracket(after).ok_or_else(|| {
                    invalid("a bracket must hold a number or a double-quoted key, then ']'")
                })?;
                segments.push(segment);
                rest = tail;
                expect_name = false;
            } else if let Some(after) = rest.strip_prefix('.') {
                if expect_name {
                    return Err(invalid("empty segment"));
                }
                rest = after;
                expect_name = true;
                if rest.is_empty() {
                    return Err(invalid("trailing dot"));
                }
            } else {
                if !expect_name {
                    return Err(invalid("expected '.' or '[' between segments"));
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = &rest[..end];
                segments.push(match name.parse::<usize>() {
                    Ok(index) => Segment::Index(index),
                    Err(_) => Segment::Key(name.to_owned()),
                });
                rest = &rest[end..];
                expect_name = false;
            }
        }
        Ok(Self { segments })
    }

    /// A path from already split segments.
    pub fn from_segments(segments: Vec<Segment>) -> Self {
        Self { segments }
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The value at this path, or `None` when some step does not exist.
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.segments.iter().try_fold(value, |current, segment| step(current, segment))
    }

    /// True when `mask` marks this path: `true` at the path or at any prefix of it.
    pub fn is_marked(&self, mask: &Value) -> bool {
        let mut current = mask;
        for segment in &self.segments {
            if current == &Value::Bool(true) {
                return true;
            }
            match step(current, segment) {
                Some(next) => current = next,
                None => return false,
            }
        }
        current == &Value::Bool(true)
    }

    /// The last attribute name on the path (indexes skipped), used to find it in config snippets.
    pub fn last_name(&self) -> Option<&str> {
        self.segments.iter().rev().find_map(|segment| match segment {
            Segment::Key(name) => Some(name.as_str()),
            Segment::Index(_) => None,
        })
    }

    fn child(&self, segment: Segment) -> Self {
        let mut segments = self.segments.clone();
        segments.push(segment);
        Self { segments }
    }

    /// True when `prefix` is this path or one of its ancestors, segment by segment.
    pub fn starts_with(&self, prefix: &Self) -> bool {
        self.segments.starts_with(&prefix.segments)
    }
}

fn parse_bracket(text: &str) -> Option<(Segment, &str)> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut key = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => key.push(chars.next()?.1),
                '"' => {
                    let tail = quoted[at + 1..].strip_prefix(']')?;
                    return Some((Segment::Key(key), tail));
                }
                other => key.push(other),
            }
        }
        None
    } else {
        let end = text.find(']')?;
        let index = text[..end].trim().parse().ok()?;
        Some((Segment::Index(index), &text[end + 1..]))
    }
}

fn step<'v>(value: &'v Value, segment: &Segment) -> Option<&'v Value> {
    match (value, segment) {
        (Value::Object(map), Segment::Key(key)) => map.get(key),
        (Value::Object(map), Segment::Index(index)) => map.get(&index.to_string()),
        (Value::Array(items), Segment::Index(index)) => items.get(*index),
        _ => None,
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain_name(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => {
                    write!(f, "[\"{}\"]", key.replace('\\', "\\\\").replace('"', "\\\""))?;
                }
            }
        }
        Ok(())
    }
}

fn is_plain_name(key: &str) -> bool {
    !key.is_empty()
        && key.parse::<usize>().is_err()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Flattens a value into leaf paths, the way HashiCorp's import verification compares resources.
///
/// Nulls and empty collections produce no entry, so `null`, `[]`, `{}` and an absent attribute all
/// compare equal: providers legitimately differ between them after an import.
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    let mut leaves = BTreeMap::new();
    flatten_into(&AttrPath::default(), value, &mut leaves);
    leaves
}

fn flatten_into(path: &AttrPath, value: &Value, leaves: &mut BTreeMap<String, Value>) {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (key, child) in map {
                flatten_into(&path.child(Segment::Key(key.clone())), child, leaves);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                flatten_into(&path.child(Segment::Index(index)), child, leaves);
            }
        }
        leaf => {
            leaves.insert(path.to_string(), leaf.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> AttrPath {
        AttrPath::parse(text).unwrap()
    }

    #[test]
    fn parses_dots_indexes_and_quoted_keys() {
        assert_eq!(
            p("nodes.0.labels[\"kubernetes.io/os\"]").segments(),
            [
                Segment::Key("nodes".to_owned()),
                Segment::Index(0),
                Segment::Key("labels".to_owned()),
                Segment::Key("kubernetes.io/os".to_owned()),
            ]
        );
        assert_eq!(p("nodes[1].address"), p("nodes.1.address"));
        assert_eq!(p("a[\"q\\\"x\"]").segments()[1], Segment::Key("q\"x".to_owned()));
        assert_eq!(p("").segments(), []);
        for bad in ["a..b", ".a", "a.", "a[", "a[x]", "a[\"x\"", "a[0]b", "a[\"k\"x]"] {
            assert!(AttrPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_in_the_canonical_form() {
        assert_eq!(p("nodes.0.address").to_string(), "nodes[0].address");
        assert_eq!(p("labels[\"a.b\"]").to_string(), "labels[\"a.b\"]");
        assert_eq!(p("x[\"0\"]").to_string(), "x[\"0\"]");
        for text in ["nodes[0].address", "x[\"0\"]", "labels[\"a.b\"]", "m[\"q\\\"\"]"] {
            assert_eq!(p(&p(text).to_string()), p(text), "{text}");
        }
        assert_eq!(p("kube-proxy.enabled").to_string(), "kube-proxy.enabled");
    }

    #[test]
    fn gets_values() {
        let value = json!({
            "name": "c1",
            "nodes": [{"address": "127.0.1.1"}, {"address": "127.0.1.2"}],
            "labels": {"kubernetes.io/os": "linux"},
            "network": null
        });
        assert_eq!(p("name").get(&value), Some(&json!("c1")));
        assert_eq!(p("nodes.1.address").get(&value), Some(&json!("127.0.1.2")));
        assert_eq!(p("labels[\"kubernetes.io/os\"]").get(&value), Some(&json!("linux")));
        assert_eq!(p("network").get(&value), Some(&Value::Null));
        assert_eq!(p("network.pod_cidr").get(&value), None);
        assert_eq!(p("nodes.2").get(&value), None);
        assert_eq!(p("").get(&value), Some(&value));
    }

    #[test]
    fn masks_cover_whole_subtrees() {
        let mask = json!({"kubeconfig": true, "nodes": [{}, {"secret": true}], "access": {}});
        assert!(p("kubeconfig").is_marked(&mask));
        assert!(p("kubeconfig.anything.below").is_marked(&mask));
        assert!(p("nodes.1.secret").is_marked(&mask));
        assert!(!p("nodes.0.secret").is_marked(&mask));
        assert!(!p("nodes").is_marked(&mask));
        assert!(!p("access.token").is_marked(&mask));
        assert!(!p("absent").is_marked(&mask));
        assert!(p("anything").is_marked(&json!(true)));
        assert!(!p("anything").is_marked(&json!(false)));
    }

    #[test]
    fn flattening_drops_nulls_and_empty_collections() {
        let value = json!({
            "id": "c1",
            "tags": [],
            "labels": {},
            "none": null,
            "nodes": [{"address": "a", "ready": true, "zones": ["az05"]}],
            "meta": {"dotted.key": 3}
        });
        let flat = flatten(&value);
        let keys: Vec<&str> = flat.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["id", "meta[\"dotted.key\"]", "nodes[0].address", "nodes[0].ready", "nodes[0].zones[0]"]
        );
        assert_eq!(flat["nodes[0].ready"], json!(true));
        assert!(p("nodes[0].zones").starts_with(&p("nodes")));
        assert!(!p("nodesx").starts_with(&p("nodes")));
    }
}
