//! Acceptance tests of the schema side of `tfplugin` through the example provider: validation
//! errors that point at the offending attribute before anything exists, and the upgrade of a state
//! written with schema version 0 (where `size` was a string and `nodes` did not exist).

mod common;

use std::path::Path;

use acceptance::checks::{attr_eq, attr_null};
use acceptance::{CheckError, CheckResult, RunContext, State, Step, TestCase};
use common::{Store, TFEXAMPLE, TFEXAMPLE_REQUIRED, on_each_terraform};
use serde_json::{Value, json};

/// A `tfexample_thing.v` with these attribute lines.
fn thing(lines: &str) -> String {
    format!("{TFEXAMPLE_REQUIRED}\nresource \"tfexample_thing\" \"v\" {{\n{lines}\n}}\n")
}

/// Each invalid attribute: its lines, the expected error, and the attribute path it points at.
const INVALID: &[(&str, &str, Option<&str>)] = &[
    ("  name = \"v\"\n  size = 0", r"Value out of range.*0 is not an integer from 1 to 100", Some("size")),
    ("  name = \"v\"\n  size = 7.5", r"Value out of range.*7\.5 is not an integer", Some("size")),
    ("  name = \"\"", r"Empty value.*must not be empty", Some("name")),
    (
        "  name = \"v\"\n  mode = \"turbo\"",
        r#"Invalid value.*"turbo" is not allowed here; expected one of `standard`, `fast`"#,
        Some("mode"),
    ),
    // The cross-attribute rule names `size`; an explicit null gives terraform a line to show.
    (
        "  name = \"v\"\n  mode = \"fast\"\n  size = null",
        r#"Missing size.*mode = "fast" needs a size"#,
        Some("size"),
    ),
    // Without a size line there is no `size` snippet to show, but the error is the same.
    ("  name = \"v\"\n  mode = \"fast\"", r#"Missing size.*mode = "fast" needs a size"#, None),
    // The provider reports at nodes[1].address, but terraform (1.0.3 to 1.11 at least) walks a
    // diagnostic's path through nested *blocks* only: inside the `nodes` attribute it falls back
    // to the resource header, so there is no `address` line to find; the provider names the
    // element in the text instead.
    (
        "  name = \"v\"\n  nodes = [\n    { address = \"10.0.0.1\" },\n    { address = \"not-an-ip\" },\n  ]",
        r#"Invalid IP address.*with tfexample_thing\.v.*"not-an-ip" is not an IP address.*Attribute: nodes\[1\]\.address"#,
        None,
    ),
    ("  name = \"v\"\n  settings = \"{not json\"", r"Invalid JSON.*This is not valid JSON", Some("settings")),
    // Terraform itself refuses a value for a computed-only attribute.
    ("  name = \"v\"\n  token = \"mine\"", r"(?i)unconfigurable attribute", Some("token")),
];

#[test]
fn invalid_attributes_fail_plan_and_validate_with_their_path_before_anything_exists() {
    on_each_terraform(|terraform| {
        let store = Store::new();
        let mut case =
            TestCase::new("tfexample_validation").provider(TFEXAMPLE).env("TFEXAMPLE_STORE_DIR", store.dir());
        for (lines, error, path) in INVALID {
            let mut plan = Step::config(thing(lines)).expect_error(error);
            let mut validate = Step::validate(thing(lines)).expect_error(error);
            if let Some(path) = path {
                plan = plan.expect_error_path(path);
                validate = validate.expect_error_path(path);
            }
            case = case.step(plan).step(validate);
        }
        // The same resource with valid values plans a creation: the errors above came from the one
        // attribute each changed.
        let valid = "  name = \"v\"\n  size = 1\n  mode = \"fast\"\n  settings = \"{}\"\n  \
                     nodes = [{ address = \"::1\" }]";
        case.step(
            Step::config(thing(valid))
                .plan_only()
                .expect_non_empty_plan()
                .expect_actions("tfexample_thing.v", &["create"]),
        )
        .step(Step::run(|_| store.expect_count("thing", 0)))
        .run_with(terraform)
    });
}

const UPGRADED: &str = r#"
resource "tfexample_thing" "u" {
  name = "upgraded"
  size = 7
  tags = { schema = "v0" }
}
"#;
const U: &str = "tfexample_thing.u";

/// Rewrites the thing's instance in `terraform.tfstate` as schema version 0 wrote it: `size` a
/// string, no `nodes`.
fn downgrade_state(dir: &Path, size: &str) -> CheckResult {
    let path = dir.join("terraform.tfstate");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let resources = state["resources"].as_array_mut().ok_or("the state file has no resources")?;
    let thing = resources
        .iter_mut()
        .find(|resource| resource["type"] == "tfexample_thing")
        .ok_or("the state file has no tfexample_thing")?;
    let instance = &mut thing["instances"][0];
    if instance["schema_version"] != json!(1) {
        return Err(format!(
            "expected schema_version 1 before the rewrite, got {}",
            instance["schema_version"]
        )
        .into());
    }
    instance["schema_version"] = json!(0);
    let attributes = instance["attributes"].as_object_mut().ok_or("the instance has no attributes")?;
    attributes.insert("size".to_owned(), json!(size));
    attributes.remove("nodes").ok_or("the current schema should have stored nodes")?;
    let serial = state["serial"].as_u64().ok_or("the state file has no serial")?;
    state["serial"] = json!(serial + 1);
    std::fs::write(&path, serde_json::to_string_pretty(&state)?)?;
    Ok(())
}

/// The resource's schema version in the state.
fn schema_version(expected: u64) -> impl Fn(&State) -> CheckResult {
    move |state| {
        let resource = state.resource(U).ok_or("the thing is not in the state")?;
        match resource.schema_version == expected {
            true => Ok(()),
            false => {
                Err(format!("{U}: schema_version {}, expected {expected}", resource.schema_version).into())
            }
        }
    }
}

/// `plan -refresh=false` from the rewritten state: only the upgrader (no Read) turns it into a
/// value of the current schema, and that value must match the configuration exactly.
fn plan_without_refresh_is_empty(ctx: &mut RunContext<'_>) -> CheckResult {
    let out = ctx.terraform_command(&[
        "plan",
        "-no-color",
        "-input=false",
        "-refresh=false",
        "-detailed-exitcode",
    ])?;
    match out.code {
        Some(0) => Ok(()),
        _ => Err(CheckError::from(format!(
            "plan -refresh=false after the state rewrite exited with {}:\n{}",
            out.status_text(),
            out.combined
        ))),
    }
}

#[test]
fn a_schema_version_0_state_is_upgraded() {
    on_each_terraform(|terraform| {
        let store = Store::new();
        let config = format!("{TFEXAMPLE_REQUIRED}{UPGRADED}");
        TestCase::new("tfexample_state_upgrade")
            .provider(TFEXAMPLE)
            .env("TFEXAMPLE_STORE_DIR", store.dir())
            .step(Step::config(&config).check(schema_version(1)).check(attr_eq(U, "size", json!(7))))
            // A version 0 size that is not a number cannot be upgraded: a clear error, no crash.
            .step(Step::run(|ctx| downgrade_state(ctx.dir(), "seven")))
            .step(Step::config(&config).expect_error(r#"Cannot upgrade state.*size "seven" is not a number"#))
            .step(Step::run(|ctx| {
                let path = ctx.dir().join("terraform.tfstate");
                let text = std::fs::read_to_string(&path)?.replace("\"seven\"", "\"7\"");
                std::fs::write(&path, text)?;
                Ok(())
            }))
            .step(Step::run(plan_without_refresh_is_empty))
            .step(
                Step::config(&config)
                    .expect_actions(U, &["no-op"])
                    .check(schema_version(1))
                    .check(attr_eq(U, "size", json!(7)))
                    .check(attr_null(U, "nodes"))
                    .check(attr_eq(U, "tags", json!({"schema": "v0"}))),
            )
            .step(Step::destroy().check(|_| store.expect_count("thing", 0)))
            .run_with(terraform)
    });
}
