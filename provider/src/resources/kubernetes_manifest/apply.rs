//! Create and update by server-side apply under the provider's field manager (with force for
//! `conflict_resolution = "overwrite"`), then, with `wait`, until the object is ready; delete
//! with a wait until the object is gone.

use super::{TIMEOUTS, object};
use crate::kube::{ApplyOptions, Budget, KubeAccess, KubeClient, KubeError, ObjectRef};
use crate::resources::timeouts::Timeouts;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{AttributePath, Context, Diagnostic, Diagnostics, Value};

/// A client from the `cluster` attribute of `state`.
pub fn client(state: &Value, field_manager: &str) -> Result<KubeClient, Diagnostic> {
    let cluster = state.get_attr("cluster").cloned().unwrap_or_default();
    KubeAccess::from_value(&cluster)
        .and_then(|access| KubeClient::new(&access, field_manager))
        .map_err(|e| e.to_diagnostic("Cannot reach the cluster").at(AttributePath::root().attr("cluster")))
}

/// The object's identity recorded in state.
pub fn reference(state: &Value) -> Option<ObjectRef> {
    let s = |k: &str| state.get_attr(k).and_then(Value::as_str).map(str::to_string);
    Some(ObjectRef {
        api_version: s("api_version")?,
        kind: s("kind")?,
        namespace: s("namespace"),
        name: s("name")?,
    })
}

fn failure(e: &KubeError, object: &str) -> Diagnostic {
    let summary = match e {
        KubeError::Conflict { .. } => "Server-side apply conflict",
        KubeError::UnknownKind { .. } => "Unknown Kubernetes kind",
        KubeError::Timeout { .. } => "Object not ready in time",
        _ => "Cannot apply the Kubernetes object",
    };
    let d = e.to_diagnostic(summary);
    match e {
        KubeError::InvalidObject { .. } | KubeError::UnknownKind { .. } | KubeError::Conflict { .. } => {
            d.at(AttributePath::root().attr(object))
        }
        _ => d,
    }
}

/// Applies the planned object (create and update).
pub async fn apply(ctx: &Context, field_manager: &str, req: &ApplyRequest<'_>) -> ApplyResponse {
    let mut resp = ApplyResponse::default();
    let planned = req.planned;
    let (source, obj) = match object::object(planned) {
        Ok(Some(o)) => o,
        Ok(None) => {
            resp.diags
                .error("Object not known", "The object is still unknown at apply; this is a provider bug.");
            return resp;
        }
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let client = match client(planned, field_manager) {
        Ok(c) => c,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let timeouts = Timeouts::from_value(planned, TIMEOUTS);
    let budget = Budget::new(ctx, if req.prior.is_some() { timeouts.update } else { timeouts.create });
    let opts = ApplyOptions {
        force: planned.get_attr("conflict_resolution").and_then(Value::as_str) == Some("overwrite"),
        wait: false,
        default_namespace: None,
    };
    let applied = match client.apply_set(std::slice::from_ref(&obj), &opts, &budget).await {
        Ok(mut a) if a.len() == 1 => a.remove(0),
        Ok(_) => {
            resp.diags.error("Nothing applied", "The API server applied no object; this is a provider bug.");
            return resp;
        }
        Err(e) => {
            resp.diags.push(failure(&e, source.attribute()));
            // An update that failed leaves the object as it was: keep its state.
            resp.state = req.prior.cloned();
            return resp;
        }
    };
    let mut state = planned.clone();
    let r = &applied.reference;
    let mut set = |k: &str, v: Value| {
        let _ = state.set_attr(k, v);
    };
    set("id", Value::from(r.to_id()));
    set("api_version", Value::from(r.api_version.clone()));
    set("kind", Value::from(r.kind.clone()));
    set("name", Value::from(r.name.clone()));
    set("namespace", r.namespace.clone().map_or(Value::Null, Value::from));
    set("uid", Value::from(applied.uid.clone()));
    // The object exists from here on: a failed wait keeps it in state (tainted), not orphaned.
    if planned.get_attr("wait").and_then(Value::as_bool) != Some(false)
        && let Err(e) = client.wait_ready(std::slice::from_ref(r), &budget).await
    {
        resp.diags.push(failure(&e, source.attribute()));
    }
    resp.state = Some(state);
    resp
}

/// Deletes the object and, with `wait`, waits until it is gone.
pub async fn delete(ctx: &Context, field_manager: &str, prior: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Some(r) = reference(prior) else { return diags };
    let client = match client(prior, field_manager) {
        Ok(c) => c,
        Err(d) => {
            diags.push(d);
            return diags;
        }
    };
    let budget = Budget::new(ctx, Timeouts::from_value(prior, TIMEOUTS).delete);
    let wait = prior.get_attr("wait").and_then(Value::as_bool) != Some(false);
    if let Err(e) = client.delete_set(std::slice::from_ref(&r), wait, &budget).await {
        diags.push(e.to_diagnostic("Cannot delete the Kubernetes object"));
    }
    diags
}
