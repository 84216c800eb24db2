//! Refresh: the live objects are compared with what this version and configuration apply.
//! An object deleted or changed out of band sets `status` to `drifted: ...`, which the plan
//! turns into an update that re-applies it; an add-on whose record and objects are all gone
//! is removed from the state (the plan creates it again).

use super::apply::client;
use super::spec::{AddonError, AddonSpec, record_ref};
use crate::kube::{ApplyOptions, Budget, DriftKind};
use crate::provider::SharedSettings;
use tfplugin::resource::{ReadRequest, ReadResponse};
use tfplugin::{Context, Value};

/// How many drifted objects the status names.
const SHOWN: usize = 3;

async fn refresh(
    ctx: &Context,
    settings: &SharedSettings,
    state: &Value,
) -> Result<Option<Value>, AddonError> {
    let spec = AddonSpec::from_value(state)?;
    let client = client(settings, state)?;
    let budget = Budget::new(ctx, spec.timeouts.update);
    let objects = spec.render()?;
    let opts = ApplyOptions {
        force: spec.overwrite,
        wait: false,
        default_namespace: Some(spec.addon.namespace.clone()),
    };
    let drifts = client
        .drift(&objects, &opts, &budget)
        .await
        .map_err(AddonError::kube("Reading the add-on's objects"))?;
    let record = client
        .get(&record_ref(spec.addon), &budget)
        .await
        .map_err(AddonError::kube("Reading the add-on record"))?;
    let missing = drifts.iter().filter(|d| matches!(d.kind, DriftKind::Missing)).count();
    if record.is_none() && missing == objects.len() {
        tracing::info!(addon = %spec.addon.name, "the add-on is gone from the cluster");
        return Ok(None);
    }
    let mut state = state.clone();
    if !drifts.is_empty() {
        let mut details: Vec<String> = drifts
            .iter()
            .take(SHOWN)
            .map(|d| match &d.kind {
                DriftKind::Missing => format!("{} {} deleted", d.reference.kind, d.reference.name),
                DriftKind::Changed { fields, .. } => {
                    format!("{} {} changed ({})", d.reference.kind, d.reference.name, fields.join(", "))
                }
            })
            .collect();
        if drifts.len() > SHOWN {
            details.push(format!("and {} more", drifts.len() - SHOWN));
        }
        tracing::info!(addon = %spec.addon.name, drift = %details.join("; "), "drift found");
        let _ = state.set_attr("status", Value::from(format!("drifted: {}", details.join("; "))));
    } else if state.get_attr("status").and_then(Value::as_str).is_some_and(|s| s.starts_with("drifted")) {
        // Repaired out of band: back to what the last apply left.
        let _ = state.set_attr("status", Value::from(spec.settled_status()));
    }
    Ok(Some(state))
}

/// Refresh.
pub async fn read(ctx: &Context, settings: &SharedSettings, req: ReadRequest<'_>) -> ReadResponse {
    let mut response = ReadResponse { private: req.private.to_vec(), ..ReadResponse::default() };
    match refresh(ctx, settings, req.state).await {
        Ok(state) => response.state = state,
        Err(error) => {
            response.diags.push(error.to_diagnostic());
            response.state = Some(req.state.clone());
        }
    }
    response
}
