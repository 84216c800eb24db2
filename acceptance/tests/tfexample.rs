//! Acceptance tests of `tfplugin` through the example provider `tfplugin/tfexample`, driven by the
//! real terraform CLI (1.0.3 and every newer binary found): create, in-place update, semantic JSON
//! diff suppression, replacement, import, unknown values flowing between resources, data sources
//! with `depends_on`, drift, destroy, and plugin transport without TLS. Validation errors and the
//! state upgrade are in `tfexample_validation.rs`.
//!
//! The provider's "cloud" is a directory of JSON files, one fresh directory per run, which the tests
//! read to prove what terraform did and change to cause drift.

mod common;

use std::cell::RefCell;

use acceptance::checks::{
    attr_eq, attr_matches, attr_null, attr_sensitive, output_eq, plan_eq, plan_known, plan_output_unknown,
    plan_sensitive, plan_unknown, resource_exists,
};
use acceptance::terraform::Terraform;
use acceptance::{CheckResult, Plan, RunContext, RunFailure, RunReport, State, Step, TestCase, Version};
use common::{LogFile, Store, TFEXAMPLE, TFEXAMPLE_REQUIRED, attr_string, lines_with, on_each_terraform};
use serde_json::json;

const A: &str = "tfexample_thing.a";

/// The lifecycle configuration; `NAME`, `SIZE` and `SETTINGS` are replaced.
const THING: &str = r#"
resource "tfexample_thing" "a" {
  name     = "NAME"
  size     = SIZE
  tags     = { team = "platform", env = "test" }
  settings = SETTINGS
  nodes = [
    { address = "10.0.0.1" },
    { address = "fd00::2" },
  ]
}
"#;

/// `jsonencode` sorts keys and writes no spaces: `{"features":["a","b"],"replicas":3}`.
const SETTINGS_COMPACT: &str = r#"jsonencode({ replicas = 3, features = ["a", "b"] })"#;
const SETTINGS_COMPACT_TEXT: &str = r#"{"features":["a","b"],"replicas":3}"#;

/// The same document, other key order and whitespace: semantically equal.
const SETTINGS_REFORMATTED: &str = r#"<<-EOT
    {
      "replicas": 3,
      "features": [ "a", "b" ]
    }
  EOT"#;

/// A semantically different document, also formatted differently.
const SETTINGS_CHANGED: &str = r#"<<-EOT
    { "replicas": 4, "features": ["a", "b"] }
  EOT"#;
const SETTINGS_CHANGED_TEXT: &str = "{ \"replicas\": 4, \"features\": [\"a\", \"b\"] }\n";

fn thing(name: &str, size: u32, settings: &str) -> String {
    let body = THING.replace("NAME", name).replace("SIZE", &size.to_string()).replace("SETTINGS", settings);
    format!("{TFEXAMPLE_REQUIRED}{body}")
}

/// A check that `address`'s ID is (`same`) or is not the one remembered in `cell`.
fn id_vs<'c>(cell: &'c RefCell<String>, address: &'c str, same: bool) -> impl Fn(&State) -> CheckResult + 'c {
    move |state| {
        let id = attr_string(state, address, "id")?;
        let remembered = cell.borrow();
        match (same, id == *remembered) {
            (true, true) | (false, false) => Ok(()),
            (true, false) => Err(format!("{address}.id changed from {remembered} to {id}").into()),
            (false, true) => Err(format!("{address}.id is still {id}: the object was not replaced").into()),
        }
    }
}

/// A check that remembers `address`'s ID in `cell`.
fn remember_id<'c>(cell: &'c RefCell<String>, address: &'c str) -> impl Fn(&State) -> CheckResult + 'c {
    move |state| {
        *cell.borrow_mut() = attr_string(state, address, "id")?;
        Ok(())
    }
}

/// Proves with the store itself that the thing in the state exists with these size and revision.
fn stored_thing<'s>(store: &'s Store, size: i64, revision: i64) -> impl Fn(&State) -> CheckResult + 's {
    move |state| {
        let id = attr_string(state, A, "id")?;
        let doc = store.read("thing", &id)?;
        let token = attr_string(state, A, "token")?;
        if doc["size"] != json!(size) || doc["revision"] != json!(revision) || doc["token"] != json!(token) {
            return Err(format!(
                "stored thing {id}: expected size {size}, revision {revision} and the state's token, got {doc}"
            )
            .into());
        }
        store.expect_count("thing", 1)
    }
}

/// Whether `show -json` marks schema-sensitive attributes in a state's `sensitive_values`: only
/// from terraform 1.4.6 (hashicorp/terraform#33059); before, only `sensitive()` marks are there.
fn marks_schema_sensitivity(terraform: &Terraform) -> bool {
    *terraform.version() >= Version { major: 1, minor: 4, patch: 6, pre: None }
}

/// What every terraform version shows a person: `terraform show` redacts the generated token.
fn token_is_redacted(ctx: &mut RunContext<'_>, address: &str) -> CheckResult {
    let token = attr_string(&ctx.state()?, address, "token")?;
    let shown = ctx.terraform_command(&["show", "-no-color"])?;
    let redacted = regex::Regex::new(r"(?m)^\s*token\s+= \(sensitive( value)?\)$")?;
    if !shown.success() || shown.combined.contains(&token) || !redacted.is_match(&shown.stdout) {
        return Err(format!("terraform show does not redact {address}.token:\n{}", shown.combined).into());
    }
    Ok(())
}

#[test]
fn thing_lifecycle_create_update_semantic_json_replace_import_destroy() {
    on_each_terraform(|terraform| {
        let store = Store::new();
        let first_id = RefCell::new(String::new());
        let (v1, v2) = (thing("alpha", 10, SETTINGS_COMPACT), thing("alpha", 20, SETTINGS_COMPACT));
        let reformatted = thing("alpha", 20, SETTINGS_REFORMATTED);
        let changed = thing("alpha", 20, SETTINGS_CHANGED);
        let renamed = thing("beta", 20, SETTINGS_CHANGED);
        let json_marks_schema_sensitivity = marks_schema_sensitivity(terraform);
        TestCase::new("tfexample_lifecycle")
            .provider(TFEXAMPLE)
            .env("TFEXAMPLE_STORE_DIR", store.dir())
            .step(
                Step::config(&v1)
                    .expect_actions(A, &["create"])
                    .plan_check(plan_unknown(A, "id"))
                    .plan_check(plan_unknown(A, "token"))
                    .plan_check(plan_sensitive(A, "token"))
                    .plan_check(plan_unknown(A, "revision"))
                    .plan_check(plan_unknown(A, "nodes[1].ready"))
                    .plan_check(plan_eq(A, "nodes[1].address", json!("fd00::2")))
                    .plan_check(plan_eq(A, "mode", json!("standard")))
                    .plan_check(plan_eq(A, "size", json!(10)))
                    .plan_check(plan_eq(A, "settings", json!(SETTINGS_COMPACT_TEXT)))
                    .check(remember_id(&first_id, A))
                    .check(attr_matches(A, "id", "^[0-9a-f]+$"))
                    .check(attr_matches(A, "token", "^tok-[0-9a-f]+$"))
                    .check(move |state: &State| match json_marks_schema_sensitivity {
                        true => attr_sensitive(A, "token")(state),
                        false => Ok(()),
                    })
                    .check(attr_eq(A, "revision", json!(1)))
                    .check(attr_eq(A, "mode", json!("standard")))
                    .check(attr_eq(A, "tags", json!({"team": "platform", "env": "test"})))
                    .check(attr_eq(A, "settings", json!(SETTINGS_COMPACT_TEXT)))
                    .check(attr_eq(A, "nodes[0]", json!({"address": "10.0.0.1", "ready": true})))
                    .check(attr_eq(A, "nodes[1]", json!({"address": "fd00::2", "ready": true})))
                    .check(stored_thing(&store, 10, 1)),
            )
            .step(Step::run(|ctx| token_is_redacted(ctx, A)))
            .step(
                Step::config(&v2)
                    .expect_actions(A, &["update"])
                    .plan_check(|plan: &Plan| plan_eq(A, "id", json!(*first_id.borrow()))(plan))
                    .plan_check(plan_eq(A, "size", json!(20)))
                    .plan_check(plan_unknown(A, "revision"))
                    .plan_check(plan_known(A, "token"))
                    .plan_check(plan_sensitive(A, "token"))
                    .check(id_vs(&first_id, A, true))
                    .check(attr_eq(A, "size", json!(20)))
                    .check(attr_eq(A, "revision", json!(2)))
                    .check(stored_thing(&store, 20, 2)),
            )
            // Same JSON document, other formatting: the plan must be empty, not an update.
            .step(Step::config(&reformatted).plan_only().expect_actions(A, &["no-op"]))
            // A different document is an update, and the configured text is what gets stored.
            .step(
                Step::config(&changed)
                    .expect_actions(A, &["update"])
                    .plan_check(plan_eq(A, "settings", json!(SETTINGS_CHANGED_TEXT)))
                    .check(id_vs(&first_id, A, true))
                    .check(attr_eq(A, "settings", json!(SETTINGS_CHANGED_TEXT)))
                    .check(stored_thing(&store, 20, 3)),
            )
            .step(Step::import(A).check(attr_eq(A, "revision", json!(3))))
            .step(
                Step::config(&renamed)
                    .expect_actions(A, &["delete", "create"])
                    .plan_check(plan_unknown(A, "id"))
                    .plan_check(plan_unknown(A, "token"))
                    .plan_check(plan_eq(A, "name", json!("beta")))
                    .check(id_vs(&first_id, A, false))
                    .check(attr_eq(A, "name", json!("beta")))
                    .check(attr_eq(A, "revision", json!(1)))
                    .check(|_: &State| match store.file("thing", &first_id.borrow()).exists() {
                        false => Ok(()),
                        true => Err("the replaced thing's file is still in the store".into()),
                    })
                    .check(stored_thing(&store, 20, 1)),
            )
            .step(Step::destroy().check(|before| {
                resource_exists(A)(before)?;
                store.expect_count("thing", 0)
            }))
            .run_with(terraform)
    });
}

const LINKED: &str = r#"
resource "tfexample_thing" "t" {
  name = "NAME"
  size = 5
}

resource "tfexample_link" "l" {
  target_id = tfexample_thing.t.id
}

# Read after the thing exists: during apply when it changes, during plan otherwise.
data "tfexample_things" "matching" {
  name_prefix = "tar"
  depends_on  = [tfexample_thing.t]
}

output "label" {
  value = tfexample_link.l.label
}

output "total" {
  value = data.tfexample_things.matching.total
}
"#;

fn linked(name: &str) -> String {
    format!("{TFEXAMPLE_REQUIRED}{}", LINKED.replace("NAME", name))
}

/// The link points at the thing in the state, and the store agrees.
fn link_matches_thing(store: &Store) -> impl Fn(&State) -> CheckResult + '_ {
    move |state| {
        let thing_id = attr_string(state, "tfexample_thing.t", "id")?;
        attr_eq("tfexample_link.l", "target_id", json!(thing_id))(state)?;
        attr_eq(DATA, "things[0].id", json!(thing_id))(state)?;
        let link_id = attr_string(state, "tfexample_link.l", "id")?;
        let doc = store.read("link", &link_id)?;
        if doc["target_id"] != json!(thing_id) {
            return Err(
                format!("stored link {link_id} points at {}, not {thing_id}", doc["target_id"]).into()
            );
        }
        store.expect_count("link", 1)?;
        store.expect_count("thing", 1)
    }
}

const DATA: &str = "data.tfexample_things.matching";
const LINK: &str = "tfexample_link.l";

#[test]
fn unknown_ids_flow_into_a_link_and_a_data_source_reads_after_depends_on() {
    on_each_terraform(|terraform| {
        let store = Store::new();
        TestCase::new("tfexample_unknowns")
            .provider(TFEXAMPLE)
            .env("TFEXAMPLE_STORE_DIR", store.dir())
            .step(
                Step::config(linked("target"))
                    .expect_actions("tfexample_thing.t", &["create"])
                    .expect_actions(LINK, &["create"])
                    .expect_actions(DATA, &["read"])
                    .plan_check(plan_unknown(LINK, "target_id"))
                    .plan_check(plan_unknown(LINK, "label"))
                    .plan_check(plan_unknown(LINK, "id"))
                    .plan_check(plan_unknown(DATA, "total"))
                    .plan_check(plan_output_unknown("label"))
                    .plan_check(plan_output_unknown("total"))
                    .check(link_matches_thing(&store))
                    .check(attr_eq(LINK, "label", json!("link to target")))
                    .check(attr_eq(DATA, "total", json!(1)))
                    .check(attr_eq(DATA, "id", json!("prefix:tar")))
                    .check(attr_eq(DATA, "things[0].name", json!("target")))
                    .check(attr_eq(DATA, "things[0].size", json!(5)))
                    .check(output_eq("label", json!("link to target")))
                    .check(output_eq("total", json!(1))),
            )
            // Replacing the thing makes the link's target unknown again, which forces its replacement.
            .step(
                Step::config(linked("target-2"))
                    .expect_actions("tfexample_thing.t", &["delete", "create"])
                    .expect_actions(LINK, &["delete", "create"])
                    .expect_actions(DATA, &["read"])
                    .plan_check(plan_unknown(LINK, "target_id"))
                    .check(link_matches_thing(&store))
                    .check(attr_eq(LINK, "label", json!("link to target-2")))
                    .check(attr_eq(DATA, "things[0].name", json!("target-2")))
                    .check(output_eq("total", json!(1))),
            )
            .step(Step::destroy().check(|_| {
                store.expect_count("thing", 0)?;
                store.expect_count("link", 0)
            }))
            .run_with(terraform)
    });
}

const DRIFTING: &str = r#"
resource "tfexample_thing" "d" {
  name = "drifting"
  size = 10
  nodes = [{ address = "192.0.2.7" }]
}
"#;
const D: &str = "tfexample_thing.d";

#[test]
fn drift_in_the_store_is_planned_and_repaired() {
    on_each_terraform(|terraform| {
        let store = Store::new();
        let id = RefCell::new(String::new());
        let config = format!("{TFEXAMPLE_REQUIRED}{DRIFTING}");
        let stored_size = |size: i64| {
            let (store, id) = (&store, &id);
            move |_: &State| {
                let doc = store.read("thing", &id.borrow())?;
                match doc["size"] == json!(size) {
                    true => Ok(()),
                    false => Err(format!("stored size {}, expected {size}", doc["size"]).into()),
                }
            }
        };
        TestCase::new("tfexample_drift")
            .provider(TFEXAMPLE)
            .env("TFEXAMPLE_STORE_DIR", store.dir())
            .step(Step::config(&config).check(remember_id(&id, D)).check(stored_size(10)))
            .step(Step::run(|_| {
                let mut doc = store.read("thing", &id.borrow())?;
                doc["size"] = json!(42);
                store.write("thing", &id.borrow(), &doc)
            }))
            .step(
                Step::config(&config)
                    .expect_actions(D, &["update"])
                    .plan_check(|plan: &Plan| {
                        // Refresh saw the drift: the plan starts from size 42.
                        let prior = plan.prior_state.as_ref().ok_or("the plan has no prior state")?;
                        attr_eq(D, "size", json!(42))(prior)
                    })
                    .plan_check(plan_eq(D, "size", json!(10)))
                    .check(id_vs(&id, D, true))
                    .check(attr_eq(D, "size", json!(10)))
                    .check(attr_eq(D, "revision", json!(2)))
                    .check(stored_size(10)),
            )
            .step(Step::run(|_| Ok(std::fs::remove_file(store.file("thing", &id.borrow()))?)))
            .step(
                Step::config(&config)
                    .expect_actions(D, &["create"])
                    .plan_check(plan_unknown(D, "id"))
                    .check(id_vs(&id, D, false))
                    .check(attr_eq(D, "revision", json!(1)))
                    .check(attr_eq(D, "nodes[0].ready", json!(true)))
                    .check(attr_null(D, "tags"))
                    .check(|_: &State| store.expect_count("thing", 1)),
            )
            .run_with(terraform)
    });
}

/// go-plugin's log line when terraform sets up the provider's automatic mTLS.
const AUTO_MTLS: &str = "configuring client automatic mTLS";

/// One create and destroy, with terraform's debug log telling whether the plugin used mTLS.
fn transport_run(terraform: &Terraform, tls: bool) -> Result<RunReport, Box<RunFailure>> {
    let config = format!("{TFEXAMPLE_REQUIRED}{}", r#"resource "tfexample_thing" "p" { name = "plain" }"#);
    let (store, log) = (Store::new(), LogFile::new());
    let mut case = TestCase::new(if tls { "tfexample_tls" } else { "tfexample_no_tls" })
        .provider(TFEXAMPLE)
        .env("TFEXAMPLE_STORE_DIR", store.dir())
        .env("TF_LOG", "debug")
        .env("TF_LOG_PATH", log.path_str());
    if !tls {
        case = case.env("TF_DISABLE_PLUGIN_TLS", "1");
    }
    case.step(
        Step::config(&config)
            .check(attr_eq("tfexample_thing.p", "name", json!("plain")))
            .check(|_| store.expect_count("thing", 1)),
    )
    .step(Step::run(|_| {
        let text = log.read()?;
        if !text.contains("provider.terraform-provider-tfexample: plugin server listening") {
            return Err(format!("no provider lines in the log {}", log.path().display()).into());
        }
        match (tls, text.contains(AUTO_MTLS)) {
            (true, true) | (false, false) => Ok(()),
            (true, false) => Err(format!("the log never mentions {AUTO_MTLS:?}").into()),
            (false, true) => Err(format!("TLS still used: {:?}", lines_with(&text, AUTO_MTLS)).into()),
        }
    }))
    .step(Step::destroy().check(|_| store.expect_count("thing", 0)))
    .run_with(terraform)
}

/// `TF_DISABLE_PLUGIN_TLS=1`: the provider serves plain gRPC, proven by the log; the run with TLS
/// must log the mTLS setup, or its absence would prove nothing.
#[test]
fn plugin_transport_without_tls() {
    on_each_terraform(|terraform| {
        transport_run(terraform, true)?;
        transport_run(terraform, false)
    });
}
