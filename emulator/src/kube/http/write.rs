//! Writes: create (POST), update (PUT), and PATCH in its four types, server-side apply included.
//! Every write goes through [`commit`], which keeps server-owned fields, scopes the write to the
//! main resource or its status, defaults, bumps generation, tracks field managers, skips no-ops
//! and finally releases objects whose last finalizer is gone.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::crud::{key, present};
use super::request::decode_body;
use super::{Ctx, defaults, json_response};
use crate::kube::apply::{self, Writer};
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::fieldset::Scope;
use crate::kube::lifecycle;
use crate::kube::meta::{self, meta_str, split_api_version};
use crate::kube::patch;
use crate::kube::store::{ObjectKey, Txn};

pub(super) fn scope(ctx: &Ctx<'_>) -> Scope {
    match ctx.rp.subresource.as_deref() {
        Some("status") => Scope::StatusOnly,
        _ if ctx.rt.status_subresource => Scope::NoStatus,
        _ => Scope::Whole,
    }
}

pub(super) fn invalid(ctx: &Ctx<'_>, name: &str, field: &str, reason: &str, detail: &str) -> ApiError {
    ApiError::invalid(&ctx.rt.kind, &ctx.rt.group, name, field, reason, detail)
}

/// Checks apiVersion, kind, name and namespace of a body against the request.
fn check_identity(ctx: &Ctx<'_>, obj: &mut Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON or YAML object"));
    }
    let name = meta_str(obj, "name").unwrap_or_default().to_owned();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(av) if split_api_version(av).0 != ctx.rt.group => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                ctx.rt.api_version()
            )));
        }
        _ => {}
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(kind) if kind != ctx.rt.kind => {
            return Err(invalid(
                ctx,
                &name,
                "kind",
                "FieldValueInvalid",
                &format!("Invalid value: {kind:?}: must be {}", ctx.rt.kind),
            ));
        }
        _ => {}
    }
    if let Some(url_name) = ctx.rp.name.as_deref() {
        if name.is_empty() {
            meta::meta_mut(obj).insert("name".into(), json!(url_name));
        } else if name != url_name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({url_name})"
            )));
        }
    }
    let ns = ctx.namespace().to_owned();
    match meta_str(obj, "namespace") {
        Some(body_ns) if ctx.rt.namespaced && !body_ns.is_empty() && body_ns != ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ if ctx.rt.namespaced => {
            meta::meta_mut(obj).insert("namespace".into(), json!(ns));
        }
        _ => {
            meta::meta_mut(obj).remove("namespace");
        }
    }
    let o = obj.as_object_mut().expect("checked above");
    o.insert("apiVersion".into(), json!(ctx.rt.api_version()));
    o.insert("kind".into(), json!(ctx.rt.kind));
    Ok(())
}

fn check_name(ctx: &Ctx<'_>, name: &str) -> ApiResult<()> {
    let ok = if ctx.rt.group == "rbac.authorization.k8s.io" {
        !name.is_empty() && !name.contains(['/', '%']) && name != "." && name != ".."
    } else if ctx.rt.group.is_empty() && matches!(ctx.rt.resource.as_str(), "namespaces" | "services") {
        meta::is_dns_label(name)
    } else {
        meta::is_dns_subdomain(name)
    };
    if ok {
        return Ok(());
    }
    Err(invalid(
        ctx,
        name,
        "metadata.name",
        "FieldValueInvalid",
        &format!(
            "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ),
    ))
}

/// The namespace of a namespaced write must exist and not be terminating.
fn check_namespace(ctx: &Ctx<'_>, txn: &Txn<'_>) -> ApiResult<()> {
    if !ctx.rt.namespaced {
        return Ok(());
    }
    let ns = ctx.namespace();
    match txn.get(&ObjectKey::new("", "namespaces", "", ns)) {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        Some(n) if meta_str(n, "deletionTimestamp").is_some() => Err(ApiError::forbidden(
            format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                crate::kube::error::qualified(&ctx.rt.group, &ctx.rt.resource),
                ctx.rp.name.as_deref().unwrap_or_default()
            ),
            json!({"name": ctx.rp.name.as_deref().unwrap_or_default(), "group": ctx.rt.group, "kind": ctx.rt.resource,
                   "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]}),
        )),
        Some(_) => Ok(()),
    }
}

/// Stamps a new object with the server-owned metadata and stores it.
fn insert_new(ctx: &Ctx<'_>, txn: &mut Txn<'_>, mut obj: Value, track: bool) -> ApiResult<Value> {
    check_namespace(ctx, txn)?;
    let name = meta_str(&obj, "name").unwrap_or_default().to_owned();
    check_name(ctx, &name)?;
    let k = key(ctx, &name);
    if txn.get(&k).is_some() {
        return Err(ApiError::already_exists(&ctx.rt.group, &ctx.rt.resource, &name));
    }
    if ctx.rt.status_subresource
        && let Some(o) = obj.as_object_mut()
    {
        o.remove("status");
    }
    let tracks_generation = ctx.rt.tracks_generation() || obj.get("spec").is_some();
    let m = meta::meta_mut(&mut obj);
    for server_owned in
        ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"]
    {
        m.remove(server_owned);
    }
    m.insert("uid".into(), json!(meta::new_uid()));
    m.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    if tracks_generation {
        m.insert("generation".into(), json!(1));
    }
    defaults::on_write(txn, &ctx.rt, None, &mut obj)?;
    if track {
        let manager = ctx.manager();
        let av = ctx.rt.api_version();
        apply::track_update(
            None,
            &mut obj,
            &Writer { manager: &manager, api_version: &av, subresource: "", scope: scope(ctx) },
        );
    }
    if ctx.query.dry_run() {
        return Ok(obj);
    }
    txn.put(&k, obj).map_err(|e| ApiError::internal(e.to_string()))
}

/// POST.
pub(super) fn create(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    if ctx.rp.subresource.is_some() || ctx.rp.name.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let mut obj = decode_body(body, false)?;
    check_identity(ctx, &mut obj)?;
    if meta_str(&obj, "name").unwrap_or_default().is_empty() {
        let Some(prefix) = meta_str(&obj, "generateName").filter(|g| !g.is_empty()).map(str::to_owned) else {
            return Err(invalid(
                ctx,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            ));
        };
        meta::meta_mut(&mut obj).insert("name".into(), json!(format!("{prefix}{}", meta::name_suffix())));
    }
    let stored = ctx.shared.store.transact(|t| insert_new(ctx, t, obj, true))?;
    Ok(json_response(StatusCode::CREATED, &present(&ctx.rt, stored)))
}

fn without_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(entries) = v.pointer_mut("/metadata/managedFields").and_then(Value::as_array_mut) {
        for e in entries {
            if let Some(e) = e.as_object_mut() {
                e.remove("time");
            }
        }
    }
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

fn spec_part(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("metadata");
        o.remove("status");
    }
    v
}

/// Stores `new` as the successor of `old`; `track` says whether to record an Update manager.
pub(super) fn commit(
    ctx: &Ctx<'_>,
    txn: &mut Txn<'_>,
    old: &Value,
    mut new: Value,
    track: bool,
) -> ApiResult<Value> {
    let name = meta_str(old, "name").unwrap_or_default().to_owned();
    match ctx.rp.subresource.as_deref() {
        Some("status") => {
            let mut merged = old.clone();
            merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
            if let Some(mf) = new.pointer("/metadata/managedFields").cloned() {
                merged["metadata"]["managedFields"] = mf;
            }
            new = merged;
        }
        Some("finalize") => {
            // namespaces/finalize: only spec.finalizers changes.
            let mut merged = old.clone();
            merged["spec"]["finalizers"] = new.pointer("/spec/finalizers").cloned().unwrap_or(json!([]));
            new = merged;
        }
        _ if ctx.rt.status_subresource => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        },
        _ => {}
    }
    {
        let keep = old.get("metadata").cloned().unwrap_or(json!({}));
        let m = meta::meta_mut(&mut new);
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match keep.get(field) {
                Some(v) => m.insert(field.into(), v.clone()),
                None => m.remove(field),
            };
        }
    }
    defaults::on_write(txn, &ctx.rt, Some(old), &mut new)?;
    if spec_part(old) != spec_part(&new) && old.pointer("/metadata/generation").is_some() {
        let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        new["metadata"]["generation"] = json!(g + 1);
    }
    if track {
        let manager = ctx.manager();
        let av = ctx.rt.api_version();
        let sub = ctx.rp.subresource.as_deref().unwrap_or_default();
        apply::track_update(
            Some(old),
            &mut new,
            &Writer { manager: &manager, api_version: &av, subresource: sub, scope: scope(ctx) },
        );
    }
    if without_times(old) == without_times(&new) || ctx.query.dry_run() {
        return Ok(if ctx.query.dry_run() { new } else { old.clone() });
    }
    let k = key(ctx, &name);
    let stored = txn.put(&k, new).map_err(|e| ApiError::internal(e.to_string()))?;
    match lifecycle::release_if_done(txn, &k).map_err(|e| ApiError::internal(e.to_string()))? {
        Some(removed) => Ok(removed),
        None => Ok(stored),
    }
}

pub(super) fn check_rv(ctx: &Ctx<'_>, old: &Value, new: &Value) -> ApiResult<()> {
    match meta_str(new, "resourceVersion").filter(|rv| !rv.is_empty()) {
        Some(rv) if Some(rv) != meta_str(old, "resourceVersion") => Err(ApiError::conflict(
            &ctx.rt.group,
            &ctx.rt.resource,
            meta_str(old, "name").unwrap_or_default(),
            "the object has been modified; please apply your changes to the latest version and try again",
        )),
        _ => Ok(()),
    }
}

/// PUT.
pub(super) fn update(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    let mut new = decode_body(body, false)?;
    check_identity(ctx, &mut new)?;
    let name = ctx.rp.name.as_deref().unwrap_or_default();
    let stored = ctx.shared.store.transact(|t| {
        let old = t
            .get(&key(ctx, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.resource, name))?;
        check_rv(ctx, &old, &new)?;
        commit(ctx, t, &old, new, true)
    })?;
    Ok(json_response(StatusCode::OK, &present(&ctx.rt, stored)))
}

/// PATCH: merge, strategic merge, JSON patch, or server-side apply.
pub(super) fn patch(ctx: &Ctx<'_>, content_type: &str, body: &[u8]) -> ApiResult<Response> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media == "application/apply-patch+yaml" {
        return server_side_apply(ctx, body);
    }
    if !matches!(
        media,
        "application/merge-patch+json"
            | "application/strategic-merge-patch+json"
            | "application/json-patch+json"
    ) {
        return Err(ApiError::unsupported_media_type(media));
    }
    if media == "application/strategic-merge-patch+json" && ctx.rt.custom {
        return Err(ApiError::unsupported_media_type(media));
    }
    let p = decode_body(body, false)?;
    let name = ctx.rp.name.as_deref().unwrap_or_default();
    let stored = ctx.shared.store.transact(|t| {
        let old = t
            .get(&key(ctx, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.resource, name))?;
        let mut new = old.clone();
        let result = match media {
            "application/merge-patch+json" => {
                patch::merge_patch(&mut new, &p);
                Ok(())
            }
            "application/strategic-merge-patch+json" => patch::strategic_merge_patch(&mut new, &p),
            _ => patch::json_patch(&mut new, &p),
        };
        result.map_err(|e| invalid(ctx, name, "patch", "FieldValueInvalid", &e))?;
        check_rv(ctx, &old, &new)?;
        for field in ["name", "namespace"] {
            if meta_str(&new, field) != meta_str(&old, field) {
                return Err(ApiError::bad_request(format!("metadata.{field} cannot be changed by a patch")));
            }
        }
        commit(ctx, t, &old, new, true)
    })?;
    Ok(json_response(StatusCode::OK, &present(&ctx.rt, stored)))
}

fn server_side_apply(ctx: &Ctx<'_>, body: &[u8]) -> ApiResult<Response> {
    let mut applied = decode_body(body, true)?;
    let name = ctx.rp.name.as_deref().unwrap_or_default().to_owned();
    let Some(manager) = ctx.query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            "fieldManager",
            "FieldValueRequired",
            "Required value: is required for apply patch",
        ));
    };
    for field in ["apiVersion", "kind"] {
        if applied.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(invalid(
                ctx,
                &name,
                field,
                "FieldValueRequired",
                "Required value: must be set for an apply patch",
            ));
        }
    }
    let sent_version =
        applied.get("apiVersion").and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
    check_identity(ctx, &mut applied)?;
    // managedFields in an apply configuration are ignored, as by the real server.
    if let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    let av = if sent_version.is_empty() { ctx.rt.api_version() } else { sent_version };
    let sub = ctx.rp.subresource.as_deref().unwrap_or_default();
    let writer = Writer { manager, api_version: &av, subresource: sub, scope: scope(ctx) };
    let force = ctx.query.flag("force");
    let (stored, created) = ctx.shared.store.transact(|t| match t.get(&key(ctx, &name)).cloned() {
        None if sub.is_empty() => {
            let obj = apply::apply(None, &applied, &writer, force)?;
            insert_new(ctx, t, obj, false).map(|o| (o, true))
        }
        None => Err(ApiError::not_found(&ctx.rt.group, &ctx.rt.resource, &name)),
        Some(old) => {
            let merged = apply::apply(Some(&old), &applied, &writer, force)?;
            commit(ctx, t, &old, merged, false).map(|o| (o, false))
        }
    })?;
    let code = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json_response(code, &present(&ctx.rt, stored)))
}
