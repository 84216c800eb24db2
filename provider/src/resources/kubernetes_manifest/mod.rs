//! `cloudtemple_kubernetes_manifest`: any Kubernetes object, server-side applied with the
//! cluster's `access` under the provider's field manager.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`object`]: the object from `manifest` or `yaml_body`, checked with attribute paths.
//! - [`plan`]: identity attributes in the plan; a kind the cluster does not serve yet (a CRD
//!   installed in the same apply) or a cluster not created yet leaves only the namespace unknown.
//! - [`apply`]: create and update by server-side apply, delete with a wait until gone.
//! - [`read`]: drift (a deleted object leaves the state, an edited one is written back so the
//!   plan shows the update) and the rebuild of an imported object's configuration.
//! - [`import`]: the import ID.

pub mod apply;
pub mod import;
pub mod object;
pub mod plan;
pub mod read;
pub mod schema;

pub use schema::schema;

use crate::provider::SharedSettings;
use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, Imported, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{Context, Diagnostics, Resource, Schema, Value};

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_manifest";

/// Default time limits of create, update and delete (documented by the `timeouts` block).
pub const TIMEOUTS: [&str; 3] = ["10m", "10m", "10m"];

/// The resource; applies under the configured field manager.
#[derive(Debug, Clone)]
pub struct KubernetesManifest {
    /// Provider settings (the field manager).
    pub settings: SharedSettings,
}

impl KubernetesManifest {
    fn field_manager(&self) -> String {
        self.settings.get().field_manager
    }
}

#[tfplugin::async_trait]
impl Resource for KubernetesManifest {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Err(d) = object::object(config) {
            diags.push(d);
        }
    }

    async fn plan(&self, ctx: &Context, req: PlanRequest<'_>, resp: &mut PlanResponse) {
        plan::plan(ctx, &self.field_manager(), &req, resp).await;
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        apply::apply(ctx, &self.field_manager(), &req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, &self.field_manager(), req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        apply::apply(ctx, &self.field_manager(), &req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        apply::delete(ctx, &self.field_manager(), req.prior).await
    }

    async fn import(&self, _ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
        import::import(id).map(|state| vec![Imported { state, private: Vec::new() }]).map_err(Into::into)
    }
}
