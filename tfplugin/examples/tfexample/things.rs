//! `data.tfexample_things`: lists stored things, optionally filtered by name prefix.

use crate::store::Store;
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{Context, DataSource, Diagnostics, Type, Value};

pub(crate) struct Things {
    pub(crate) store: Store,
}

#[tfplugin::async_trait]
impl DataSource for Things {
    fn type_name(&self) -> &'static str {
        "tfexample_things"
    }

    fn schema(&self) -> Schema {
        let thing = Type::object([("id", Type::String), ("name", Type::String), ("size", Type::Number)]);
        Schema::new(
            Block::new("Lists things.")
                .attribute(
                    Attribute::string("name_prefix")
                        .optional()
                        .description("Only things whose name starts with this."),
                )
                .attribute(Attribute::string("id").computed().description("The filter, as an identifier."))
                .attribute(
                    Attribute::new("things", Type::list(thing))
                        .computed()
                        .description("Matching things, by name."),
                )
                .attribute(Attribute::number("total").computed().description("How many things match.")),
        )
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let prefix = config.get_attr("name_prefix").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut docs: Vec<_> = self
            .store
            .list("thing")?
            .into_iter()
            .filter(|d| d["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
            .collect();
        docs.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let things: Vec<Value> = docs
            .iter()
            .map(|d| {
                Value::object([
                    ("id", Value::from(d["id"].as_str().unwrap_or_default())),
                    ("name", Value::from(d["name"].as_str().unwrap_or_default())),
                    ("size", d["size"].as_i64().map_or(Value::Null, Value::from)),
                ])
            })
            .collect();
        Ok(Value::object([
            ("name_prefix", config.get_attr("name_prefix").cloned().unwrap_or(Value::Null)),
            ("id", Value::from(format!("prefix:{prefix}"))),
            ("total", Value::from(things.len() as i64)),
            ("things", Value::List(things)),
        ]))
    }
}
