//! Managed resource types: the single registration list, and shared schema fragments.
//!
//! - [`kubernetes_cluster`], [`kubernetes_node_pool`], [`kubernetes_addon`],
//!   [`kubernetes_manifest`]: one module per type.
//! - [`access`]: the credentials object a cluster exports and the others take.
//! - [`timeouts`]: the `timeouts` block.
//!
//! The cluster and node pool types are implemented; the add-on and manifest types are published
//! schema-first: configurations can be written, validated and documented now, and planning one
//! says plainly that it is not available yet, before anything is created.

pub mod access;
pub mod kubernetes_addon;
pub mod kubernetes_cluster;
pub mod kubernetes_manifest;
pub mod kubernetes_node_pool;
pub mod timeouts;

use crate::provider::SharedSettings;
use std::sync::Arc;
use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, Imported, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{Context, Diagnostic, Diagnostics, Resource, Schema, Value};

/// Every resource type of the provider.
pub fn all(_settings: &SharedSettings) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(kubernetes_cluster::KubernetesCluster),
        Arc::new(kubernetes_node_pool::KubernetesNodePool),
        Arc::new(SchemaOnly {
            type_name: kubernetes_addon::TYPE_NAME,
            schema: kubernetes_addon::schema,
            validate: |_, _| {},
            issue: 5,
        }),
        Arc::new(SchemaOnly {
            type_name: kubernetes_manifest::TYPE_NAME,
            schema: kubernetes_manifest::schema,
            validate: |_, _| {},
            issue: 5,
        }),
    ]
}

/// A resource type whose schema is published but whose operations are not built yet: it
/// validates, and refuses at plan, so nothing is ever half-created.
struct SchemaOnly {
    type_name: &'static str,
    schema: fn() -> Schema,
    validate: fn(&Value, &mut Diagnostics),
    issue: u32,
}

impl SchemaOnly {
    fn unavailable(&self) -> Diagnostic {
        Diagnostic::error(
            "Resource type not available yet",
            format!(
                "{} is published with its schema so configurations can be written and validated, but this build \
                 of the provider cannot create or manage it yet (tracked as issue {}). Nothing was changed.",
                self.type_name, self.issue
            ),
        )
    }
}

#[tfplugin::async_trait]
impl Resource for SchemaOnly {
    fn type_name(&self) -> &'static str {
        self.type_name
    }
    fn schema(&self) -> Schema {
        (self.schema)()
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        (self.validate)(config, diags);
    }
    async fn plan(&self, _ctx: &Context, _req: PlanRequest<'_>, resp: &mut PlanResponse) {
        resp.diags.push(self.unavailable());
    }
    async fn create(&self, _ctx: &Context, _req: ApplyRequest<'_>) -> ApplyResponse {
        ApplyResponse { diags: self.unavailable().into(), ..ApplyResponse::default() }
    }
    async fn read(&self, _ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        // Never created by this build; keep whatever state exists untouched.
        ReadResponse {
            state: Some(req.state.clone()),
            private: req.private.to_vec(),
            diags: Diagnostics::new(),
        }
    }
    async fn update(&self, _ctx: &Context, _req: ApplyRequest<'_>) -> ApplyResponse {
        ApplyResponse { diags: self.unavailable().into(), ..ApplyResponse::default() }
    }
    async fn delete(&self, _ctx: &Context, _req: DeleteRequest<'_>) -> Diagnostics {
        self.unavailable().into()
    }
    async fn import(&self, _ctx: &Context, _id: &str) -> Result<Vec<Imported>, Diagnostics> {
        Err(self.unavailable().into())
    }
}
