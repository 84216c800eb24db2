//! The `scale` subresource of Deployments, StatefulSets and ReplicaSets (`autoscaling/v1` Scale),
//! which `kubectl scale` and HorizontalPodAutoscalers use.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::crud::key;
use super::request::decode_body;
use super::write::{check_rv, commit, invalid};
use super::{Ctx, json_response};
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::patch;

/// Whether a resource has a scale subresource.
pub(super) fn has_scale(group: &str, resource: &str) -> bool {
    group == "apps" && matches!(resource, "deployments" | "statefulsets" | "replicasets")
}

fn to_scale(obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut meta = json!({});
    for f in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = obj.pointer(&format!("/metadata/{f}")) {
            meta[f] = v.clone();
        }
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
           "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
           "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector}})
}

/// GET, PUT or PATCH of `<resource>/<name>/scale`.
pub(super) fn handle(ctx: &Ctx<'_>, method: &Method, content_type: &str, body: &[u8]) -> ApiResult<Response> {
    let name = ctx.rp.name.as_deref().unwrap_or_default();
    let not_found = || ApiError::not_found(&ctx.rt.group, &ctx.rt.resource, name);
    if *method == Method::GET {
        let obj = ctx.shared.store.get(&key(ctx, name)).ok_or_else(not_found)?;
        return Ok(json_response(StatusCode::OK, &to_scale(&obj)));
    }
    let media = content_type.split(';').next().unwrap_or_default().trim().to_owned();
    let input = decode_body(body, false)?;
    let stored = ctx.shared.store.transact(|t| {
        let old = t.get(&key(ctx, name)).cloned().ok_or_else(not_found)?;
        let mut scale = to_scale(&old);
        match (method.as_str(), media.as_str()) {
            ("PUT", _) => scale = input.clone(),
            (_, "application/merge-patch+json") => patch::merge_patch(&mut scale, &input),
            (_, "application/strategic-merge-patch+json") => {
                patch::strategic_merge_patch(&mut scale, &input)
                    .map_err(|e| invalid(ctx, name, "patch", "FieldValueInvalid", &e))?;
            }
            (_, "application/json-patch+json") => {
                patch::json_patch(&mut scale, &input)
                    .map_err(|e| invalid(ctx, name, "patch", "FieldValueInvalid", &e))?;
            }
            _ => return Err(ApiError::unsupported_media_type(&media)),
        }
        check_rv(ctx, &old, &scale)?;
        let replicas =
            scale.pointer("/spec/replicas").and_then(Value::as_i64).filter(|r| *r >= 0).ok_or_else(|| {
                ApiError::invalid(
                    "Scale",
                    "autoscaling",
                    name,
                    "spec.replicas",
                    "FieldValueInvalid",
                    "Invalid value: must be greater than or equal to 0",
                )
            })?;
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(replicas);
        commit(ctx, t, &old, new, true)
    })?;
    Ok(json_response(StatusCode::OK, &to_scale(&stored)))
}
