//! The contract between the server and a managed resource type.
//!
//! A resource declares its [`Schema`]; the server decodes every value against that schema,
//! runs the generic plan engine (defaults, unknowns, modifiers, requires-replace), and then
//! calls the resource's own hooks. Hooks receive typed requests and fill in responses with the
//! new state and diagnostics, so a failed create can still record what it built: Terraform
//! keeps a non-null state returned with errors (marked tainted) instead of orphaning it.

use crate::context::Context;
use crate::diag::Diagnostics;
use crate::path::AttributePath;
use crate::schema::Schema;
use crate::value::Value;
use async_trait::async_trait;

/// The plan of one resource instance, after the generic engine, for the resource to refine.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// Prior state; `None` on create.
    pub prior: Option<&'a Value>,
    /// Configuration (may hold unknowns).
    pub config: &'a Value,
    /// Private state saved with the prior state.
    pub prior_private: &'a [u8],
}

/// What a resource may change in a plan.
#[derive(Debug)]
pub struct PlanResponse {
    /// The planned state (already shaped by the engine).
    pub planned: Value,
    /// Private state to carry to apply.
    pub planned_private: Vec<u8>,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// Problems found while planning.
    pub diags: Diagnostics,
}

/// Create or update.
#[derive(Debug)]
pub struct ApplyRequest<'a> {
    /// Prior state; `None` on create.
    pub prior: Option<&'a Value>,
    /// The plan Terraform approved: known values in it must be kept exactly.
    pub planned: &'a Value,
    /// Configuration.
    pub config: &'a Value,
    /// Private state from the plan.
    pub planned_private: &'a [u8],
}

/// The result of create or update.
#[derive(Debug, Default)]
pub struct ApplyResponse {
    /// New state. With errors, a partial state records what exists; `None` means nothing does.
    pub state: Option<Value>,
    /// Private state to store.
    pub private: Vec<u8>,
    /// Problems.
    pub diags: Diagnostics,
}

/// Refresh of one instance.
#[derive(Debug)]
pub struct ReadRequest<'a> {
    /// Current state.
    pub state: &'a Value,
    /// Private state.
    pub private: &'a [u8],
}

/// The refreshed state.
#[derive(Debug, Default)]
pub struct ReadResponse {
    /// Refreshed state; `None` means the object is gone (Terraform plans to create it again).
    pub state: Option<Value>,
    /// Private state to store.
    pub private: Vec<u8>,
    /// Problems.
    pub diags: Diagnostics,
}

/// Destroy of one instance.
#[derive(Debug)]
pub struct DeleteRequest<'a> {
    /// State to destroy.
    pub prior: &'a Value,
    /// Private state.
    pub private: &'a [u8],
}

/// One object brought in by `terraform import`.
#[derive(Debug)]
pub struct Imported {
    /// State to hand to `read` (may be partial).
    pub state: Value,
    /// Private state.
    pub private: Vec<u8>,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// Full type name, e.g. `cloudtemple_kubernetes_cluster`.
    fn type_name(&self) -> &'static str;

    /// The schema; must be the same on every call.
    fn schema(&self) -> Schema;

    /// Cross-attribute checks on the configuration (may hold unknowns). Runs before any
    /// remote call, also when the provider is not configured.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines a create or update plan after the generic engine. Destroy plans never get here.
    async fn plan(&self, _ctx: &Context, _req: PlanRequest<'_>, _resp: &mut PlanResponse) {}

    /// Creates the object.
    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse;

    /// Refreshes the object from the remote system.
    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse;

    /// Updates the object in place.
    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse;

    /// Destroys the object.
    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics;

    /// Brings an existing object under management from an ID.
    async fn import(&self, _ctx: &Context, _id: &str) -> Result<Vec<Imported>, Diagnostics> {
        Err(crate::diag::Diagnostic::error(
            "Import not supported",
            format!("The resource type {} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// Upgrades a state stored with an older schema `version` (decoded from JSON without a
    /// schema, so numbers stay exact) to the current schema's shape.
    fn upgrade_state(&self, version: i64, _state: Value) -> Result<Value, Diagnostics> {
        Err(crate::diag::Diagnostic::error(
            "Unsupported state version",
            format!(
                "The stored state of {} has schema version {version}, which this provider version cannot upgrade. \
                 Use the provider version that wrote it, or a newer one.",
                self.type_name()
            ),
        )
        .into())
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// Full type name, e.g. `cloudtemple_kubernetes_versions`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Cross-attribute checks on the configuration.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Reads the data. The returned object must be wholly known.
    async fn read(&self, ctx: &Context, config: &Value) -> Result<Value, Diagnostics>;
}
