//! `cloudtemple_kubernetes_cluster`: the control plane of one Talos Linux Kubernetes cluster.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`validate`]: topology, network and version rules checked before any remote call.
//! - [`plan`]: defaults, and version moves checked against the running cluster.
//! - [`spec`]: the typed form of a known plan.
//! - [`create`], [`read`], [`delete`]: the operations on the nodes.
//! - [`import`]: an existing cluster from a control plane address and its secrets bundle.
//!
//! In-place changes that need the nodes (versions, configuration patches, control plane
//! membership) are refused at plan until rolling upgrades land (see `issues show 4`).

pub mod create;
pub mod delete;
pub mod import;
pub mod plan;
pub mod read;
pub mod schema;
pub mod spec;
pub mod validate;

pub use schema::schema;

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_cluster";

/// Default time limits of create, update and delete (documented by the `timeouts` block).
pub const TIMEOUTS: [&str; 3] = ["30m", "60m", "15m"];

/// Availability zones of region FR1 (AZ05 = PAR7S, AZ06 = TH3S, AZ07 = DATA4).
pub const ZONES: [&str; 3] = ["AZ05", "AZ06", "AZ07"];

use tfplugin::resource::{
    ApplyRequest, ApplyResponse, DeleteRequest, PlanRequest, PlanResponse, ReadRequest, ReadResponse,
};
use tfplugin::{AttributePath, Context, Diagnostics, Resource, Schema, Value};

/// The resource.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesCluster;

/// Attributes whose change needs node operations not built yet.
const NODE_CHANGES: [&str; 4] = ["kubernetes_version", "talos_version", "config_patches", "control_plane"];

#[tfplugin::async_trait]
impl Resource for KubernetesCluster {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate::validate(config, diags);
    }

    async fn plan(&self, _ctx: &Context, req: PlanRequest<'_>, resp: &mut PlanResponse) {
        plan::refine(&req, resp);
        let Some(prior) = req.prior else { return };
        if resp.requires_replace.is_empty() {
            for attr in NODE_CHANGES {
                let (old, new) = (prior.get_attr(attr), resp.planned.get_attr(attr));
                if old != new {
                    resp.diags.error_at(
                        AttributePath::root().attr(attr),
                        "Change not supported yet",
                        format!(
                            "Changing {attr} of an existing cluster needs rolling node operations that this build \
                             of the provider does not perform yet. Nothing was changed."
                        ),
                    );
                }
            }
        }
        // A degraded cluster plans a repair so that `terraform plan` shows it.
        if prior.get_attr("status").and_then(Value::as_str).is_some_and(|s| s != "ready") {
            let _ = resp.planned.set_attr("status", Value::Unknown);
        }
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        create::create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        // Only attributes that need no node operation reach here (see `plan`): record them and
        // refresh the live view.
        let mut state = req.planned.clone();
        if let (Ok(spec), Some(talos)) =
            (spec::ClusterSpec::from_value(&state), read::credentials_from_state(&state))
        {
            let opts = crate::talos::client::Options::new(std::time::Duration::from_secs(60), ctx.token());
            let nodes = read::live_nodes(&spec, &talos, &opts).await;
            let ready = nodes
                .as_list()
                .unwrap_or_default()
                .iter()
                .all(|n| n.get_attr("ready") == Some(&Value::from(true)));
            let _ = state.set_attr("nodes", nodes);
            let _ = state.set_attr("status", Value::from(if ready { "ready" } else { "degraded" }));
        }
        ApplyResponse { state: Some(state), private: req.planned_private.to_vec(), diags: Diagnostics::new() }
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        delete::delete(ctx, req).await
    }

    async fn import(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<Vec<tfplugin::resource::Imported>, Diagnostics> {
        import::import(ctx, id).await
    }
}
