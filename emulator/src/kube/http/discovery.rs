//! Discovery (`/api`, `/apis`, group versions) and the OpenAPI v3 index kubectl reads to learn
//! that the server validates fields itself. Discovery answers in the unaggregated form whatever
//! the Accept header says: clients that ask for aggregated discovery (kubectl 1.32) read the
//! response's Content-Type and fall back to per-group-version requests, as with older servers.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::kube::catalog::{Registry, ResourceType};
use crate::kube::error::ApiError;
use crate::kube::meta::api_version;

const VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// `/api`: the core versions.
pub fn core_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_entry(name: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": api_version(name, v), "version": v})).collect();
    json!({"name": name, "versions": gvs, "preferredVersion": gvs.first().cloned().unwrap_or(Value::Null)})
}

/// `/apis`: every named group.
pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> =
        reg.groups().iter().filter(|(g, _)| !g.is_empty()).map(|(g, vs)| group_entry(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`.
///
/// # Errors
/// 404 for an unknown group.
pub fn group(reg: &Registry, name: &str) -> Result<Value, ApiError> {
    let (_, versions) =
        reg.groups().into_iter().find(|(g, _)| g == name && !g.is_empty()).ok_or_else(ApiError::no_route)?;
    let mut entry = group_entry(name, &versions);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Ok(entry)
}

fn resource_entry(t: &ResourceType) -> Value {
    let verbs: &[&str] = if matches!(t.group.as_str(), "authorization.k8s.io" | "authentication.k8s.io") {
        &["create"]
    } else {
        &VERBS
    };
    let mut e = json!({"name": t.resource, "singularName": t.singular, "namespaced": t.namespaced,
                       "kind": t.kind, "verbs": verbs});
    if !t.short_names.is_empty() {
        e["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        e["categories"] = json!(t.categories);
    }
    e
}

/// `/api/v1`, `/apis/<group>/<version>`: the resources of a group version.
///
/// # Errors
/// 404 for a group version the server does not serve.
pub fn resources(reg: &Registry, group: &str, version: &str) -> Result<Value, ApiError> {
    let mut list = Vec::new();
    for t in reg.in_group_version(group, version) {
        list.push(resource_entry(t));
        let sub = |name: &str, verbs: &[&str]| {
            json!({"name": format!("{}/{name}", t.resource), "singularName": "", "namespaced": t.namespaced,
                   "kind": t.kind, "verbs": verbs})
        };
        if t.status_subresource {
            list.push(sub("status", &["get", "patch", "update"]));
        }
        if t.group == "apps" && matches!(t.resource.as_str(), "deployments" | "statefulsets" | "replicasets")
        {
            let mut scale = sub("scale", &["get", "patch", "update"]);
            scale["group"] = json!("autoscaling");
            scale["version"] = json!("v1");
            scale["kind"] = json!("Scale");
            list.push(scale);
        }
        if t.resource == "pods" && t.group.is_empty() {
            let mut eviction = sub("eviction", &["create"]);
            eviction["group"] = json!("policy");
            eviction["version"] = json!("v1");
            eviction["kind"] = json!("Eviction");
            list.push(eviction);
        }
        if t.resource == "namespaces" && t.group.is_empty() {
            list.push(sub("finalize", &["update"]));
        }
    }
    if list.is_empty() {
        return Err(ApiError::no_route());
    }
    Ok(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version(group, version), "resources": list}),
    )
}

fn gv_hash(reg: &Registry, group: &str, version: &str) -> String {
    let mut h = Sha256::new();
    for t in reg.in_group_version(group, version) {
        h.update(format!("{}/{}/{}/{}", t.resource, t.kind, t.namespaced, t.status_subresource).as_bytes());
    }
    h.finalize().iter().take(32).map(|b| format!("{b:02X}")).collect()
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `/openapi/v3`: where each group version's document is.
pub fn openapi_root(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            let p = gv_path(&g, &v);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", gv_hash(reg, &g, &v))}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<gv>`: the PATCH operation of every kind with the query parameters the server
/// honours (`fieldValidation` is what kubectl looks for before skipping client-side validation).
///
/// # Errors
/// 404 for a group version the server does not serve.
pub fn openapi_group_version(
    reg: &Registry,
    group: &str,
    version: &str,
    k8s_version: &str,
) -> Result<Value, ApiError> {
    let mut paths = serde_json::Map::new();
    let param =
        |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    for t in reg.in_group_version(group, version) {
        let prefix = format!("/{}", gv_path(group, version));
        let path = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.resource)
        } else {
            format!("{prefix}/{}/{{name}}", t.resource)
        };
        let patch = json!({
            "operationId": format!("patch{}", t.kind),
            "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation"), param("force")],
            "requestBody": {"content": {"application/apply-patch+yaml": {}, "application/json-patch+json": {},
                                        "application/merge-patch+json": {}}, "required": true},
            "responses": {"200": {"description": "OK"}, "201": {"description": "Created"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "kind": t.kind, "version": version},
        });
        paths.insert(path, json!({"patch": patch}));
    }
    if paths.is_empty() {
        return Err(ApiError::no_route());
    }
    Ok(json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": k8s_version},
              "paths": paths, "components": {"schemas": {}}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_groups_resources_and_subresources() {
        let reg = Registry::build([]);
        let g = groups(&reg);
        assert!(g["groups"].as_array().expect("groups").iter().any(|x| x["name"] == "apps"));
        let apps = resources(&reg, "apps", "v1").expect("apps/v1");
        let names: Vec<&str> =
            apps["resources"].as_array().expect("list").iter().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"deployments") && names.contains(&"deployments/status"));
        assert!(resources(&reg, "apps", "v9").is_err());
        let root = openapi_root(&reg);
        assert!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .expect("url")
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
        let doc = openapi_group_version(&reg, "apps", "v1", "v1.32.0").expect("doc");
        let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    }
}
