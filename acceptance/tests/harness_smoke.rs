//! End-to-end proof of the harness on the real terraform binaries, before any provider exists.
//!
//! Terraform 1.0.3 has no built-in managed resource, so the cases that run on every binary use
//! outputs, locals and the built-in `terraform_remote_state` data source (drift comes from
//! rewriting the state file it reads). Managed-resource behaviour (create, update, replace, no-op,
//! import, sensitive values) is exercised with `terraform_data` on the binaries that have it (1.4+).
//! Every failure path of the runner is checked to fail, on every binary, with a message naming the
//! step and showing the output.

use std::cell::Cell;

use acceptance::checks::{
    attr_eq, attr_matches, attr_sensitive, attr_set, output_eq, plan_eq, plan_output_eq, plan_output_unknown,
    plan_sensitive, plan_unknown, resource_exists,
};
use acceptance::terraform::discover;
use acceptance::{CaseError, CheckResult, Plan, ProviderUnderTest, RunFailure, Step, TestCase, Version};
use serde_json::json;

fn binaries() -> usize {
    discover().unwrap_or_else(|err| panic!("{err}")).len()
}

/// Runs a case that must fail on every binary, each report containing every needle.
fn expect_failure(case: &TestCase<'_>, needles: &[&str]) -> Vec<RunFailure> {
    match case.try_run() {
        Ok(reports) => panic!("the case should have failed, it passed: {reports:?}"),
        Err(CaseError::Discovery(err)) => panic!("{err}"),
        Err(CaseError::Failed(failures)) => {
            assert_eq!(failures.len(), binaries(), "every binary should fail");
            for failure in &failures {
                let text = failure.to_string();
                for needle in needles {
                    assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
                }
            }
            failures
        }
    }
}

fn output_actions(plan: &Plan, name: &str, expected: &[&str]) -> CheckResult {
    let change = plan.output_change(name).ok_or_else(|| format!("output {name} is not in the plan"))?;
    if change.action_names() == expected {
        Ok(())
    } else {
        Err(format!("output {name}: actions {:?}, expected {expected:?}", change.action_names()).into())
    }
}

const GREETING: &str = r#"
locals {
  greeting = "hello"
}

output "o" {
  value = local.greeting
}

output "s" {
  value     = { k = "v" }
  sensitive = true
}
"#;

const UNDECLARED: &str = r#"
output "o" {
  value = local.nope
}
"#;

#[test]
fn outputs_plan_apply_update_error_validate_destroy() {
    let bonjour = GREETING.replace("hello", "bonjour");
    let destroy_checks = Cell::new(0);
    TestCase::new("outputs_lifecycle")
        .step(
            Step::config(GREETING)
                .plan_check(plan_output_eq("o", json!("hello")))
                .plan_check(|plan| output_actions(plan, "o", &["create"]))
                .check(output_eq("o", json!("hello")))
                .check(|state| {
                    let secret = state.output("s").ok_or("output s is missing")?;
                    if secret.sensitive && secret.value == json!({"k": "v"}) {
                        Ok(())
                    } else {
                        Err(format!("output s: {secret:?}").into())
                    }
                }),
        )
        .step(
            Step::config(&bonjour)
                .plan_check(|plan| output_actions(plan, "o", &["update"]))
                .plan_check(|plan| output_actions(plan, "s", &["no-op"]))
                .check(output_eq("o", json!("bonjour"))),
        )
        .step(Step::run(|ctx| {
            let state = ctx.state()?;
            output_eq("o", json!("bonjour"))(&state)?;
            if !ctx.dir().join("terraform.tfstate").is_file() {
                return Err("the working directory has no terraform.tfstate".into());
            }
            let version = ctx.terraform_command(&["version"])?;
            if !version.stdout.contains(&ctx.terraform().version().to_string()) {
                return Err(format!("unexpected version output {:?}", version.stdout).into());
            }
            Ok(())
        }))
        .step(
            Step::config(UNDECLARED)
                .expect_error("Reference to undeclared local value")
                .expect_error_path("value"),
        )
        .step(Step::validate(GREETING))
        .step(Step::validate(r#"output "o" {}"#).expect_error("The argument \"value\" is required"))
        // The main directory still holds the broken configuration: destroy must use the last
        // one that planned.
        .step(Step::destroy().check(|before| output_eq("o", json!("bonjour"))(before)))
        .check_destroy(|before| {
            destroy_checks.set(destroy_checks.get() + 1);
            match before.output("o") {
                None => Ok(()),
                Some(_) => Err("the destroy step left outputs behind".into()),
            }
        })
        .run();
    assert_eq!(destroy_checks.get(), binaries());
}

#[test]
fn unknown_values_and_expected_non_empty_plans() {
    let clock = r#"output "t" { value = timestamp() }"#;
    TestCase::new("unknown_outputs")
        .step(Step::config(clock).plan_only().expect_non_empty_plan().plan_check(plan_output_unknown("t")))
        .step(Step::config(clock).expect_non_empty_plan().plan_check(plan_output_unknown("t")).check(
            |state| {
                let t = &state.output("t").ok_or("no output t")?.value;
                let stamp = looks_like_timestamp(t.as_str().unwrap_or_default());
                if stamp { Ok(()) } else { Err(format!("t = {t}").into()) }
            },
        ))
        .run();
}

fn looks_like_timestamp(text: &str) -> bool {
    // 2026-11-25T20:37:29Z
    let bytes = text.as_bytes();
    bytes.len() == 20 && bytes[4] == b'-' && bytes[10] == b'T' && bytes[19] == b'Z'
}

fn remote_state(value: &str) -> String {
    json!({
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": 1,
        "lineage": "acceptance-smoke",
        "outputs": {"v": {"value": value, "type": "string"}},
        "resources": []
    })
    .to_string()
}

const READS_REMOTE_STATE: &str = r#"
data "terraform_remote_state" "o" {
  backend = "local"
  config = {
    path = "other.tfstate"
  }
}

output "v" {
  value = data.terraform_remote_state.o.outputs.v
}
"#;

#[test]
fn data_source_values_and_out_of_band_drift() {
    let write = |value: &'static str| {
        Step::run(move |ctx| {
            std::fs::write(ctx.dir().join("other.tfstate"), remote_state(value))?;
            Ok(())
        })
    };
    let address = "data.terraform_remote_state.o";
    TestCase::new("data_source_drift")
        .step(write("hello"))
        .step(
            Step::config(READS_REMOTE_STATE)
                .plan_check(plan_output_eq("v", json!("hello")))
                .check(resource_exists(address))
                .check(attr_eq(address, "outputs.v", json!("hello")))
                .check(attr_eq(address, "backend", json!("local")))
                .check(output_eq("v", json!("hello"))),
        )
        .step(write("drifted"))
        .step(
            Step::config(READS_REMOTE_STATE)
                .plan_check(|plan| output_actions(plan, "v", &["update"]))
                .plan_check(plan_output_eq("v", json!("drifted")))
                .check(attr_eq(address, "outputs.v", json!("drifted"))),
        )
        .run();
}

#[test]
fn import_errors_are_matched() {
    TestCase::new("import_error")
        .step(Step::config(r#"output "o" { value = 1 }"#))
        .step(Step::import("null_resource.x").id("abc").expect_error("does not exist in the configuration"))
        .run();
}

#[test]
fn failed_checks_and_forbidden_output_fail_with_the_step_and_output() {
    let x = r#"output "o" { value = "x" }"#;
    let y = r#"output "o" { value = "y" }"#;
    expect_failure(
        &TestCase::new("wrong_check")
            .step(Step::config(x))
            .step(Step::config(y).check(output_eq("o", json!("z")))),
        &[
            "at step 2/2 (config)",
            "output o: expected \"z\", got \"y\"",
            "command: terraform apply",
            "  | Apply complete!",
        ],
    );
    expect_failure(
        &TestCase::new("forbidden")
            .step(Step::config(r#"output "o" { value = "Provider produced nothing" }"#)),
        &["at step 1/1 (config)", "forbidden text \"Provider produced\"", "terraform plan"],
    );
    expect_failure(
        &TestCase::new("wrong_plan_check").step(Step::config(x).plan_check(plan_output_unknown("o"))),
        &["plan check failed: output o: expected (known after apply)"],
    );
    expect_failure(
        &TestCase::new("absent_resource")
            .step(Step::config(x).expect_actions("terraform_data.nope", &["create"])),
        &["expected actions [\"create\"] for terraform_data.nope, but it is not in the plan"],
    );
}

#[test]
fn error_expectations_fail_when_unmet() {
    let x = r#"output "o" { value = "x" }"#;
    expect_failure(
        &TestCase::new("no_error").step(Step::config(x).expect_error("boom")),
        &["expected an error matching /boom/, but plan and apply succeeded"],
    );
    expect_failure(
        &TestCase::new("other_error").step(Step::config(UNDECLARED).expect_error("something else")),
        &["does not match /something else/", "Reference to undeclared local value"],
    );
    expect_failure(
        &TestCase::new("error_elsewhere")
            .step(Step::config(UNDECLARED).expect_error("undeclared").expect_error_path("name")),
        &["does not point at attribute name"],
    );
    expect_failure(
        &TestCase::new("unexpected_error").step(Step::config(UNDECLARED)),
        &["plan exited with code 1", "Reference to undeclared local value"],
    );
    expect_failure(
        &TestCase::new("validate_passes").step(Step::validate(x).expect_error("boom")),
        &["at step 1/1 (validate)", "expected validate to fail with /boom/"],
    );
    expect_failure(
        &TestCase::new("import_fails").step(Step::config(x)).step(Step::import("null_resource.x").id("abc")),
        &["at step 2/2 (import)", "import exited with code 1", "does not exist in the configuration"],
    );
}

#[test]
fn plan_emptiness_and_run_steps_are_enforced() {
    expect_failure(
        &TestCase::new("perpetual_diff").step(Step::config(r#"output "t" { value = timestamp() }"#)),
        &["plan -refresh=false after apply: expected an empty plan"],
    );
    expect_failure(
        &TestCase::new("stable").step(Step::config(r#"output "o" { value = 1 }"#).expect_non_empty_plan()),
        &["plan after apply: expected a non-empty plan, but it is empty"],
    );
    expect_failure(
        &TestCase::new("plan_only_changes").step(Step::config(r#"output "o" { value = 1 }"#).plan_only()),
        &["expected an empty plan, but it changes [\"output.o: [\\\"create\\\"]\"]"],
    );
    let failures = expect_failure(
        &TestCase::new("run_fails")
            .step(Step::config(GREETING))
            .step(Step::run(|_| Err("drift failed".into()))),
        &["at step 2/2 (run)", "run step failed: drift failed"],
    );
    // The final destroy still ran, and cleanly.
    assert!(failures.iter().all(|failure| failure.cleanup.is_none()));

    // A broken working directory makes the final destroy fail too: both are reported.
    let failures = expect_failure(
        &TestCase::new("cleanup_fails").step(Step::config(GREETING)).step(Step::run(|ctx| {
            std::fs::write(ctx.dir().join("broken.tf"), "output {")?;
            Err("left a broken file".into())
        })),
        &[
            "run step failed: left a broken file",
            "the final destroy failed too",
            "destroy exited with code 1",
            "command: terraform destroy",
        ],
    );
    assert!(failures.iter().all(|failure| failure.cleanup.is_some()));
}

/// The CLI configuration really reaches terraform: it loads the overridden provider from the given
/// directory (and fails, since this stand-in does not speak the plugin protocol) without any init.
#[test]
fn dev_overrides_point_terraform_at_the_provider_binary() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("terraform-provider-fake");
    std::fs::write(&fake, "#!/bin/sh\necho 'not a plugin' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let provider = ProviderUnderTest::new("example.com/test/fake", bin.path()).unwrap();
    let config = r#"
terraform {
  required_providers {
    fake = { source = "example.com/test/fake" }
  }
}

resource "fake_thing" "x" {}
"#;
    let pattern = format!(
        "(?s)development overrides are in effect.*example\\.com/test/fake in {}.*\
         failed to instantiate provider \"example\\.com/test/fake\"",
        regex::escape(&bin.path().display().to_string())
    );
    TestCase::new("dev_overrides")
        .provider_under_test(provider)
        .step(Step::config(config).expect_error(&pattern))
        .run();
}

const MANAGED: &str = r#"
resource "terraform_data" "a" {
  input            = "INPUT"
  triggers_replace = ["TRIGGER"]
}

resource "terraform_data" "b" {}

resource "terraform_data" "s" {
  input = sensitive("hush")
}

output "id" {
  value = terraform_data.a.id
}
"#;

fn managed(input: &str, trigger: &str) -> String {
    MANAGED.replace("INPUT", input).replace("TRIGGER", trigger)
}

/// `terraform_data` exists from terraform 1.4; on older binaries this case has nothing to run.
#[test]
fn managed_resources_create_update_replace_import_on_terraform_data() {
    let with_terraform_data: Vec<_> = discover()
        .unwrap_or_else(|err| panic!("{err}"))
        .into_iter()
        .filter(|tf| *tf.version() >= "1.4.0".parse::<Version>().unwrap())
        .collect();
    let (a, b, s) = ("terraform_data.a", "terraform_data.b", "terraform_data.s");
    let uuid = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    let (one, two, replaced) = (managed("one", "t1"), managed("two", "t1"), managed("two", "t2"));
    let case = TestCase::new("terraform_data")
        .step(
            Step::config(&one)
                .expect_actions(a, &["create"])
                .expect_actions(b, &["create"])
                .plan_check(plan_unknown(a, "id"))
                .plan_check(plan_eq(a, "input", json!("one")))
                .plan_check(plan_eq(a, "triggers_replace[0]", json!("t1")))
                .plan_check(plan_sensitive(s, "input"))
                .plan_check(plan_output_unknown("id"))
                .check(attr_eq(a, "input", json!("one")))
                .check(attr_set(a, "id"))
                .check(attr_matches(a, "id", uuid))
                .check(attr_sensitive(s, "input"))
                .check(attr_eq(s, "input", json!("hush"))),
        )
        .step(Step::config(&two).expect_actions(a, &["update"]).expect_actions(b, &["no-op"]).check(attr_eq(
            a,
            "output",
            json!("two"),
        )))
        .step(Step::config(&replaced).expect_actions(a, &["delete", "create"]))
        .step(Step::config(&replaced).plan_only().expect_actions(a, &["no-op"]))
        .step(Step::import(b).keep_other_resources())
        .step(Step::destroy().check(resource_exists(a)));
    let failing_import =
        TestCase::new("terraform_data_import_mismatch").step(Step::config(&one)).step(Step::import(a));
    for terraform in &with_terraform_data {
        case.run_with(terraform).unwrap_or_else(|failure| panic!("{failure}"));
        let failure = failing_import
            .run_with(terraform)
            .expect_err("terraform_data does not read its input back on import");
        let text = failure.to_string();
        assert!(text.contains("differs from the original"), "{text}");
        assert!(text.contains("value of input: original \"one\""), "{text}");
    }
}
