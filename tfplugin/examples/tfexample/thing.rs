//! `tfexample_thing`: every kind of attribute, in-place updates, replacement, import, drift,
//! and a state upgrade from schema version 0 (where `size` was a string).

use crate::store::Store;
use std::collections::BTreeMap;
use tfplugin::plan::{default_value, requires_replace, semantic_json, use_state_for_unknown};
use tfplugin::resource::{ApplyRequest, ApplyResponse, DeleteRequest, Imported, ReadRequest, ReadResponse};
use tfplugin::schema::{Attribute, Block, Nesting, Schema};
use tfplugin::validate::{int_between, ip_address, json, non_empty, one_of};
use tfplugin::value::Number;
use tfplugin::{Context, Diagnostic, Diagnostics, Resource, Type, Value};

const KIND: &str = "thing";

pub(crate) struct Thing {
    pub(crate) store: Store,
}

fn schema() -> Schema {
    Schema::new(
        Block::new("A thing stored as a JSON file.")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .description("Identifier assigned at creation.")
                    .plan_modifier(use_state_for_unknown()),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .description("Name of the thing.")
                    .validator(non_empty())
                    .plan_modifier(requires_replace()),
            )
            .attribute(
                Attribute::number("size")
                    .optional()
                    .description("Size, updated in place.")
                    .validator(int_between(1, 100)),
            )
            .attribute(
                Attribute::new("tags", Type::map(Type::String)).optional().description("Free-form tags."),
            )
            .attribute(
                Attribute::string("settings")
                    .optional()
                    .description("Settings as a JSON document.")
                    .validator(json())
                    .plan_modifier(semantic_json()),
            )
            .attribute(
                Attribute::string("mode")
                    .optional_computed()
                    .description("Operating mode.")
                    .validator(one_of(&["standard", "fast"]))
                    .plan_modifier(default_value("standard", "standard")),
            )
            .attribute(
                Attribute::string("token")
                    .computed()
                    .sensitive()
                    .description("A generated secret.")
                    .plan_modifier(use_state_for_unknown()),
            )
            .attribute(Attribute::number("revision").computed().description("Incremented by every update."))
            .attribute(
                Attribute::nested(
                    "nodes",
                    Nesting::List,
                    vec![
                        Attribute::string("address")
                            .required()
                            .description("Node address.")
                            .validator(ip_address()),
                        Attribute::bool("ready").computed().description("Whether the node is ready."),
                    ],
                )
                .optional()
                .description("Nodes of the thing (nested attributes)."),
            ),
    )
    .version(1)
}

/// The stored document for a planned state.
fn document(planned: &Value, id: &str, token: &str, revision: i64) -> serde_json::Value {
    let mut doc = planned.to_json_value();
    doc["id"] = id.into();
    doc["token"] = token.into();
    doc["revision"] = revision.into();
    if let Some(nodes) = doc.get_mut("nodes").and_then(serde_json::Value::as_array_mut) {
        for n in nodes {
            n["ready"] = true.into();
        }
    }
    doc
}

fn string_or_null(v: &serde_json::Value) -> Value {
    v.as_str().map_or(Value::Null, Value::from)
}

/// The state for a stored document.
fn state(doc: &serde_json::Value) -> Value {
    let tags = doc["tags"].as_object().map_or(Value::Null, |m| {
        Value::Map(m.iter().map(|(k, v)| (k.clone(), string_or_null(v))).collect::<BTreeMap<_, _>>())
    });
    let nodes = doc["nodes"].as_array().map_or(Value::Null, |items| {
        Value::List(
            items
                .iter()
                .map(|n| {
                    Value::object([
                        ("address", string_or_null(&n["address"])),
                        ("ready", n["ready"].as_bool().map_or(Value::Null, Value::from)),
                    ])
                })
                .collect(),
        )
    });
    Value::object([
        ("id", string_or_null(&doc["id"])),
        ("name", string_or_null(&doc["name"])),
        ("size", doc["size"].as_i64().map_or(Value::Null, Value::from)),
        ("tags", tags),
        ("settings", string_or_null(&doc["settings"])),
        ("mode", string_or_null(&doc["mode"])),
        ("token", string_or_null(&doc["token"])),
        ("revision", doc["revision"].as_i64().map_or(Value::Null, Value::from)),
        ("nodes", nodes),
    ])
}

fn id_of(v: &Value) -> String {
    v.get_attr("id").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn fail(d: Diagnostic) -> ApplyResponse {
    ApplyResponse { diags: d.into(), ..ApplyResponse::default() }
}

#[tfplugin::async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &'static str {
        "tfexample_thing"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // A cross-attribute rule: fast mode needs a size.
        if config.get_attr("mode").and_then(Value::as_str) == Some("fast")
            && config.get_attr("size").is_some_and(Value::is_null)
        {
            diags.error_at(
                tfplugin::AttributePath::root().attr("size"),
                "Missing size",
                "mode = \"fast\" needs a size.",
            );
        }
    }

    async fn create(&self, _ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        let id = Store::new_id();
        let doc = document(req.planned, &id, &format!("tok-{id}"), 1);
        if let Err(d) = self.store.put(KIND, &id, &doc) {
            return fail(d);
        }
        ApplyResponse { state: Some(state(&doc)), ..ApplyResponse::default() }
    }

    async fn read(&self, _ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        match self.store.get(KIND, &id_of(req.state)) {
            Ok(doc) => ReadResponse {
                state: doc.as_ref().map(state),
                private: req.private.to_vec(),
                diags: Diagnostics::new(),
            },
            Err(d) => ReadResponse {
                state: Some(req.state.clone()),
                private: req.private.to_vec(),
                diags: d.into(),
            },
        }
    }

    async fn update(&self, _ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        let prior = req.prior.cloned().unwrap_or(Value::Null);
        let id = id_of(&prior);
        let token = prior.get_attr("token").and_then(Value::as_str).unwrap_or_default().to_string();
        let revision = prior.get_attr("revision").and_then(Value::as_i64).unwrap_or(0) + 1;
        let doc = document(req.planned, &id, &token, revision);
        if let Err(d) = self.store.put(KIND, &id, &doc) {
            return fail(d);
        }
        ApplyResponse { state: Some(state(&doc)), ..ApplyResponse::default() }
    }

    async fn delete(&self, _ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        self.store.delete(KIND, &id_of(req.prior)).err().map(Diagnostics::from).unwrap_or_default()
    }

    async fn import(&self, _ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
        match self.store.get(KIND, id)? {
            Some(doc) => Ok(vec![Imported { state: state(&doc), private: Vec::new() }]),
            None => {
                Err(Diagnostic::error("Cannot import", format!("No thing with ID {id:?} exists.")).into())
            }
        }
    }

    fn upgrade_state(&self, version: i64, mut old: Value) -> Result<Value, Diagnostics> {
        if version != 0 {
            return Err(Diagnostic::error("Unsupported state version", format!("version {version}")).into());
        }
        // Version 0 stored `size` as a string and had no nodes.
        let size = match old.get_attr("size") {
            Some(Value::String(s)) => s.parse::<Number>().map(Value::Number).map_err(|_| {
                Diagnostic::error("Cannot upgrade state", format!("size {s:?} is not a number"))
            })?,
            _ => Value::Null,
        };
        let _ = old.set_attr("size", size);
        let _ = old.set_attr("nodes", Value::Null);
        Ok(old)
    }
}
