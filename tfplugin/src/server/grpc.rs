//! The `tfplugin6.Provider` gRPC service: decodes requests against schemas, calls the provider's
//! traits and the plan engine, checks the results against Terraform's rules, and encodes the
//! answers. Every failure becomes a diagnostic inside a normal response; a gRPC error status is
//! reserved for protocol breakage Terraform cannot show otherwise.

use super::convert::{decode, diagnostics, encode, null_value, path_to_pb, schema as schema_pb};
use crate::context::Context;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::check::{apply_violations, plan_violations};
use crate::plan::engine;
use crate::provider::Provider;
use crate::resource::{
    ApplyRequest, ApplyResponse, DataSource, DeleteRequest, PlanRequest, PlanResponse, ReadRequest, Resource,
};
use crate::schema::{Schema, config::validate_config};
use crate::value::{Type, Value, json};
use ct_proto::tfplugin6 as pb;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

struct Entry<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

/// The provider behind the gRPC service, with schemas and implied types computed once.
pub(crate) struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_type: Type,
    resources: BTreeMap<String, Entry<dyn Resource>>,
    data_sources: BTreeMap<String, Entry<dyn DataSource>>,
    stop: Mutex<CancellationToken>,
}

impl ProviderService {
    pub(crate) fn new(provider: Arc<dyn Provider>) -> Self {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.block.implied_type();
        let resources = provider
            .resources()
            .into_iter()
            .map(|imp| {
                let schema = imp.schema();
                let ty = schema.block.implied_type();
                (imp.type_name().to_string(), Entry { imp, schema, ty })
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|imp| {
                let schema = imp.schema();
                let ty = schema.block.implied_type();
                (imp.type_name().to_string(), Entry { imp, schema, ty })
            })
            .collect();
        Self {
            provider,
            provider_schema,
            provider_type,
            resources,
            data_sources,
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    fn context(&self) -> Context {
        Context::new(self.stop.lock().expect("stop token lock").clone())
    }

    fn resource(&self, name: &str) -> Result<&Entry<dyn Resource>, Diagnostics> {
        self.resources.get(name).ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(&self, name: &str) -> Result<&Entry<dyn DataSource>, Diagnostics> {
        self.data_sources.get(name).ok_or_else(|| unknown_type("data source", name))
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: false,
            move_resource_state: false,
        }
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {name:?}."),
    )
    .into()
}

fn ok<T>(t: T) -> Result<Response<T>, Status> {
    Ok(Response::new(t))
}

/// Records an error diagnostic and returns from the handler with the response built so far.
macro_rules! try_or_reply {
    ($expr:expr, $diags:ident, $reply:expr) => {
        match $expr {
            Ok(v) => v,
            Err(e) => {
                $diags.extend(Diagnostics::from(e));
                return ok($reply);
            }
        }
    };
}

/// Validates a configuration against a resource or data source: the schema's generic rules,
/// then the type's own cross-attribute checks.
fn validate_entry<T: ?Sized>(
    entry: Result<&Entry<T>, Diagnostics>,
    config: Option<&pb::DynamicValue>,
    hook: impl FnOnce(&T, &Value, &mut Diagnostics),
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let entry = match entry {
        Ok(e) => e,
        Err(d) => return d,
    };
    match decode(config, &entry.ty, "configuration") {
        Ok(config) => {
            validate_config(&entry.schema.block, &config, &mut diags);
            hook(&entry.imp, &config, &mut diags);
        }
        Err(d) => diags.push(d),
    }
    diags
}

fn provider_bug(what: &str, problems: &[String]) -> Diagnostic {
    Diagnostic::error(
        format!("Provider produced an invalid {what}"),
        format!("This is a bug in the provider; please report it. Details:\n- {}", problems.join("\n- ")),
    )
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        ok(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| pb::get_metadata::DataSourceMetadata { type_name: n.clone() })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata { type_name: n.clone() })
                .collect(),
            functions: Vec::new(),
            ephemeral_resources: Vec::new(),
        })
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        ok(pb::get_provider_schema::Response {
            provider: Some(schema_pb(&self.provider_schema)),
            resource_schemas: self.resources.iter().map(|(n, e)| (n.clone(), schema_pb(&e.schema))).collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(n, e)| (n.clone(), schema_pb(&e.schema)))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(Self::capabilities()),
            functions: Default::default(),
            ephemeral_resource_schemas: Default::default(),
        })
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |d: &Diagnostics| pb::validate_provider_config::Response { diagnostics: diagnostics(d) };
        match decode(req.config.as_ref(), &self.provider_type, "provider configuration") {
            Ok(config) => {
                validate_config(&self.provider_schema.block, &config, &mut diags);
                self.provider.validate(&config, &mut diags);
            }
            Err(e) => diags.push(e),
        }
        ok(reply(&diags))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        tracing::debug!(resource = %req.type_name, "validating configuration");
        let diags =
            validate_entry(self.resource(&req.type_name), req.config.as_ref(), |imp, config, diags| {
                imp.validate(config, diags);
            });
        ok(pb::validate_resource_config::Response { diagnostics: diagnostics(&diags) })
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let diags =
            validate_entry(self.data_source(&req.type_name), req.config.as_ref(), |imp, config, diags| {
                imp.validate(config, diags);
            });
        ok(pb::validate_data_resource_config::Response { diagnostics: diagnostics(&diags) })
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |state: Option<pb::DynamicValue>, d: &Diagnostics| pb::upgrade_resource_state::Response {
            upgraded_state: state,
            diagnostics: diagnostics(d),
        };
        let entry = try_or_reply!(self.resource(&req.type_name), diags, reply(None, &diags));
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            diags.error(
                "Unsupported state format",
                "The stored state is in the pre-0.12 flatmap format; upgrade it with an older Terraform first.",
            );
            return ok(reply(None, &diags));
        }
        let upgraded = if req.version == entry.schema.version {
            // Core already dropped attributes the schema no longer has; attributes added since
            // (without a version bump) are absent from the JSON and decode as null.
            json::decode(&raw.json, &entry.ty).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid stored state",
                    format!("The stored state cannot be read: {e}."),
                ))
            })
        } else if req.version > entry.schema.version {
            Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "The state of this {} was written with schema version {}, newer than this provider's {}. \
                     Use the provider version that wrote it.",
                    req.type_name, req.version, entry.schema.version
                ),
            )
            .into())
        } else {
            json::decode_untyped(&raw.json)
                .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid stored state", format!("{e}."))))
                .and_then(|(value, _)| entry.imp.upgrade_state(req.version, value))
        };
        let value = try_or_reply!(upgraded, diags, reply(None, &diags));
        let encoded = try_or_reply!(encode(&value, &entry.ty, "upgraded state"), diags, reply(None, &diags));
        ok(reply(Some(encoded), &diags))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let config = try_or_reply!(
            decode(req.config.as_ref(), &self.provider_type, "provider configuration"),
            diags,
            pb::configure_provider::Response { diagnostics: diagnostics(&diags) }
        );
        tracing::debug!(terraform_version = %req.terraform_version, "configuring provider");
        diags.extend(self.provider.configure(&self.context(), &config, &req.terraform_version).await);
        ok(pb::configure_provider::Response { diagnostics: diagnostics(&diags) })
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |state: Option<pb::DynamicValue>, private: Vec<u8>, d: &Diagnostics| {
            pb::read_resource::Response {
                new_state: state,
                diagnostics: diagnostics(d),
                private,
                deferred: None,
            }
        };
        let entry =
            try_or_reply!(self.resource(&req.type_name), diags, reply(None, req.private.clone(), &diags));
        let state = try_or_reply!(
            decode(req.current_state.as_ref(), &entry.ty, "current state"),
            diags,
            reply(req.current_state.clone(), req.private.clone(), &diags)
        );
        tracing::debug!(resource = %req.type_name, "reading");
        let out = entry.imp.read(&self.context(), ReadRequest { state: &state, private: &req.private }).await;
        diags.extend(out.diags);
        let new_state = match out.state {
            Some(v) => try_or_reply!(
                encode(&v, &entry.ty, "refreshed state"),
                diags,
                reply(req.current_state.clone(), req.private.clone(), &diags)
            ),
            None => null_value(),
        };
        ok(reply(Some(new_state), out.private, &diags))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |planned: Option<pb::DynamicValue>,
                     private: Vec<u8>,
                     replace: &[crate::path::AttributePath],
                     d: &Diagnostics| {
            pb::plan_resource_change::Response {
                planned_state: planned,
                requires_replace: replace.iter().map(path_to_pb).collect(),
                planned_private: private,
                diagnostics: diagnostics(d),
                legacy_type_system: false,
                deferred: None,
            }
        };
        let entry = try_or_reply!(self.resource(&req.type_name), diags, reply(None, Vec::new(), &[], &diags));
        let decoded = (|| -> Result<_, Diagnostic> {
            Ok((
                decode(req.prior_state.as_ref(), &entry.ty, "prior state")?,
                decode(req.proposed_new_state.as_ref(), &entry.ty, "proposed new state")?,
                decode(req.config.as_ref(), &entry.ty, "configuration")?,
            ))
        })();
        let (prior, proposed, config) = try_or_reply!(decoded, diags, reply(None, Vec::new(), &[], &diags));
        if proposed.is_null() {
            // Destroy (Terraform 1.3+ asks because we announce plan_destroy): nothing to refine.
            return ok(reply(Some(null_value()), req.prior_private, &[], &diags));
        }
        let prior = (!prior.is_null()).then_some(prior);
        let outcome = engine::plan(&entry.schema.block, prior.as_ref(), proposed, &config);
        diags.extend(outcome.diags);
        let mut resp = PlanResponse {
            planned: outcome.planned,
            planned_private: req.prior_private.clone(),
            requires_replace: outcome.requires_replace,
            diags: Diagnostics::new(),
        };
        if !diags.has_errors() {
            tracing::debug!(resource = %req.type_name, create = prior.is_none(), "planning");
            let plan_req =
                PlanRequest { prior: prior.as_ref(), config: &config, prior_private: &req.prior_private };
            entry.imp.plan(&self.context(), plan_req, &mut resp).await;
            diags.extend(std::mem::take(&mut resp.diags));
        }
        if diags.has_errors() {
            return ok(reply(None, Vec::new(), &[], &diags));
        }
        let problems = plan_violations(&entry.schema.block, prior.as_ref(), &config, &resp.planned);
        if !problems.is_empty() {
            diags.push(provider_bug("plan", &problems));
            return ok(reply(None, Vec::new(), &[], &diags));
        }
        if prior.is_none() {
            resp.requires_replace.clear();
        }
        let planned = try_or_reply!(
            encode(&resp.planned, &entry.ty, "planned state"),
            diags,
            reply(None, Vec::new(), &[], &diags)
        );
        ok(reply(Some(planned), resp.planned_private, &resp.requires_replace, &diags))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |state: Option<pb::DynamicValue>, private: Vec<u8>, d: &Diagnostics| {
            pb::apply_resource_change::Response {
                new_state: state,
                private,
                diagnostics: diagnostics(d),
                legacy_type_system: false,
            }
        };
        let entry = try_or_reply!(
            self.resource(&req.type_name),
            diags,
            reply(req.prior_state.clone(), Vec::new(), &diags)
        );
        let decoded = (|| -> Result<_, Diagnostic> {
            Ok((
                decode(req.prior_state.as_ref(), &entry.ty, "prior state")?,
                decode(req.planned_state.as_ref(), &entry.ty, "planned state")?,
                decode(req.config.as_ref(), &entry.ty, "configuration")?,
            ))
        })();
        let (prior, planned, config) =
            try_or_reply!(decoded, diags, reply(req.prior_state.clone(), Vec::new(), &diags));
        let ctx = self.context();
        if planned.is_null() {
            tracing::debug!(resource = %req.type_name, "deleting");
            let d =
                entry.imp.delete(&ctx, DeleteRequest { prior: &prior, private: &req.planned_private }).await;
            let failed = d.has_errors();
            diags.extend(d);
            // A failed delete keeps the object in state, so nothing is forgotten.
            let state = if failed { req.prior_state.clone() } else { Some(null_value()) };
            let private = if failed { req.planned_private.clone() } else { Vec::new() };
            return ok(reply(state, private, &diags));
        }
        let prior = (!prior.is_null()).then_some(prior);
        let apply_req = ApplyRequest {
            prior: prior.as_ref(),
            planned: &planned,
            config: &config,
            planned_private: &req.planned_private,
        };
        tracing::debug!(resource = %req.type_name, create = prior.is_none(), "applying");
        let out: ApplyResponse = if prior.is_none() {
            entry.imp.create(&ctx, apply_req).await
        } else {
            entry.imp.update(&ctx, apply_req).await
        };
        diags.extend(out.diags);
        let Some(state) = out.state else {
            if !diags.has_errors() {
                diags.push(provider_bug("result", &["create or update returned no state".to_string()]));
            }
            // Nothing exists (create) or the prior object is unchanged (update).
            let state = prior.is_some().then(|| req.prior_state.clone()).flatten();
            return ok(reply(state.or_else(|| Some(null_value())), req.planned_private, &diags));
        };
        if !diags.has_errors() {
            let mut problems = apply_violations(&planned, &state);
            if !state.is_wholly_known() {
                problems.push("the new state still contains unknown values".to_string());
            }
            if !problems.is_empty() {
                diags.push(provider_bug("result after apply", &problems));
            }
        }
        let encoded = try_or_reply!(
            encode(&state, &entry.ty, "new state"),
            diags,
            reply(req.prior_state.clone(), Vec::new(), &diags)
        );
        ok(reply(Some(encoded), out.private, &diags))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |items: Vec<pb::import_resource_state::ImportedResource>, d: &Diagnostics| {
            pb::import_resource_state::Response {
                imported_resources: items,
                diagnostics: diagnostics(d),
                deferred: None,
            }
        };
        let entry = try_or_reply!(self.resource(&req.type_name), diags, reply(Vec::new(), &diags));
        tracing::debug!(resource = %req.type_name, "importing");
        let imported =
            try_or_reply!(entry.imp.import(&self.context(), &req.id).await, diags, reply(Vec::new(), &diags));
        let mut items = Vec::new();
        for i in imported {
            let state = try_or_reply!(
                encode(&i.state, &entry.ty, "imported state"),
                diags,
                reply(Vec::new(), &diags)
            );
            items.push(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(state),
                private: i.private,
            });
        }
        ok(reply(items, &diags))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let req = req.into_inner();
        let diags: Diagnostics = Diagnostic::error(
            "Move not supported",
            format!("Resources cannot be moved into {} from {}.", req.target_type_name, req.source_type_name),
        )
        .into();
        ok(pb::move_resource_state::Response {
            target_state: None,
            diagnostics: diagnostics(&diags),
            target_private: Vec::new(),
        })
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let reply = |state: Option<pb::DynamicValue>, d: &Diagnostics| pb::read_data_source::Response {
            state,
            diagnostics: diagnostics(d),
            deferred: None,
        };
        let entry = try_or_reply!(self.data_source(&req.type_name), diags, reply(None, &diags));
        let config = try_or_reply!(
            decode(req.config.as_ref(), &entry.ty, "configuration"),
            diags,
            reply(None, &diags)
        );
        tracing::debug!(data_source = %req.type_name, "reading");
        let value = try_or_reply!(entry.imp.read(&self.context(), &config).await, diags, reply(None, &diags));
        if !value.is_wholly_known() {
            diags.push(provider_bug(
                "data source result",
                &["the result contains unknown values".to_string()],
            ));
            return ok(reply(None, &diags));
        }
        let encoded =
            try_or_reply!(encode(&value, &entry.ty, "data source result"), diags, reply(None, &diags));
        ok(reply(Some(encoded), &diags))
    }

    async fn get_functions(
        &self,
        _req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        ok(pb::get_functions::Response::default())
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        ok(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("This provider has no function named {:?}.", req.into_inner().name),
                function_argument: None,
            }),
        })
    }

    async fn stop_provider(
        &self,
        _req: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        // Cancel what is in flight, then hand later calls a fresh token: Terraform may keep
        // using this process (for example to record state after an interrupted apply).
        let mut stop = self.stop.lock().expect("stop token lock");
        tracing::info!("Terraform asked to stop: cancelling operations in flight");
        stop.cancel();
        *stop = CancellationToken::new();
        ok(pb::stop_provider::Response { error: String::new() })
    }
}
