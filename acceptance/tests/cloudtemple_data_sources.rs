//! Acceptance tests of the cloudtemple provider's data sources through the real terraform CLI:
//! every configuration under `examples/` applied as written, input errors pointing at their
//! attribute, and a trace-level run proving that secrets reach neither terraform's log nor any
//! human-readable output.

mod common;

use std::path::PathBuf;

use acceptance::checks::{attr_eq, attr_matches, output_eq};
use acceptance::terraform::workspace_root;
use acceptance::{CheckError, CheckResult, Config, Plan, RunContext, State, Step, TestCase};
use common::{CLOUDTEMPLE, LogFile, Store, TFEXAMPLE, attr_string, lines_with, on_each_terraform};
use serde_json::{Value, json};

const SEMVER: &str = r"^\d+\.\d+\.\d+$";
const VERSIONS: &str = "data.cloudtemple_kubernetes_versions.all";

fn examples() -> PathBuf {
    workspace_root().join("examples")
}

/// The files of these example directories together, as one configuration. The data source
/// examples declare no `required_providers` (that is the provider example's job), so they are
/// applied with it, as a user copying both would.
fn example(dirs: &[&str]) -> Config {
    let mut files = Vec::new();
    for dir in dirs {
        let path = examples().join(dir);
        let config = Config::from_dir(&path).unwrap_or_else(|err| panic!("{err}"));
        assert!(!config.file_list().is_empty(), "no .tf file in {}", path.display());
        files.extend(config.file_list().iter().cloned());
    }
    Config::files(files)
}

fn output(state: &State, name: &str) -> Result<Value, CheckError> {
    Ok(state.output(name).ok_or_else(|| format!("output {name} is not in the state"))?.value.clone())
}

fn matches(pattern: &str, text: &Value) -> bool {
    text.as_str().is_some_and(|text| regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text)))
}

/// Data sources are read while planning: the outputs built from them are known in the plan.
fn plan_outputs_known(names: &'static [&'static str]) -> impl Fn(&Plan) -> CheckResult {
    move |plan| {
        for name in names {
            let change =
                plan.output_change(name).ok_or_else(|| format!("output {name} is not in the plan"))?;
            if change.after_unknown != json!(false) || change.after.is_null() {
                return Err(format!("output {name} is not known at plan time: {change:?}").into());
            }
        }
        Ok(())
    }
}

fn supported_window(state: &State) -> CheckResult {
    let minors = output(state, "supported_minors")?;
    let minors = minors.as_array().ok_or("supported_minors is not a list")?;
    let parsed: Vec<(u64, u64)> = minors
        .iter()
        .filter_map(|minor| {
            let (major, minor) = minor.as_str()?.split_once('.')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    let newest_first = parsed.windows(2).all(|pair| pair[0] > pair[1]);
    if minors.len() != 3 || parsed.len() != 3 || !newest_first {
        return Err(format!("supported_minors should be 3 minor versions, newest first: {minors:?}").into());
    }
    let default = output(state, "default_kubernetes_version")?;
    let default_minor = default.as_str().and_then(|v| v.rsplit_once('.')).map(|(minor, _)| minor);
    if !matches(SEMVER, &default) || !minors.iter().any(|m| m.as_str() == default_minor) {
        return Err(format!("default {default} is not x.y.z in the supported window {minors:?}").into());
    }
    Ok(())
}

fn versions_rows(state: &State) -> CheckResult {
    let resource = state.resource(VERSIONS).ok_or("the versions data source is not in the state")?;
    let rows =
        resource.attr("kubernetes_versions")?.and_then(Value::as_array).ok_or("no kubernetes_versions")?;
    let defaults = rows.iter().filter(|row| row["default"] == json!(true)).count();
    if rows.len() != 3 || defaults != 1 || rows.iter().any(|row| row["supported"] != json!(true)) {
        return Err(format!("expected 3 supported rows, one default: {rows:?}").into());
    }
    let talos = resource.attr("talos_versions")?.and_then(Value::as_array).ok_or("no talos_versions")?;
    let default_talos = resource.attr("default_talos_version")?.cloned().unwrap_or_default();
    let default_rows: Vec<&Value> = talos.iter().filter(|row| row["default"] == json!(true)).collect();
    if default_rows.len() != 1
        || default_rows[0]["version"] != default_talos
        || !matches(SEMVER, &default_talos)
    {
        return Err(format!("expected one default Talos row equal to {default_talos}: {talos:?}").into());
    }
    let compatibility =
        resource.attr("compatibility")?.and_then(Value::as_array).ok_or("no compatibility")?;
    if compatibility.is_empty() || compatibility.iter().any(|row| !row["kubernetes_minors"].is_array()) {
        return Err(format!("unexpected compatibility matrix {compatibility:?}").into());
    }
    Ok(())
}

#[test]
fn kubernetes_versions_example() {
    let config = example(&["provider", "data-sources/cloudtemple_kubernetes_versions"]);
    let v1_36 = "data.cloudtemple_kubernetes_versions.v1_36";
    on_each_terraform(|terraform| {
        TestCase::new("cloudtemple_versions_example")
            .provider(CLOUDTEMPLE)
            .step(
                Step::config(config.clone())
                    .plan_check(plan_outputs_known(&[
                        "default_kubernetes_version",
                        "supported_minors",
                        "latest_1_36",
                    ]))
                    .check(supported_window)
                    .check(versions_rows)
                    .check(attr_matches(VERSIONS, "support_policy", r"\(N-2\)"))
                    .check(attr_matches(VERSIONS, "as_of", r"^\d{4}-\d{2}-\d{2}$"))
                    .check(attr_matches(v1_36, "latest_kubernetes_version", r"^1\.36\.\d+$"))
                    .check(attr_eq(v1_36, "version_prefix", json!("1.36.")))
                    .check(|state: &State| {
                        let latest = attr_string(state, v1_36, "latest_kubernetes_version")?;
                        output_eq("latest_1_36", json!(latest))(state)?;
                        attr_eq(v1_36, "kubernetes_versions[0].version", json!(latest))(state)
                    }),
            )
            .run_with(terraform)
    });
}

#[test]
fn kubernetes_addons_example() {
    let config = example(&["provider", "data-sources/cloudtemple_kubernetes_addons"]);
    on_each_terraform(|terraform| {
        TestCase::new("cloudtemple_addons_example")
            .provider(CLOUDTEMPLE)
            .step(Step::config(config.clone()).plan_check(plan_outputs_known(&["core_addons"])).check(
                |state: &State| {
                    let addons = output(state, "core_addons")?;
                    let addons = addons.as_object().ok_or("core_addons is not a map")?;
                    for name in ["cilium", "metallb", "rook-ceph"] {
                        match addons.get(name) {
                            Some(version) if matches(r"^v?\d+\.\d+\.\d+", version) => {}
                            other => return Err(format!("core_addons[{name}] = {other:?}").into()),
                        }
                    }
                    if addons.contains_key("harbor") {
                        return Err("harbor is not offered in Managed Core Kubernetes".into());
                    }
                    let names = attr_string_list(state, "data.cloudtemple_kubernetes_addons.core", "names")?;
                    let keys: Vec<&String> = addons.keys().collect();
                    if names.iter().collect::<Vec<_>>() != keys {
                        return Err(format!("names {names:?} differ from the output keys {keys:?}").into());
                    }
                    let dependencies = output(state, "dependencies")?;
                    let dependencies = dependencies.as_object().ok_or("dependencies is not a map")?;
                    for (addon, needs) in dependencies {
                        let needs = needs.as_array().ok_or("a dependency list is not a list")?;
                        if needs.is_empty()
                            || needs.iter().any(|n| !n.as_str().is_some_and(|n| addons.contains_key(n)))
                        {
                            return Err(format!("{addon} depends on {needs:?}, not all in the tier").into());
                        }
                    }
                    Ok(())
                },
            ))
            .run_with(terraform)
    });
}

fn attr_string_list(state: &State, address: &str, path: &str) -> Result<Vec<String>, CheckError> {
    let resource = state.resource(address).ok_or_else(|| format!("{address} is not in the state"))?;
    let list =
        resource.attr(path)?.and_then(Value::as_array).ok_or_else(|| format!("{address}.{path}: no list"))?;
    Ok(list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

#[test]
fn demo_and_provider_examples() {
    let demo = Config::from_dir(&examples().join("demo")).unwrap_or_else(|err| panic!("{err}"));
    let provider = example(&["provider"]);
    on_each_terraform(|terraform| {
        // The demo creates a dev cluster (a control plane and a pool of three workers) on the
        // region `make demo` starts: the same four addresses here. A region per run: the second
        // cluster at the same endpoint must not meet the first one's Kubernetes API.
        let region = common::LocalRegion::start([127, 0, 1], 4);
        TestCase::new("cloudtemple_demo_example")
            .provider(CLOUDTEMPLE)
            // The provider example alone: valid, nothing to read or create.
            .step(Step::config(provider.clone()).check(|state: &State| match state.resources().is_empty() {
                true => Ok(()),
                false => Err(format!("unexpected resources {:?}", state.addresses()).into()),
            }))
            .step(Step::config(demo.clone()).plan_check(plan_outputs_known(&["kubernetes"])).check(
                |state: &State| {
                    let kubernetes = output(state, "kubernetes")?;
                    let supported = kubernetes["supported"].as_array().map_or(0, Vec::len);
                    if !matches(SEMVER, &kubernetes["default"]) || !matches(SEMVER, &kubernetes["talos"]) || supported != 3
                    {
                        return Err(format!("unexpected kubernetes output {kubernetes}").into());
                    }
                    let components = output(state, "platform_components")?;
                    let components = components.as_object().ok_or("platform_components is not a map")?;
                    let line = r"^(v?\d+\.\d+\.\d+\S*|no compatible version) \((included|optional), namespace \S+\)$";
                    for name in ["cilium", "metallb", "harbor", "kyverno"] {
                        match components.get(name) {
                            Some(text) if matches(line, text) => {}
                            other => return Err(format!("platform_components[{name}] = {other:?}").into()),
                        }
                    }
                    if !components.values().all(|text| matches(line, text)) {
                        return Err(format!("a component line does not match /{line}/: {components:?}").into());
                    }
                    let cluster = output(state, "cluster")?;
                    match cluster["status"].as_str() {
                        Some("ready") if cluster["nodes"].as_array().is_some_and(|n| n.len() == 1) => {}
                        _ => return Err(format!("the demo cluster is not ready: {cluster}").into()),
                    }
                    demo_platform(state)
                },
            ))
            .step(Step::destroy().check(|_before: &State| {
                let phases = region.phases();
                match phases.len() == 4 && phases.iter().all(|p| *p == "maintenance") {
                    true => Ok(()),
                    false => Err(format!("the demo machines are not back in maintenance mode: {phases:?}").into()),
                }
            }))
            .run_with(terraform)
    });
}

/// The demo's platform: three ready workers, the five add-ons ready, and the team's objects.
fn demo_platform(state: &State) -> CheckResult {
    let workers = output(state, "workers")?;
    let workers = workers.as_array().ok_or("workers is not a list")?;
    if workers.len() != 3 || !workers.iter().all(|w| w.as_str().is_some_and(|w| w.ends_with("ready=true"))) {
        return Err(format!("the demo should have 3 ready workers: {workers:?}").into());
    }
    let addons = output(state, "addons")?;
    let addons = addons.as_object().ok_or("addons is not a map")?;
    let line = r"^\d+\.\d+\.\d+ ready \(namespace \S+, [1-9]\d* objects\)$";
    let names: Vec<&str> = addons.keys().map(String::as_str).collect();
    if names != ["cilium", "ingress-nginx", "kyverno", "metallb", "rook-ceph"]
        || !addons.values().all(|text| matches(line, text))
    {
        return Err(format!("the demo add-ons are not all ready: {addons:?}").into());
    }
    let policy = "cloudtemple_kubernetes_manifest.require_team_label";
    attr_eq(policy, "kind", json!("ClusterPolicy"))(state)?;
    attr_eq("cloudtemple_kubernetes_manifest.team_a", "name", json!("team-a"))(state)?;
    attr_eq("cloudtemple_kubernetes_node_pool.workers", "role", json!("worker"))(state)
}

const REQUIRED_CLOUDTEMPLE: &str = r#"
terraform {
  required_providers {
    cloudtemple = { source = "cloud-temple/cloudtemple" }
  }
}
"#;

const VERSIONS_X: &str = r#"data "cloudtemple_kubernetes_versions" "x""#;
const ADDONS_X: &str = r#"data "cloudtemple_kubernetes_addons" "x""#;
const PROVIDER: &str = r#"provider "cloudtemple""#;

/// A configuration with `block` holding the single attribute line `line` (plus a data source to
/// read, so that a provider block gets used).
fn one_attribute(block: &str, line: &str) -> String {
    let reader = match block {
        PROVIDER => format!("\n{VERSIONS_X} {{}}\n"),
        _ => String::new(),
    };
    format!("{REQUIRED_CLOUDTEMPLE}\n{block} {{\n  {line}\n}}\n{reader}")
}

/// Bad input: block, attribute line, the error, and the attribute it must point at. The last
/// field says whether validation catches it (then `terraform validate` reports it too); the
/// others fail in the data source's read during plan.
const BAD_INPUT: &[(&str, &str, &str, &str, bool)] = &[
    (
        VERSIONS_X,
        r#"version_prefix = "9.99.""#,
        r#"No matching Kubernetes version.*No supported Kubernetes version starts with "9\.99\."\. Listed versions: \d"#,
        "version_prefix",
        false,
    ),
    (VERSIONS_X, r#"version_prefix = " ""#, "Empty value.*must not be empty", "version_prefix", true),
    (
        ADDONS_X,
        r#"tier = "gold""#,
        r#"Invalid value.*"gold" is not allowed here; expected one of `core`, `full`"#,
        "tier",
        true,
    ),
    (
        ADDONS_X,
        r#"kubernetes_version = "latest""#,
        r#"Invalid Kubernetes version.*"latest" is not a Kubernetes version"#,
        "kubernetes_version",
        true,
    ),
    (
        ADDONS_X,
        r#"kubernetes_version = "1.2""#,
        r"Unknown Kubernetes version.*Kubernetes 1\.2 is not in the catalog; known minor versions: \d",
        "kubernetes_version",
        false,
    ),
    (
        PROVIDER,
        "max_parallel_nodes = 0",
        r"Value out of range.*0 is not an integer from 1 to 256",
        "max_parallel_nodes",
        true,
    ),
    (PROVIDER, r#"field_manager = """#, "Empty value.*must not be empty", "field_manager", true),
];

#[test]
fn bad_input_points_at_the_attribute() {
    on_each_terraform(|terraform| {
        let mut case = TestCase::new("cloudtemple_bad_input").provider(CLOUDTEMPLE);
        for (block, line, error, path, at_validate) in BAD_INPUT {
            let config = one_attribute(block, line);
            case = case.step(Step::config(&config).expect_error(error).expect_error_path(path));
            if *at_validate {
                case = case.step(Step::validate(&config).expect_error(error).expect_error_path(path));
            }
        }
        // Outside the supported window only with include_unsupported, which lists more versions.
        case.step(Step::config(one_attribute(VERSIONS_X, "include_unsupported = true")).check(
            |state: &State| {
                let rows = state
                    .resource("data.cloudtemple_kubernetes_versions.x")
                    .ok_or("the data source is not in the state")?
                    .attr("kubernetes_versions")?
                    .and_then(Value::as_array)
                    .ok_or("no kubernetes_versions")?
                    .clone();
                match rows.len() > 3 && rows.iter().any(|row| row["supported"] == json!(false)) {
                    true => Ok(()),
                    false => {
                        Err(format!("include_unsupported lists no unsupported version: {rows:?}").into())
                    }
                }
            },
        ))
        .run_with(terraform)
    });
}

const API_TOKEN: &str = "s3cr3t-should-never-leak";
const STATE_SECRET: &str = "hunter2-lives-in-the-state-only";

/// Both providers at trace level, with a provider secret and a sensitive resource value.
const SECRETIVE: &str = r#"
terraform {
  required_providers {
    cloudtemple = { source = "cloud-temple/cloudtemple" }
    tfexample   = { source = "tfplugin/tfexample" }
  }
}

provider "cloudtemple" {
  field_manager = "acceptance"
}

provider "tfexample" {
  api_token = "API_TOKEN"
}

data "cloudtemple_kubernetes_versions" "all" {}

resource "tfexample_thing" "s" {
  name     = "secretive"
  size     = 3
  settings = sensitive(jsonencode({ password = "STATE_SECRET" }))
  tags     = { kubernetes = data.cloudtemple_kubernetes_versions.all.default_kubernetes_version }
}

output "kubernetes" {
  value = data.cloudtemple_kubernetes_versions.all.default_kubernetes_version
}
"#;

/// Every human-readable command a user runs, none of which may print a secret. (`show -json` and
/// the state file hold sensitive values by design, and the saved plan's JSON also holds the
/// configuration's literal expressions, the provider block included.)
const HUMAN_COMMANDS: &[&[&str]] = &[
    &["plan", "-no-color", "-input=false"],
    &["apply", "-no-color", "-input=false", "-auto-approve"],
    &["show", "-no-color"],
    &["output", "-no-color"],
    &["state", "show", "-no-color", "tfexample_thing.s"],
    &["apply", "-no-color", "-input=false", "-auto-approve", "-replace=tfexample_thing.s"],
    &["show", "-no-color"],
    &["destroy", "-no-color", "-input=false", "-auto-approve"],
];

/// Runs [`HUMAN_COMMANDS`], checking each output and the state file, then terraform's log.
fn secrets_stay_out_of_outputs_and_logs(ctx: &mut RunContext<'_>, log: &LogFile) -> CheckResult {
    let mut secrets = vec![API_TOKEN.to_owned(), STATE_SECRET.to_owned()];
    let state_file = ctx.dir().join("terraform.tfstate");
    for args in HUMAN_COMMANDS {
        if let Ok(token) = attr_string(&ctx.state()?, "tfexample_thing.s", "token") {
            secrets.push(token);
            // The state file is the one place where sensitive values live (not the provider's).
            let stored = std::fs::read_to_string(&state_file)?;
            if !stored.contains(STATE_SECRET) || stored.contains(API_TOKEN) {
                return Err("the state should hold the sensitive settings and no provider setting".into());
            }
        }
        let out = ctx.terraform_command(args)?;
        if !out.success() {
            return Err(format!("terraform {} failed:\n{}", args.join(" "), out.combined).into());
        }
        if let Some(secret) = secrets.iter().find(|secret| out.combined.contains(secret.as_str())) {
            return Err(format!(
                "terraform {} printed the secret {secret:?}:\n{}",
                args.join(" "),
                out.combined
            )
            .into());
        }
    }
    let text = log.read()?;
    for provider in ["provider.terraform-provider-tfexample:", "provider.terraform-provider-cloudtemple:"] {
        if !text.contains(&format!("{provider} configuring provider")) {
            return Err(format!("no {provider} lines in the trace log {}", log.path().display()).into());
        }
    }
    if !text.contains("[TRACE]") {
        return Err(format!("{} is not a trace-level log", log.path().display()).into());
    }
    match secrets.iter().find(|secret| text.contains(secret.as_str())) {
        None => Ok(()),
        Some(secret) => Err(format!("the log leaks {secret:?}: {:?}", lines_with(&text, secret)).into()),
    }
}

/// `TF_LOG=trace` through the case's environment: the harness's `TF_ACC_LOG` applies to every case
/// of the process and names the log after the process, while this case needs its own file per run.
#[test]
fn secrets_never_reach_the_trace_log_or_human_output() {
    let config = SECRETIVE.replace("API_TOKEN", API_TOKEN).replace("STATE_SECRET", STATE_SECRET);
    on_each_terraform(|terraform| {
        let (store, log) = (Store::new(), LogFile::new());
        TestCase::new("cloudtemple_secrets_trace")
            .provider(CLOUDTEMPLE)
            .provider(TFEXAMPLE)
            .env("TFEXAMPLE_STORE_DIR", store.dir())
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", log.path_str())
            .step(
                Step::config(&config)
                    .expect_actions("tfexample_thing.s", &["create"])
                    .check(|state: &State| {
                        let kubernetes = attr_string(state, VERSIONS, "default_kubernetes_version")?;
                        attr_eq("tfexample_thing.s", "tags.kubernetes", json!(kubernetes))(state)?;
                        output_eq("kubernetes", json!(kubernetes))(state)
                    })
                    .check(|_| store.expect_count("thing", 1)),
            )
            .step(Step::run(|ctx| secrets_stay_out_of_outputs_and_logs(ctx, &log)))
            .step(Step::run(|_| store.expect_count("thing", 0)))
            .run_with(terraform)
    });
}
