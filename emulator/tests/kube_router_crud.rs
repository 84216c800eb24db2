//! Router-level tests (tower oneshot, no socket) of reads and writes: health, version,
//! discovery, OpenAPI, CRUD with its errors, selectors, resourceVersion conflicts, status and scale
//! subresources, patches, tables, watches, deletion with finalizers and cascades, persistence.

mod kube_support;

use axum::http::{Method, StatusCode};
use ct_emulator::kube::{ApiServer, Identity, Store, Timings};
use kube_support::{Cluster, call_with};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn cm(name: &str, labels: &Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}).to_string()
}

#[tokio::test]
async fn health_version_and_authentication() {
    let c = Cluster::new(Timings::fast());
    for path in ["/healthz", "/livez", "/readyz"] {
        let (s, body) = c.call(None, Method::GET, path, "", "").await;
        assert_eq!((s, body), (StatusCode::OK, json!("ok")));
    }
    let (s, v) = c.call(None, Method::GET, "/version", "", "").await;
    assert_eq!(
        (s, v["gitVersion"].as_str(), v["major"].as_str(), v["minor"].as_str()),
        (StatusCode::OK, Some("v1.32.3"), Some("1"), Some("32"))
    );
    c.server.set_version("1.33.0");
    assert_eq!(c.call(None, Method::GET, "/version", "", "").await.1["gitVersion"], "v1.33.0");

    let (s, v) = c.call(None, Method::GET, "/api/v1/namespaces", "", "").await;
    assert_eq!(
        (s, v["reason"].as_str(), v["kind"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Unauthorized"), Some("Status"))
    );
    assert_eq!(c.call(None, Method::GET, "/apis", "", "").await.0, StatusCode::UNAUTHORIZED);

    c.server.set_available(false);
    assert_eq!(c.admin(Method::GET, CMS, "").await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(c.call(None, Method::GET, "/readyz", "", "").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(c.call(None, Method::GET, "/livez", "", "").await.0, StatusCode::OK);
    c.server.set_available(true);
    assert_eq!(c.admin(Method::GET, CMS, "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn discovery_and_openapi_follow_crds() {
    let c = Cluster::new(Timings::fast());
    let (_, api) = c.admin(Method::GET, "/api", "").await;
    assert_eq!(api["versions"], json!(["v1"]));
    let (_, core) = c.admin(Method::GET, "/api/v1", "").await;
    let pods = core["resources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["name"] == "pods")
        .cloned()
        .expect("pods");
    assert_eq!(
        (pods["namespaced"].as_bool(), pods["kind"].as_str(), pods["shortNames"].clone()),
        (Some(true), Some("Pod"), json!(["po"]))
    );
    assert!(pods["verbs"].as_array().expect("verbs").contains(&json!("watch")));
    let (_, apps) = c.admin(Method::GET, "/apis/apps/v1", "").await;
    assert!(
        apps["resources"]
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r["name"] == "deployments/scale" && r["kind"] == "Scale")
    );
    assert_eq!(c.admin(Method::GET, "/apis/example.com/v1", "").await.0, StatusCode::NOT_FOUND);

    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}}]}});
    let (s, created) = c
        .admin(Method::POST, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &crd.to_string())
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        created["status"]["conditions"]
            .as_array()
            .expect("conds")
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    );
    let (_, groups) = c.admin(Method::GET, "/apis", "").await;
    let g = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "example.com")
        .cloned()
        .expect("group");
    assert_eq!(g["preferredVersion"]["groupVersion"], "example.com/v1");
    let (s, gv) = c.admin(Method::GET, "/apis/example.com/v1", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(gv["resources"][0]["namespaced"], false);
    let (_, root) = c.admin(Method::GET, "/openapi/v3", "").await;
    let url = root["paths"]["apis/example.com/v1"]["serverRelativeURL"].as_str().expect("indexed").to_owned();
    let (_, doc) = c.admin(Method::GET, &url, "").await;
    let op = &doc["paths"]["/apis/example.com/v1/widgets/{name}"]["patch"];
    assert!(op["parameters"].as_array().expect("params").iter().any(|p| p["name"] == "fieldValidation"));
    assert_eq!(c.admin(Method::GET, "/openapi/v2", "").await.0, StatusCode::NOT_FOUND);

    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 1}});
    assert_eq!(
        c.admin(Method::POST, "/apis/example.com/v1/widgets", &w.to_string()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        c.admin(
            Method::DELETE,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
            ""
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(c.admin(Method::GET, "/apis/example.com/v1/widgets/w1", "").await.0, StatusCode::NOT_FOUND);
    assert!(c.server.store().list("example.com", "widgets", None).is_empty(), "objects went with their CRD");
}

#[tokio::test]
async fn create_get_list_and_their_errors() {
    let c = Cluster::new(Timings::fast());
    let (s, created) = c.admin(Method::POST, CMS, &cm("a", &json!({"app": "web"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    for field in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(created["metadata"][field].is_string(), "{field} set");
    }
    assert_eq!(created["metadata"]["managedFields"][0]["operation"], "Update");
    let (s, dup) = c.admin(Method::POST, CMS, &cm("a", &json!({}))).await;
    assert_eq!(
        (s, dup["reason"].as_str(), dup["message"].as_str()),
        (StatusCode::CONFLICT, Some("AlreadyExists"), Some("configmaps \"a\" already exists"))
    );
    let (s, missing) = c.admin(Method::GET, &format!("{CMS}/nope"), "").await;
    assert_eq!(
        (s, missing["message"].as_str(), missing["details"]["name"].as_str()),
        (StatusCode::NOT_FOUND, Some("configmaps \"nope\" not found"), Some("nope"))
    );
    let (s, v) = c.admin(Method::POST, "/api/v1/namespaces/ghost/configmaps", &cm("x", &json!({}))).await;
    assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("namespaces \"ghost\" not found")));
    let (s, v) = c
        .admin(
            Method::POST,
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}).to_string(),
        )
        .await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("Invalid")));
    assert!(v["message"].as_str().expect("msg").contains("metadata.name: Required value"), "{v}");
    let (s, v) = c
        .admin(
            Method::POST,
            CMS,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}).to_string(),
        )
        .await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("Invalid")));
    let (s, _) = c.admin(Method::POST, CMS, &cm("Bad_Name", &json!({}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, g) = c
        .admin(
            Method::POST,
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}})
                .to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        g["metadata"]["name"].as_str().expect("name").starts_with("gen-")
            && g["metadata"]["name"].as_str().expect("name").len() == 9
    );

    c.admin(
        Method::POST,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}).to_string(),
    )
    .await;
    c.admin(
        Method::POST,
        "/api/v1/namespaces/team/configmaps",
        &cm("b", &json!({"app": "db", "tier": "back"})),
    )
    .await;
    let (_, list) = c.admin(Method::GET, CMS, "").await;
    assert_eq!(
        (list["kind"].as_str(), list["items"].as_array().map(Vec::len)),
        (Some("ConfigMapList"), Some(2))
    );
    let (_, all) = c.admin(Method::GET, "/api/v1/configmaps", "").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(3));
    let (_, page) = c.admin(Method::GET, "/api/v1/configmaps?limit=2", "").await;
    assert_eq!(
        (page["items"].as_array().map(Vec::len), page["metadata"]["remainingItemCount"].as_u64()),
        (Some(2), Some(1))
    );
    let token = page["metadata"]["continue"].as_str().expect("continue").to_owned();
    let (_, rest) = c.admin(Method::GET, &format!("/api/v1/configmaps?limit=2&continue={token}"), "").await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    for (selector, want) in [
        ("app%3Dweb", vec!["a"]),
        ("app!%3Dweb", vec!["gen", "b"]),
        ("app+in+(web,db)", vec!["a", "b"]),
        ("app+notin+(web)", vec!["gen", "b"]),
        ("tier", vec!["b"]),
        ("!tier", vec!["a", "gen"]),
    ] {
        let (_, v) = c.admin(Method::GET, &format!("/api/v1/configmaps?labelSelector={selector}"), "").await;
        let mut names: Vec<String> = v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(3)
                    .collect::<String>()
                    .trim_end_matches('-')
                    .to_owned()
            })
            .collect();
        names.sort();
        let mut want: Vec<String> = want.into_iter().map(str::to_owned).collect();
        want.sort();
        assert_eq!(names, want, "{selector}");
    }
    let (_, v) = c.admin(Method::GET, "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dteam", "").await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    let (_, v) = c
        .admin(
            Method::GET,
            "/api/v1/configmaps?fieldSelector=metadata.name%3Da,metadata.namespace!%3Dteam",
            "",
        )
        .await;
    assert_eq!(v["items"][0]["metadata"]["name"], "a");
    let (s, v) = c.admin(Method::GET, "/api/v1/configmaps?fieldSelector=data.k%3Dv", "").await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::BAD_REQUEST, Some("BadRequest")));
    assert_eq!(
        c.admin(Method::GET, "/apis/apps/v1/namespaces/default/nodes", "").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn updates_check_resource_versions_and_bump_generation() {
    let c = Cluster::new(Timings::fast());
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [{"name": "web", "image": "a"}]}}},
        "status": {"replicas": 9}});
    let uri = "/apis/apps/v1/namespaces/default/deployments";
    let (_, created) = c.admin(Method::POST, uri, &d.to_string()).await;
    assert_eq!(
        (created["metadata"]["generation"].as_i64(), created["spec"]["replicas"].as_i64()),
        (Some(1), Some(1)),
        "defaulted"
    );
    assert!(created.get("status").is_none(), "status is not writable through the main resource");
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let (s, v) = c.admin(Method::PUT, &format!("{uri}/web"), &stale.to_string()).await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));
    assert!(v["message"].as_str().expect("msg").contains("the object has been modified"));
    let mut next = created.clone();
    next["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
    let (s, updated) = c.admin(Method::PUT, &format!("{uri}/web"), &next.to_string()).await;
    assert_eq!((s, updated["metadata"]["generation"].as_i64()), (StatusCode::OK, Some(2)));
    assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
    let mut relabel = updated.clone();
    relabel["metadata"]["labels"] = json!({"x": "y"});
    let (_, relabelled) = c.admin(Method::PUT, &format!("{uri}/web"), &relabel.to_string()).await;
    assert_eq!(
        relabelled["metadata"]["generation"].as_i64(),
        Some(2),
        "metadata changes keep the generation"
    );
    let mut renamed = relabelled.clone();
    renamed["metadata"]["name"] = json!("other");
    assert_eq!(
        c.admin(Method::PUT, &format!("{uri}/web"), &renamed.to_string()).await.0,
        StatusCode::BAD_REQUEST
    );

    // The status subresource writes only status.
    let mut st = relabelled.clone();
    st["status"] = json!({"replicas": 1});
    st["spec"]["replicas"] = json!(7);
    let (s, v) = c.admin(Method::PUT, &format!("{uri}/web/status"), &st.to_string()).await;
    assert_eq!(
        (s, v["status"]["replicas"].as_i64(), v["spec"]["replicas"].as_i64()),
        (StatusCode::OK, Some(1), Some(1))
    );

    // Scale.
    let (_, scale) = c.admin(Method::GET, &format!("{uri}/web/scale"), "").await;
    assert_eq!(
        (scale["kind"].as_str(), scale["spec"]["replicas"].as_i64(), scale["status"]["selector"].as_str()),
        (Some("Scale"), Some(1), Some("app=web"))
    );
    let (s, scaled) = c
        .patch(&format!("{uri}/web/scale"), "application/merge-patch+json", r#"{"spec":{"replicas":4}}"#)
        .await;
    assert_eq!((s, scaled["spec"]["replicas"].as_i64()), (StatusCode::OK, Some(4)));
    assert_eq!(c.admin(Method::GET, &format!("{uri}/web"), "").await.1["spec"]["replicas"], 4);
}

#[tokio::test]
async fn patches_of_every_type() {
    let c = Cluster::new(Timings::fast());
    let uri = "/apis/apps/v1/namespaces/default/deployments/web";
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "a", "env": [{"name": "X", "value": "1"}]},
                                                                   {"name": "side", "image": "s"}]}}}});
    c.admin(Method::POST, "/apis/apps/v1/namespaces/default/deployments", &d.to_string()).await;
    let (s, v) =
        c.patch(uri, "application/merge-patch+json", r#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#).await;
    assert_eq!((s, v["metadata"]["labels"].clone()), (StatusCode::OK, json!({"b": "2", "c": "3"})));
    let smp =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"Y","value":"2"}]}]}}}}"#;
    let (s, v) = c.patch(uri, "application/strategic-merge-patch+json", smp).await;
    assert_eq!(s, StatusCode::OK);
    let containers = &v["spec"]["template"]["spec"]["containers"];
    assert_eq!((containers.as_array().map(Vec::len), containers[0]["image"].as_str()), (Some(2), Some("a")));
    assert_eq!(containers[0]["env"], json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]));
    let (s, v) = c.patch(uri, "application/json-patch+json", r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"remove","path":"/metadata/labels/b"}]"#).await;
    assert_eq!(
        (s, v["spec"]["replicas"].as_i64(), v["metadata"]["labels"].clone()),
        (StatusCode::OK, Some(3), json!({"c": "3"}))
    );
    let (s, v) = c
        .patch(uri, "application/json-patch+json", r#"[{"op":"test","path":"/spec/replicas","value":9}]"#)
        .await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("Invalid")));
    let (s, v) = c.patch(uri, "text/plain", "{}").await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("UnsupportedMediaType")));
    let (s, _) = c
        .patch(
            uri,
            "application/merge-patch+json",
            r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a patch carrying a stale resourceVersion is refused");
    assert_eq!(
        c.patch("/apis/apps/v1/namespaces/default/deployments/none", "application/merge-patch+json", "{}")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tables_and_metadata_for_kubectl() {
    let c = Cluster::new(Timings::fast());
    c.server
        .upsert_node("cp-1", &[("node-role.kubernetes.io/control-plane", "")], "v1.32.3", true)
        .expect("node");
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (s, t) = call_with(
        &c.server,
        Some(Identity::admin()),
        Method::GET,
        "/api/v1/nodes",
        &[("accept", accept)],
        "",
    )
    .await;
    assert_eq!((s, t["kind"].as_str()), (StatusCode::OK, Some("Table")));
    let names: Vec<&str> =
        t["columnDefinitions"].as_array().expect("cols").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(&names[..5], ["Name", "Status", "Roles", "Age", "Version"]);
    assert_eq!(t["rows"][0]["cells"][1], "Ready");
    assert_eq!(t["rows"][0]["object"]["metadata"]["name"], "cp-1");
    let accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";
    let (_, m) = call_with(
        &c.server,
        Some(Identity::admin()),
        Method::GET,
        "/api/v1/namespaces",
        &[("accept", accept)],
        "",
    )
    .await;
    assert_eq!(
        (m["kind"].as_str(), m["items"][0]["kind"].as_str()),
        (Some("PartialObjectMetadataList"), Some("PartialObjectMetadata"))
    );
    let (s, _) = call_with(
        &c.server,
        Some(Identity::admin()),
        Method::GET,
        "/api/v1/nodes",
        &[("accept", "application/vnd.kubernetes.protobuf")],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn watches_stream_changes_from_a_version_and_expire_old_ones() {
    let server =
        ApiServer::new(ct_emulator::kube::ApiServerConfig::default(), Store::in_memory()).expect("server");
    let admin = Some(Identity::admin());
    let rv = server.store().resource_version();
    let body = cm("w", &json!({"app": "web"}));
    call_with(&server, admin.clone(), Method::POST, CMS, &[("content-type", "application/json")], &body)
        .await;
    // Relabelled out of the selection, back in, then deleted.
    let relabel = |v: &str| format!(r#"{{"metadata":{{"labels":{{"app":"{v}"}}}}}}"#);
    let merge = [("content-type", "application/merge-patch+json")];
    call_with(&server, admin.clone(), Method::PATCH, &format!("{CMS}/w"), &merge, &relabel("db")).await;
    call_with(&server, admin.clone(), Method::PATCH, &format!("{CMS}/w"), &merge, &relabel("web")).await;
    call_with(&server, admin.clone(), Method::DELETE, &format!("{CMS}/w"), &[], "").await;
    let uri = format!("{CMS}?watch=1&resourceVersion={rv}&timeoutSeconds=1&labelSelector=app%3Dweb");
    let (s, v) = call_with(&server, admin.clone(), Method::GET, &uri, &[], "").await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().expect("json lines").to_owned();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("event")["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "DELETED", "ADDED", "DELETED"]);
    // Without a version: the current objects first.
    let (_, v) = call_with(
        &server,
        admin.clone(),
        Method::GET,
        "/api/v1/namespaces?watch=true&timeoutSeconds=1",
        &[],
        "",
    )
    .await;
    assert_eq!(v.as_str().expect("lines").lines().count(), 4, "the four seeded namespaces");
    for i in 0..4200 {
        server
            .store()
            .transact(|t| {
                t.put(
                    &ct_emulator::kube::ObjectKey::new("", "configmaps", "default", &format!("c{}", i % 3)),
                    json!({}),
                )
            })
            .expect("put");
    }
    let (_, v) = call_with(
        &server,
        admin,
        Method::GET,
        &format!("{CMS}?watch=1&resourceVersion=1&timeoutSeconds=1"),
        &[],
        "",
    )
    .await;
    let event: Value = v.as_object().map_or_else(
        || serde_json::from_str(v.as_str().expect("line").trim()).expect("event"),
        |_| v.clone(),
    );
    assert_eq!(
        (event["type"].as_str(), event["object"]["code"].as_i64(), event["object"]["reason"].as_str()),
        (Some("ERROR"), Some(410), Some("Expired"))
    );
}

#[tokio::test]
async fn deletion_honours_finalizers_preconditions_cascades_and_restarts_keep_everything() {
    let c = Cluster::new(Timings { time_scale: 0.0, ..Timings::fast() });
    let held = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/x"]}});
    let (_, created) = c.admin(Method::POST, CMS, &held.to_string()).await;
    let (s, v) = c
        .admin(
            Method::DELETE,
            &format!("{CMS}/held"),
            &json!({"preconditions": {"uid": "other"}}).to_string(),
        )
        .await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));
    let (s, v) = c.admin(Method::DELETE, &format!("{CMS}/held"), "").await;
    assert_eq!((s, v["kind"].as_str()), (StatusCode::OK, Some("ConfigMap")));
    assert!(v["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        c.admin(Method::GET, &format!("{CMS}/held"), "").await.0,
        StatusCode::OK,
        "kept until finalized"
    );
    let (s, v) = c
        .patch(&format!("{CMS}/held"), "application/merge-patch+json", r#"{"metadata":{"finalizers":[]}}"#)
        .await;
    assert_eq!((s, v["metadata"]["uid"].clone()), (StatusCode::OK, created["metadata"]["uid"].clone()));
    assert_eq!(c.admin(Method::GET, &format!("{CMS}/held"), "").await.0, StatusCode::NOT_FOUND);

    let owner = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}});
    let (_, o) = c.admin(Method::POST, CMS, &owner.to_string()).await;
    let child = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "child", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": o["metadata"]["uid"]}]}, "stringData": {"p": "w"}});
    let (_, s) = c.admin(Method::POST, "/api/v1/namespaces/default/secrets", &child.to_string()).await;
    assert_eq!(s["data"]["p"], "dw==", "stringData folded into data");
    let (_, status) = c.admin(Method::DELETE, &format!("{CMS}/owner"), "").await;
    assert_eq!((status["kind"].as_str(), status["status"].as_str()), (Some("Status"), Some("Success")));
    assert_eq!(
        c.admin(Method::GET, "/api/v1/namespaces/default/secrets/child", "").await.0,
        StatusCode::NOT_FOUND
    );

    c.admin(
        Method::POST,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}).to_string(),
    )
    .await;
    for n in ["x", "y"] {
        c.admin(Method::POST, "/api/v1/namespaces/team/configmaps", &cm(n, &json!({"del": n}))).await;
    }
    let (_, gone) =
        c.admin(Method::DELETE, "/api/v1/namespaces/team/configmaps?labelSelector=del%3Dx", "").await;
    assert_eq!(gone["items"].as_array().map(Vec::len), Some(1));
    let (_, ns) = c.admin(Method::DELETE, "/api/v1/namespaces/team", "").await;
    assert_eq!(ns["status"]["phase"], "Terminating");
    let (s, v) = c.admin(Method::POST, "/api/v1/namespaces/team/configmaps", &cm("z", &json!({}))).await;
    assert_eq!((s, v["reason"].as_str()), (StatusCode::FORBIDDEN, Some("Forbidden")));
    c.server.reconcile_once();
    assert_eq!(c.admin(Method::GET, "/api/v1/namespaces/team", "").await.0, StatusCode::NOT_FOUND);
    assert!(c.server.store().list("", "configmaps", Some("team")).is_empty());

    // A new server over the same directory sees the same objects and continues the versions.
    c.admin(Method::POST, CMS, &cm("kept", &json!({}))).await;
    let rv = c.server.store().resource_version();
    let reopened = ApiServer::new(
        ct_emulator::kube::ApiServerConfig::default(),
        Store::open(c.dir.path().join("kube")).expect("reopen"),
    )
    .expect("server");
    let (s, v) =
        call_with(&reopened, Some(Identity::admin()), Method::GET, &format!("{CMS}/kept"), &[], "").await;
    assert_eq!((s, v["metadata"]["name"].as_str()), (StatusCode::OK, Some("kept")));
    assert_eq!(reopened.store().resource_version(), rv);
}
