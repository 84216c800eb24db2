//! Router-level tests of server-side apply (create, ownership, conflicts with their messages,
//! force, removal of fields a manager stops applying, no-op applies), RBAC and injected faults.

mod kube_support;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use ct_emulator::kube::{Identity, KubeFaults, Timings};
use kube_support::{Cluster, call_full};
use serde_json::{Value, json};

const URI: &str = "/apis/apps/v1/namespaces/default/deployments/web";

fn deployment(replicas: i64, image: &str, labels: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["manager"].as_str().unwrap_or_default().to_owned(),
                        m["operation"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn apply_creates_tracks_owners_and_is_idempotent() {
    let c = Cluster::new(Timings::fast());
    let (s, created) =
        c.apply(URI, "provider", false, &deployment(2, "nginx:1", &json!({"team": "a"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(managers(&created), [("provider".to_owned(), "Apply".to_owned())]);
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["."],
        json!({})
    );
    let (s, again) = c.apply(URI, "provider", false, &deployment(2, "nginx:1", &json!({"team": "a"}))).await;
    assert_eq!(
        (s, &again["metadata"]["resourceVersion"]),
        (StatusCode::OK, &created["metadata"]["resourceVersion"]),
        "no-op apply"
    );
    // A field the manager stops applying goes away.
    let (_, next) = c.apply(URI, "provider", false, &deployment(2, "nginx:1", &json!({}))).await;
    assert!(next["metadata"]["labels"].get("team").is_none(), "{next}");
    // YAML bodies are accepted for apply.
    let yaml =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    note: yaml\n";
    let (s, y) = c.patch(&format!("{URI}?fieldManager=notes"), "application/apply-patch+yaml", yaml).await;
    assert_eq!((s, y["metadata"]["annotations"]["note"].as_str()), (StatusCode::OK, Some("yaml")));
    assert_eq!(y["spec"]["replicas"], 2, "other managers' fields stay");
    let (s, v) = c.patch(URI, "application/apply-patch+yaml", yaml).await;
    assert_eq!(
        (s, v["reason"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("Invalid")),
        "fieldManager is required"
    );
    let (s, _) = c
        .apply(
            URI,
            "provider",
            false,
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "name must match the URL");
}

#[tokio::test]
async fn conflicts_name_fields_and_managers_until_forced() {
    let c = Cluster::new(Timings::fast());
    // An Update manager (kubectl client-side apply) owns everything it created.
    let body = deployment(2, "nginx:1", &json!({})).to_string();
    c.call(
        Some(Identity::admin()),
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply",
        "application/json",
        &body,
    )
    .await;
    let (s, v) = c.apply(URI, "kubectl", false, &deployment(3, "nginx:1", &json!({}))).await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));
    assert_eq!(
        v["message"],
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        v["details"]["causes"][0],
        json!({"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-client-side-apply\" using apps/v1", "field": ".spec.replicas"})
    );
    let (s, v) = c.apply(URI, "kubectl", false, &deployment(3, "nginx:2", &json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        v["message"],
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
    // Applying the same values shares ownership without conflict.
    let (s, shared) = c.apply(URI, "kubectl", false, &deployment(2, "nginx:1", &json!({}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(managers(&shared).len(), 2);
    let (s, forced) = c.apply(URI, "kubectl", true, &deployment(3, "nginx:1", &json!({}))).await;
    assert_eq!((s, forced["spec"]["replicas"].as_i64()), (StatusCode::OK, Some(3)));
    let csa = forced["metadata"]["managedFields"]
        .as_array()
        .expect("managers")
        .iter()
        .find(|m| m["manager"] == "kubectl-client-side-apply")
        .cloned()
        .expect("kept");
    assert!(csa["fieldsV1"]["f:spec"].get("f:replicas").is_none(), "ownership moved");
    // Between two appliers the message names the manager without an apiVersion.
    let (_, v) = c.apply(URI, "other", false, &deployment(4, "nginx:1", &json!({}))).await;
    assert_eq!(v["message"], "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas");
    // An update (not apply) takes ownership silently.
    let (s, _) = c
        .patch(
            &format!("{URI}?fieldManager=hpa"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":6}}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = c.apply(URI, "kubectl", false, &deployment(3, "nginx:1", &json!({}))).await;
    assert_eq!(
        v["message"],
        "Apply failed with 1 conflict: conflict with \"hpa\" using apps/v1: .spec.replicas"
    );
}

#[tokio::test]
async fn rbac_refuses_and_bindings_grant() {
    let c = Cluster::new(Timings::fast());
    let bob = Some(Identity::new("bob", ["devs"]));
    let (s, v) = c.call(bob.clone(), Method::GET, "/api/v1/namespaces/default/secrets", "", "").await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::FORBIDDEN, Some("Forbidden")));
    assert_eq!(
        v["message"],
        "secrets is forbidden: User \"bob\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\""
    );
    let (s, _) = c.call(bob.clone(), Method::GET, "/apis", "", "").await;
    assert_eq!(s, StatusCode::OK, "discovery is open to authenticated users");
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "secret-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]});
    c.admin(Method::POST, "/apis/rbac.authorization.k8s.io/v1/clusterroles", &role.to_string()).await;
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "devs-read"},
        "subjects": [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"kind": "ClusterRole", "name": "secret-reader", "apiGroup": "rbac.authorization.k8s.io"}});
    let (s, _) = c
        .admin(
            Method::POST,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            &binding.to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        c.call(bob.clone(), Method::GET, "/api/v1/namespaces/default/secrets", "", "").await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.call(bob.clone(), Method::GET, "/api/v1/namespaces/kube-system/secrets", "", "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.call(bob, Method::DELETE, "/api/v1/namespaces/default/secrets/x", "", "").await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn faults_add_latency_errors_and_throttling() {
    let c = Cluster::new(Timings::fast());
    let admin = Some(Identity::admin());
    c.server.set_faults(KubeFaults { latency_ms: 150, ..KubeFaults::default() });
    let start = Instant::now();
    assert_eq!(c.admin(Method::GET, "/api/v1/namespaces", "").await.0, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(150));
    c.server.set_faults(KubeFaults { error_rate: 1.0, ..KubeFaults::default() });
    let (s, v) = c.admin(Method::GET, "/api/v1/namespaces", "").await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("InternalError")));
    assert_eq!(c.call(None, Method::GET, "/healthz", "", "").await.0, StatusCode::OK, "health is exempt");
    c.server.set_faults(KubeFaults { throttle_rate: 1.0, retry_after_secs: 7, ..KubeFaults::default() });
    let (s, headers, v) =
        call_full(&c.server, admin.clone(), Method::GET, "/api/v1/namespaces", &[], "").await;
    assert_eq!(
        (s, v["reason"].as_str(), v["details"]["retryAfterSeconds"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some("TooManyRequests"), Some(7))
    );
    assert_eq!(headers.get("retry-after").and_then(|h| h.to_str().ok()), Some("7"));
    c.server.set_faults(KubeFaults::default());
    assert!(!KubeFaults { error_rate: 2.0, ..KubeFaults::default() }.is_valid());
    assert_eq!(c.admin(Method::GET, "/api/v1/namespaces", "").await.0, StatusCode::OK);
}
