//! The server as Terraform sees it: the handshake line, AutoMTLS with the pinned certificate,
//! the go-plugin services, and the provider RPCs with their plan/apply rules, over a real gRPC
//! connection to an in-process server.

use base64::Engine as _;
use ct_proto::tfplugin6 as pb;
use ct_proto::{grpc_health_v1 as health, plugin};
use std::sync::Arc;
use std::time::Duration;
use tfplugin::plan::{requires_replace, use_state_for_unknown};
use tfplugin::resource::{ApplyRequest, ApplyResponse, DeleteRequest, Imported, ReadRequest, ReadResponse};
use tfplugin::schema::{Attribute, Block, Nesting, Schema};
use tfplugin::server::{PluginEnv, ServeError, ServeOptions, bind};
use tfplugin::value::msgpack;
use tfplugin::{Context, DataSource, Diagnostic, Diagnostics, Provider, Resource, Type, Value};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// A resource whose behaviour each test picks through its `mode` attribute.
struct Widget;

fn widget_schema() -> Schema {
    Schema::new(
        Block::new("A widget.")
            .attribute(
                Attribute::string("id").computed().description("ID.").plan_modifier(use_state_for_unknown()),
            )
            .attribute(
                Attribute::string("name").required().description("Name.").plan_modifier(requires_replace()),
            )
            .attribute(Attribute::string("mode").optional().description("`ok`, `slow` or `buggy`."))
            .attribute(Attribute::string("status").computed().description("Status."))
            .attribute(
                Attribute::nested(
                    "parts",
                    Nesting::List,
                    vec![Attribute::string("label").required().description("Label.")],
                )
                .optional()
                .description("Parts."),
            ),
    )
    .version(2)
}

#[tfplugin::async_trait]
impl Resource for Widget {
    fn type_name(&self) -> &'static str {
        "test_widget"
    }
    fn schema(&self) -> Schema {
        widget_schema()
    }
    async fn create(&self, ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        let mut state = req.planned.clone();
        match req.planned.get_attr("mode").and_then(Value::as_str) {
            Some("slow")
                if ctx.run_until_stopped(tokio::time::sleep(Duration::from_secs(30))).await.is_none() =>
            {
                return ApplyResponse {
                    diags: Diagnostic::error("Interrupted", "Terraform asked to stop.").into(),
                    ..ApplyResponse::default()
                };
            }
            Some("buggy") => {
                // Changes a known planned value: the server must report it, not Terraform.
                state.set_attr("name", Value::from("renamed")).unwrap();
            }
            _ => {}
        }
        state.set_attr("id", Value::from("w-1")).unwrap();
        state.set_attr("status", Value::from("ready")).unwrap();
        ApplyResponse { state: Some(state), ..ApplyResponse::default() }
    }
    async fn read(&self, _ctx: &Context, req: ReadRequest<'_>) -> ReadResponse {
        let gone = req.state.get_attr("mode").and_then(Value::as_str) == Some("gone");
        ReadResponse { state: (!gone).then(|| req.state.clone()), ..ReadResponse::default() }
    }
    async fn update(&self, _ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
        let mut state = req.planned.clone();
        state.set_attr("status", Value::from("updated")).unwrap();
        ApplyResponse { state: Some(state), ..ApplyResponse::default() }
    }
    async fn delete(&self, _ctx: &Context, _req: DeleteRequest<'_>) -> Diagnostics {
        Diagnostics::new()
    }
    async fn import(&self, _ctx: &Context, id: &str) -> Result<Vec<Imported>, Diagnostics> {
        let state = Value::object([
            ("id", Value::from(id)),
            ("name", Value::from("imported")),
            ("mode", Value::Null),
            ("status", Value::from("ready")),
            ("parts", Value::Null),
        ]);
        Ok(vec![Imported { state, private: Vec::new() }])
    }
    fn upgrade_state(&self, version: i64, mut state: Value) -> Result<Value, Diagnostics> {
        // Version 1 called `name` `title`.
        assert_eq!(version, 1);
        let title = state.get_attr("title").cloned().unwrap_or(Value::Null);
        if let Value::Object(m) = &mut state {
            m.remove("title");
        }
        state.set_attr("name", title).unwrap();
        Ok(state)
    }
}

struct TestProvider;

#[tfplugin::async_trait]
impl Provider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Test provider.")
                .attribute(Attribute::string("token").optional().sensitive().description("T.")),
        )
    }
    async fn configure(&self, _ctx: &Context, _config: &Value, _tf: &str) -> Diagnostics {
        Diagnostics::new()
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Widget)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
}

fn client_cert_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn pem_from_der(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

struct Running {
    channel: Channel,
    shutdown: tokio_util::sync::CancellationToken,
    served: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Starts the server with AutoMTLS, parses the handshake line like go-plugin, and connects to
/// the printed address trusting only the printed certificate.
async fn start() -> Running {
    let env = PluginEnv { client_cert: Some(client_cert_pem()), ..PluginEnv::as_terraform_sets_it() };
    let options = ServeOptions { address: "registry.terraform.io/test/test".into(), debug: false };
    let bound = bind(Arc::new(TestProvider), &options, &env).await.expect("bind");
    let line = bound.announcement().to_string();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(&fields[..3], &["1", "6", "tcp"], "{line}");
    assert_eq!(fields[4], "grpc");
    assert!(!fields[5].contains('='), "certificate must be unpadded base64: {line}");
    let der = base64::engine::general_purpose::STANDARD_NO_PAD.decode(fields[5]).expect("base64 certificate");
    let port: u16 = fields[3].strip_prefix("127.0.0.1:").expect("loopback").parse().unwrap();
    assert!((10000..=25000).contains(&port), "port in Terraform's default range: {port}");
    let shutdown = bound.shutdown_token();
    let served = tokio::spawn(bound.serve());
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pem_from_der(&der)))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", fields[3]))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("TLS connection trusting the handshake certificate");
    Running { channel, shutdown, served }
}

fn dv(v: &Value) -> Option<pb::DynamicValue> {
    let ty = widget_schema().block.implied_type();
    let v = v.clone().conform(&ty).unwrap();
    Some(pb::DynamicValue { msgpack: msgpack::encode(&v, &ty).unwrap(), json: Vec::new() })
}

fn undv(v: Option<pb::DynamicValue>) -> Value {
    msgpack::decode(&v.expect("a value").msgpack, &widget_schema().block.implied_type()).unwrap()
}

fn config(name: &str, mode: &str) -> Value {
    Value::object([
        ("id", Value::Null),
        ("name", Value::from(name)),
        ("mode", Value::from(mode)),
        ("status", Value::Null),
        ("parts", Value::list([Value::object([("label", Value::from("a"))])])),
    ])
}

#[tokio::test]
async fn handshake_tls_health_and_shutdown() {
    let r = start().await;
    let mut h = health::health_client::HealthClient::new(r.channel.clone());
    let status = h.check(health::HealthCheckRequest { service: "plugin".into() }).await.unwrap().into_inner();
    assert_eq!(status.status, health::health_check_response::ServingStatus::Serving as i32);

    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let schema = p.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    let widget = &schema.resource_schemas["test_widget"];
    assert_eq!(widget.version, 2);
    let block = widget.block.as_ref().unwrap();
    let parts = block.attributes.iter().find(|a| a.name == "parts").unwrap();
    assert!(
        parts.r#type.is_empty() && parts.nested_type.is_some(),
        "type XOR nested_type (Terraform 1.0.3 panics on both)"
    );
    let name = block.attributes.iter().find(|a| a.name == "name").unwrap();
    assert_eq!(Type::from_json_bytes(&name.r#type).unwrap(), Type::String);
    assert!(schema.provider.unwrap().block.unwrap().attributes[0].sensitive);
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    // Terraform's Close: Controller.Shutdown, then the process must exit promptly.
    let mut c = plugin::grpc_controller_client::GrpcControllerClient::new(r.channel.clone());
    c.shutdown(plugin::Empty {}).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), r.served)
        .await
        .expect("server stops after Shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn plan_create_marks_computed_unknown_and_apply_fills_them() {
    let r = start().await;
    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let cfg = config("a", "ok");
    let plan = p
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(pb::DynamicValue { msgpack: vec![0xc0], json: Vec::new() }),
            proposed_new_state: dv(&cfg),
            config: dv(&cfg),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = undv(plan.planned_state);
    assert_eq!(planned.get_attr("id"), Some(&Value::Unknown));
    assert_eq!(planned.get_attr("status"), Some(&Value::Unknown));
    assert!(plan.requires_replace.is_empty(), "no replacement on create");

    let applied = p
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(pb::DynamicValue { msgpack: vec![0xc0], json: Vec::new() }),
            planned_state: dv(&planned),
            config: dv(&cfg),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = undv(applied.new_state);
    assert_eq!(state.get_attr("id"), Some(&Value::from("w-1")));

    // Renaming replaces; the path is reported.
    let cfg2 = config("b", "ok");
    let plan2 = p
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: dv(&state),
            proposed_new_state: dv(&{
                let mut v = cfg2.clone();
                v.set_attr("id", Value::from("w-1")).unwrap();
                v.set_attr("status", Value::from("ready")).unwrap();
                v
            }),
            config: dv(&cfg2),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan2.requires_replace.len(), 1);
    let step = &plan2.requires_replace[0].steps[0];
    assert_eq!(step.selector, Some(pb::attribute_path::step::Selector::AttributeName("name".into())));
}

#[tokio::test]
async fn a_provider_bug_after_apply_is_reported_by_the_server() {
    let r = start().await;
    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let cfg = config("a", "buggy");
    let mut planned = cfg.clone();
    planned.set_attr("id", Value::Unknown).unwrap();
    planned.set_attr("status", Value::Unknown).unwrap();
    let applied = p
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(pb::DynamicValue { msgpack: vec![0xc0], json: Vec::new() }),
            planned_state: dv(&planned),
            config: dv(&cfg),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let d = &applied.diagnostics[0];
    assert_eq!(d.summary, "Provider produced an invalid result after apply");
    assert!(d.detail.contains("name: planned value was changed by apply"), "{}", d.detail);
}

#[tokio::test]
async fn stop_provider_cancels_work_in_flight_and_the_server_keeps_serving() {
    let r = start().await;
    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let cfg = config("a", "slow");
    let mut planned = cfg.clone();
    planned.set_attr("id", Value::Unknown).unwrap();
    planned.set_attr("status", Value::Unknown).unwrap();
    let mut p2 = p.clone();
    let slow = tokio::spawn(async move {
        p2.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "test_widget".into(),
            prior_state: Some(pb::DynamicValue { msgpack: vec![0xc0], json: Vec::new() }),
            planned_state: dv(&planned),
            config: dv(&cfg),
            ..Default::default()
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let out =
        tokio::time::timeout(Duration::from_secs(5), slow).await.expect("stopped promptly").unwrap().unwrap();
    assert_eq!(out.into_inner().diagnostics[0].summary, "Interrupted");
    // Still serving, with a fresh cancellation token.
    let imported = p
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "test_widget".into(),
            id: "w-9".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undv(imported.imported_resources[0].state.clone()).get_attr("id"), Some(&Value::from("w-9")));
    r.shutdown.cancel();
}

#[tokio::test]
async fn upgrade_resource_state_runs_the_resource_upgrader_for_old_versions() {
    let r = start().await;
    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let old = br#"{"id":"w-1","title":"legacy","mode":null,"status":"ready","parts":null}"#;
    let out = p
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 1,
            raw_state: Some(pb::RawState { json: old.to_vec(), flatmap: Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(undv(out.upgraded_state).get_attr("name"), Some(&Value::from("legacy")));

    let newer = p
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 3,
            raw_state: Some(pb::RawState { json: old.to_vec(), flatmap: Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(newer.diagnostics[0].summary, "State written by a newer provider");

    // Same version: decoded as is; an attribute added since decodes as null.
    let current = br#"{"id":"w-1","name":"n","status":"ready"}"#;
    let same = p
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_widget".into(),
            version: 2,
            raw_state: Some(pb::RawState { json: current.to_vec(), flatmap: Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(same.diagnostics.is_empty(), "{:?}", same.diagnostics);
    assert_eq!(undv(same.upgraded_state).get_attr("parts"), Some(&Value::Null));
    r.shutdown.cancel();
}

#[tokio::test]
async fn read_of_a_vanished_object_returns_null_and_unknown_types_are_diagnosed() {
    let r = start().await;
    let mut p = pb::provider_client::ProviderClient::new(r.channel.clone());
    let mut state = config("a", "gone");
    state.set_attr("id", Value::from("w-1")).unwrap();
    state.set_attr("status", Value::from("ready")).unwrap();
    let read = p
        .read_resource(pb::read_resource::Request {
            type_name: "test_widget".into(),
            current_state: dv(&state),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.new_state.unwrap().msgpack, vec![0xc0], "null means gone");
    let unknown = p
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.diagnostics[0].summary, "Unknown resource type");
    r.shutdown.cancel();
}

#[tokio::test]
async fn refuses_to_start_without_terraform() {
    let options = ServeOptions { address: "x/y/z".into(), debug: false };
    let err = bind(Arc::new(TestProvider), &options, &PluginEnv::default()).await.unwrap_err();
    assert!(matches!(err, ServeError::NotStartedByTerraform));
    assert!(err.to_string().contains("Terraform starts it"), "{err}");
    let env = PluginEnv { protocol_versions: Some("4,5".into()), ..PluginEnv::as_terraform_sets_it() };
    let err = bind(Arc::new(TestProvider), &options, &env).await.unwrap_err();
    assert!(matches!(err, ServeError::ProtocolMismatch { .. }), "{err}");
}

#[tokio::test]
async fn debug_mode_prints_a_reattach_value_with_test_mode() {
    let dir = tempfile::tempdir().unwrap();
    let env = PluginEnv { unix_socket_dir: Some(dir.path().to_path_buf()), ..PluginEnv::default() };
    let options = ServeOptions { address: "registry.terraform.io/test/test".into(), debug: true };
    let bound = bind(Arc::new(TestProvider), &options, &env).await.unwrap();
    let text = bound.announcement().to_string();
    let json_text = text.split('\'').nth(1).expect("quoted value");
    let v: serde_json::Value = serde_json::from_str(json_text).unwrap();
    let entry = &v["registry.terraform.io/test/test"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true, "Terraform 1.0.3 needs test mode for protocol 6");
    assert_eq!(entry["Addr"]["Network"], "unix");
    assert!(std::path::Path::new(entry["Addr"]["String"].as_str().unwrap()).exists());
}
