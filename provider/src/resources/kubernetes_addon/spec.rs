//! The typed form of an add-on plan or state, the errors of the add-on operations (turned into
//! diagnostics in one place, [`AddonError::to_diagnostic`]), and the inventory ConfigMap that
//! records an installed add-on in the cluster.

use super::TIMEOUTS;
use crate::catalog::manifests::RenderError;
use crate::catalog::{Addon, Catalog, CompatibilityError, Version};
use crate::kube::{KubeError, ObjectRef};
use crate::resources::timeouts::Timeouts;
use serde_json::{Value as Json, json};
use tfplugin::{AttributePath, Diagnostic, Value};

/// Prefix of the ConfigMap (in the add-on's namespace) that records an installed add-on: its
/// version, configuration and inventory. Dependency checks and import read it.
pub const RECORD_PREFIX: &str = "cloudtemple-addon-";

/// What can go wrong while managing an add-on.
#[derive(Debug, thiserror::Error)]
pub enum AddonError {
    /// The Kubernetes API refused or failed.
    #[error("{summary}: {source}")]
    Kube {
        /// What was being done.
        summary: String,
        /// The client error.
        source: KubeError,
    },
    /// The catalog's templates did not render (a provider defect, caught by unit tests).
    #[error("the catalog templates of {addon} {version} do not render: {source}")]
    Render {
        /// Add-on name.
        addon: String,
        /// Version.
        version: Version,
        /// Template error.
        source: RenderError,
    },
    /// A version or dependency rule of the catalog.
    #[error(transparent)]
    Catalog(#[from] CompatibilityError),
    /// A required add-on is not installed on the cluster.
    #[error(
        "{addon} needs the {dependency} add-on, which is not installed on cluster {cluster} ({reason}). \
         Add a cloudtemple_kubernetes_addon \"{dependency}\" for this cluster; when both are created in the \
         same apply, give this add-on depends_on = [the {dependency} add-on] so that {dependency} is installed first."
    )]
    MissingDependency {
        /// The add-on being installed.
        addon: String,
        /// The missing one.
        dependency: String,
        /// The cluster.
        cluster: String,
        /// Why it is needed (from the catalog).
        reason: String,
    },
    /// A value of the plan or state is missing or malformed.
    #[error("{0}")]
    State(String),
}

impl AddonError {
    /// The one diagnostic for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Self::Kube { summary, source } => source.to_diagnostic(summary),
            Self::MissingDependency { dependency, .. } => {
                Diagnostic::error(format!("Add-on {dependency} is not installed"), self.to_string())
            }
            Self::Catalog(error) => Diagnostic::error("Add-on not compatible", error.to_string())
                .at(AttributePath::root().attr("version")),
            Self::Render { .. } => Diagnostic::error("Add-on templates invalid", self.to_string()),
            Self::State(_) => Diagnostic::error("Incomplete add-on", self.to_string()),
        }
    }

    /// Wraps a client error with what was being done.
    pub fn kube(summary: impl Into<String>) -> impl FnOnce(KubeError) -> Self {
        let summary = summary.into();
        move |source| Self::Kube { summary, source }
    }
}

/// An add-on as planned or stored, every value known.
#[derive(Debug)]
pub struct AddonSpec {
    /// The catalog entry (aliases resolved).
    pub addon: &'static Addon,
    /// The name as configured (may be a deprecated alias).
    pub name: String,
    /// Version to install.
    pub version: Version,
    /// `configuration_values` as written (JSON text), if any.
    pub configuration_text: Option<String>,
    /// Parsed `configuration_values` (`{}` when unset).
    pub configuration: Json,
    /// Server-side apply force.
    pub overwrite: bool,
    /// Keep objects on delete.
    pub preserve: bool,
    /// Wait for readiness.
    pub wait: bool,
    /// The cluster identifier (from `cluster.cluster_id`).
    pub cluster_id: String,
    /// Operation time limits.
    pub timeouts: Timeouts,
}

fn text<'v>(v: &'v Value, name: &str) -> Result<&'v str, AddonError> {
    v.get_attr(name).and_then(Value::as_str).ok_or_else(|| {
        AddonError::State(format!("{name} has no known value (a bug in the provider if it should)"))
    })
}

/// Parses `configuration_values` text into a JSON object (`{}` when unset).
pub fn parse_configuration(text: Option<&str>) -> Result<Json, String> {
    match text {
        None => Ok(json!({})),
        Some(text) => match serde_json::from_str::<Json>(text) {
            Ok(value @ Json::Object(_)) => Ok(value),
            Ok(other) => Err(format!("must be a JSON object, got {other}")),
            Err(error) => Err(format!("is not valid JSON: {error}")),
        },
    }
}

impl AddonSpec {
    /// Reads a planned or stored add-on object.
    pub fn from_value(v: &Value) -> Result<Self, AddonError> {
        let name = text(v, "name")?.to_owned();
        let addon = Catalog::embedded().addon(&name)?.addon;
        let version =
            Version::parse(text(v, "version")?).map_err(|e| AddonError::State(format!("version: {e}")))?;
        let configuration_text =
            v.get_attr("configuration_values").and_then(Value::as_str).map(str::to_owned);
        let configuration = parse_configuration(configuration_text.as_deref())
            .map_err(|e| AddonError::State(format!("configuration_values {e}")))?;
        let flag = |name: &str, default: bool| v.get_attr(name).and_then(Value::as_bool).unwrap_or(default);
        let cluster = v.get_attr("cluster").ok_or_else(|| AddonError::State("cluster is not set".into()))?;
        Ok(Self {
            addon,
            name,
            version,
            configuration_text,
            configuration,
            overwrite: v.get_attr("conflict_resolution").and_then(Value::as_str) == Some("overwrite"),
            preserve: flag("preserve", false),
            wait: flag("wait", true),
            cluster_id: text(cluster, "cluster_id")?.to_owned(),
            timeouts: Timeouts::from_value(v, TIMEOUTS),
        })
    }

    /// `<cluster id>:<name>`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.cluster_id, self.name)
    }

    /// The objects this version and configuration install, in apply order.
    pub fn render(&self) -> Result<Vec<Json>, AddonError> {
        self.addon.render(self.version, &self.configuration).map_err(|source| AddonError::Render {
            addon: self.addon.name.clone(),
            version: self.version,
            source,
        })
    }

    /// The status after a successful create or update.
    pub fn settled_status(&self) -> &'static str {
        settled_status(self.wait)
    }

    /// The ConfigMap recording this add-on in the cluster.
    pub fn record(&self, inventory: &[String]) -> Json {
        let mut data = serde_json::Map::new();
        data.insert("name".into(), json!(self.addon.name));
        data.insert("version".into(), json!(self.version.to_string()));
        data.insert("objects".into(), json!(inventory.join("\n")));
        if let Some(text) = &self.configuration_text {
            data.insert("configuration_values".into(), json!(text));
        }
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": format!("{RECORD_PREFIX}{}", self.addon.name),
                "namespace": self.addon.namespace,
                "labels": {
                    crate::catalog::manifests::ADDON_LABEL: self.addon.name,
                    crate::catalog::manifests::MANAGED_BY_LABEL: crate::catalog::manifests::MANAGED_BY,
                },
            },
            "data": data,
        })
    }
}

/// `ready` with waiting, `applied` without.
pub fn settled_status(wait: bool) -> &'static str {
    if wait { "ready" } else { "applied" }
}

/// The reference of the record ConfigMap of add-on `addon`.
pub fn record_ref(addon: &Addon) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(addon.namespace.clone()),
        name: format!("{RECORD_PREFIX}{}", addon.name),
    }
}

/// Inventory ids of rendered objects, in apply order.
pub fn inventory_ids(objects: &[Json]) -> Result<Vec<String>, AddonError> {
    objects
        .iter()
        .map(|o| ObjectRef::from_object(o).map(|r| r.to_id()))
        .collect::<Result<_, _>>()
        .map_err(AddonError::kube("reading a rendered object"))
}

/// The `managed_objects` list value.
pub fn inventory_value(ids: &[String]) -> Value {
    Value::list(ids.iter().map(|id| Value::from(id.as_str())))
}

/// The `managed_objects` of a state, as ids.
pub fn inventory_of(state: &Value) -> Vec<String> {
    state
        .get_attr("managed_objects")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_text_must_be_a_json_object() {
        assert_eq!(parse_configuration(None).unwrap(), json!({}));
        assert_eq!(parse_configuration(Some(r#"{"a": 1}"#)).unwrap(), json!({"a": 1}));
        assert!(parse_configuration(Some("[1]")).unwrap_err().contains("JSON object"));
        assert!(parse_configuration(Some("{")).unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn missing_dependencies_say_what_to_add() {
        let error = AddonError::MissingDependency {
            addon: "hubble".into(),
            dependency: "cilium".into(),
            cluster: "c1".into(),
            reason: "Hubble reads flows from the Cilium agents".into(),
        };
        let text = error.to_string();
        assert!(text.contains("hubble needs the cilium add-on"), "{text}");
        assert!(text.contains("depends_on"), "{text}");
    }
}
