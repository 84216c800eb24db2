//! Validation at load: a small valid catalog loads, and each kind of bad data is reported as
//! its own typed error naming the file and the field.

use crate::catalog::*;

const VERSIONS: &str = r#"
as_of: "2026-11-25"
cloudtemple_policy:
  supported_minors: 1
  support_months: 16
  end_of_support_days_after_n: 90
  upgrade_windows_per_year: 3
  publishes_version_numbers: false
  source: {url: "https://example.org/policy", states: "N-2 policy"}
kubernetes:
  default: "1.36.4"
  default_rationale: "newest line with every included add-on"
  releases:
    - minor: "1.36"
      latest_patch: "1.36.4"
      released: "2026-04-22"
      end_of_life: "2027-06-28"
      source: {url: "https://example.org/k8s", states: "1.36 facts"}
talos:
  default: "1.14.1"
  default_rationale: "supports the window"
  installer_repository: ghcr.io/siderolabs/installer
  releases:
    - minor: "1.14"
      latest_patch: "1.14.1"
      kubernetes: {min: "1.32", max: "1.37"}
      upgrade_from: "1.12"
      installer_image: ghcr.io/siderolabs/installer:v1.14.1
      source: {url: "https://example.org/talos", states: "1.14 facts"}
"#;

fn addon(name: &str) -> String {
    format!(
        r#"
name: {name}
description: "A component."
category: network
tiers: {{core: included, full: included, source: {{url: "https://example.org/tiers", states: "table"}}}}
namespace: {name}
dependency_rationale: "needs nothing"
upstream: {{project: "https://example.org"}}
versions:
  - version: "1.0.0"
    kubernetes: {{min: "1.30", max: "1.37"}}
    source: {{url: "https://example.org/v", states: "1.0.0 supports 1.30-1.37"}}
defaults: {{rule: newest_compatible}}
configuration_schema:
  type: object
  additionalProperties: false
  properties:
    replicas: {{type: integer, minimum: 1, maximum: 5, default: 1}}
"#
    )
}

fn load(versions: &str, addons: &[(&str, String)]) -> Result<Catalog, CatalogErrors> {
    let files: Vec<(&str, &str)> = addons.iter().map(|(path, text)| (*path, text.as_str())).collect();
    Catalog::from_sources(versions, &files)
}

/// Loads with one add-on file `addons/a.yaml` (plus `extra` files) and returns the errors.
fn errors(versions: &str, a: &str, extra: &[(&str, String)]) -> Vec<CatalogError> {
    let mut files = vec![("addons/a.yaml", a.to_owned())];
    files.extend(extra.iter().cloned());
    match load(versions, &files) {
        Ok(_) => panic!("the catalog loaded but should not have"),
        Err(errors) => errors.0,
    }
}

fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture does not contain {from:?}");
    text.replacen(from, to, 1)
}

#[test]
fn the_minimal_fixture_is_valid() {
    let catalog = load(VERSIONS, &[("addons/a.yaml", addon("a"))]).unwrap();
    assert_eq!(catalog.addons().count(), 1);
}

#[test]
fn syntax_and_unknown_fields_are_parse_errors() {
    let errs = errors(&replaced(VERSIONS, "as_of:", "as_off:"), &addon("a"), &[]);
    assert!(matches!(&errs[0], CatalogError::Parse { file, .. } if file == "versions.yaml"), "{errs:?}");
    let errs = errors(VERSIONS, "name: [unclosed", &[]);
    assert!(matches!(&errs[0], CatalogError::Parse { file, .. } if file == "addons/a.yaml"), "{errs:?}");
    // Unquoted version scalars keep their text (1.10 stays 1.10, not the number 1.1).
    let unquoted = replaced(VERSIONS, "- minor: \"1.36\"", "- minor: 1.36");
    let catalog = load(&unquoted, &[("addons/a.yaml", addon("a"))]).unwrap();
    assert_eq!(catalog.kubernetes_versions()[0].minor.to_string(), "1.36");
    let ten: MinorVersion = serde_norway::from_str("1.10").unwrap();
    assert_eq!(ten, MinorVersion::new(1, 10));
    let errs = errors(&replaced(VERSIONS, "- minor: \"1.36\"", "- minor: 1.36.0"), &addon("a"), &[]);
    assert!(
        matches!(&errs[0], CatalogError::Parse { message, .. } if message.contains("MAJOR.MINOR")),
        "{errs:?}"
    );
}

#[test]
fn facts_without_sources_are_rejected() {
    let errs = errors(&replaced(VERSIONS, r#"states: "1.36 facts""#, r#"states: """#), &addon("a"), &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::MissingSource { field, .. } if field == "kubernetes.releases[1.36].source")), "{errs:?}");
    let bad = replaced(&addon("a"), "https://example.org/v", "http://example.org/v");
    let errs = errors(VERSIONS, &bad, &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::MissingSource { file, field, .. } if file == "addons/a.yaml" && field == "versions[1.0.0].source")), "{errs:?}");
    let bad =
        replaced(&addon("a"), r#"source: {url: "https://example.org/tiers", states: "table"}"#, "source: []");
    let errs = errors(VERSIONS, &bad, &[]);
    assert!(
        errs.iter()
            .any(|e| matches!(e, CatalogError::MissingSource { field, .. } if field == "tiers.source")),
        "{errs:?}"
    );
}

#[test]
fn defaults_must_be_listed_versions() {
    let errs = errors(&replaced(VERSIONS, r#"default: "1.36.4""#, r#"default: "1.36.3""#), &addon("a"), &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::DefaultNotListed { field, .. } if field == "kubernetes.default")
        ),
        "{errs:?}"
    );
    let errs = errors(&replaced(VERSIONS, r#"default: "1.14.1""#, r#"default: "1.13.0""#), &addon("a"), &[]);
    assert!(
        errs.iter()
            .any(|e| matches!(e, CatalogError::DefaultNotListed { field, .. } if field == "talos.default")),
        "{errs:?}"
    );
    let pinned = replaced(
        &addon("a"),
        "defaults: {rule: newest_compatible}",
        "defaults: {rule: newest_compatible, pinned: {\"1.36\": \"0.9.0\"}}",
    );
    let errs = errors(VERSIONS, &pinned, &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::DefaultNotListed { field, .. } if field == "defaults.pinned[1.36]")
        ),
        "{errs:?}"
    );
    let rationale =
        replaced(VERSIONS, r#"default_rationale: "supports the window""#, r#"default_rationale: " ""#);
    let errs = errors(&rationale, &addon("a"), &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "talos.default_rationale")
        ),
        "{errs:?}"
    );
}

#[test]
fn default_talos_must_run_the_default_kubernetes() {
    let narrow = replaced(
        VERSIONS,
        r#"kubernetes: {min: "1.32", max: "1.37"}"#,
        r#"kubernetes: {min: "1.32", max: "1.35"}"#,
    );
    let errs = errors(&narrow, &addon("a"), &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { field, message, .. } if field == "talos.default" && message.contains("1.36"))), "{errs:?}");
}

#[test]
fn version_facts_must_be_consistent() {
    let errs = errors(
        &replaced(VERSIONS, r#"latest_patch: "1.36.4""#, r#"latest_patch: "1.35.4""#),
        &addon("a"),
        &[],
    );
    assert!(errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "kubernetes.releases[1.36].latest_patch")), "{errs:?}");
    let errs = errors(
        &replaced(VERSIONS, r#"end_of_life: "2027-06-28""#, r#"end_of_life: "2026-01-01""#),
        &addon("a"),
        &[],
    );
    assert!(errs.iter().any(|e| matches!(e, CatalogError::BadRange { .. })), "{errs:?}");
    let errs = errors(&replaced(VERSIONS, "installer:v1.14.1", "installer:v1.14.0"), &addon("a"), &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "talos.releases[1.14].installer_image")), "{errs:?}");
    let errs =
        errors(&replaced(VERSIONS, r#"{min: "1.32", max: "1.37"}"#, r#"{min: "1.32"}"#), &addon("a"), &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::BadRange { field, .. } if field == "talos.releases[1.14].kubernetes")), "{errs:?}");
    let twice = VERSIONS.replace("releases:\n    - minor: \"1.36\"", "releases:\n    - minor: \"1.36\"\n      latest_patch: \"1.36.1\"\n      released: \"2026-04-22\"\n      end_of_life: \"2027-06-28\"\n      source: {url: \"https://example.org/k\", states: \"dup\"}\n    - minor: \"1.36\"");
    let errs = errors(&twice, &addon("a"), &[]);
    assert!(
        errs.iter().any(|e| matches!(e, CatalogError::Duplicate { value, .. } if value == "1.36")),
        "{errs:?}"
    );
}

#[test]
fn addon_ranges_must_be_sane() {
    let inverted = replaced(&addon("a"), r#"{min: "1.30", max: "1.37"}"#, r#"{min: "1.37", max: "1.30"}"#);
    let errs = errors(VERSIONS, &inverted, &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::BadRange { field, message, .. } if field == "versions[1.0.0].kubernetes" && message.contains("newer than"))), "{errs:?}");
    let uncovered = replaced(
        &addon("a"),
        r#"kubernetes: {min: "1.30", max: "1.37"}"#,
        "kubernetes: {min: \"1.30\", max: \"1.37\"}\n    tested: {min: \"1.29\", max: \"1.36\"}\n    note: stretched",
    );
    let errs = errors(VERSIONS, &uncovered, &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::BadRange { message, .. } if message.contains("does not cover"))
        ),
        "{errs:?}"
    );
    let unexplained = replaced(
        &addon("a"),
        r#"kubernetes: {min: "1.30", max: "1.37"}"#,
        "kubernetes: {min: \"1.30\", max: \"1.37\"}\n    tested: {min: \"1.30\", max: \"1.36\"}",
    );
    let errs = errors(VERSIONS, &unexplained, &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "versions[1.0.0].note")
        ),
        "{errs:?}"
    );
    let open = replaced(&addon("a"), r#"{min: "1.30", max: "1.37"}"#, r#"{min: "1.30"}"#);
    let errs = errors(VERSIONS, &open, &[]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "versions[1.0.0].note")
        ),
        "{errs:?}"
    );
    let twice = replaced(
        &addon("a"),
        "versions:\n",
        "versions:\n  - version: \"1.0.0\"\n    kubernetes: {min: \"1.30\"}\n    note: dup\n    source: {url: \"https://example.org/d\", states: \"d\"}\n",
    );
    let errs = errors(VERSIONS, &twice, &[]);
    assert!(
        errs.iter().any(|e| matches!(e, CatalogError::Duplicate { field, .. } if field == "versions")),
        "{errs:?}"
    );
}

#[test]
fn dependencies_and_aliases_must_resolve() {
    let dependent = replaced(
        &addon("a"),
        "dependency_rationale:",
        "dependencies: [{name: ghost, reason: needed}]\ndependency_rationale:",
    );
    let errs = errors(VERSIONS, &dependent, &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::UnknownDependency { file, dependency, .. } if file == "addons/a.yaml" && dependency == "ghost")), "{errs:?}");
    let alias = "name: old\nalias_of: ghost\ndeprecation: renamed\nsource: {url: \"https://example.org/x\", states: \"renamed\"}".to_owned();
    let errs = errors(VERSIONS, &addon("a"), &[("addons/old.yaml", alias)]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::UnknownAliasTarget { file, target, .. } if file == "addons/old.yaml" && target == "ghost")), "{errs:?}");
    let silent = "name: old\nalias_of: a\ndeprecation: \"\"\nsource: {url: \"https://example.org/x\", states: \"renamed\"}".to_owned();
    let errs = errors(VERSIONS, &addon("a"), &[("addons/old.yaml", silent)]);
    assert!(
        errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "deprecation")),
        "{errs:?}"
    );
    let good = "name: old\nalias_of: a\ndeprecation: renamed to a\nsource: {url: \"https://example.org/x\", states: \"renamed\"}".to_owned();
    let catalog = load(VERSIONS, &[("addons/a.yaml", addon("a")), ("addons/old.yaml", good)]).unwrap();
    assert_eq!(catalog.addon("old").unwrap().addon.name, "a");
}

#[test]
fn dependency_cycles_are_rejected() {
    let a = replaced(
        &addon("a"),
        "dependency_rationale:",
        "dependencies: [{name: b, reason: r}]\ndependency_rationale:",
    );
    let b = replaced(
        &addon("b"),
        "dependency_rationale:",
        "dependencies: [{name: a, reason: r}]\ndependency_rationale:",
    );
    let errs = errors(VERSIONS, &a, &[("addons/b.yaml", b)]);
    assert!(
        errs.iter().any(
            |e| matches!(e, CatalogError::InvalidValue { message, .. } if message.contains("a -> b -> a"))
        ),
        "{errs:?}"
    );
}

#[test]
fn names_must_match_files_and_be_unique() {
    let errs = errors(VERSIONS, &addon("b"), &[]);
    assert!(
        errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { field, .. } if field == "name")),
        "{errs:?}"
    );
    let errs = errors(VERSIONS, &addon("a"), &[("addons/a.yaml", addon("a"))]);
    assert!(
        errs.iter().any(|e| matches!(e, CatalogError::Duplicate { value, .. } if value == "a")),
        "{errs:?}"
    );
}

#[test]
fn version_following_needs_the_same_versions() {
    let follower =
        replaced(&addon("f"), "dependency_rationale:", "version_follows: a\ndependency_rationale:");
    let follower = replaced(&follower, "- version: \"1.0.0\"", "- version: \"2.0.0\"");
    let errs = errors(VERSIONS, &addon("a"), &[("addons/f.yaml", follower)]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { file, message, .. } if file == "addons/f.yaml" && message.contains("does not list 2.0.0"))), "{errs:?}");
}

#[test]
fn included_addons_must_install_on_the_default_kubernetes() {
    let old = replaced(&addon("a"), r#"{min: "1.30", max: "1.37"}"#, r#"{min: "1.30", max: "1.35"}"#);
    let errs = errors(VERSIONS, &old, &[]);
    assert!(errs.iter().any(|e| matches!(e, CatalogError::InvalidValue { message, .. } if message.contains("default Kubernetes"))), "{errs:?}");
    // An optional add-on may lack a version for the default line.
    let optional = replaced(&old, "core: included, full: included", "core: \"no\", full: optional");
    load(VERSIONS, &[("addons/a.yaml", optional)]).unwrap();
}

#[test]
fn schemas_must_be_object_schemas_in_the_subset() {
    let schema_error = |from: &str, to: &str| {
        let errs = errors(VERSIONS, &replaced(&addon("a"), from, to), &[]);
        errs.into_iter()
            .find_map(|e| match e {
                CatalogError::Schema { field, message, .. } => Some((field, message)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no schema error for {to:?}"))
    };
    let (field, _) =
        schema_error("  type: object\n  additionalProperties", "  type: array\n  additionalProperties");
    assert_eq!(field, "configuration_schema.type");
    let (field, _) = schema_error("  additionalProperties: false\n", "");
    assert_eq!(field, "configuration_schema.additionalProperties");
    let (field, message) = schema_error("minimum: 1,", "pattern: '^a',");
    assert_eq!(field, "configuration_schema.properties.replicas.pattern");
    assert!(message.contains("not in the supported schema subset"), "{message}");
    let (field, _) = schema_error("default: 1}", "default: \"one\"}");
    assert_eq!(field, "configuration_schema.properties.replicas.default");
    let (field, _) = schema_error("minimum: 1, maximum: 5", "minimum: 6, maximum: 5");
    assert_eq!(field, "configuration_schema.properties.replicas.minimum");
    let (field, _) = schema_error("  properties:\n", "  required: [size]\n  properties:\n");
    assert_eq!(field, "configuration_schema.required");
    let (field, _) = schema_error(
        "{type: integer, minimum: 1, maximum: 5, default: 1}",
        "{type: string, format: postal-code}",
    );
    assert_eq!(field, "configuration_schema.properties.replicas.format");
    let (field, _) =
        schema_error("{type: integer, minimum: 1, maximum: 5, default: 1}", "{type: string, enum: [a, 2]}");
    assert_eq!(field, "configuration_schema.properties.replicas.enum");
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let bad = replaced(&addon("a"), r#"states: "1.0.0 supports 1.30-1.37""#, r#"states: """#);
    let bad = replaced(&bad, "namespace: a", "namespace: Not_A_Namespace");
    let errs = errors(&replaced(VERSIONS, r#"default: "1.36.4""#, r#"default: "1.36.1""#), &bad, &[]);
    assert!(errs.len() >= 3, "{errs:?}");
    let text = CatalogErrors(errs).to_string();
    assert!(text.contains("addons/a.yaml: namespace"), "{text}");
    assert!(text.contains("versions.yaml: kubernetes.default"), "{text}");
}
