//! User `config_patches` on a rendered machine configuration: YAML strategic-merge patches and
//! RFC 6902 JSON patches, applied to the list of configuration documents.
//!
//! A patch text is either
//! - one or more YAML mappings (strategic merge): a document without `kind` merges into the
//!   v1alpha1 document; a document with `apiVersion` and `kind` merges into the document of
//!   the same kind (and `name`, when it has one), or is appended as a new document;
//! - or a YAML list of RFC 6902 operations (`op`, `path`, `value`, `from`), applied to the
//!   v1alpha1 document, as `talosctl --config-patch` does for JSON patches.
//!
//! Merge rules: mappings merge key by key and patch keys win; lists and scalars replace the
//! base value (deliberately simpler than Talos's per-field list rules, and what users of
//! Terraform expect from a declared value); `key: {$patch: delete}` removes `key`. Replacing a
//! mapping by a list or scalar (or the reverse) is an error, since Talos would reject the
//! configuration anyway.

use serde::Deserialize as _;
use serde_norway::{Mapping, Value};

/// A parsed patch.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// Strategic-merge documents.
    Merge(Vec<Mapping>),
    /// RFC 6902 operations on the v1alpha1 document.
    Json(Vec<JsonOp>),
}

/// One RFC 6902 operation. `path` and `from` are JSON pointers (RFC 6901).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonOp {
    /// `add` a value at a path (`-` appends to a list).
    Add {
        /// Target pointer.
        path: String,
        /// Value to add.
        value: Value,
    },
    /// `remove` the value at a path.
    Remove {
        /// Target pointer.
        path: String,
    },
    /// `replace` the existing value at a path.
    Replace {
        /// Target pointer.
        path: String,
        /// New value.
        value: Value,
    },
    /// `move` a value from one path to another.
    Move {
        /// Source pointer.
        from: String,
        /// Target pointer.
        path: String,
    },
    /// `copy` a value from one path to another.
    Copy {
        /// Source pointer.
        from: String,
        /// Target pointer.
        path: String,
    },
    /// `test` that the value at a path equals `value`.
    Test {
        /// Pointer to compare.
        path: String,
        /// Expected value.
        value: Value,
    },
}

/// A patch problem: the key path (dotted for merges, a JSON pointer for JSON patches) and why.
pub type Problem = (String, String);

/// Parses every YAML document of `text`, dropping empty ones.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| super::error::redact_quoted(&e.to_string()))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// Parses one `config_patches` entry.
pub fn parse(text: &str) -> Result<Patch, Problem> {
    let docs = parse_documents(text).map_err(|e| (String::new(), format!("not valid YAML: {e}")))?;
    match docs.as_slice() {
        [] => Err((String::new(), "the patch is empty".into())),
        [Value::Sequence(ops)] => {
            ops.iter().enumerate().map(|(i, op)| parse_op(i, op)).collect::<Result<_, _>>().map(Patch::Json)
        }
        _ => docs
            .into_iter()
            .map(|doc| match doc {
                Value::Mapping(map) => Ok(map),
                Value::Sequence(_) => Err((
                    String::new(),
                    "a list of JSON patch operations must be the only document of its patch".into(),
                )),
                _ => Err((
                    String::new(),
                    "a patch must be a YAML mapping (strategic merge) or a list of RFC 6902 operations"
                        .into(),
                )),
            })
            .collect::<Result<_, _>>()
            .map(Patch::Merge),
    }
}

fn parse_op(i: usize, op: &Value) -> Result<JsonOp, Problem> {
    let at = |reason: String| (format!("[{i}]"), reason);
    let map = op.as_mapping().ok_or_else(|| at("a JSON patch operation must be a mapping".into()))?;
    let text = |key: &str| -> Result<String, Problem> {
        match map.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(at(format!("`{key}` must be a string"))),
        }
    };
    let value = || map.get("value").cloned().ok_or_else(|| at("`value` is required".into()));
    let path = text("path")?;
    pointer_tokens(&path).map_err(at)?;
    Ok(match text("op")?.as_str() {
        "add" => JsonOp::Add { path, value: value()? },
        "remove" => JsonOp::Remove { path },
        "replace" => JsonOp::Replace { path, value: value()? },
        "test" => JsonOp::Test { path, value: value()? },
        "move" | "copy" => {
            let from = text("from")?;
            pointer_tokens(&from).map_err(at)?;
            if text("op")? == "move" { JsonOp::Move { from, path } } else { JsonOp::Copy { from, path } }
        }
        other => {
            return Err(at(format!("unknown operation `{other}` (add, remove, replace, move, copy, test)")));
        }
    })
}

/// Applies `patch` to `docs`, whose first element is the v1alpha1 document.
pub fn apply(patch: &Patch, docs: &mut Vec<Value>) -> Result<(), Problem> {
    match patch {
        Patch::Merge(maps) => {
            for map in maps {
                let kind = map.get("kind").and_then(Value::as_str);
                let target = match kind {
                    None => docs.first_mut(),
                    Some(kind) => {
                        let name = map.get("name");
                        docs.iter_mut().skip(1).find(|d| {
                            d.get("kind").and_then(Value::as_str) == Some(kind) && d.get("name") == name
                        })
                    }
                };
                match target {
                    Some(doc) => merge(doc, &Value::Mapping(map.clone()), &mut Vec::new())?,
                    None if kind.is_some() => docs.push(Value::Mapping(map.clone())),
                    None => return Err((String::new(), "there is no v1alpha1 document to patch".into())),
                }
            }
            Ok(())
        }
        Patch::Json(ops) => {
            let doc = docs
                .first_mut()
                .ok_or_else(|| (String::new(), "there is no v1alpha1 document to patch".into()))?;
            ops.iter().try_for_each(|op| apply_op(doc, op))
        }
    }
}

fn is_delete_directive(value: &Value) -> bool {
    matches!(value.as_mapping(), Some(m) if m.len() == 1 && m.get("$patch").and_then(Value::as_str) == Some("delete"))
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Mapping(_) => "a mapping",
        Value::Sequence(_) => "a list",
        Value::Null => "null",
        _ => "a scalar",
    }
}

/// Deep-merges `patch` into `base`; `path` is the dotted key path of `base`.
fn merge(base: &mut Value, patch: &Value, path: &mut Vec<String>) -> Result<(), Problem> {
    let (Value::Mapping(base_map), Value::Mapping(patch_map)) = (&mut *base, patch) else {
        *base = patch.clone();
        return Ok(());
    };
    for (key, value) in patch_map {
        let Some(name) = key.as_str() else {
            return Err((path.join("."), "mapping keys must be strings".into()));
        };
        path.push(name.to_owned());
        if is_delete_directive(value) {
            base_map.shift_remove(name);
        } else {
            match base_map.get_mut(name) {
                Some(existing) if existing.is_mapping() && value.is_mapping() => {
                    merge(existing, value, path)?;
                }
                Some(existing)
                    if !existing.is_null()
                        && !value.is_null()
                        && existing.is_mapping() != value.is_mapping() =>
                {
                    return Err((
                        path.join("."),
                        format!("cannot replace {} with {}", kind_name(existing), kind_name(value)),
                    ));
                }
                Some(existing) => *existing = value.clone(),
                None => {
                    base_map.insert(key.clone(), value.clone());
                }
            }
        }
        path.pop();
    }
    Ok(())
}

/// Splits an RFC 6901 pointer into unescaped tokens.
fn pointer_tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest =
        pointer.strip_prefix('/').ok_or_else(|| format!("JSON pointer `{pointer}` must start with `/`"))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn get<'v>(doc: &'v Value, pointer: &str) -> Option<&'v Value> {
    pointer_tokens(pointer).ok()?.iter().try_fold(doc, |node, token| match node {
        Value::Mapping(m) => m.get(token.as_str()),
        Value::Sequence(s) => s.get(token.parse::<usize>().ok()?),
        _ => None,
    })
}

/// The parent container of `pointer` and the last token.
fn parent_mut<'v>(doc: &'v mut Value, pointer: &str) -> Result<(&'v mut Value, String), String> {
    let mut tokens = pointer_tokens(pointer)?;
    let last = tokens.pop().ok_or_else(|| "the whole document cannot be the target".to_owned())?;
    let mut node = doc;
    for token in &tokens {
        node = match node {
            Value::Mapping(m) => m.get_mut(token.as_str()),
            Value::Sequence(s) => token.parse::<usize>().ok().and_then(|i| s.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("path does not exist (missing `{token}`)"))?;
    }
    Ok((node, last))
}

fn add(doc: &mut Value, pointer: &str, value: Value, replace_only: bool) -> Result<(), String> {
    let (parent, last) = parent_mut(doc, pointer)?;
    match parent {
        Value::Mapping(m) => {
            if replace_only && !m.contains_key(last.as_str()) {
                return Err("path does not exist".into());
            }
            m.insert(Value::String(last), value);
        }
        Value::Sequence(s) if last == "-" && !replace_only => s.push(value),
        Value::Sequence(s) => {
            let i = last.parse::<usize>().map_err(|_| format!("`{last}` is not a list index"))?;
            match (replace_only, i.cmp(&s.len())) {
                (true, std::cmp::Ordering::Less) => s[i] = value,
                (false, std::cmp::Ordering::Less | std::cmp::Ordering::Equal) => s.insert(i, value),
                _ => return Err(format!("index {i} is out of range")),
            }
        }
        _ => return Err("parent is not a mapping or a list".into()),
    }
    Ok(())
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let (parent, last) = parent_mut(doc, pointer)?;
    let removed = match parent {
        Value::Mapping(m) => m.shift_remove(last.as_str()),
        Value::Sequence(s) => last.parse::<usize>().ok().filter(|&i| i < s.len()).map(|i| s.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| "path does not exist".into())
}

fn apply_op(doc: &mut Value, op: &JsonOp) -> Result<(), Problem> {
    let (path, result) = match op {
        JsonOp::Add { path, value } => (path, add(doc, path, value.clone(), false)),
        JsonOp::Replace { path, value } => (path, add(doc, path, value.clone(), true)),
        JsonOp::Remove { path } => (path, remove(doc, path).map(drop)),
        JsonOp::Test { path, value } => (
            path,
            if get(doc, path) == Some(value) { Ok(()) } else { Err("test failed: value differs".into()) },
        ),
        JsonOp::Copy { from, path } => match get(doc, from).cloned() {
            Some(value) => (path, add(doc, path, value, false)),
            None => (from, Err("path does not exist".into())),
        },
        JsonOp::Move { from, path } => {
            if path.starts_with(&format!("{from}/")) {
                (path, Err("cannot move a value into itself".into()))
            } else {
                match remove(doc, from) {
                    Ok(value) => (path, add(doc, path, value, false)),
                    Err(e) => (from, Err(e)),
                }
            }
        }
    };
    result.map_err(|reason| (path.clone(), reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Value> {
        parse_documents(text).unwrap()
    }

    #[test]
    fn merge_overrides_keys_and_replaces_lists() {
        let mut d = docs("machine:\n  certSANs: [a, b]\n  install: {disk: /dev/sda, wipe: false}\n");
        let p =
            parse("machine:\n  certSANs: [c]\n  install: {disk: /dev/vda}\n  sysctls: {a.b: '1'}\n").unwrap();
        apply(&p, &mut d).unwrap();
        assert_eq!(
            d[0],
            docs(
                "machine:\n  certSANs: [c]\n  install: {disk: /dev/vda, wipe: false}\n  sysctls: {a.b: '1'}\n"
            )[0]
        );
    }

    #[test]
    fn delete_directive_removes_keys() {
        let mut d = docs("machine: {install: {disk: /dev/sda, wipe: false}}\n");
        apply(&parse("machine:\n  install:\n    wipe: {$patch: delete}\n").unwrap(), &mut d).unwrap();
        assert_eq!(d[0], docs("machine: {install: {disk: /dev/sda}}")[0]);
    }

    #[test]
    fn type_conflicts_report_the_path() {
        let mut d = docs("machine: {install: {disk: /dev/sda}}\n");
        let err = apply(&parse("machine:\n  install: [x]\n").unwrap(), &mut d).unwrap_err();
        assert_eq!(err, ("machine.install".into(), "cannot replace a mapping with a list".into()));
    }

    #[test]
    fn kind_documents_merge_or_append() {
        let mut d = docs(
            "machine: {}\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: a\nenvironment: [X=1]\n",
        );
        let p = parse("apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: a\nenvironment: [X=2]\n---\napiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: b\n").unwrap();
        apply(&p, &mut d).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[1].get("environment"), docs("[X=2]").first());
        assert_eq!(d[2].get("name").and_then(Value::as_str), Some("b"));
    }

    #[test]
    fn json_patch_operations() {
        let mut d = docs("machine: {certSANs: [a], install: {disk: /dev/sda}}\n");
        let p = parse(
            "- {op: add, path: /machine/certSANs/-, value: b}\n\
             - {op: replace, path: /machine/install/disk, value: /dev/vda}\n\
             - {op: copy, from: /machine/install/disk, path: /machine/install/old}\n\
             - {op: move, from: /machine/install/old, path: /machine/moved}\n\
             - {op: test, path: /machine/moved, value: /dev/vda}\n\
             - {op: remove, path: /machine/certSANs/0}\n\
             - {op: add, path: /machine/a~1b, value: 1}\n",
        )
        .unwrap();
        apply(&p, &mut d).unwrap();
        assert_eq!(
            d[0],
            docs("machine: {certSANs: [b], install: {disk: /dev/vda}, moved: /dev/vda, a/b: 1}")[0]
        );
    }

    #[test]
    fn json_patch_errors_name_the_pointer() {
        let mut d = docs("machine: {install: {}}\n");
        let err = apply(&parse("- {op: replace, path: /machine/install/disk, value: x}\n").unwrap(), &mut d)
            .unwrap_err();
        assert_eq!(err, ("/machine/install/disk".into(), "path does not exist".into()));
        let err = apply(&parse("- {op: add, path: /nope/x, value: 1}\n").unwrap(), &mut d).unwrap_err();
        assert_eq!(err.0, "/nope/x");
        let err =
            apply(&parse("- {op: test, path: /machine/install, value: 1}\n").unwrap(), &mut d).unwrap_err();
        assert!(err.1.contains("test failed"));
        assert_eq!(parse("- {op: frobnicate, path: /a}\n").unwrap_err().0, "[0]");
        assert!(
            parse("- {op: add, path: machine, value: 1}\n").unwrap_err().1.contains("must start with `/`")
        );
        assert!(parse("- {op: add, path: /a}\n").unwrap_err().1.contains("`value` is required"));
    }

    #[test]
    fn malformed_patches_are_rejected() {
        assert!(parse("").unwrap_err().1.contains("empty"));
        assert!(parse("just a string").unwrap_err().1.contains("YAML mapping"));
        assert!(parse("a: [\n").unwrap_err().1.contains("not valid YAML"));
        assert!(parse("a: 1\n---\n- {op: remove, path: /a}\n").unwrap_err().1.contains("only document"));
    }
}
