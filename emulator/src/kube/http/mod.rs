//! The HTTP face of the API server: one axum fallback handler that authenticates, applies the
//! injected faults, routes (health, version, discovery, OpenAPI, resources) and authorizes, then
//! hands resource requests to `crud`, `write`, `scale`, `reviews` and `watch`.

mod crud;
mod defaults;
pub mod discovery;
mod protobuf;
pub mod request;
mod reviews;
mod scale;
pub mod table;
mod watch;
mod write;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::kube::auth::{self, Attributes, Identity};
use crate::kube::catalog::ResourceType;
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::server::Shared;
use request::{Query, ResourcePath, Route};

/// Largest request body accepted (CRDs of big add-ons run to a few MB).
const MAX_BODY: usize = 64 << 20;

/// A JSON response.
pub(crate) fn json_response(code: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn text(code: StatusCode, body: &'static str) -> Response {
    (code, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Everything a resource handler needs about its request.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub rt: ResourceType,
    pub rp: &'a ResourcePath,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
}

impl Ctx<'_> {
    /// The field manager of a write: the parameter, else the User-Agent's program name, as the
    /// real server derives it.
    pub(crate) fn manager(&self) -> String {
        if let Some(m) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_owned();
        }
        let ua = self.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
        ua.split('/').next().unwrap_or("unknown").to_owned()
    }

    /// The namespace of the request ("" for cluster-scoped resources).
    pub(crate) fn namespace(&self) -> &str {
        if self.rt.namespaced { self.rp.namespace.as_deref().unwrap_or_default() } else { "" }
    }
}

/// The fallback handler behind [`crate::kube::ApiServer::router`].
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let route = request::parse_route(&path);
    if matches!(route, Some(Route::Health(ref h)) if h == "livez") {
        return text(StatusCode::OK, "ok");
    }
    if !shared.is_available() {
        return match route {
            Some(Route::Health(_)) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "[-]etcd failed: reason withheld\nhealthz check failed",
            ),
            _ => ApiError::unavailable("etcdserver: request timed out").into_response(),
        };
    }
    if !matches!(route, Some(Route::Health(_)))
        && let Err(e) = shared.faults().inject().await
    {
        return e.into_response();
    }
    let identity = req.extensions().get::<Identity>().cloned();
    let Some(route) = route else {
        return match identity {
            Some(_) => ApiError::no_route().into_response(),
            None => ApiError::unauthorized().into_response(),
        };
    };
    match route {
        Route::Health(_) => text(StatusCode::OK, "ok"),
        Route::Version => json_response(StatusCode::OK, &shared.version_info()),
        _ if identity.is_none() => ApiError::unauthorized().into_response(),
        Route::CoreVersions => {
            json_response(StatusCode::OK, &discovery::core_versions(&shared.server_address))
        }
        Route::Groups => json_response(StatusCode::OK, &discovery::groups(&shared.registry())),
        Route::Group(g) => reply(discovery::group(&shared.registry(), &g)),
        Route::GroupVersion(g, v) => reply(discovery::resources(&shared.registry(), &g, &v)),
        Route::OpenApiV3Root => json_response(StatusCode::OK, &discovery::openapi_root(&shared.registry())),
        Route::OpenApiV3(g, v) => {
            reply(discovery::openapi_group_version(&shared.registry(), &g, &v, &shared.git_version()))
        }
        Route::OpenApiV2 => ApiError::no_route().into_response(),
        Route::Resource(rp) => {
            let identity =
                identity.unwrap_or_else(|| Identity::new("system:anonymous", ["system:unauthenticated"]));
            match resource(&shared, &identity, &rp, req).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
    }
}

fn reply(r: ApiResult<Value>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

fn verb(method: &Method, rp: &ResourcePath, query: &Query) -> ApiResult<&'static str> {
    Ok(match (method.as_str(), rp.name.is_some()) {
        ("GET", _) if query.flag("watch") => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("POST", true) if rp.subresource.as_deref() == Some("eviction") => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed()),
    })
}

async fn resource(
    shared: &Shared,
    identity: &Identity,
    rp: &ResourcePath,
    req: Request,
) -> ApiResult<Response> {
    let registry = shared.registry();
    let rt = registry.lookup(&rp.group, &rp.version, &rp.resource).cloned().ok_or_else(ApiError::no_route)?;
    if rp.namespace.is_some() && !rt.namespaced {
        return Err(ApiError::no_route());
    }
    if let Some(sub) = rp.subresource.as_deref()
        && !(sub == "status" && rt.status_subresource
            || sub == "finalize" && rt.resource == "namespaces" && rt.group.is_empty()
            || sub == "scale" && scale::has_scale(&rt.group, &rt.resource)
            || sub == "eviction" && rt.group.is_empty() && rt.resource == "pods")
    {
        return Err(ApiError::no_route());
    }
    if reviews::is_review(&rt.group, &rt.resource) {
        if req.method() != Method::POST || rp.name.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let (parts, body) = req.into_parts();
        return reviews::create(shared, identity, rp, &read_body(&parts.headers, body).await?);
    }
    let query = Query::parse(req.uri().query());
    let verb = verb(req.method(), rp, &query)?;
    let attrs = Attributes {
        verb,
        group: &rt.group,
        resource: &rt.resource,
        subresource: rp.subresource.as_deref(),
        namespace: rp.namespace.as_deref(),
        name: rp.name.as_deref(),
    };
    shared.store.transact(|t| auth::authorize(t, identity, &attrs))?;
    let (parts, body) = req.into_parts();
    let body = read_body(&parts.headers, body).await?;
    let ctx = Ctx { shared, rt, rp, query: &query, headers: &parts.headers };
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    if rp.subresource.as_deref() == Some("eviction") {
        if parts.method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        return crud::evict(&ctx, &body);
    }
    if rp.subresource.as_deref() == Some("scale") {
        return scale::handle(&ctx, &parts.method, content_type, &body);
    }
    match verb {
        "watch" => watch::watch(&ctx),
        "get" => crud::get(&ctx),
        "list" => crud::list(&ctx),
        "create" => write::create(&ctx, &body),
        "update" => write::update(&ctx, &body),
        "patch" => write::patch(&ctx, content_type, &body),
        "delete" => crud::delete(&ctx, &body),
        _ => crud::delete_collection(&ctx, &body),
    }
}

/// Reads a request body, decoding protobuf (what kubectl's typed clients send) to JSON.
async fn read_body(headers: &HeaderMap, body: Body) -> ApiResult<axum::body::Bytes> {
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/vnd.kubernetes.protobuf") && !body.is_empty() {
        return Ok(axum::body::Bytes::from(protobuf::decode(&body)?));
    }
    Ok(body)
}

/// A streaming body (watches).
pub(crate) fn stream_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache, private")],
        body,
    )
        .into_response()
}

/// Success Status body (deletions that removed the object).
pub(crate) fn success_status(rt: &ResourceType, name: &str, uid: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
           "details": {"name": name, "group": rt.group, "kind": rt.resource, "uid": uid}})
}
