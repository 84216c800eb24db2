//! Reads (get, list with selectors and pagination, as JSON, Table or metadata) and deletions
//! (single with preconditions and propagation, and collections).

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{Want, decode_body, want};
use super::{Ctx, json_response, success_status, table};
use crate::kube::catalog::ResourceType;
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::lifecycle::{self, Outcome, Propagation};
use crate::kube::meta::{labels, meta_str};
use crate::kube::selectors::{FieldSelector, LabelSelector};
use crate::kube::store::ObjectKey;

/// An object as served through `rt` (its apiVersion follows the requested version).
pub(crate) fn present(rt: &ResourceType, mut obj: Value) -> Value {
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), json!(rt.api_version()));
        o.insert("kind".into(), json!(rt.kind));
    }
    obj
}

/// The key of the named object of the request.
pub(crate) fn key(ctx: &Ctx<'_>, name: &str) -> ObjectKey {
    ObjectKey::new(&ctx.rt.group, &ctx.rt.resource, ctx.namespace(), name)
}

fn accept(ctx: &Ctx<'_>) -> ApiResult<Want> {
    want(ctx.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

fn partial(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))})
}

/// GET of one object.
pub(super) fn get(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let name = ctx.rp.name.as_deref().unwrap_or_default();
    let obj = ctx
        .shared
        .store
        .get(&key(ctx, name))
        .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.resource, name))?;
    let obj = present(&ctx.rt, obj);
    Ok(match accept(ctx)? {
        Want::Json => json_response(StatusCode::OK, &obj),
        Want::Metadata => json_response(StatusCode::OK, &partial(&obj)),
        Want::Table => {
            let rv = meta_str(&obj, "resourceVersion").unwrap_or_default().to_owned();
            let include = ctx.query.get("includeObject").unwrap_or("Metadata");
            json_response(
                StatusCode::OK,
                &table::table(&ctx.rt, &[obj], &json!({"resourceVersion": rv}), include),
            )
        }
    })
}

/// Objects of the request's resource matching its selectors, and the store's resourceVersion.
pub(super) fn select(ctx: &Ctx<'_>) -> ApiResult<(Vec<Value>, u64)> {
    let labels_sel = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let ns = ctx.rp.namespace.as_deref();
    Ok(ctx.shared.store.transact(|t| {
        let items = t
            .list(&ctx.rt.group, &ctx.rt.resource, ns)
            .into_iter()
            .map(|(_, o)| o)
            .filter(|o| labels_sel.matches(&labels(o)) && fields.matches(o))
            .map(|o| present(&ctx.rt, o.clone()))
            .collect();
        (items, t.resource_version())
    }))
}

/// GET of a collection, with `limit`/`continue` pagination.
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let (items, rv) = select(ctx)?;
    let start: usize = match ctx.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => token.parse().map_err(|_| ApiError::bad_request("continue key is not valid"))?,
        None => 0,
    };
    let limit: usize =
        ctx.query.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    let next = start.saturating_add(page.len());
    if next < total {
        meta["continue"] = json!(next.to_string());
        meta["remainingItemCount"] = json!(total - next);
    }
    Ok(match accept(ctx)? {
        Want::Json => json_response(
            StatusCode::OK,
            &json!({"kind": format!("{}List", ctx.rt.kind), "apiVersion": ctx.rt.api_version(), "metadata": meta, "items": page}),
        ),
        Want::Metadata => json_response(
            StatusCode::OK,
            &json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                    "items": page.iter().map(partial).collect::<Vec<_>>()}),
        ),
        Want::Table => json_response(
            StatusCode::OK,
            &table::table(&ctx.rt, &page, &meta, ctx.query.get("includeObject").unwrap_or("Metadata")),
        ),
    })
}

fn delete_options(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<(Value, Propagation, bool)> {
    let opts = if body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { decode_body(body, false)? };
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| ctx.query.get("propagationPolicy"))
        .or_else(|| opts.get("orphanDependents").and_then(Value::as_bool).filter(|o| *o).map(|_| "Orphan"));
    let dry = ctx.query.dry_run()
        || opts.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|x| x == "All"));
    Ok((opts.clone(), Propagation::parse(policy), dry))
}

/// DELETE of one object.
pub(super) fn delete(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    let name = ctx.rp.name.as_deref().unwrap_or_default();
    let (opts, policy, dry) = delete_options(ctx, body)?;
    let key = key(ctx, name);
    let (g, r) = (&ctx.rt.group, &ctx.rt.resource);
    if g.is_empty() && r == "namespaces" && matches!(name, "default" | "kube-system" | "kube-public") {
        return Err(ApiError::forbidden(
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
            json!({"name": name, "kind": "namespaces"}),
        ));
    }
    let outcome = ctx.shared.store.transact(|t| {
        let obj = t.get(&key).ok_or_else(|| ApiError::not_found(g, r, name))?;
        if let Some(uid) = opts.pointer("/preconditions/uid").and_then(Value::as_str)
            && meta_str(obj, "uid") != Some(uid)
        {
            let why = format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta_str(obj, "uid").unwrap_or_default());
            return Err(ApiError::conflict(g, r, name, &why));
        }
        if let Some(rv) = opts.pointer("/preconditions/resourceVersion").and_then(Value::as_str)
            && meta_str(obj, "resourceVersion") != Some(rv)
        {
            let why = format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", meta_str(obj, "resourceVersion").unwrap_or_default());
            return Err(ApiError::conflict(g, r, name, &why));
        }
        lifecycle::delete(t, &key, policy, dry).map_err(|e| ApiError::internal(e.to_string()))
    })?;
    match outcome {
        Some(Outcome::Pending(obj)) => Ok(json_response(StatusCode::OK, &present(&ctx.rt, obj))),
        Some(Outcome::Removed(obj)) => Ok(json_response(
            StatusCode::OK,
            &success_status(&ctx.rt, name, meta_str(&obj, "uid").unwrap_or_default()),
        )),
        None => Err(ApiError::not_found(g, r, name)),
    }
}

/// POST of `pods/<name>/eviction`: the pod is deleted (disruption budgets are not modelled).
pub(super) fn evict(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    let eviction = if body.is_empty() { json!({}) } else { decode_body(body, false)? };
    let opts = eviction.get("deleteOptions").map(Value::to_string).unwrap_or_default();
    delete(ctx, opts.as_bytes())?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// DELETE of a collection (with selectors): returns the list of what was deleted.
pub(super) fn delete_collection(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    let (_, policy, dry) = delete_options(ctx, body)?;
    let (items, _) = select(ctx)?;
    let mut deleted = Vec::new();
    for obj in items {
        let k = ObjectKey::new(
            &ctx.rt.group,
            &ctx.rt.resource,
            meta_str(&obj, "namespace").unwrap_or_default(),
            meta_str(&obj, "name").unwrap_or_default(),
        );
        let out = ctx
            .shared
            .store
            .transact(|t| lifecycle::delete(t, &k, policy, dry))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if let Some(Outcome::Removed(o) | Outcome::Pending(o)) = out {
            deleted.push(present(&ctx.rt, o));
        }
    }
    let rv = ctx.shared.store.resource_version();
    Ok(json_response(
        StatusCode::OK,
        &json!({"kind": format!("{}List", ctx.rt.kind), "apiVersion": ctx.rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}),
    ))
}
