//! Destroy: every object of the inventory and the add-on record, in reverse apply order,
//! waited for until gone when `wait`; nothing at all with `preserve`.

use super::apply::client;
use super::spec::{AddonError, AddonSpec, inventory_of, record_ref};
use crate::kube::{Budget, Inventory};
use crate::provider::SharedSettings;
use tfplugin::resource::DeleteRequest;
use tfplugin::{Context, Diagnostics};

async fn remove(ctx: &Context, settings: &SharedSettings, req: &DeleteRequest<'_>) -> Result<(), AddonError> {
    let spec = AddonSpec::from_value(req.prior)?;
    if spec.preserve {
        tracing::info!(addon = %spec.addon.name, "preserve is set: the add-on's objects stay in the cluster");
        return Ok(());
    }
    let client = client(settings, req.prior)?;
    let budget = Budget::new(ctx, spec.timeouts.delete);
    let Inventory(mut refs) =
        Inventory::from_ids(&inventory_of(req.prior)).map_err(AddonError::kube("Reading the inventory"))?;
    refs.push(record_ref(spec.addon));
    tracing::info!(addon = %spec.addon.name, objects = refs.len(), wait = spec.wait, "deleting the add-on's objects");
    client
        .delete_set(&refs, spec.wait, &budget)
        .await
        .map_err(AddonError::kube(format!("Deleting {}", spec.addon.name)))?;
    tracing::info!(addon = %spec.addon.name, "add-on deleted");
    Ok(())
}

/// Destroy.
pub async fn delete(ctx: &Context, settings: &SharedSettings, req: DeleteRequest<'_>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Err(error) = remove(ctx, settings, &req).await {
        diags.push(error.to_diagnostic());
    }
    diags
}
