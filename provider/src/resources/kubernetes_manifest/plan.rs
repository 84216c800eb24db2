//! The plan: `api_version`, `kind`, `name`, `namespace` and `id` from the object. The namespace
//! of an object that names none comes from the kind's scope: built-in kinds are known without
//! the cluster; other kinds are looked up when the cluster answers, and stay unknown when it
//! does not exist yet or does not serve the kind yet (its CRD comes in the same apply), to be
//! resolved at apply. A change of identity replaces the object.

use super::object::{self, known_scope};
use crate::kube::{Budget, KubeAccess, KubeClient, ObjectRef};
use std::time::Duration;
use tfplugin::resource::{PlanRequest, PlanResponse};
use tfplugin::{AttributePath, Context, Value};

/// How long the plan may spend asking the cluster for a kind's scope.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// The scope of a kind only the cluster knows; `None` when it cannot tell now.
async fn discovered_scope(
    ctx: &Context,
    field_manager: &str,
    cluster: &Value,
    r: &ObjectRef,
) -> Option<bool> {
    let access = KubeAccess::from_value(cluster).ok()?;
    let client = KubeClient::new(&access, field_manager).ok()?;
    match client.resolve(&r.api_version, &r.kind, &Budget::new(ctx, DISCOVERY_TIMEOUT)).await {
        Ok(found) => found.map(|k| k.namespaced),
        Err(e) => {
            tracing::debug!(object = %r, error = %e, "kind not resolved at plan; resolved at apply");
            None
        }
    }
}

/// Refines the plan.
pub async fn plan(ctx: &Context, field_manager: &str, req: &PlanRequest<'_>, resp: &mut PlanResponse) {
    let obj = match object::object(&resp.planned) {
        Ok(o) => o,
        Err(d) => {
            resp.diags.push(d);
            return;
        }
    };
    let set = |planned: &mut Value, k: &str, v: Value| {
        let _ = planned.set_attr(k, v);
    };
    let Some((_, obj)) = obj else {
        for k in ["api_version", "kind", "name", "namespace", "id"] {
            set(&mut resp.planned, k, Value::Unknown);
        }
        return;
    };
    let Ok(mut r) = ObjectRef::from_object(&obj) else { return };
    let prior = req.prior.filter(|p| !p.is_null());
    let prior_str = |k: &str| prior.and_then(|p| p.get_attr(k)).and_then(Value::as_str).map(str::to_string);
    let same_kind = prior_str("api_version").as_deref() == Some(r.api_version.as_str())
        && prior_str("kind").as_deref() == Some(r.kind.as_str());
    let namespace = match &r.namespace {
        Some(ns) => Value::from(ns.clone()),
        None => {
            let scope = match known_scope(&r.api_version, &r.kind) {
                Some(s) => Some(s),
                // The kind is served (the object exists): its scope has not changed.
                None if same_kind => Some(prior_str("namespace").is_some()),
                None => {
                    let cluster = resp.planned.get_attr("cluster").cloned().unwrap_or_default();
                    discovered_scope(ctx, field_manager, &cluster, &r).await
                }
            };
            match scope {
                Some(true) => Value::from("default"),
                Some(false) => Value::Null,
                None => Value::Unknown,
            }
        }
    };
    r.namespace = namespace.as_str().map(str::to_string);
    let id = if namespace.is_unknown() { Value::Unknown } else { Value::from(r.to_id()) };
    set(&mut resp.planned, "api_version", Value::from(r.api_version.clone()));
    set(&mut resp.planned, "kind", Value::from(r.kind.clone()));
    set(&mut resp.planned, "name", Value::from(r.name.clone()));
    set(&mut resp.planned, "namespace", namespace);
    set(&mut resp.planned, "id", id);
    if let Some(prior) = prior {
        for k in ["api_version", "kind", "name", "namespace"] {
            let before = prior.get_attr(k).cloned().unwrap_or_default();
            let after = resp.planned.get_attr(k).cloned().unwrap_or_default();
            if after.is_known() && before.to_json_value() != after.to_json_value() {
                resp.requires_replace.push(AttributePath::root().attr(k));
            }
        }
        // Another cluster (replaced, or not known yet) gets a new object: its UID is not known.
        let cluster_id = |v: &Value| v.get_attr("cluster").and_then(|c| c.get_attr("cluster_id")).cloned();
        let same_cluster = match (cluster_id(prior), cluster_id(&resp.planned)) {
            (Some(a), Some(b)) => b.is_known() && a.to_json_value() == b.to_json_value(),
            _ => false,
        };
        if !resp.requires_replace.is_empty() || !same_cluster {
            set(&mut resp.planned, "uid", Value::Unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kubernetes_manifest::object::from_json;
    use serde_json::json;
    use tfplugin::Diagnostics;

    fn planned(manifest: &serde_json::Value, cluster_id: Value) -> Value {
        Value::object([
            ("cluster", Value::object([("cluster_id", cluster_id)])),
            ("manifest", from_json(manifest)),
            ("yaml_body", Value::Null),
            ("uid", Value::from("u1")),
        ])
    }

    async fn run(prior: Option<&Value>, planned: Value) -> PlanResponse {
        let mut resp = PlanResponse {
            planned: planned.clone(),
            planned_private: Vec::new(),
            requires_replace: Vec::new(),
            diags: Diagnostics::new(),
        };
        let req = PlanRequest { prior, config: &planned, prior_private: &[] };
        plan(&Context::background(), "m", &req, &mut resp).await;
        resp
    }

    fn attr<'a>(v: &'a Value, k: &str) -> &'a Value {
        v.get_attr(k).expect(k)
    }

    #[tokio::test]
    async fn identity_namespace_and_replacement() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let r = run(None, planned(&cm, Value::from("c1"))).await;
        assert_eq!(attr(&r.planned, "namespace").as_str(), Some("default"));
        assert_eq!(attr(&r.planned, "id").as_str(), Some("v1//ConfigMap//default//a"));
        let sc =
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "f"}});
        let r = run(None, planned(&sc, Value::from("c1"))).await;
        assert!(attr(&r.planned, "namespace").is_null());
        assert_eq!(attr(&r.planned, "id").as_str(), Some("storage.k8s.io/v1//StorageClass//f"));
        // A custom kind and no cluster to ask: resolved at apply.
        let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let r = run(None, planned(&w, Value::Unknown)).await;
        assert!(attr(&r.planned, "namespace").is_unknown() && attr(&r.planned, "id").is_unknown());
        assert_eq!(attr(&r.planned, "kind").as_str(), Some("Widget"));

        // Same object on the same cluster: nothing replaced, UID kept; renamed: replaced.
        let prior = run(None, planned(&cm, Value::from("c1"))).await.planned;
        let same = run(Some(&prior), planned(&cm, Value::from("c1"))).await;
        assert!(same.requires_replace.is_empty());
        assert_eq!(attr(&same.planned, "uid").as_str(), Some("u1"));
        let renamed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
        let r = run(Some(&prior), planned(&renamed, Value::from("c1"))).await;
        assert_eq!(r.requires_replace, vec![AttributePath::root().attr("name")]);
        assert!(attr(&r.planned, "uid").is_unknown());
        let moved = run(
            Some(&prior),
            planned(
                &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
                Value::from("c2"),
            ),
        )
        .await;
        assert!(moved.requires_replace.is_empty() && attr(&moved.planned, "uid").is_unknown());
    }
}
