//! `catalog/versions.yaml`: the Kubernetes minor lines and Talos releases the provider knows,
//! Cloud Temple's support policy, the Talos ↔ Kubernetes support matrix, and the defaults.
//!
//! This module owns the typed form of that file and its per-file validation; cross-file rules
//! (add-on defaults on the default Kubernetes) live in the catalog root.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

use super::date::Date;
use super::error::CatalogError;
use super::source::Sources;
use super::version::{MinorVersion, Version};

/// Name of the versions file inside `provider/catalog/`.
pub(crate) const VERSIONS_FILE: &str = "versions.yaml";

/// An inclusive range of Kubernetes minor lines; a missing bound means upstream publishes none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesRange {
    /// Oldest supported minor line, if upstream states one.
    pub min: Option<MinorVersion>,
    /// Newest supported minor line, if upstream states one.
    pub max: Option<MinorVersion>,
}

impl KubernetesRange {
    /// Whether `minor` lies in the range.
    pub fn contains(&self, minor: MinorVersion) -> bool {
        self.min.is_none_or(|min| min <= minor) && self.max.is_none_or(|max| minor <= max)
    }

    /// Whether every minor of `inner` lies in `self` (open bounds of `inner` need open bounds here).
    pub fn covers(&self, inner: &Self) -> bool {
        let low = match (self.min, inner.min) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(outer), Some(inner)) => outer <= inner,
        };
        let high = match (self.max, inner.max) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(outer), Some(inner)) => inner <= outer,
        };
        low && high
    }

    /// Whether the range has no upper bound.
    pub fn is_open_ended(&self) -> bool {
        self.max.is_none()
    }

    /// Why the range is inconsistent, or `None`.
    pub(crate) fn problem(&self) -> Option<String> {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min > max => Some(format!("min {min} is newer than max {max}")),
            (Some(min), Some(max)) if min.major != max.major => {
                Some(format!("range {min} to {max} crosses a major version"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for KubernetesRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min == max => write!(f, "Kubernetes {min} only"),
            (Some(min), Some(max)) => write!(f, "Kubernetes {min} to {max}"),
            (Some(min), None) => write!(f, "Kubernetes {min} and later"),
            (None, Some(max)) => write!(f, "Kubernetes up to {max}"),
            (None, None) => write!(f, "any Kubernetes version"),
        }
    }
}

/// Cloud Temple's published version policy (no version numbers: those come from upstream).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportPolicy {
    /// How many of the newest Kubernetes minor lines are supported (N-2 → 3).
    pub supported_minors: usize,
    /// Approximate months of Cloud Temple support per minor line.
    pub support_months: u32,
    /// Days after minor N is released at which N-3 reaches end of support.
    pub end_of_support_days_after_n: u32,
    /// Planned major (minor-line) upgrade windows per year.
    pub upgrade_windows_per_year: u32,
    /// Whether Cloud Temple publishes concrete Kubernetes/Talos version numbers.
    pub publishes_version_numbers: bool,
    /// Where the policy is stated.
    pub source: Sources,
}

/// One Kubernetes minor line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesRelease {
    /// The minor line (`1.36`).
    pub minor: MinorVersion,
    /// Newest patch release known to the catalog.
    pub latest_patch: Version,
    /// Release date of `minor.0`.
    pub released: Date,
    /// Upstream end of life of the line.
    pub end_of_life: Date,
    /// Anything a user of this line should know (gaps in add-on support, snapshot caveats).
    #[serde(default)]
    pub note: Option<String>,
    /// Where these facts are stated.
    pub source: Sources,
}

/// One Talos release line and the Kubernetes lines it supports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosRelease {
    /// The minor line (`1.14`).
    pub minor: MinorVersion,
    /// Newest patch release known to the catalog.
    pub latest_patch: Version,
    /// Release date of `minor.0`, when a public source states it.
    #[serde(default)]
    pub released: Option<Date>,
    /// Kubernetes minor lines this Talos line supports (both bounds required).
    pub kubernetes: KubernetesRange,
    /// Oldest Talos minor line that may upgrade directly to this one.
    pub upgrade_from: MinorVersion,
    /// Installer image reference for `latest_patch`.
    pub installer_image: String,
    /// Anything a user of this line should know.
    #[serde(default)]
    pub note: Option<String>,
    /// Where these facts are stated.
    pub source: Sources,
}

impl TalosRelease {
    /// Whether this Talos line runs the given Kubernetes minor line.
    pub fn supports(&self, kubernetes: MinorVersion) -> bool {
        self.kubernetes.contains(kubernetes)
    }
}

/// The `kubernetes:` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubernetesSection {
    pub default: Version,
    pub default_rationale: String,
    pub releases: Vec<KubernetesRelease>,
}

/// The `talos:` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TalosSection {
    pub default: Version,
    pub default_rationale: String,
    pub installer_repository: String,
    pub releases: Vec<TalosRelease>,
}

/// The whole file, releases sorted newest first after [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionsFile {
    pub as_of: Date,
    pub cloudtemple_policy: SupportPolicy,
    pub kubernetes: KubernetesSection,
    pub talos: TalosSection,
}

/// Parses and validates `versions.yaml`; problems are appended to `errors`.
pub(crate) fn parse(text: &str, errors: &mut Vec<CatalogError>) -> Option<VersionsFile> {
    let mut file: VersionsFile = match serde_norway::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            errors.push(CatalogError::Parse { file: VERSIONS_FILE.to_owned(), message: error.to_string() });
            return None;
        }
    };
    file.kubernetes.releases.sort_by_key(|r| std::cmp::Reverse(r.minor));
    file.talos.releases.sort_by_key(|r| std::cmp::Reverse(r.minor));
    validate(&file, errors);
    Some(file)
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CatalogError {
    CatalogError::InvalidValue {
        file: VERSIONS_FILE.to_owned(),
        field: field.into(),
        message: message.into(),
    }
}

fn check_sources(sources: &Sources, field: String, errors: &mut Vec<CatalogError>) {
    if let Some(problem) = sources.problem() {
        errors.push(CatalogError::MissingSource { file: VERSIONS_FILE.to_owned(), field, problem });
    }
}

fn validate(file: &VersionsFile, errors: &mut Vec<CatalogError>) {
    let policy = &file.cloudtemple_policy;
    check_sources(&policy.source, "cloudtemple_policy.source".into(), errors);
    if policy.supported_minors == 0 || policy.support_months == 0 {
        errors.push(invalid("cloudtemple_policy", "supported_minors and support_months must be positive"));
    }
    validate_kubernetes(file, errors);
    validate_talos(file, errors);
}

fn validate_kubernetes(file: &VersionsFile, errors: &mut Vec<CatalogError>) {
    let section = &file.kubernetes;
    if section.releases.len() < file.cloudtemple_policy.supported_minors {
        errors.push(invalid(
            "kubernetes.releases",
            format!(
                "lists {} minor lines but the support policy needs at least {}",
                section.releases.len(),
                file.cloudtemple_policy.supported_minors
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for release in &section.releases {
        let field = format!("kubernetes.releases[{}]", release.minor);
        if !seen.insert(release.minor) {
            errors.push(CatalogError::Duplicate {
                file: VERSIONS_FILE.to_owned(),
                field: "kubernetes.releases".into(),
                value: release.minor.to_string(),
            });
        }
        if !release.minor.contains(release.latest_patch) {
            errors.push(invalid(
                format!("{field}.latest_patch"),
                format!("{} is not a release of {}", release.latest_patch, release.minor),
            ));
        }
        if release.end_of_life <= release.released {
            errors.push(CatalogError::BadRange {
                file: VERSIONS_FILE.to_owned(),
                field: format!("{field}.end_of_life"),
                message: format!(
                    "end of life {} is not after the release date {}",
                    release.end_of_life, release.released
                ),
            });
        }
        check_sources(&release.source, format!("{field}.source"), errors);
    }
    check_default(
        "kubernetes.default",
        section.default,
        &section.default_rationale,
        section.releases.iter().map(|r| r.latest_patch),
        errors,
    );
}

fn validate_talos(file: &VersionsFile, errors: &mut Vec<CatalogError>) {
    let section = &file.talos;
    if section.releases.is_empty() {
        errors.push(invalid("talos.releases", "no Talos release listed"));
    }
    let mut seen = BTreeSet::new();
    for release in &section.releases {
        let field = format!("talos.releases[{}]", release.minor);
        if !seen.insert(release.minor) {
            errors.push(CatalogError::Duplicate {
                file: VERSIONS_FILE.to_owned(),
                field: "talos.releases".into(),
                value: release.minor.to_string(),
            });
        }
        if !release.minor.contains(release.latest_patch) {
            errors.push(invalid(
                format!("{field}.latest_patch"),
                format!("{} is not a release of {}", release.latest_patch, release.minor),
            ));
        }
        let range = release.kubernetes;
        if range.min.is_none() || range.max.is_none() {
            errors.push(CatalogError::BadRange {
                file: VERSIONS_FILE.to_owned(),
                field: format!("{field}.kubernetes"),
                message: "the Talos support matrix states both bounds; give min and max".into(),
            });
        } else if let Some(problem) = range.problem() {
            errors.push(CatalogError::BadRange {
                file: VERSIONS_FILE.to_owned(),
                field: format!("{field}.kubernetes"),
                message: problem,
            });
        }
        if release.upgrade_from > release.minor {
            errors.push(CatalogError::BadRange {
                file: VERSIONS_FILE.to_owned(),
                field: format!("{field}.upgrade_from"),
                message: format!("{} is newer than {}", release.upgrade_from, release.minor),
            });
        }
        let expected = format!("{}:{}", section.installer_repository, release.latest_patch.to_tag());
        if release.installer_image != expected {
            errors.push(invalid(
                format!("{field}.installer_image"),
                format!("is `{}`, expected `{expected}`", release.installer_image),
            ));
        }
        check_sources(&release.source, format!("{field}.source"), errors);
    }
    check_default(
        "talos.default",
        section.default,
        &section.default_rationale,
        section.releases.iter().map(|r| r.latest_patch),
        errors,
    );
    let default_talos = section.releases.iter().find(|r| r.latest_patch == section.default);
    if let Some(talos) = default_talos {
        let kubernetes = file.kubernetes.default.minor_line();
        if !talos.supports(kubernetes) {
            errors.push(invalid(
                "talos.default",
                format!(
                    "Talos {} does not support the default Kubernetes {kubernetes} ({})",
                    talos.latest_patch, talos.kubernetes
                ),
            ));
        }
    }
}

/// A default must be one of the listed (latest-patch) versions and say why it was chosen.
fn check_default(
    field: &str,
    default: Version,
    rationale: &str,
    listed: impl Iterator<Item = Version>,
    errors: &mut Vec<CatalogError>,
) {
    if !listed.into_iter().any(|version| version == default) {
        errors.push(CatalogError::DefaultNotListed {
            file: VERSIONS_FILE.to_owned(),
            field: field.to_owned(),
            version: default.to_string(),
        });
    }
    if rationale.trim().is_empty() {
        errors.push(invalid(
            format!("{field}_rationale"),
            "Cloud Temple publishes no version numbers, so the default needs a stated rationale",
        ));
    }
}
