//! Create and update: check the dependencies on the cluster, render, server-side apply the set
//! (force with `conflict_resolution = "overwrite"`), prune what the previous inventory had and
//! the new one lacks, wait for readiness when `wait`, and record the add-on in its ConfigMap.

use super::spec::{AddonError, AddonSpec, inventory_ids, inventory_of, inventory_value, record_ref};
use crate::catalog::{Catalog, Version};
use crate::kube::{ApplyOptions, Budget, Inventory, KubeAccess, KubeClient, ObjectRef};
use crate::provider::SharedSettings;
use std::time::Duration;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{Context, Value};

/// How long a missing dependency is waited for: another add-on resource of the same apply may
/// be installing it right now (without `depends_on`, Terraform runs both at once).
const DEPENDENCY_GRACE: Duration = Duration::from_secs(20);

/// A client for the planned add-on's cluster.
pub fn client(settings: &SharedSettings, state: &Value) -> Result<KubeClient, AddonError> {
    let cluster = state.get_attr("cluster").cloned().unwrap_or(Value::Null);
    let access = KubeAccess::from_value(&cluster).map_err(AddonError::kube("Invalid cluster access"))?;
    KubeClient::new(&access, &settings.get().field_manager)
        .map_err(AddonError::kube("Cannot reach the cluster"))
}

/// Checks that every add-on `spec` needs is recorded on the cluster (and, for a
/// version-following add-on, at the same version), waiting a short grace for each.
async fn check_dependencies(
    client: &KubeClient,
    spec: &AddonSpec,
    budget: &Budget,
) -> Result<(), AddonError> {
    let catalog = Catalog::embedded();
    let mut installed: Vec<(String, Version)> = Vec::new();
    for dependency in &spec.addon.dependencies {
        let needed = catalog.addon(&dependency.name)?.addon;
        let reference = record_ref(needed);
        let started = std::time::Instant::now();
        let record = loop {
            let found = client
                .get(&reference, budget)
                .await
                .map_err(AddonError::kube(format!("Checking that {} is installed", needed.name)))?;
            if found.is_some()
                || started.elapsed() >= DEPENDENCY_GRACE
                || budget.remaining() < Duration::from_secs(2)
            {
                break found;
            }
            tracing::info!(addon = %spec.addon.name, dependency = %needed.name, "waiting for a required add-on");
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        let Some(record) = record else {
            return Err(AddonError::MissingDependency {
                addon: spec.addon.name.clone(),
                dependency: needed.name.clone(),
                cluster: spec.cluster_id.clone(),
                reason: dependency.reason.trim().to_owned(),
            });
        };
        let version = record
            .pointer("/data/version")
            .and_then(serde_json::Value::as_str)
            .and_then(|v| Version::parse(v).ok())
            .unwrap_or(spec.version);
        installed.push((needed.name.clone(), version));
    }
    let pairs: Vec<(&str, Version)> = installed.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    catalog.check_dependencies(&spec.addon.name, spec.version, &pairs)?;
    Ok(())
}

/// Applies `spec` and prunes what `previous` had that it no longer renders. Returns the new
/// inventory ids.
async fn install(
    client: &KubeClient,
    spec: &AddonSpec,
    previous: &[String],
    budget: &Budget,
) -> Result<Vec<String>, AddonError> {
    check_dependencies(client, spec, budget).await?;
    let objects = spec.render()?;
    let ids = inventory_ids(&objects)?;
    let opts = ApplyOptions {
        force: spec.overwrite,
        wait: spec.wait,
        default_namespace: Some(spec.addon.namespace.clone()),
    };
    tracing::info!(
        addon = %spec.addon.name, version = %spec.version, objects = objects.len(), wait = spec.wait,
        "applying the add-on's objects"
    );
    client
        .apply_set(&objects, &opts, budget)
        .await
        .map_err(AddonError::kube(format!("Applying {} {}", spec.addon.name, spec.version)))?;
    let old = Inventory::from_ids(previous).map_err(AddonError::kube("Reading the previous inventory"))?;
    let new = Inventory::from_ids(&ids).map_err(AddonError::kube("Reading the inventory"))?;
    let pruned = client
        .prune(&old, &new, spec.wait, budget)
        .await
        .map_err(AddonError::kube(format!("Pruning objects {} no longer installs", spec.addon.name)))?;
    for reference in &pruned {
        tracing::info!(addon = %spec.addon.name, object = %reference, "pruned");
    }
    let record_opts = ApplyOptions { force: true, wait: false, default_namespace: None };
    client
        .apply_set(&[spec.record(&ids)], &record_opts, budget)
        .await
        .map_err(AddonError::kube(format!("Recording {} in the cluster", spec.addon.name)))?;
    tracing::info!(addon = %spec.addon.name, version = %spec.version, "add-on installed");
    Ok(ids)
}

/// Create or update.
pub async fn apply(ctx: &Context, settings: &SharedSettings, req: ApplyRequest<'_>) -> ApplyResponse {
    let mut response = ApplyResponse::default();
    let spec = match AddonSpec::from_value(req.planned) {
        Ok(spec) => spec,
        Err(error) => {
            response.diags.push(error.to_diagnostic());
            response.state = req.prior.cloned();
            return response;
        }
    };
    let timeout = if req.prior.is_some() { spec.timeouts.update } else { spec.timeouts.create };
    let budget = Budget::new(ctx, timeout);
    let previous = req.prior.map(inventory_of).unwrap_or_default();
    let client = match client(settings, req.planned) {
        Ok(client) => client,
        Err(error) => {
            response.diags.push(error.to_diagnostic());
            response.state = req.prior.cloned();
            return response;
        }
    };
    match install(&client, &spec, &previous, &budget).await {
        Ok(ids) => {
            let mut state = req.planned.clone();
            let _ = state.set_attr("id", Value::from(spec.id()));
            let _ = state.set_attr("version", Value::from(spec.version.to_string()));
            let _ = state.set_attr("namespace", Value::from(spec.addon.namespace.as_str()));
            let _ = state.set_attr("managed_objects", inventory_value(&ids));
            let _ = state.set_attr("status", Value::from(spec.settled_status()));
            response.state = Some(state);
        }
        Err(error) => {
            // Refused before anything was applied: nothing changed. Failed while applying: the
            // inventory gains exactly the new objects that now exist under this provider's field
            // manager, so that destroy or the next apply cleans them up, and never an object
            // someone else owns (a conflict leaves it alone).
            let applied_something = matches!(error, AddonError::Kube { .. });
            response.diags.push(error.to_diagnostic());
            let owned = if applied_something {
                owned_new_objects(ctx, &client, &spec, &previous).await
            } else {
                Vec::new()
            };
            response.state = match req.prior {
                Some(prior) => Some(failed_state(prior, &previous, &owned)),
                None if owned.is_empty() => None,
                None => {
                    let mut state = req.planned.clone();
                    let _ = state.set_attr("id", Value::from(spec.id()));
                    let _ = state.set_attr("version", Value::from(spec.version.to_string()));
                    let _ = state.set_attr("namespace", Value::from(spec.addon.namespace.as_str()));
                    Some(failed_state(&state, &[], &owned))
                }
            };
        }
    }
    response
}

/// The rendered objects, not in `previous`, that exist now with a field owned by this
/// provider's field manager (best effort: an object that cannot be read is left out).
async fn owned_new_objects(
    ctx: &Context,
    client: &KubeClient,
    spec: &AddonSpec,
    previous: &[String],
) -> Vec<String> {
    let budget = Budget::new(ctx, Duration::from_secs(60));
    let Ok(ids) = spec.render().and_then(|objects| inventory_ids(&objects)) else { return Vec::new() };
    let mut owned = Vec::new();
    for id in ids.into_iter().filter(|id| !previous.contains(id)) {
        let Ok(reference) = ObjectRef::parse_id(&id) else { continue };
        let Ok(Some(live)) = client.get(&reference, &budget).await else { continue };
        let ours = live
            .pointer("/metadata/managedFields")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|fields| fields.iter().any(|f| f["manager"] == client.field_manager()));
        if ours {
            owned.push(id);
        }
    }
    owned
}

/// A state after a failed apply: `base` with the inventory `previous` + `owned` and the status
/// `failed` (the next plan shows an update that retries).
fn failed_state(base: &Value, previous: &[String], owned: &[String]) -> Value {
    let mut ids = previous.to_vec();
    ids.extend(owned.iter().filter(|id| !previous.contains(id)).cloned());
    let mut state = base.clone();
    let _ = state.set_attr("managed_objects", inventory_value(&ids));
    let _ = state.set_attr("status", Value::from("failed"));
    state
}
