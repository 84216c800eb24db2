//! The contract between the server and a provider: its configuration and its types.

use crate::context::Context;
use crate::diag::Diagnostics;
use crate::resource::{DataSource, Resource};
use crate::schema::Schema;
use crate::value::Value;
use async_trait::async_trait;
use std::sync::Arc;

/// A Terraform provider.
///
/// Terraform starts a fresh provider process for almost every command and calls
/// `GetProviderSchema` and the validate RPCs on unconfigured instances, so nothing may depend on
/// state kept between processes, and resources must cope with `configure` not having run.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Provider name, the prefix of its type names (e.g. `cloudtemple`).
    fn name(&self) -> &'static str;

    /// Provider configuration schema.
    fn schema(&self) -> Schema;

    /// Cross-attribute checks on the provider configuration.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Applies the provider configuration (which may hold unknown values).
    async fn configure(&self, ctx: &Context, config: &Value, terraform_version: &str) -> Diagnostics;

    /// Every managed resource type (the single registration list).
    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    /// Every data source type.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
}
