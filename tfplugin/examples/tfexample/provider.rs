//! The example provider: configuration and the registration list.

use crate::store::Store;
use std::sync::Arc;
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{Context, DataSource, Diagnostics, Provider, Resource, Value};

#[derive(Debug, Default)]
pub(crate) struct ExampleProvider {
    store: Store,
}

#[tfplugin::async_trait]
impl Provider for ExampleProvider {
    fn name(&self) -> &'static str {
        "tfexample"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("An example provider storing objects as JSON files in a directory.")
                .attribute(
                    Attribute::string("store_dir")
                        .optional()
                        .description("Directory holding the objects. Defaults to `$TFEXAMPLE_STORE_DIR`."),
                )
                .attribute(
                    Attribute::string("api_token")
                        .optional()
                        .sensitive()
                        .description("A secret that must never appear in logs."),
                ),
        )
    }

    async fn configure(&self, _ctx: &Context, config: &Value, _tf: &str) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let dir = match config.get_attr("store_dir") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => std::env::var("TFEXAMPLE_STORE_DIR").ok(),
        };
        match dir {
            Some(d) => self.store.set_dir(d.into()),
            None => diags.error("Missing store directory", "Set store_dir or TFEXAMPLE_STORE_DIR."),
        }
        tracing::debug!(configured = !diags.has_errors(), "example provider configured");
        diags
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(crate::thing::Thing { store: self.store.clone() }),
            Arc::new(crate::link::Link { store: self.store.clone() }),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(crate::things::Things { store: self.store.clone() })]
    }
}
