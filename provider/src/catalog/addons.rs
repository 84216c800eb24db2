//! `catalog/addons/<name>.yaml`: one platform component per file (or a deprecated alias), with
//! its product tier facts, dependencies, versions and their Kubernetes ranges, default-version
//! rule and the JSON schema of its `configuration_values`.
//!
//! Per-file validation is here; rules that need several files (dependencies exist, alias
//! targets exist, defaults on the default Kubernetes) are in the catalog root.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::date::Date;
use super::error::{CatalogError, CompatibilityError};
use super::manifests::{self, Manifests};
use super::schema;
use super::source::Sources;
use super::version::{MinorVersion, Version};
use super::versions::KubernetesRange;

/// What an add-on is for; shown in the `cloudtemple_kubernetes_addons` data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Pod networking and load-balancer addresses.
    Network,
    /// HTTP(S) ingress.
    Ingress,
    /// Persistent volumes.
    Storage,
    /// Certificates, admission policy and multi-tenancy.
    Security,
    /// Metrics, logs, flows and profiles.
    Observability,
    /// Backup and restore.
    Backup,
    /// GitOps delivery.
    Gitops,
    /// Container image registry.
    Registry,
    /// Cost allocation.
    Cost,
    /// Event-driven autoscaling.
    Autoscaling,
}

/// Whether an add-on is part of a product tier (Cloud Temple comparison table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TierAvailability {
    /// Always present in the tier.
    Included,
    /// Can be enabled or disabled in the tier.
    Optional,
    /// Not offered in the tier.
    No,
}

/// The add-on's place in the two product tiers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// Managed Core Kubernetes.
    pub core: TierAvailability,
    /// Managed Kubernetes (Full).
    pub full: TierAvailability,
    /// Where the tier facts are stated.
    pub source: Sources,
}

impl Tiers {
    /// Whether some tier always includes the add-on.
    pub fn included_somewhere(&self) -> bool {
        self.core == TierAvailability::Included || self.full == TierAvailability::Included
    }
}

/// Another add-on that must be installed first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The required add-on.
    pub name: String,
    /// Why it is required.
    pub reason: String,
}

/// Where the component comes from upstream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Project home page.
    pub project: String,
    /// Helm chart repository URL, when installed from a chart.
    #[serde(default)]
    pub chart_repository: Option<String>,
    /// Helm chart name in that repository.
    #[serde(default)]
    pub chart: Option<String>,
}

/// One installable version of an add-on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddonVersion {
    /// Application version (`1.20.3`).
    pub version: Version,
    /// Helm chart version carrying it, when it differs from the application version.
    #[serde(default)]
    pub chart_version: Option<String>,
    /// Release date, when a public source states it.
    #[serde(default)]
    pub released: Option<Date>,
    /// Kubernetes minor lines the catalog accepts this version on.
    pub kubernetes: KubernetesRange,
    /// Kubernetes minor lines upstream tests or documents; absent when equal to `kubernetes`.
    #[serde(default)]
    pub tested: Option<KubernetesRange>,
    /// Why the accepted range differs from (or goes beyond) what upstream states.
    #[serde(default)]
    pub note: Option<String>,
    /// Where the version and its compatibility are stated.
    pub source: Sources,
}

impl AddonVersion {
    /// The range upstream tests or documents.
    pub fn tested_range(&self) -> KubernetesRange {
        self.tested.unwrap_or(self.kubernetes)
    }

    /// Whether the catalog accepts this version on `kubernetes`.
    pub fn supports(&self, kubernetes: MinorVersion) -> bool {
        self.kubernetes.contains(kubernetes)
    }

    /// Whether upstream tests this version on `kubernetes` (accepted ranges may go beyond).
    pub fn is_upstream_tested(&self, kubernetes: MinorVersion) -> bool {
        self.tested_range().contains(kubernetes)
    }
}

/// How the default version for a Kubernetes minor line is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultRule {
    /// The newest version upstream tests on that line, else the newest the catalog accepts.
    NewestCompatible,
}

/// The default-version policy of an add-on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultPolicy {
    /// The rule for lines without a pin.
    pub rule: DefaultRule,
    /// Explicit defaults per Kubernetes minor line (keys quoted: `"1.36"`).
    #[serde(default)]
    pub pinned: BTreeMap<MinorVersion, Version>,
}

/// One platform component of the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addon {
    /// Name used in `cloudtemple_kubernetes_addon.name`.
    pub name: String,
    /// One user-facing markdown sentence.
    pub description: String,
    /// What the add-on is for.
    pub category: Category,
    /// Product tier facts.
    pub tiers: Tiers,
    /// Namespace the add-on installs into by default.
    pub namespace: String,
    /// Add-ons that must be installed first.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Why the dependencies are what they are (including why some plausible ones are absent).
    pub dependency_rationale: String,
    /// Upstream project and chart.
    pub upstream: Upstream,
    /// Another add-on whose version this one must equal (Hubble ships in the Cilium chart).
    #[serde(default)]
    pub version_follows: Option<String>,
    /// Installable versions (sorted newest first at load).
    pub versions: Vec<AddonVersion>,
    /// Default-version policy.
    pub defaults: DefaultPolicy,
    /// JSON schema (catalog subset) of `configuration_values`.
    pub configuration_schema: serde_json::Value,
    /// The Kubernetes objects the add-on installs, as templates (see [`super::manifests`]).
    #[serde(default)]
    pub manifests: Option<Manifests>,
}

/// A deprecated name that resolves to another add-on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    /// The deprecated name.
    pub name: String,
    /// The add-on it resolves to.
    pub alias_of: String,
    /// The deprecation notice shown to users.
    pub deprecation: String,
    /// Where the replacement is stated.
    pub source: Sources,
}

/// A parsed add-on file: a component or an alias.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AddonFile {
    Addon(Box<Addon>),
    Alias(Alias),
}

impl Addon {
    /// Versions, newest first.
    pub fn versions(&self) -> &[AddonVersion] {
        &self.versions
    }

    /// The listed version `version`, if any.
    pub fn version(&self, version: Version) -> Option<&AddonVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The version installed when the user gives none, for a cluster on `kubernetes`.
    pub fn default_version_for(&self, kubernetes: MinorVersion) -> Result<&AddonVersion, CompatibilityError> {
        if let Some(pinned) = self.defaults.pinned.get(&kubernetes)
            && let Some(version) = self.version(*pinned)
        {
            return Ok(version);
        }
        let DefaultRule::NewestCompatible = self.defaults.rule;
        self.versions
            .iter()
            .find(|v| v.is_upstream_tested(kubernetes) && v.supports(kubernetes))
            .or_else(|| self.versions.iter().find(|v| v.supports(kubernetes)))
            .ok_or_else(|| CompatibilityError::NoCompatibleVersion {
                addon: self.name.clone(),
                kubernetes,
                available: self.describe_versions(),
            })
    }

    /// Checks that `version` is listed and accepted on `kubernetes`.
    pub fn check_version(
        &self,
        version: Version,
        kubernetes: MinorVersion,
    ) -> Result<&AddonVersion, CompatibilityError> {
        let Some(entry) = self.version(version) else {
            return Err(CompatibilityError::UnknownVersion {
                addon: self.name.clone(),
                version,
                available: self.versions.iter().map(|v| v.version.to_string()).collect::<Vec<_>>().join(", "),
            });
        };
        if entry.supports(kubernetes) {
            return Ok(entry);
        }
        let compatible: Vec<String> =
            self.versions.iter().filter(|v| v.supports(kubernetes)).map(|v| v.version.to_string()).collect();
        Err(CompatibilityError::Incompatible {
            addon: self.name.clone(),
            version,
            kubernetes,
            range: entry.kubernetes.to_string(),
            compatible: if compatible.is_empty() { "none".into() } else { compatible.join(", ") },
        })
    }

    /// Checks an in-place version change: upgrades and re-applies are fine, downgrades are not.
    pub fn check_upgrade(&self, from: Version, to: Version) -> Result<(), CompatibilityError> {
        if to < from {
            return Err(CompatibilityError::Downgrade { addon: self.name.clone(), from, to });
        }
        Ok(())
    }

    /// Validates `configuration_values` (parsed JSON) against the add-on's schema.
    pub fn validate_configuration(&self, values: &serde_json::Value) -> Vec<schema::Violation> {
        schema::validate(&self.configuration_schema, values)
    }

    /// The configuration as the templates see it: `values` (already valid) with every schema
    /// default filled in. Equal inputs give equal outputs, so it is also the normalised form.
    pub fn effective_configuration(&self, values: &serde_json::Value) -> serde_json::Value {
        manifests::apply_defaults(&self.configuration_schema, values)
    }

    /// Renders the objects `version` installs with `values` (validated, defaults not yet
    /// applied), in apply order. An add-on without templates installs nothing.
    pub fn render(
        &self,
        version: Version,
        values: &serde_json::Value,
    ) -> Result<Vec<serde_json::Value>, manifests::RenderError> {
        let Some(manifests) = &self.manifests else { return Ok(Vec::new()) };
        let config = self.effective_configuration(values);
        manifests.render(&self.name, version, &self.namespace, &config)
    }

    fn describe_versions(&self) -> String {
        self.versions
            .iter()
            .map(|v| format!("{} ({})", v.version, v.kubernetes))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Parses one add-on file; `file` is its path relative to `provider/catalog/`.
pub(crate) fn parse(file: &str, text: &str, errors: &mut Vec<CatalogError>) -> Option<AddonFile> {
    let parse_error = |message: String| CatalogError::Parse { file: file.to_owned(), message };
    let raw: serde_norway::Value = match serde_norway::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            errors.push(parse_error(error.to_string()));
            return None;
        }
    };
    let is_alias = raw.get("alias_of").is_some();
    let stem = file.trim_start_matches("addons/").trim_end_matches(".yaml");
    if is_alias {
        match serde_norway::from_value::<Alias>(raw) {
            Ok(alias) => {
                validate_alias(file, stem, &alias, errors);
                Some(AddonFile::Alias(alias))
            }
            Err(error) => {
                errors.push(parse_error(error.to_string()));
                None
            }
        }
    } else {
        match serde_norway::from_value::<Addon>(raw) {
            Ok(mut addon) => {
                addon.versions.sort_by_key(|v| std::cmp::Reverse(v.version));
                validate_addon(file, stem, &addon, errors);
                Some(AddonFile::Addon(Box::new(addon)))
            }
            Err(error) => {
                errors.push(parse_error(error.to_string()));
                None
            }
        }
    }
}

fn invalid(file: &str, field: impl Into<String>, message: impl Into<String>) -> CatalogError {
    CatalogError::InvalidValue { file: file.to_owned(), field: field.into(), message: message.into() }
}

fn check_sources(file: &str, field: String, sources: &Sources, errors: &mut Vec<CatalogError>) {
    if let Some(problem) = sources.problem() {
        errors.push(CatalogError::MissingSource { file: file.to_owned(), field, problem });
    }
}

fn check_name(file: &str, stem: &str, name: &str, errors: &mut Vec<CatalogError>) {
    if name != stem {
        errors.push(invalid(file, "name", format!("`{name}` does not match the file name `{stem}.yaml`")));
    }
}

fn validate_alias(file: &str, stem: &str, alias: &Alias, errors: &mut Vec<CatalogError>) {
    check_name(file, stem, &alias.name, errors);
    if alias.deprecation.trim().is_empty() {
        errors.push(invalid(file, "deprecation", "an alias must carry a deprecation notice"));
    }
    if alias.alias_of == alias.name {
        errors.push(CatalogError::UnknownAliasTarget {
            file: file.to_owned(),
            field: "alias_of".into(),
            target: alias.alias_of.clone(),
        });
    }
    check_sources(file, "source".into(), &alias.source, errors);
}

fn validate_addon(file: &str, stem: &str, addon: &Addon, errors: &mut Vec<CatalogError>) {
    check_name(file, stem, &addon.name, errors);
    let description = addon.description.trim();
    if description.is_empty() || description.contains('\n') {
        errors.push(invalid(file, "description", "must be one non-empty sentence on one line"));
    }
    if addon.dependency_rationale.trim().is_empty() {
        errors.push(invalid(file, "dependency_rationale", "say why the dependencies are what they are"));
    }
    if schema::check_format("dns-label", &addon.namespace).is_err() {
        errors.push(invalid(
            file,
            "namespace",
            format!("`{}` is not a valid namespace name", addon.namespace),
        ));
    }
    check_sources(file, "tiers.source".into(), &addon.tiers.source, errors);
    for (index, dependency) in addon.dependencies.iter().enumerate() {
        if dependency.name == addon.name {
            errors.push(CatalogError::UnknownDependency {
                file: file.to_owned(),
                field: format!("dependencies[{index}]"),
                dependency: dependency.name.clone(),
            });
        }
        if dependency.reason.trim().is_empty() {
            errors.push(invalid(file, format!("dependencies[{index}].reason"), "say why it is needed"));
        }
    }
    validate_versions(file, addon, errors);
    if let Some(manifests) = &addon.manifests {
        for (field, message) in manifests.check(&addon.configuration_schema) {
            errors.push(invalid(file, field, message));
        }
        if let Some(example) = &manifests.example_configuration
            && let Some(violation) = schema::validate(&addon.configuration_schema, example).first()
        {
            errors.push(invalid(
                file,
                "manifests.example_configuration",
                format!("{}: {}", violation.path, violation.message),
            ));
        }
    }
    if let Err((path, message)) = schema::check_schema(&addon.configuration_schema) {
        errors.push(CatalogError::Schema {
            file: file.to_owned(),
            field: if path.is_empty() {
                "configuration_schema".into()
            } else {
                format!("configuration_schema.{path}")
            },
            message,
        });
    }
}

fn validate_versions(file: &str, addon: &Addon, errors: &mut Vec<CatalogError>) {
    if addon.versions.is_empty() {
        errors.push(invalid(file, "versions", "at least one version is required"));
    }
    let mut seen = BTreeSet::new();
    for entry in &addon.versions {
        let field = format!("versions[{}]", entry.version);
        if !seen.insert(entry.version) {
            errors.push(CatalogError::Duplicate {
                file: file.to_owned(),
                field: "versions".into(),
                value: entry.version.to_string(),
            });
        }
        check_sources(file, format!("{field}.source"), &entry.source, errors);
        let bad_range = |message: String| CatalogError::BadRange {
            file: file.to_owned(),
            field: format!("{field}.kubernetes"),
            message,
        };
        if entry.kubernetes.min.is_none() && entry.kubernetes.max.is_none() && entry.note.is_none() {
            errors.push(bad_range("no bound at all: give upstream's minimum or explain in `note`".into()));
        }
        if let Some(problem) = entry.kubernetes.problem() {
            errors.push(bad_range(problem));
        }
        if let Some(tested) = entry.tested {
            if let Some(problem) = tested.problem() {
                errors.push(bad_range(format!("tested: {problem}")));
            } else if !entry.kubernetes.covers(&tested) {
                errors
                    .push(bad_range(format!("accepted {} does not cover tested {tested}", entry.kubernetes)));
            }
        }
        let stretched = entry.tested.is_some_and(|t| t != entry.kubernetes);
        let needs_note = stretched || entry.kubernetes.is_open_ended();
        if needs_note && entry.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errors.push(invalid(
                file,
                format!("{field}.note"),
                "the accepted range is open-ended or wider than upstream's; explain why in `note`",
            ));
        }
    }
    for (minor, version) in &addon.defaults.pinned {
        let field = format!("defaults.pinned[{minor}]");
        match addon.version(*version) {
            None => errors.push(CatalogError::DefaultNotListed {
                file: file.to_owned(),
                field,
                version: version.to_string(),
            }),
            Some(entry) if !entry.supports(*minor) => errors.push(CatalogError::BadRange {
                file: file.to_owned(),
                field,
                message: format!("{version} is not accepted on Kubernetes {minor} ({})", entry.kubernetes),
            }),
            Some(_) => {}
        }
    }
}
