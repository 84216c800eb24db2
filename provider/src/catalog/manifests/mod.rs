//! The Kubernetes objects an add-on installs, as data: the `manifests:` section of an add-on
//! file, checked when the catalog loads and rendered for one (version, namespace,
//! configuration) into plain JSON objects ready for server-side apply.
//!
//! # The template language
//!
//! ```yaml
//! manifests:
//!   example_configuration: {...}   # what the catalog tests render with when the schema has required settings
//!   images:                        # one entry per container image, cited
//!     controller:
//!       repository: quay.io/metallb/controller
//!       tag: "v${version}"         # default tag (placeholders allowed)
//!       tags: {"0.14.9": "v0.14.9"}  # per add-on version overrides
//!       source: {url: ..., states: ...}
//!   objects:
//!     - when: config.ceph_block.enabled       # optional: one condition or a list (all must hold)
//!       versions: {min: "0.15.0"}             # optional: add-on versions that install it
//!       each: [{class: nginx-internal}, ...]  # optional: one object per item, `${item.class}`
//!       source: {url: ..., states: ...}       # required for CRDs, classes and custom resources
//!       object: {apiVersion: ..., kind: ..., metadata: {...}, ...}
//! ```
//!
//! Placeholders `${...}` may appear in any string, object key or condition:
//! - `${version}` (the add-on version), `${namespace}`, `${addon}` (the add-on name);
//! - `${config.a.b}`: a configuration value, with the schema defaults applied;
//! - `${item.k}`: a field of the current `each` item;
//! - `${image.NAME}`: `repository:tag` of an image for the rendered version.
//!
//! A string that is exactly one placeholder keeps the value's JSON type (a list of addresses
//! stays a list, replicas stay a number); when that value is absent, the field (or list item)
//! is left out, which is how optional settings such as a fixed `loadBalancerIP` work. Inside a
//! longer string the value must be a scalar and must be present.
//!
//! `${config.a | string}` turns a scalar into text (ConfigMap data and annotations are strings).
//!
//! Conditions: `PATH` (true when the value is true, a non-empty string, list or object, or a
//! non-zero number), `!PATH`, `PATH == literal` and `PATH != literal`, where PATH is
//! `config.…` or `item.…` and the literal is a YAML scalar.
//!
//! Submodules: `scope` resolves placeholders and conditions; `check` holds the load-time
//! checks of the templates and the checks of rendered objects.
//!
//! Every rendered object gets the labels [`ADDON_LABEL`] and [`MANAGED_BY_LABEL`], and comes out
//! in apply order (namespaces and CRDs first, webhooks last): see [`apply_rank`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::source::Sources;
use super::version::Version;

/// Label naming the add-on that installed an object.
pub const ADDON_LABEL: &str = "addons.cloudtemple.com/name";
/// Standard `managed-by` label.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "terraform-provider-cloudtemple";

mod check;
mod scope;
#[cfg(test)]
mod tests;

pub use check::{check_rendered, is_cluster_scoped};
use scope::Scope;

/// One container image and its tag per add-on version.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Registry and repository, without tag.
    pub repository: String,
    /// Tag for versions without an override (placeholders allowed, e.g. `v${version}`).
    pub tag: String,
    /// Tags of particular add-on versions.
    #[serde(default)]
    pub tags: BTreeMap<Version, String>,
    /// Where the repository and tags are stated.
    pub source: Sources,
}

/// Add-on versions an object belongs to (inclusive bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionBounds {
    /// Oldest add-on version that installs the object.
    #[serde(default)]
    pub min: Option<Version>,
    /// Newest add-on version that installs the object.
    #[serde(default)]
    pub max: Option<Version>,
}

impl VersionBounds {
    fn contains(&self, version: Version) -> bool {
        self.min.is_none_or(|min| version >= min) && self.max.is_none_or(|max| version <= max)
    }
}

/// One condition or several (all must hold).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Conditions {
    /// A single condition.
    One(String),
    /// All of these.
    All(Vec<String>),
}

impl Conditions {
    fn iter(&self) -> impl Iterator<Item = &String> {
        match self {
            Self::One(one) => std::slice::from_ref(one).iter(),
            Self::All(all) => all.iter(),
        }
    }
}

/// One object template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Conditions on the configuration.
    #[serde(default)]
    pub when: Option<Conditions>,
    /// Add-on versions that install the object.
    #[serde(default)]
    pub versions: Option<VersionBounds>,
    /// One object per item.
    #[serde(default)]
    pub each: Vec<Map<String, Value>>,
    /// Where the facts in the object (group, kind, class names) are stated.
    #[serde(default)]
    pub source: Option<Sources>,
    /// The object, with placeholders.
    pub object: Value,
}

/// The `manifests:` section of an add-on file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifests {
    /// A valid configuration to render with in tests, when the schema requires settings.
    #[serde(default)]
    pub example_configuration: Option<Value>,
    /// Container images by name.
    #[serde(default)]
    pub images: BTreeMap<String, Image>,
    /// Object templates, in file order.
    pub objects: Vec<Template>,
}

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template}: {message}")]
pub struct RenderError {
    /// Which template, as `objects[3]` (with the `each` item when there is one).
    pub template: String,
    /// What is wrong.
    pub message: String,
}

/// The identity of one installed object: the inventory entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `apiVersion` (`apps/v1`).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The identity of a rendered object (`None` when it lacks apiVersion, kind or name).
    pub fn of(object: &Value) -> Option<Self> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let metadata = object.get("metadata");
        Some(Self {
            api_version: text(object.get("apiVersion"))?,
            kind: text(object.get("kind"))?,
            namespace: text(metadata.and_then(|m| m.get("namespace"))).unwrap_or_default(),
            name: text(metadata.and_then(|m| m.get("name")))?,
        })
    }

    /// Parses the inventory form `apiVersion/Kind/namespace/name` (apiVersion may hold a `/`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.rsplitn(4, '/');
        let name = parts.next()?.to_owned();
        let namespace = parts.next()?.to_owned();
        let kind = parts.next()?.to_owned();
        let api_version = parts.next()?.to_owned();
        if name.is_empty() || kind.is_empty() || api_version.is_empty() {
            return None;
        }
        Some(Self { api_version, kind, namespace, name })
    }

    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}/{}", self.api_version, self.kind, self.namespace, self.name)
    }
}

/// Where an object goes in apply order: lower first. Deletion goes the other way.
pub fn apply_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "PriorityClass" | "StorageClass" | "IngressClass" | "CSIDriver" | "RuntimeClass" => 2,
        "ServiceAccount" => 3,
        "ClusterRole" | "Role" => 4,
        "ClusterRoleBinding" | "RoleBinding" => 5,
        "ConfigMap" | "Secret" => 6,
        "Service" => 7,
        "Deployment" | "DaemonSet" | "StatefulSet" | "Job" | "CronJob" => 8,
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" | "APIService" => 10,
        _ => 9,
    }
}

impl Manifests {
    /// Renders every object for `version` in `namespace` with `config` (schema defaults
    /// already applied), in apply order.
    pub fn render(
        &self,
        addon: &str,
        version: Version,
        namespace: &str,
        config: &Value,
    ) -> Result<Vec<Value>, RenderError> {
        let mut rendered = Vec::new();
        for (index, template) in self.objects.iter().enumerate() {
            if template.versions.is_some_and(|bounds| !bounds.contains(version)) {
                continue;
            }
            // Items are rendered first (they may read the configuration), then used.
            let outer = Scope { addon, version, namespace, config, item: None, images: &self.images };
            let mut items: Vec<Option<Map<String, Value>>> = Vec::new();
            for (item_index, item) in template.each.iter().enumerate() {
                let rendered = outer.value(&Value::Object(item.clone())).map_err(|message| RenderError {
                    template: format!("objects[{index}].each[{item_index}]"),
                    message,
                })?;
                items.push(rendered.and_then(|v| v.as_object().cloned()));
            }
            if template.each.is_empty() {
                items.push(None);
            }
            for (item_index, item) in items.iter().map(Option::as_ref).enumerate() {
                let located = |message: String| RenderError {
                    template: if item.is_some() {
                        format!("objects[{index}].each[{item_index}]")
                    } else {
                        format!("objects[{index}]")
                    },
                    message,
                };
                let scope = Scope { addon, version, namespace, config, item, images: &self.images };
                let mut keep = true;
                for condition in template.when.iter().flat_map(Conditions::iter) {
                    keep &= scope.holds(condition).map_err(located)?;
                }
                if !keep {
                    continue;
                }
                let Some(mut object) = scope.value(&template.object).map_err(located)? else {
                    return Err(located("the object renders to nothing".into()));
                };
                label(&mut object, addon).map_err(located)?;
                rendered.push(object);
            }
        }
        // Stable sort: file order within one rank.
        rendered.sort_by_key(|o| apply_rank(o.get("kind").and_then(Value::as_str).unwrap_or_default()));
        Ok(rendered)
    }
}

fn label(object: &mut Value, addon: &str) -> Result<(), String> {
    let metadata = object
        .as_object_mut()
        .ok_or("an object template must be a mapping")?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let labels = metadata
        .as_object_mut()
        .ok_or("metadata must be a mapping")?
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("metadata.labels must be a mapping")?;
    labels.insert(ADDON_LABEL.into(), Value::String(addon.to_owned()));
    labels.insert(MANAGED_BY_LABEL.into(), Value::String(MANAGED_BY.to_owned()));
    Ok(())
}

/// The configuration with every schema default filled in: absent settings with a `default`
/// take it, and absent objects whose properties have defaults are created, so templates can
/// read `${config.a.b}` without caring whether the user wrote `a`.
pub fn apply_defaults(schema: &Value, value: &Value) -> Value {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return value.clone();
    };
    let mut fields = value.as_object().cloned().unwrap_or_default();
    for (name, property) in properties {
        match fields.get(name) {
            Some(present) => {
                if property.get("type").and_then(Value::as_str) == Some("object") {
                    let filled = apply_defaults(property, present);
                    fields.insert(name.clone(), filled);
                }
            }
            None => {
                if let Some(default) = property.get("default") {
                    fields.insert(name.clone(), default.clone());
                } else if property.get("type").and_then(Value::as_str) == Some("object")
                    && property.get("required").is_none()
                {
                    let filled = apply_defaults(property, &Value::Object(Map::new()));
                    if filled.as_object().is_some_and(|o| !o.is_empty()) {
                        fields.insert(name.clone(), filled);
                    }
                }
            }
        }
    }
    Value::Object(fields)
}
