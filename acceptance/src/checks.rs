//! Ready-made state and plan checks, the import comparison, and the expected-error matchers.
//!
//! A state check is any `Fn(&State) -> CheckResult`, a plan check any `Fn(&Plan) -> CheckResult`;
//! the helpers here build the common ones and say exactly what differed when they fail.

use regex::Regex;
use serde_json::Value;

use crate::path::{AttrPath, flatten};
use crate::plan::{Change, Plan, Planned};
use crate::state::{Resource, State};

/// The error of a failed check: any error, or a message (`Err("...".into())`).
pub type CheckError = Box<dyn std::error::Error + Send + Sync>;

/// What every check returns.
pub type CheckResult = Result<(), CheckError>;

fn resource<'s>(state: &'s State, address: &str) -> Result<&'s Resource, CheckError> {
    state
        .resource(address)
        .ok_or_else(|| format!("{address} is not in the state; the state has {:?}", state.addresses()).into())
}

/// The attribute at `path` of resource `address` equals `expected`.
pub fn attr_eq(address: &str, path: &str, expected: Value) -> impl Fn(&State) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |state| {
        let actual = resource(state, &address)?.attr(&path)?;
        if actual == Some(&expected) {
            Ok(())
        } else {
            Err(format!("{address}.{path}: expected {expected}, got {}", show(actual)).into())
        }
    }
}

/// The attribute is present and not null.
pub fn attr_set(address: &str, path: &str) -> impl Fn(&State) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |state| match resource(state, &address)?.attr(&path)? {
        Some(value) if !value.is_null() => Ok(()),
        other => Err(format!("{address}.{path}: expected a value, got {}", show(other)).into()),
    }
}

/// The attribute is null or absent.
pub fn attr_null(address: &str, path: &str) -> impl Fn(&State) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |state| match resource(state, &address)?.attr(&path)? {
        None | Some(Value::Null) => Ok(()),
        Some(value) => Err(format!("{address}.{path}: expected null, got {value}").into()),
    }
}

/// The attribute is a string matching `pattern` (a regex).
///
/// # Panics
/// If `pattern` is not a valid regex: that is a mistake in the test itself.
pub fn attr_matches(address: &str, path: &str, pattern: &str) -> impl Fn(&State) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    let regex = compile(pattern);
    move |state| match resource(state, &address)?.attr(&path)? {
        Some(Value::String(text)) if regex.is_match(text) => Ok(()),
        other => {
            Err(format!("{address}.{path}: expected a string matching /{regex}/, got {}", show(other)).into())
        }
    }
}

/// Terraform marks the attribute sensitive in the state (`sensitive_values`).
///
/// Only meaningful on Terraform 1.4.6 and newer: older versions list only `sensitive()` marks
/// in `show -json`, never the schema's (hashicorp/terraform#33059), so this check fails there
/// for every schema-sensitive attribute. On older versions, check that `terraform show` hides
/// the value instead.
pub fn attr_sensitive(address: &str, path: &str) -> impl Fn(&State) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |state| {
        if resource(state, &address)?.is_sensitive(&path)? {
            Ok(())
        } else {
            Err(format!("{address}.{path}: expected a sensitive value, it is not marked sensitive").into())
        }
    }
}

/// The resource instance is in the state.
pub fn resource_exists(address: &str) -> impl Fn(&State) -> CheckResult {
    let address = address.to_owned();
    move |state| resource(state, &address).map(|_| ())
}

/// The resource instance is not in the state.
pub fn resource_absent(address: &str) -> impl Fn(&State) -> CheckResult {
    let address = address.to_owned();
    move |state| match state.resource(&address) {
        None => Ok(()),
        Some(_) => Err(format!("{address} is still in the state").into()),
    }
}

/// The root output `name` equals `expected`.
pub fn output_eq(name: &str, expected: Value) -> impl Fn(&State) -> CheckResult {
    let name = name.to_owned();
    move |state| match state.output(&name) {
        Some(output) if output.value == expected => Ok(()),
        Some(output) => Err(format!("output {name}: expected {expected}, got {}", output.value).into()),
        None => Err(format!("output {name} is not in the state").into()),
    }
}

fn change<'p>(plan: &'p Plan, address: &str) -> Result<&'p Change, CheckError> {
    plan.change(address)
        .map(|change| &change.change)
        .ok_or_else(|| format!("{address} is not in the plan; it changes {:?}", plan.summary()).into())
}

/// The plan knows the attribute's value after apply, and it equals `expected`.
pub fn plan_eq(address: &str, path: &str, expected: Value) -> impl Fn(&Plan) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |plan| match change(plan, &address)?.planned(&path)? {
        Planned::Known(value) if *value == expected => Ok(()),
        other => Err(format!("{address}.{path}: expected {expected} in the plan, got {other:?}").into()),
    }
}

/// The attribute is only known after apply.
pub fn plan_unknown(address: &str, path: &str) -> impl Fn(&Plan) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |plan| match change(plan, &address)?.planned(&path)? {
        Planned::Unknown => Ok(()),
        other => Err(format!("{address}.{path}: expected (known after apply), got {other:?}").into()),
    }
}

/// The attribute's value is known at plan time (whatever it is, null included).
pub fn plan_known(address: &str, path: &str) -> impl Fn(&Plan) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |plan| match change(plan, &address)?.planned(&path)? {
        Planned::Known(_) => Ok(()),
        other => Err(format!("{address}.{path}: expected a known value in the plan, got {other:?}").into()),
    }
}

/// The planned attribute is marked sensitive.
pub fn plan_sensitive(address: &str, path: &str) -> impl Fn(&Plan) -> CheckResult {
    let (address, path) = (address.to_owned(), path.to_owned());
    move |plan| {
        if change(plan, &address)?.is_sensitive_after(&path)? {
            Ok(())
        } else {
            Err(format!("{address}.{path}: expected a sensitive value in the plan").into())
        }
    }
}

/// The root output `name` is planned with value `expected`.
pub fn plan_output_eq(name: &str, expected: Value) -> impl Fn(&Plan) -> CheckResult {
    let name = name.to_owned();
    move |plan| {
        let output = plan.output_change(&name).ok_or_else(|| format!("output {name} is not in the plan"))?;
        match output.planned("")? {
            Planned::Known(value) if *value == expected => Ok(()),
            other => Err(format!("output {name}: expected {expected} in the plan, got {other:?}").into()),
        }
    }
}

/// The root output `name` is only known after apply.
pub fn plan_output_unknown(name: &str) -> impl Fn(&Plan) -> CheckResult {
    let name = name.to_owned();
    move |plan| {
        let output = plan.output_change(&name).ok_or_else(|| format!("output {name} is not in the plan"))?;
        match output.planned("")? {
            Planned::Unknown => Ok(()),
            other => Err(format!("output {name}: expected (known after apply), got {other:?}").into()),
        }
    }
}

/// Attribute prefixes always left out of import comparisons: only configuration sets them.
pub const ALWAYS_IGNORED_ON_IMPORT: &[&str] = &["timeouts"];

/// Compares an imported resource with the original one, values and sensitivity marks, leaving out
/// attributes under any `ignore` prefix (and `timeouts`). Nulls, empty collections and absent
/// attributes compare equal, as in HashiCorp's import verification.
pub fn compare_imported(original: &Resource, imported: &Resource, ignore: &[String]) -> CheckResult {
    let mut prefixes = ALWAYS_IGNORED_ON_IMPORT
        .iter()
        .map(|prefix| AttrPath::parse(prefix))
        .collect::<Result<Vec<_>, _>>()?;
    for prefix in ignore {
        prefixes.push(AttrPath::parse(prefix)?);
    }
    let kept = |value: &Value| -> Result<Vec<(String, Value)>, CheckError> {
        let mut out = Vec::new();
        for (key, leaf) in flatten(value) {
            let path = AttrPath::parse(&key)?;
            if !prefixes.iter().any(|prefix| path.starts_with(prefix)) {
                out.push((key, leaf));
            }
        }
        Ok(out)
    };
    let mut differences = Vec::new();
    for (what, before, after) in [
        ("value", &original.values, &imported.values),
        ("sensitivity", &original.sensitive_values, &imported.sensitive_values),
    ] {
        let before = kept(before)?;
        let after = kept(after)?;
        let keys: std::collections::BTreeSet<&String> =
            before.iter().chain(after.iter()).map(|(key, _)| key).collect();
        for key in keys {
            let lookup = |list: &[(String, Value)]| {
                list.iter().find(|(k, _)| k == key).map(|(_, value)| value.clone())
            };
            let (was, now) = (lookup(&before), lookup(&after));
            if was != now {
                differences.push(format!(
                    "  {what} of {key}: original {}, imported {}",
                    show(was.as_ref()),
                    show(now.as_ref())
                ));
            }
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the imported {} differs from the original (add prefixes to ignore(...) only for \
             attributes that cannot be read back):\n{}",
            imported.address,
            differences.join("\n")
        )
        .into())
    }
}

/// Terraform's diagnostics without the box drawing and with every whitespace run made one space,
/// so that a pattern matches text that terraform wrapped across lines.
pub fn normalize_diagnostics(output: &str) -> String {
    let stripped: String =
        output.chars().map(|c| if matches!(c, '│' | '╷' | '╵') { ' ' } else { c }).collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when `pattern` matches the output as printed or as normalized by [`normalize_diagnostics`].
pub fn output_matches(pattern: &Regex, output: &str) -> bool {
    pattern.is_match(output) || pattern.is_match(&normalize_diagnostics(output))
}

/// True when a diagnostic's configuration snippet shows the attribute that `path` ends with, as
/// terraform prints it for a diagnostic carrying an attribute path (`  12:   pod_cidr = "x"`).
pub fn output_mentions_attribute(output: &str, path: &str) -> Result<bool, CheckError> {
    let path = AttrPath::parse(path)?;
    let name = path.last_name().ok_or_else(|| format!("attribute path {path} names no attribute"))?;
    let snippet = Regex::new(&format!(r"(?m)^[\s│]*\d+:\s+{}\s*[={{]", regex::escape(name)))?;
    Ok(snippet.is_match(output))
}

/// Compiles a pattern given by a test.
///
/// # Panics
/// If `pattern` is not a valid regex.
pub(crate) fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|err| panic!("invalid regex {pattern:?} in a test: {err}"))
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing (absent)".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> State {
        State::from_json(
            r#"{"format_version":"0.2","terraform_version":"1.0.3","values":{
              "outputs":{"o":{"sensitive":false,"value":"x"}},
              "root_module":{"resources":[{"address":"t.a","mode":"managed","type":"t","name":"a",
                "provider_name":"registry.terraform.io/n/t","schema_version":0,
                "values":{"id":"a1","name":"alpha","secret":"s","tags":null,"status":"Ready"},
                "sensitive_values":{"secret":true}}]}}}"#,
        )
        .unwrap()
    }

    fn plan() -> Plan {
        Plan::from_json(
            r#"{"format_version":"0.2","resource_changes":[{"address":"t.a","mode":"managed",
              "type":"t","name":"a","provider_name":"registry.terraform.io/n/t","change":{
              "actions":["create"],"before":null,"after":{"name":"alpha","secret":"s"},
              "after_unknown":{"id":true},"before_sensitive":false,
              "after_sensitive":{"secret":true}}}],
              "output_changes":{"o":{"actions":["create"],"before":null,"after":"x",
              "after_unknown":false,"before_sensitive":false,"after_sensitive":false},
              "u":{"actions":["create"],"before":null,"after_unknown":true,
              "before_sensitive":false,"after_sensitive":false}}}"#,
        )
        .unwrap()
    }

    fn fails<T>(check: impl Fn(&T) -> CheckResult, on: &T) -> String {
        check(on).expect_err("the check should fail").to_string()
    }

    #[test]
    fn state_checks_pass_and_fail_with_clear_messages() {
        let s = state();
        attr_eq("t.a", "name", json!("alpha"))(&s).unwrap();
        assert_eq!(
            fails(attr_eq("t.a", "name", json!("beta")), &s),
            "t.a.name: expected \"beta\", got \"alpha\""
        );
        assert!(fails(attr_eq("t.b", "name", json!(1)), &s).contains("the state has [\"t.a\"]"));
        attr_set("t.a", "id")(&s).unwrap();
        assert!(fails(attr_set("t.a", "tags"), &s).contains("got null"));
        assert!(fails(attr_set("t.a", "nope"), &s).contains("absent"));
        attr_null("t.a", "tags")(&s).unwrap();
        attr_null("t.a", "nope")(&s).unwrap();
        fails(attr_null("t.a", "id"), &s);
        attr_matches("t.a", "status", "^Re")(&s).unwrap();
        fails(attr_matches("t.a", "status", "^Gone$"), &s);
        attr_sensitive("t.a", "secret")(&s).unwrap();
        assert!(fails(attr_sensitive("t.a", "name"), &s).contains("not marked sensitive"));
        resource_exists("t.a")(&s).unwrap();
        fails(resource_exists("t.b"), &s);
        resource_absent("t.b")(&s).unwrap();
        fails(resource_absent("t.a"), &s);
        output_eq("o", json!("x"))(&s).unwrap();
        fails(output_eq("o", json!("y")), &s);
        fails(output_eq("none", json!("y")), &s);
        assert!(fails(attr_eq("t.a", "a..b", json!(1)), &s).contains("invalid attribute path"));
    }

    #[test]
    fn plan_checks_pass_and_fail() {
        let p = plan();
        plan_eq("t.a", "name", json!("alpha"))(&p).unwrap();
        fails(plan_eq("t.a", "name", json!("beta")), &p);
        plan_unknown("t.a", "id")(&p).unwrap();
        assert!(fails(plan_unknown("t.a", "name"), &p).contains("Known"));
        plan_known("t.a", "name")(&p).unwrap();
        fails(plan_known("t.a", "id"), &p);
        plan_sensitive("t.a", "secret")(&p).unwrap();
        fails(plan_sensitive("t.a", "name"), &p);
        plan_output_eq("o", json!("x"))(&p).unwrap();
        fails(plan_output_eq("u", json!("x")), &p);
        plan_output_unknown("u")(&p).unwrap();
        fails(plan_output_unknown("o"), &p);
        assert!(fails(plan_eq("t.zz", "name", json!(1)), &p).contains("not in the plan"));
    }

    #[test]
    fn import_comparison_honours_ignores_and_empty_equivalence() {
        let original = state().resource("t.a").unwrap().clone();
        let mut imported = original.clone();
        imported.values = json!({
            "id": "a1", "name": "alpha", "secret": "s", "tags": [], "status": "Ready",
            "timeouts": {"create": "5m"}
        });
        compare_imported(&original, &imported, &[]).unwrap();

        imported.values["status"] = json!("Pending");
        imported.values["secret"] = json!("other");
        let err = compare_imported(&original, &imported, &[]).unwrap_err().to_string();
        assert!(err.contains("value of status: original \"Ready\", imported \"Pending\""), "{err}");
        assert!(err.contains("value of secret"), "{err}");
        let err = compare_imported(&original, &imported, &["status".to_owned()]).unwrap_err().to_string();
        assert!(!err.contains("status"), "{err}");
        compare_imported(&original, &imported, &["status".to_owned(), "secret".to_owned()]).unwrap();

        let mut unmarked = original.clone();
        unmarked.sensitive_values = json!({});
        let err = compare_imported(&original, &unmarked, &[]).unwrap_err().to_string();
        assert!(err.contains("sensitivity of secret"), "{err}");
    }

    #[test]
    fn error_patterns_match_wrapped_diagnostics() {
        let output = "\
╷
│ Error: Invalid topology
│
│   with cloudtemple_kubernetes_cluster.c,
│   on main.tf line 4, in resource \"cloudtemple_kubernetes_cluster\" \"c\":
│    4:   topology = \"prod\"
│
│ topology must be dev or production; a production cluster needs exactly 3
│ control plane nodes in 3 distinct zones.
╵
";
        let re = |p: &str| Regex::new(p).unwrap();
        assert!(output_matches(&re("Invalid topology"), output));
        assert!(output_matches(&re("needs exactly 3 control plane nodes"), output));
        assert!(!output_matches(&re("needs exactly 5"), output));
        assert!(output_mentions_attribute(output, "topology").unwrap());
        assert!(output_mentions_attribute(output, "spec[0].topology").unwrap());
        assert!(!output_mentions_attribute(output, "name").unwrap());
        assert!(!output_mentions_attribute(output, "topo").unwrap());
        assert!(output_mentions_attribute(output, "[0]").is_err());
        assert!(output_mentions_attribute("  12:   network {\n", "network").unwrap());
    }
}
