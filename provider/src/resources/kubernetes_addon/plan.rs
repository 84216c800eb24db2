//! Validation and planning: everything decided before any call to the cluster.
//!
//! - validate: `configuration_values` against the add-on's schema (each violation at the
//!   attribute path `configuration_values`, with the JSON path in the text), and `version`
//!   against the catalog's list;
//! - plan: the deprecated-alias warning, the default version for the cluster's Kubernetes
//!   version (unknown while the cluster is), compatibility, no downgrade, the namespace, the
//!   rendered inventory (so the plan shows what will be pruned), and `status` back to settled
//!   when a refresh found drift or the last apply failed (which makes the plan show an update),
//!   and changes the API server would refuse (immutable fields, [`super::immutable_fields`]).

use super::immutable_fields::immutable_changes;
use super::spec::{inventory_ids, inventory_value, parse_configuration, settled_status};
use crate::catalog::{Addon, Catalog, Version};
use tfplugin::resource::{PlanRequest, PlanResponse};
use tfplugin::{AttributePath, Diagnostics, Value};

fn path(name: &str) -> AttributePath {
    AttributePath::root().attr(name)
}

fn known_str<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get_attr(name).and_then(Value::as_str)
}

/// The add-on named by a configuration or plan, when the name is known and in the catalog.
fn addon_of(v: &Value) -> Option<(&'static Addon, Option<&'static str>)> {
    let lookup = Catalog::embedded().addon(known_str(v, "name")?).ok()?;
    Some((lookup.addon, lookup.alias.map(|alias| alias.deprecation.as_str())))
}

/// The objects of `addon` at `version` for a configuration text, when it is valid.
fn rendered(addon: &Addon, version: Version, configuration: Option<&str>) -> Option<Vec<serde_json::Value>> {
    parse_configuration(configuration)
        .ok()
        .filter(|values| addon.validate_configuration(values).is_empty())
        .and_then(|values| addon.render(version, &values).ok())
}

/// Checks `configuration_values` and `version` of a configuration (values may be unknown).
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Some((addon, _)) = addon_of(config) else { return };
    if let Some(text) = known_str(config, "configuration_values") {
        check_configuration(addon, text, diags);
    }
    if let Some(version) = known_str(config, "version") {
        match Version::parse(version) {
            Err(error) => {
                diags.error_at(path("version"), "Invalid version", format!("{version:?}: {error}."));
            }
            Ok(version) if addon.version(version).is_none() => diags.error_at(
                path("version"),
                "Unknown add-on version",
                format!(
                    "{} has no version {version} in the catalog; available versions: {}.",
                    addon.name,
                    addon.versions().iter().map(|v| v.version.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ),
            Ok(_) => {}
        }
    }
}

/// Validates configuration text against the add-on's schema, one diagnostic per violation.
pub fn check_configuration(addon: &Addon, text: &str, diags: &mut Diagnostics) {
    let values = match parse_configuration(Some(text)) {
        Ok(values) => values,
        Err(error) => {
            diags.error_at(
                path("configuration_values"),
                "Invalid add-on configuration",
                format!("configuration_values {error}."),
            );
            return;
        }
    };
    for violation in addon.validate_configuration(&values) {
        let at = if violation.path.is_empty() { "$".to_owned() } else { format!("$.{}", violation.path) };
        diags.error_at(
            path("configuration_values"),
            "Invalid add-on configuration",
            format!(
                "{} configuration at `{at}`: {}. See the `configuration_schema` of this add-on in the \
                 cloudtemple_kubernetes_addons data source.",
                addon.name, violation.message
            ),
        );
    }
}

/// The cluster's Kubernetes minor line, when the cluster is known.
fn cluster_kubernetes(planned: &Value) -> Option<crate::catalog::MinorVersion> {
    let cluster = planned.get_attr("cluster")?;
    Version::parse(known_str(cluster, "kubernetes_version")?).ok().map(|v| v.minor_line())
}

/// Refines the plan after the generic engine.
pub fn plan(req: &PlanRequest<'_>, resp: &mut PlanResponse) {
    let Some((addon, deprecation)) = addon_of(&resp.planned) else { return };
    if let Some(notice) = deprecation {
        resp.diags.warning_at(path("name"), "Deprecated add-on name", notice);
    }
    let planned = &mut resp.planned;
    let diags = &mut resp.diags;
    let _ = planned.set_attr("namespace", Value::from(addon.namespace.as_str()));
    let kubernetes = cluster_kubernetes(planned);
    let prior_version = req.prior.and_then(|p| known_str(p, "version")).and_then(|v| Version::parse(v).ok());

    // The version: configured, else kept from the prior state, else the catalog's default.
    let configured = known_str(req.config, "version").and_then(|v| Version::parse(v).ok());
    let version = match (configured, prior_version, kubernetes) {
        (Some(version), _, _) => Some(version),
        (None, Some(prior), _) if req.config.get_attr("version").is_none_or(Value::is_null) => Some(prior),
        (None, _, Some(line)) if req.config.get_attr("version").is_none_or(Value::is_null) => {
            match addon.default_version_for(line) {
                Ok(entry) => Some(entry.version),
                Err(error) => {
                    diags.error_at(path("version"), "No compatible add-on version", error.to_string());
                    None
                }
            }
        }
        _ => None,
    };
    if let (Some(version), Some(line)) = (version, kubernetes)
        && let Err(error) = addon.check_version(version, line)
    {
        diags.error_at(path("version"), "Add-on version not compatible", error.to_string());
    }
    if let (Some(from), Some(to)) = (prior_version, version)
        && let Err(error) = addon.check_upgrade(from, to)
    {
        diags.error_at(
            path("version"),
            "Add-on downgrade",
            format!("{error}. Downgrades are refused: keep {from} or choose a later version."),
        );
    }
    let _ = planned.set_attr("version", version.map_or(Value::Unknown, |v| Value::from(v.to_string())));

    // The inventory, when the version and configuration are known.
    let configuration = planned.get_attr("configuration_values").cloned().unwrap_or(Value::Null);
    let objects = match (version, configuration.is_known()) {
        (Some(version), true) => rendered(addon, version, configuration.as_str()),
        _ => None,
    };
    let inventory = objects.as_deref().and_then(|objects| inventory_ids(objects).ok());
    if let (Some(objects), Some(prior)) = (&objects, req.prior) {
        let prior_objects = prior_version
            .and_then(|v| rendered(addon, v, prior.get_attr("configuration_values").and_then(Value::as_str)));
        let changes = prior_objects.map(|p| immutable_changes(&p, objects)).unwrap_or_default();
        if !changes.is_empty() {
            let at = if prior.get_attr("configuration_values") == planned.get_attr("configuration_values") {
                "version"
            } else {
                "configuration_values"
            };
            diags.error_at(
                path(at),
                "Change Kubernetes cannot make in place",
                format!(
                    "This change would modify fields the Kubernetes API server refuses to update: {}. Keep the \
                     previous value, or remove the add-on (or the objects named) and install it again with the \
                     new one.",
                    changes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
    let _ = planned.set_attr("managed_objects", inventory.as_deref().map_or(Value::Unknown, inventory_value));

    // The identifier, once the cluster is known.
    if req.prior.is_none() {
        let cluster_id =
            planned.get_attr("cluster").and_then(|c| known_str(c, "cluster_id")).map(str::to_owned);
        let name = known_str(planned, "name").map(str::to_owned);
        if let (Some(cluster_id), Some(name)) = (cluster_id, name) {
            let _ = planned.set_attr("id", Value::from(format!("{cluster_id}:{name}")));
        }
    }

    // Status: unchanged when nothing changes; back to settled after any change or drift.
    let wait = planned.get_attr("wait").and_then(Value::as_bool);
    let settled = wait.map_or(Value::Unknown, |w| Value::from(settled_status(w)));
    let status = match req.prior {
        None => settled,
        Some(prior) => {
            let changed = [
                "version",
                "configuration_values",
                "conflict_resolution",
                "wait",
                "managed_objects",
                "cluster",
            ]
            .iter()
            .any(|name| planned.get_attr(name) != prior.get_attr(name));
            // Drift found by a refresh, or an apply that failed half-way: apply again.
            let drifted =
                known_str(prior, "status").is_none_or(|s| s.starts_with("drifted") || s == "failed");
            if changed || drifted {
                settled
            } else {
                prior.get_attr("status").cloned().unwrap_or(Value::Null)
            }
        }
    };
    let _ = planned.set_attr("status", status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, values: Option<&str>) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("configuration_values", values.map_or(Value::Null, Value::from)),
            ("version", Value::Null),
        ])
    }

    #[test]
    fn configuration_errors_carry_the_json_path() {
        let mut diags = Diagnostics::new();
        validate(&config("metallb", Some(r#"{"internal_pool": {"addresses": ["nope"]}}"#)), &mut diags);
        let text = format!("{diags:?}");
        assert!(text.contains("$.internal_pool.addresses[0]"), "{text}");
        assert!(text.contains("$.external_pool"), "{text}");
        assert!(text.contains("configuration_values"), "{text}");
        let mut diags = Diagnostics::new();
        validate(&config("cilium", Some(r#"{"routing": {"mode": "native"}}"#)), &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
    }

    #[test]
    fn unknown_versions_are_refused_at_validate() {
        let mut diags = Diagnostics::new();
        let mut c = config("kyverno", None);
        let _ = c.set_attr("version", Value::from("0.0.1"));
        validate(&c, &mut diags);
        assert!(format!("{diags:?}").contains("1.19.1"), "{diags:?}");
    }

    fn cluster(kubernetes: &str) -> Value {
        Value::object([("cluster_id", Value::from("c1")), ("kubernetes_version", Value::from(kubernetes))])
    }

    fn object(name: &str, version: Option<&str>, status: Option<&str>) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("cluster", cluster("1.36.4")),
            ("version", version.map_or(Value::Null, Value::from)),
            ("configuration_values", Value::Null),
            ("conflict_resolution", Value::from("none")),
            ("wait", Value::from(true)),
            ("status", status.map_or(Value::Unknown, Value::from)),
            ("managed_objects", Value::Unknown),
        ])
    }

    fn run(prior: Option<&Value>, config: &Value) -> PlanResponse {
        let mut planned = config.clone();
        if let Some(prior) = prior {
            for name in ["version", "status", "managed_objects", "id", "namespace"] {
                if config.get_attr(name).is_none_or(Value::is_null) {
                    let _ = planned.set_attr(name, prior.get_attr(name).cloned().unwrap_or(Value::Null));
                }
            }
        }
        let mut resp = PlanResponse {
            planned,
            planned_private: Vec::new(),
            requires_replace: Vec::new(),
            diags: Diagnostics::new(),
        };
        plan(&PlanRequest { prior, config, prior_private: &[] }, &mut resp);
        resp
    }

    #[test]
    fn create_takes_the_default_version_and_shows_the_inventory() {
        let resp = run(None, &object("kyverno", None, None));
        assert!(!resp.diags.has_errors(), "{:?}", resp.diags);
        assert_eq!(resp.planned.get_attr("version").and_then(Value::as_str), Some("1.19.1"));
        assert_eq!(resp.planned.get_attr("id").and_then(Value::as_str), Some("c1:kyverno"));
        assert_eq!(resp.planned.get_attr("status").and_then(Value::as_str), Some("ready"));
        let inventory = resp.planned.get_attr("managed_objects").and_then(Value::as_list).unwrap();
        assert!(
            inventory
                .iter()
                .any(|v| v.as_str() == Some("apps/v1//Deployment//kyverno//kyverno-admission-controller"))
        );
        // Unknown cluster: unknown version and inventory, no error.
        let mut unknown = object("kyverno", None, None);
        let _ = unknown.set_attr("cluster", Value::Unknown);
        let resp = run(None, &unknown);
        assert!(resp.planned.get_attr("version").is_some_and(Value::is_unknown));
        assert!(resp.planned.get_attr("managed_objects").is_some_and(Value::is_unknown));
    }

    #[test]
    fn downgrades_fail_and_drift_plans_an_update() {
        let mut prior = object("metallb", Some("0.15.3"), Some("ready"));
        let _ = prior.set_attr("configuration_values", Value::from(r#"{"internal_pool":{"addresses":["10.0.0.1/32"]},"external_pool":{"addresses":["10.0.0.2/32"]}}"#));
        let mut config = prior.clone();
        let _ = config.set_attr("version", Value::from("0.14.9"));
        let resp = run(Some(&prior), &config);
        assert!(format!("{:?}", resp.diags).contains("downgrade"), "{:?}", resp.diags);
        // Same configuration: status and inventory stay as they are.
        let settled = run(Some(&prior), &prior);
        let _ =
            prior.set_attr("managed_objects", settled.planned.get_attr("managed_objects").cloned().unwrap());
        let resp = run(Some(&prior), &prior);
        assert_eq!(resp.planned.get_attr("status"), prior.get_attr("status"));
        // A refresh that found drift: the plan puts the status back, which is an update.
        let _ = prior.set_attr("status", Value::from("drifted: Deployment controller deleted"));
        let resp = run(Some(&prior), &prior);
        assert_eq!(resp.planned.get_attr("status").and_then(Value::as_str), Some("ready"));
    }

    #[test]
    fn the_kubecost_alias_warns() {
        let resp = run(None, &object("kubecost", None, None));
        assert!(format!("{:?}", resp.diags).contains("OpenCost"), "{:?}", resp.diags);
    }

    #[test]
    fn a_storage_class_change_of_a_claim_is_refused_at_plan() {
        let with_class = |class: &str| {
            let mut v = object("kube-prometheus-stack", Some("88.1.3"), Some("ready"));
            let _ =
                v.set_attr("configuration_values", Value::from(format!(r#"{{"storage_class":"{class}"}}"#)));
            v
        };
        let prior = with_class("ceph-block");
        let resp = run(Some(&prior), &with_class("ceph-block-norepl"));
        let error = resp.diags.iter().find(|d| d.summary == "Change Kubernetes cannot make in place");
        let error = error.unwrap_or_else(|| panic!("{:?}", resp.diags));
        assert!(
            error.detail.contains(
                "PersistentVolumeClaim monitoring/kube-prometheus-stack-grafana .spec.storageClassName"
            ),
            "{}",
            error.detail
        );
        assert_eq!(error.attribute, Some(path("configuration_values")));
        // The same configuration plans clean.
        let same = run(Some(&prior), &with_class("ceph-block"));
        assert!(!same.diags.has_errors(), "{:?}", same.diags);
    }
}
