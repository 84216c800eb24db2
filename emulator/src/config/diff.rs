//! Differences between two machine configurations: the text a dry run shows, and whether a
//! Talos 1.13 node could apply the change without a reboot.

use std::collections::BTreeMap;

use serde_norway::Value;

/// Fields a Talos 1.13 node applies live (upstream `CanApplyImmediate` keeps a list like this;
/// the emulator models it with these path prefixes). Other documents than v1alpha1 are live too.
const LIVE_PREFIXES: &[&str] = &[
    "debug",
    "cluster",
    "machine.time",
    "machine.certSANs",
    "machine.network",
    "machine.sysctls",
    "machine.sysfs",
    "machine.logging",
    "machine.controlPlane",
    "machine.kubelet",
    "machine.install",
    "machine.nodeLabels",
    "machine.nodeAnnotations",
    "machine.nodeTaints",
    "machine.registries",
    "machine.features",
    "machine.udev",
    "machine.pods",
    "machine.seccompProfiles",
];

/// Key names whose values are secrets and never shown in a diff.
const SECRET_KEYS: &[&str] =
    &["key", "token", "secret", "secretboxEncryptionSecret", "aescbcEncryptionSecret", "bootstraptoken"];

/// One changed leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Dotted path (`machine.network.hostname`), prefixed by the document for extra documents.
    pub path: String,
    /// Value before (`None` when added).
    pub before: Option<String>,
    /// Value after (`None` when removed).
    pub after: Option<String>,
}

/// The leaf-level difference between two configurations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Every changed leaf, sorted by path.
    pub changes: Vec<Change>,
}

impl ConfigDiff {
    /// Compares two lists of YAML documents.
    pub(crate) fn between(old: &[Value], new: &[Value]) -> Self {
        let (a, b) = (flatten_docs(old), flatten_docs(new));
        let mut changes = Vec::new();
        for (path, before) in &a {
            match b.get(path) {
                Some(after) if after == before => {}
                after => changes.push(Change {
                    path: path.clone(),
                    before: Some(before.clone()),
                    after: after.cloned(),
                }),
            }
        }
        for (path, after) in &b {
            if !a.contains_key(path) {
                changes.push(Change { path: path.clone(), before: None, after: Some(after.clone()) });
            }
        }
        changes.sort_by(|x, y| x.path.cmp(&y.path));
        Self { changes }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The first changed path a Talos 1.13 node cannot apply live, if any.
    pub fn needs_reboot(&self) -> Option<&str> {
        self.changes
            .iter()
            .map(|c| c.path.as_str())
            .find(|p| p.starts_with("v1alpha1.") && !is_live(&p["v1alpha1.".len()..]))
    }
}

fn is_live(path: &str) -> bool {
    LIVE_PREFIXES
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('.') || r.starts_with('[')))
}

/// Renders a diff the way dry runs report it ("Config diff:" then one line per change).
pub fn describe_diff(diff: &ConfigDiff) -> String {
    if diff.is_empty() {
        return "Config diff:\n\nNo changes.".to_owned();
    }
    let mut out = String::from("Config diff:\n\n");
    for c in &diff.changes {
        let shown = |v: &Option<String>| v.clone().unwrap_or_default();
        match (&c.before, &c.after) {
            (None, Some(_)) => out.push_str(&format!("+ {}: {}\n", c.path, shown(&c.after))),
            (Some(_), None) => out.push_str(&format!("- {}: {}\n", c.path, shown(&c.before))),
            _ => out.push_str(&format!("~ {}: {} -> {}\n", c.path, shown(&c.before), shown(&c.after))),
        }
    }
    out
}

fn flatten_docs(docs: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for doc in docs {
        let prefix = if doc.get("version").is_some() {
            "v1alpha1".to_owned()
        } else {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("?");
            match doc.get("name").and_then(Value::as_str) {
                Some(name) => format!("{kind}[{name}]"),
                None => kind.to_owned(),
            }
        };
        flatten(doc, &prefix, false, &mut out);
    }
    out
}

fn flatten(v: &Value, path: &str, secret: bool, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap_or_default().trim().to_owned(),
                };
                let is_secret = secret || SECRET_KEYS.contains(&key.as_str());
                flatten(child, &format!("{path}.{key}"), is_secret, out);
            }
        }
        Value::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                flatten(child, &format!("{path}[{i}]"), secret, out);
            }
        }
        Value::Tagged(t) => flatten(&t.value, path, secret, out),
        scalar => {
            let rendered = if secret {
                // Keep a digest so a changed secret still shows as changed without leaking it.
                use sha2::Digest as _;
                let text = serde_norway::to_string(scalar).unwrap_or_default();
                let digest = sha2::Sha256::digest(text.as_bytes());
                format!("(redacted {:02x}{:02x}{:02x}{:02x})", digest[0], digest[1], digest[2], digest[3])
            } else {
                serde_norway::to_string(scalar).unwrap_or_default().trim().to_owned()
            };
            out.insert(path.to_owned(), rendered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(yaml: &str) -> Vec<Value> {
        vec![serde_norway::from_str(yaml).expect("yaml")]
    }

    #[test]
    fn classifies_live_and_reboot_changes_and_redacts_secrets() {
        let a = docs(
            "version: v1alpha1\nmachine:\n  token: abc\n  network:\n    hostname: a\n  env:\n    X: '1'\n",
        );
        let b = docs(
            "version: v1alpha1\nmachine:\n  token: xyz\n  network:\n    hostname: b\n  env:\n    X: '1'\n",
        );
        let d = ConfigDiff::between(&a, &b);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.needs_reboot(), Some("v1alpha1.machine.token"));
        let text = describe_diff(&d);
        assert!(text.contains("~ v1alpha1.machine.network.hostname: a -> b"), "{text}");
        assert!(!text.contains("abc") && !text.contains("xyz"), "{text}");
        let c = docs(
            "version: v1alpha1\nmachine:\n  token: abc\n  network:\n    hostname: c\n  env:\n    X: '1'\n",
        );
        assert_eq!(ConfigDiff::between(&a, &c).needs_reboot(), None);
        assert!(describe_diff(&ConfigDiff::between(&a, &a)).ends_with("No changes."));
    }
}
