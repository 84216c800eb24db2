//! `cloudtemple_kubernetes_cluster`: the control plane of one Talos Linux Kubernetes cluster.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`validate`]: topology, network and version rules checked before any remote call.
//! - [`plan`]: defaults, and version moves checked against the running cluster.
//! - [`spec`]: the typed form of a known plan.
//! - [`rollout`]: what an in-place update does to the control planes, as plan shows it and
//!   apply does it (repair, Talos upgrade, reconfiguration, which nodes reboot).
//! - [`create`], [`read`], [`update`], [`delete`]: the operations on the nodes.
//! - [`import`]: an existing cluster from a control plane address and its secrets bundle.
//!
//! Kubernetes and Talos versions, `config_patches`, repairs of control planes reset out of
//! band and the move of one production control plane to another machine change in place;
//! other control plane changes are refused at plan ([`rollout::control_plane_move`]).

pub mod create;
pub mod delete;
pub mod import;
pub mod plan;
pub mod read;
pub mod rollout;
pub mod schema;
pub mod spec;
pub mod update;
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

/// Whether one of the `requires_replace` attributes really changes. The engine decides before
/// [`plan::refine`] fills defaults back in (an unset `network.pod_cidr` is unknown then), so a
/// path in the list may end up unchanged, and Terraform replaces only on a real change.
fn replaces(prior: &Value, planned: &Value, paths: &[AttributePath]) -> bool {
    paths.iter().any(|path| {
        let at = |v: &Value| {
            path.steps().iter().try_fold(v.clone(), |v, step| match step {
                tfplugin::path::PathStep::Attribute(name) => v.get_attr(name).cloned(),
                _ => None,
            })
        };
        at(prior) != at(planned)
    })
}

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
        if replaces(prior, &resp.planned, &resp.requires_replace) || resp.diags.has_errors() {
            return;
        }
        rollout::plan_update(prior, &mut resp.planned, &mut resp.diags);
    }

    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        create::create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        read::read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        update::update(ctx, req).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_changes_replace() {
        let cluster = |pod: Value, node_cidr: &str| {
            Value::object([(
                "network",
                Value::object([("node_cidr", Value::from(node_cidr)), ("pod_cidr", pod)]),
            )])
        };
        let prior = cluster(Value::from("10.244.0.0/16"), "10.20.0.0/22");
        let paths = [AttributePath::root().attr("network")];
        // The engine saw `pod_cidr` unknown before the defaults came back: no replacement.
        assert!(!replaces(&prior, &prior.clone(), &paths));
        assert!(replaces(&prior, &cluster(Value::from("10.244.0.0/16"), "10.30.0.0/22"), &paths));
        assert!(replaces(&prior, &cluster(Value::Unknown, "10.20.0.0/22"), &paths));
        assert!(!replaces(&prior, &cluster(Value::Unknown, "10.20.0.0/22"), &[]));
    }
}
