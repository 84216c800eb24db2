//! `tfexample_link`: depends on a thing's ID, which is unknown until the thing exists, so its
//! plan carries unknown values and Terraform re-plans it during apply.

use crate::store::Store;
use tfplugin::plan::{requires_replace, use_state_for_unknown};
use tfplugin::resource::{ApplyRequest, ApplyResponse, DeleteRequest, ReadRequest, ReadResponse};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::{Context, Diagnostic, Diagnostics, Resource, Value};

const KIND: &str = "link";

pub(crate) struct Link {
    pub(crate) store: Store,
}

fn id_of(v: &Value, attr: &str) -> String {
    v.get_attr(attr).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[tfplugin::async_trait]
impl Resource for Link {
    fn type_name(&self) -> &'static str {
        "tfexample_link"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A link to a thing.")
                .attribute(
                    Attribute::string("id")
                        .computed()
                        .description("Identifier.")
                        .plan_modifier(use_state_for_unknown()),
                )
                .attribute(
                    Attribute::string("target_id")
                        .required()
                        .description("ID of the linked thing.")
                        .plan_modifier(requires_replace()),
                )
                .attribute(Attribute::string("label").computed().description("Describes the link.")),
        )
    }

    async fn create(&self, _ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        let target = id_of(req.planned, "target_id");
        let name = match self.store.get("thing", &target) {
            Ok(Some(doc)) => doc["name"].as_str().unwrap_or_default().to_string(),
            Ok(None) => {
                return ApplyResponse {
                    diags: Diagnostic::error("Missing target", format!("No thing {target:?}."))
                        .at(tfplugin::AttributePath::root().attr("target_id"))
                        .into(),
                    ..ApplyResponse::default()
                };
            }
            Err(d) => return ApplyResponse { diags: d.into(), ..ApplyResponse::default() },
        };
        let id = Store::new_id();
        let doc = serde_json::json!({"id": id, "target_id": target, "label": format!("link to {name}")});
        if let Err(d) = self.store.put(KIND, &id, &doc) {
            return ApplyResponse { diags: d.into(), ..ApplyResponse::default() };
        }
        let state = Value::object([
            ("id", Value::from(id)),
            ("target_id", Value::from(target)),
            ("label", Value::from(format!("link to {name}"))),
        ]);
        ApplyResponse { state: Some(state), ..ApplyResponse::default() }
    }

    async fn read(&self, _ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        match self.store.get(KIND, &id_of(req.state, "id")) {
            Ok(doc) => ReadResponse {
                state: doc.map(|d| {
                    Value::object([
                        ("id", Value::from(d["id"].as_str().unwrap_or_default())),
                        ("target_id", Value::from(d["target_id"].as_str().unwrap_or_default())),
                        ("label", Value::from(d["label"].as_str().unwrap_or_default())),
                    ])
                }),
                ..ReadResponse::default()
            },
            Err(d) => {
                ReadResponse { state: Some(req.state.clone()), diags: d.into(), ..ReadResponse::default() }
            }
        }
    }

    async fn update(&self, _ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        // Every configurable attribute forces replacement, so an update only refreshes state.
        ApplyResponse { state: Some(req.planned.clone()), ..ApplyResponse::default() }
    }

    async fn delete(&self, _ctx: &Context, req: DeleteRequest<'_>) -> Diagnostics {
        self.store.delete(KIND, &id_of(req.prior, "id")).err().map(Diagnostics::from).unwrap_or_default()
    }
}
