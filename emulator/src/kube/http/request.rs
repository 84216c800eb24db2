//! What a request asks for: the route (discovery, health, OpenAPI, or a resource path with its
//! namespace, name and subresource), query parameters, and body decoding (JSON, or YAML for
//! server-side apply).

use std::collections::HashMap;

use serde_json::Value;

use crate::kube::error::ApiError;

/// A resource path: `/api/v1/namespaces/ns/pods/name/status` and friends.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePath {
    /// API group (`""` for core).
    pub group: String,
    /// Version in the path.
    pub version: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace in the path, if any.
    pub namespace: Option<String>,
    /// Object name, if the path names one.
    pub name: Option<String>,
    /// Subresource (`status`, `finalize`, ...).
    pub subresource: Option<String>,
}

/// Every path the server answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz` (and their `/...` checks).
    Health(String),
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`
    GroupVersion(String, String),
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3`
    OpenApiV3Root,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`
    OpenApiV3(String, String),
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
}

fn resource_tail(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    let rp = |namespace: Option<&str>, resource: &str, name: Option<&str>, sub: Option<&str>| {
        Some(Route::Resource(ResourcePath {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            subresource: sub.map(str::to_owned),
        }))
    };
    match rest {
        [] => Some(Route::GroupVersion(group.to_owned(), version.to_owned())),
        // The namespace object itself and its subresources.
        ["namespaces", name, sub @ ("status" | "finalize")] => rp(None, "namespaces", Some(name), Some(sub)),
        ["namespaces", ns, resource] => rp(Some(ns), resource, None, None),
        ["namespaces", ns, resource, name] => rp(Some(ns), resource, Some(name), None),
        ["namespaces", ns, resource, name, sub] => rp(Some(ns), resource, Some(name), Some(sub)),
        [resource] => rp(None, resource, None, None),
        [resource, name] => rp(None, resource, Some(name), None),
        [resource, name, sub] => rp(None, resource, Some(name), Some(sub)),
        _ => None,
    }
}

/// Parses a request path.
pub fn parse_route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["version"] => Some(Route::Version),
        [h @ ("healthz" | "livez" | "readyz"), ..] => Some(Route::Health((*h).to_owned())),
        ["api"] => Some(Route::CoreVersions),
        ["apis"] => Some(Route::Groups),
        ["apis", group] => Some(Route::Group((*group).to_owned())),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiV3Root),
        ["openapi", "v3", "api", version] => Some(Route::OpenApiV3(String::new(), (*version).to_owned())),
        ["openapi", "v3", "apis", group, version] => {
            Some(Route::OpenApiV3((*group).to_owned(), (*version).to_owned()))
        }
        ["api", version, rest @ ..] => resource_tail("", version, rest),
        ["apis", group, version, rest @ ..] => resource_tail(group, version, rest),
        _ => None,
    }
}

/// Decoded query parameters (last value wins).
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
        };
        Self(
            raw.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// One parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean parameter (`1`, `true`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true" | "True"))
    }

    /// Whether `dryRun=All` was asked.
    pub fn dry_run(&self) -> bool {
        self.get("dryRun").is_some_and(|v| v == "All")
    }
}

/// Decodes a request body: JSON, or YAML (apply configurations may be either).
///
/// # Errors
/// 400 BadRequest when the body is neither.
pub fn decode_body(body: &[u8], yaml_allowed: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) if yaml_allowed => serde_norway::from_slice::<Value>(body)
            .map_err(|y| ApiError::bad_request(format!("error decoding YAML: {y} (as JSON: {e})"))),
        Err(e) => Err(ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))),
    }
}

/// What representation a GET asks for in its Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The object or list as JSON.
    Json,
    /// A `meta.k8s.io` Table (kubectl get).
    Table,
    /// Only the metadata (`PartialObjectMetadata`).
    Metadata,
}

/// Reads the Accept header: the first alternative the server can produce wins.
pub fn want(accept: Option<&str>) -> Result<Want, ApiError> {
    let Some(accept) = accept else { return Ok(Want::Json) };
    for alt in accept.split(',').map(str::trim) {
        let mut parts = alt.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        let params: HashMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        match (media, params.get("as").copied()) {
            ("application/json" | "*/*", Some("Table")) => return Ok(Want::Table),
            ("application/json" | "*/*", Some("PartialObjectMetadata" | "PartialObjectMetadataList")) => {
                return Ok(Want::Metadata);
            }
            ("application/json" | "application/*" | "*/*" | "application/yaml", None) => {
                return Ok(Want::Json);
            }
            _ => {}
        }
    }
    Err(ApiError::not_acceptable(accept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_cover_every_path_shape() {
        let r = parse_route("/apis/apps/v1/namespaces/default/deployments/web/status").expect("route");
        let Route::Resource(rp) = r else { panic!("resource") };
        assert_eq!(
            (rp.group.as_str(), rp.namespace.as_deref(), rp.name.as_deref()),
            ("apps", Some("default"), Some("web"))
        );
        assert_eq!(rp.subresource.as_deref(), Some("status"));
        let Some(Route::Resource(ns)) = parse_route("/api/v1/namespaces/team/finalize") else { panic!("ns") };
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_deref(), ns.namespace),
            ("namespaces", Some("team"), None)
        );
        let Some(Route::Resource(pods)) = parse_route("/api/v1/namespaces/team/pods") else { panic!("pods") };
        assert_eq!((pods.resource.as_str(), pods.name), ("pods", None));
        assert_eq!(parse_route("/api/v1"), Some(Route::GroupVersion(String::new(), "v1".into())));
        assert_eq!(
            parse_route("/openapi/v3/apis/apps/v1"),
            Some(Route::OpenApiV3("apps".into(), "v1".into()))
        );
        assert_eq!(parse_route("/nope"), None);
    }

    #[test]
    fn accept_negotiation_prefers_the_first_producible_alternative() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(want(Some(kubectl)).expect("ok"), Want::Table);
        assert_eq!(
            want(Some("application/vnd.kubernetes.protobuf,application/json")).expect("ok"),
            Want::Json
        );
        assert!(want(Some("application/vnd.kubernetes.protobuf")).is_err());
        let q = Query::parse(Some("labelSelector=app%3Dweb&watch=1&fieldManager=a+b"));
        assert_eq!(q.get("labelSelector"), Some("app=web"));
        assert!(q.flag("watch"));
        assert_eq!(q.get("fieldManager"), Some("a b"));
    }
}
