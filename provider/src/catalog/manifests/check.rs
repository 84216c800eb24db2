//! Checks of the templates: statically when the catalog loads (placeholders name real settings,
//! images and item fields; facts are cited), and of rendered objects in the unit tests
//! (identity, scope, CRD names).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Conditions, Image, Manifests, ObjectRef, Template};

/// Kinds of the core and common API groups that are cluster-scoped. Custom kinds declare their
/// scope in the CRD that defines them.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "VolumeSnapshotClass",
    "GatewayClass",
    "RuntimeClass",
];

/// API groups served by Kubernetes itself (anything else is a custom resource that needs a
/// cited CRD).
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "apiregistration.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
];

impl Manifests {
    /// Checks the section without rendering it: placeholders name known settings, images and
    /// item fields; conditions parse; CRDs, classes and custom resources are cited; images are
    /// cited. Returns `(field, message)` pairs.
    pub(crate) fn check(&self, schema: &Value) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (name, image) in &self.images {
            if let Some(problem) = image.source.problem() {
                problems.push((format!("manifests.images.{name}.source"), problem));
            }
            if image.repository.contains(':') || image.repository.trim().is_empty() {
                problems
                    .push((format!("manifests.images.{name}.repository"), "a repository without tag".into()));
            }
        }
        for (index, template) in self.objects.iter().enumerate() {
            let field = format!("manifests.objects[{index}]");
            let mut placeholders = BTreeSet::new();
            collect_placeholders(&template.object, &mut placeholders);
            for item in &template.each {
                collect_placeholders(&Value::Object(item.clone()), &mut placeholders);
            }
            for condition in template.when.iter().flat_map(Conditions::iter) {
                collect_in_text(condition, &mut placeholders);
                let operand = condition.split(['=', '!']).find(|s| !s.trim().is_empty()).unwrap_or_default();
                let operand = operand.trim();
                if !(operand.starts_with("config.") || operand.starts_with("item.")) {
                    problems.push((
                        format!("{field}.when"),
                        format!("condition `{condition}` does not test config. or item."),
                    ));
                } else if let Some(path) = operand.strip_prefix("config.")
                    && !path.contains("${")
                    && !schema_has(schema, path)
                {
                    problems
                        .push((format!("{field}.when"), format!("`{path}` is not a setting of the schema")));
                }
            }
            for placeholder in &placeholders {
                if let Some(problem) = check_placeholder(placeholder, template, &self.images, schema) {
                    problems.push((field.clone(), problem));
                }
            }
            let kind = template.object.get("kind").and_then(Value::as_str).unwrap_or_default();
            let group = template
                .object
                .get("apiVersion")
                .and_then(Value::as_str)
                .and_then(|v| v.rsplit_once('/'))
                .map_or("", |(group, _)| group);
            let needs_source = matches!(kind, "CustomResourceDefinition" | "StorageClass" | "IngressClass")
                || !BUILT_IN_GROUPS.contains(&group);
            match &template.source {
                Some(sources) => {
                    if let Some(problem) = sources.problem() {
                        problems.push((format!("{field}.source"), problem));
                    }
                }
                None if needs_source => problems.push((
                    format!("{field}.source"),
                    format!("a {kind} states facts (group, kind, class names): cite where they come from"),
                )),
                None => {}
            }
        }
        problems
    }
}

fn collect_in_text(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return };
        out.insert(after[..end].trim().to_owned());
        rest = &after[end + 1..];
    }
}

fn collect_placeholders(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => collect_in_text(text, out),
        Value::Array(items) => items.iter().for_each(|i| collect_placeholders(i, out)),
        Value::Object(fields) => {
            for (key, field) in fields {
                collect_in_text(key, out);
                collect_placeholders(field, out);
            }
        }
        _ => {}
    }
}

fn check_placeholder(
    placeholder_and_filter: &str,
    template: &Template,
    images: &BTreeMap<String, Image>,
    schema: &Value,
) -> Option<String> {
    let (placeholder, filter) = match placeholder_and_filter.split_once('|') {
        Some((p, f)) => (p.trim(), Some(f.trim())),
        None => (placeholder_and_filter, None),
    };
    if filter.is_some_and(|f| f != "string") {
        return Some(format!("unknown filter in `${{{placeholder_and_filter}}}`"));
    }
    if matches!(placeholder, "version" | "namespace" | "addon") {
        return None;
    }
    if let Some(path) = placeholder.strip_prefix("config.") {
        if path.contains("${") {
            return None;
        }
        return (!schema_has(schema, path))
            .then(|| format!("`${{{placeholder}}}`: `{path}` is not a setting of the schema"));
    }
    if let Some(key) = placeholder.strip_prefix("item.") {
        let first = key.split('.').next().unwrap_or_default();
        if template.each.is_empty() {
            return Some(format!("`${{{placeholder}}}` outside an `each` template"));
        }
        // Items may leave a field out: a lone placeholder of it then drops its field.
        return (!template.each.iter().any(|item| item.contains_key(first)))
            .then(|| format!("`${{{placeholder}}}`: no `each` item has `{first}`"));
    }
    if let Some(name) = placeholder.strip_prefix("image.") {
        return (!images.contains_key(name))
            .then(|| format!("`${{{placeholder}}}`: no image named `{name}`"));
    }
    Some(format!("unknown placeholder `${{{placeholder}}}`"))
}

/// Whether the schema declares the setting at `path` (dot-separated property names).
fn schema_has(schema: &Value, path: &str) -> bool {
    path.split('.').try_fold(schema, |node, key| node.get("properties").and_then(|p| p.get(key))).is_some()
}

/// Whether objects of `kind` (in `group`) are cluster-scoped, from the built-in list and the
/// CRDs among `objects`. `None` when the kind is unknown to both.
pub fn is_cluster_scoped(kind: &str, group: &str, objects: &[Value]) -> Option<bool> {
    if BUILT_IN_GROUPS.contains(&group) {
        return Some(CLUSTER_SCOPED.contains(&kind));
    }
    objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .filter_map(|o| o.get("spec"))
        .find(|spec| {
            spec.get("group").and_then(Value::as_str) == Some(group)
                && spec.pointer("/names/kind").and_then(Value::as_str) == Some(kind)
        })
        .map(|spec| spec.get("scope").and_then(Value::as_str) == Some("Cluster"))
        .or_else(|| CLUSTER_SCOPED.contains(&kind).then_some(true))
}

/// Checks rendered objects: identity fields present, namespaces where the kind needs one and
/// nowhere else, no object twice. `known_crds` are objects of other add-ons whose CRDs may be
/// used (dependencies).
pub fn check_rendered(objects: &[Value], known_crds: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let all: Vec<Value> = objects.iter().chain(known_crds).cloned().collect();
    for object in objects {
        let Some(id) = ObjectRef::of(object) else {
            problems.push(format!("object without apiVersion, kind or metadata.name: {object}"));
            continue;
        };
        if !seen.insert(id.clone()) {
            problems.push(format!("{id} is rendered twice"));
        }
        match is_cluster_scoped(&id.kind, id.group(), &all) {
            None => problems.push(format!("{id}: no CRD among the add-on's objects defines {}", id.kind)),
            Some(true) if !id.namespace.is_empty() => {
                problems.push(format!("{id}: a cluster-scoped {} must not have a namespace", id.kind));
            }
            Some(false) if id.namespace.is_empty() => {
                problems.push(format!("{id}: a namespaced {} needs metadata.namespace", id.kind));
            }
            _ => {}
        }
        if id.kind == "CustomResourceDefinition" {
            let spec = object.get("spec");
            let text = |p: &str| spec.and_then(|s| s.pointer(p)).and_then(Value::as_str).unwrap_or_default();
            let expected = format!("{}.{}", text("/names/plural"), text("/group"));
            if id.name != expected {
                problems.push(format!("{id}: a CRD must be named <plural>.<group> ({expected})"));
            }
        }
    }
    problems
}
