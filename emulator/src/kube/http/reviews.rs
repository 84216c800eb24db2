//! The create-only review resources clients use to ask about themselves:
//! `SelfSubjectAccessReview` (`kubectl auth can-i`) answered by the same RBAC evaluation as real
//! requests, and `SelfSubjectReview` (`kubectl auth whoami`). Nothing is stored.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::json_response;
use super::request::{ResourcePath, decode_body};
use crate::kube::auth::{self, Attributes, Identity};
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::server::Shared;

/// Whether a resource is one of the review resources.
pub(super) fn is_review(group: &str, resource: &str) -> bool {
    matches!(
        (group, resource),
        ("authorization.k8s.io", "selfsubjectaccessreviews")
            | ("authentication.k8s.io", "selfsubjectreviews")
    )
}

/// POST of a review.
pub(super) fn create(
    shared: &Shared,
    identity: &Identity,
    rp: &ResourcePath,
    body: &[u8],
) -> ApiResult<Response> {
    let mut review = decode_body(body, false)?;
    if !review.is_object() {
        return Err(ApiError::bad_request("the body of the request must be an object"));
    }
    let status = if rp.resource == "selfsubjectreviews" {
        json!({"userInfo": {"username": identity.user, "groups": identity.groups.iter().map(String::as_str).chain(["system:authenticated"]).collect::<Vec<_>>()}})
    } else if let Some(attrs) = review.pointer("/spec/resourceAttributes").cloned() {
        let s = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (verb, group, resource, sub, ns, name) =
            (s("verb"), s("group"), s("resource"), s("subresource"), s("namespace"), s("name"));
        let a = Attributes {
            verb: &verb,
            group: &group,
            resource: &resource,
            subresource: Some(sub.as_str()).filter(|x| !x.is_empty()),
            namespace: Some(ns.as_str()).filter(|x| !x.is_empty()),
            name: Some(name.as_str()).filter(|x| !x.is_empty()),
        };
        match shared.store.transact(|t| auth::authorize(t, identity, &a)) {
            Ok(()) => json!({"allowed": true, "reason": "allowed by RBAC"}),
            Err(_) => json!({"allowed": false}),
        }
    } else {
        // Non-resource URLs (/healthz, /api, ...) are open to every authenticated user here.
        json!({"allowed": true})
    };
    review["status"] = status;
    Ok(json_response(StatusCode::CREATED, &review))
}
