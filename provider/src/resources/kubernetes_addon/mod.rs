//! `cloudtemple_kubernetes_addon`: one platform component from the provider's catalog,
//! installed on a cluster with server-side apply under the provider's field manager.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`spec`]: the typed plan/state, the errors of the operations, the add-on record.
//! - [`plan`]: validation and planning (configuration against the schema, default version,
//!   compatibility, no downgrade, the inventory, drift turned into an update).
//! - [`apply`]: create and update (dependencies, apply, prune, wait, record).
//! - [`read`], [`delete`], [`import`]: drift detection, removal, import from the record.
//! - [`immutable_fields`]: changes the API server refuses to make in place, refused at plan.
//!
//! The objects come from the catalog's templates ([`crate::catalog::manifests`]); the
//! `managed_objects` list is the inventory: an update deletes what the previous inventory had
//! and the new one lacks, and destroy deletes all of it unless `preserve`. Each apply also
//! writes a record ConfigMap (`cloudtemple-addon-<name>` in the add-on's namespace) with the
//! version, configuration and inventory: dependency checks and import read it.

pub mod apply;
pub mod delete;
pub mod immutable_fields;
pub mod import;
pub mod plan;
pub mod read;
pub mod schema;
pub mod spec;

pub use schema::schema;

use crate::provider::SharedSettings;
use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, Imported, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{Context, Diagnostics, Resource, Schema, Value};

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_addon";

/// Default time limits of create, update and delete (documented by the `timeouts` block).
pub const TIMEOUTS: [&str; 3] = ["20m", "20m", "20m"];

/// The resource.
#[derive(Debug, Clone)]
pub struct KubernetesAddon {
    settings: SharedSettings,
}

impl KubernetesAddon {
    /// The resource, reading the provider's settings (field manager) when it runs.
    pub fn new(settings: &SharedSettings) -> Self {
        Self { settings: settings.clone() }
    }
}

#[tfplugin::async_trait]
impl Resource for KubernetesAddon {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        plan::validate(config, diags);
    }

    async fn plan(&self, _ctx: &Context, req: PlanRequest<'_>, resp: &mut PlanResponse) {
        plan::plan(&req, resp);
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        apply::apply(ctx, &self.settings, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, &self.settings, req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        apply::apply(ctx, &self.settings, req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        delete::delete(ctx, &self.settings, req).await
    }

    async fn import(&self, ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
        import::import(ctx, &self.settings, id).await
    }
}
