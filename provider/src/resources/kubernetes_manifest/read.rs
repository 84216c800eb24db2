//! Refresh. The applied object is compared with the live one (see [`crate::kube::drift`]):
//! - deleted (or its kind gone): the resource leaves the state, so the plan creates it again;
//! - a field we set edited out of band (or taken over by another manager with another value):
//!   the live values are written back into `manifest` or `yaml_body`, so the plan shows the
//!   update from the live object back to the configuration;
//! - otherwise the state is returned unchanged, byte for byte.
//!
//! After an import (no object in state yet), the object is rebuilt from the fields the
//! provider's field manager owns (see [`super::import`]).

use super::apply::{client, reference};
use super::object::{self, Source, from_json};
use crate::kube::{ApplyOptions, Budget, DriftKind, owned_by};
use std::time::Duration;
use tfplugin::resource::{ReadRequest, ReadResponse};
use tfplugin::{Context, Value};

/// How long a refresh may take.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Refreshes the object.
pub async fn read(ctx: &Context, field_manager: &str, req: ReadRequest<'_>) -> ReadResponse {
    let mut resp =
        ReadResponse { state: Some(req.state.clone()), private: req.private.to_vec(), ..Default::default() };
    let state = req.state;
    if state.get_attr("cluster").is_none_or(Value::is_null) {
        // Imported without the access file: nothing to ask until an apply brings the cluster.
        return resp;
    }
    let client = match client(state, field_manager) {
        Ok(c) => c,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let budget = Budget::new(ctx, READ_TIMEOUT);
    let Ok(Some((source, obj))) = object::object(state) else {
        // No object recorded: an import.
        return imported(resp, &client, state, field_manager, &budget).await;
    };
    let opts = ApplyOptions {
        default_namespace: state.get_attr("namespace").and_then(Value::as_str).map(str::to_string),
        ..ApplyOptions::default()
    };
    match client.drift(std::slice::from_ref(&obj), &opts, &budget).await {
        Ok(drifts) => {
            for d in drifts {
                match d.kind {
                    DriftKind::Missing => resp.state = None,
                    DriftKind::Changed { live, .. } => {
                        let value = match source {
                            Source::Manifest => from_json(&live),
                            Source::Yaml => Value::from(serde_norway::to_string(&live).unwrap_or_default()),
                        };
                        if let Some(s) = resp.state.as_mut() {
                            let _ = s.set_attr(source.attribute(), value);
                        }
                    }
                }
            }
        }
        Err(e) => resp.diags.push(e.to_diagnostic("Cannot read the Kubernetes object")),
    }
    resp
}

/// Fills in an imported object from what the field manager owns.
async fn imported(
    mut resp: ReadResponse,
    client: &crate::kube::KubeClient,
    state: &Value,
    field_manager: &str,
    budget: &Budget,
) -> ReadResponse {
    let Some(r) = reference(state) else { return resp };
    match client.get(&r, budget).await {
        Ok(None) => resp.state = None,
        Ok(Some(live)) => {
            let mut s = state.clone();
            let _ = s.set_attr("manifest", from_json(&owned_by(&live, field_manager)));
            let uid = live.pointer("/metadata/uid").and_then(serde_json::Value::as_str).unwrap_or_default();
            let _ = s.set_attr("uid", Value::from(uid.to_string()));
            resp.state = Some(s);
        }
        Err(e) => resp.diags.push(e.to_diagnostic("Cannot read the imported Kubernetes object")),
    }
    resp
}
