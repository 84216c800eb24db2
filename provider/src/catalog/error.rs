//! Typed errors of the catalog: what is wrong with the data files (found when the catalog
//! loads), and what is wrong with a version or add-on choice (found when a plan asks).
//!
//! Data errors name the file and the field; choice errors carry the alternatives so the
//! diagnostic a user sees says what to pick instead.

use std::fmt;

use super::version::{MinorVersion, Version};

/// One problem in the catalog data, located by file and field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The file is not valid YAML or does not have the expected shape.
    #[error("{file}: cannot be read: {message}")]
    Parse {
        /// Catalog file, relative to `provider/catalog/`.
        file: String,
        /// The YAML or shape error.
        message: String,
    },
    /// A fact has no usable source.
    #[error("{file}: {field}: {problem}")]
    MissingSource {
        /// Catalog file.
        file: String,
        /// Field path of the fact.
        field: String,
        /// What is wrong with its sources.
        problem: String,
    },
    /// A required text is empty or a value is out of its allowed set.
    #[error("{file}: {field}: {message}")]
    InvalidValue {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A version range is empty or inconsistent.
    #[error("{file}: {field}: {message}")]
    BadRange {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The same name or version is listed twice.
    #[error("{file}: {field}: `{value}` is listed more than once")]
    Duplicate {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// The repeated value.
        value: String,
    },
    /// A default names a version the file does not list.
    #[error("{file}: {field}: default `{version}` is not one of the listed versions")]
    DefaultNotListed {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// The default as written.
        version: String,
    },
    /// A dependency names no add-on of the catalog (or names an alias).
    #[error("{file}: {field}: depends on `{dependency}`, which is not an add-on of the catalog")]
    UnknownDependency {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// The missing add-on.
        dependency: String,
    },
    /// An alias points at no add-on (or at another alias).
    #[error("{file}: {field}: alias target `{target}` is not an add-on of the catalog")]
    UnknownAliasTarget {
        /// Catalog file.
        file: String,
        /// Field path.
        field: String,
        /// The missing target.
        target: String,
    },
    /// A configuration schema is not an object schema in the supported subset.
    #[error("{file}: {field}: {message}")]
    Schema {
        /// Catalog file.
        file: String,
        /// Field path inside the file, down to the offending schema keyword.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Every problem found while loading the catalog (validation does not stop at the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogErrors(pub Vec<CatalogError>);

impl CatalogErrors {
    /// The individual problems.
    pub fn iter(&self) -> std::slice::Iter<'_, CatalogError> {
        self.0.iter()
    }
}

impl fmt::Display for CatalogErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the provider catalog is invalid ({} problem(s))", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogErrors {}

/// Why a Kubernetes version change is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    /// The target is older than the running version.
    #[error(
        "cannot move Kubernetes from {from} to {to}: downgrades are not supported; \
         keep {from} or choose a later version"
    )]
    Downgrade {
        /// Running version.
        from: Version,
        /// Requested version.
        to: Version,
    },
    /// The target is more than one minor ahead.
    #[error(
        "cannot move Kubernetes from {from} to {to} in one step: upgrades go one minor at a \
         time, so upgrade to {next} first"
    )]
    SkipsMinors {
        /// Running version.
        from: Version,
        /// Requested version.
        to: Version,
        /// The minor line to upgrade to next.
        next: MinorVersion,
    },
    /// The target has another major version.
    #[error("cannot move Kubernetes from {from} to {to}: changing the major version is not supported")]
    MajorChange {
        /// Running version.
        from: Version,
        /// Requested version.
        to: Version,
    },
    /// The target minor line is not in the catalog.
    #[error("Kubernetes {to} is not offered by this provider; available minor versions: {available}")]
    UnknownTarget {
        /// Requested version.
        to: Version,
        /// The catalog's minor lines, newest first.
        available: String,
    },
    /// The target patch is newer than the newest known release of its line.
    #[error(
        "Kubernetes {to} is not released yet as far as the catalog knows; the newest {line} release is {latest}"
    )]
    UnreleasedPatch {
        /// Requested version.
        to: Version,
        /// Its minor line.
        line: MinorVersion,
        /// Newest known release of that line.
        latest: Version,
    },
}

/// Why an add-on, an add-on version or a set of add-ons does not fit a cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompatibilityError {
    /// No add-on or alias of that name.
    #[error("unknown add-on `{name}`; available add-ons: {available}")]
    UnknownAddon {
        /// Requested name.
        name: String,
        /// Names the catalog offers.
        available: String,
    },
    /// The add-on has no such version.
    #[error("{addon} has no version {version} in the catalog; available versions: {available}")]
    UnknownVersion {
        /// Add-on name.
        addon: String,
        /// Requested version.
        version: Version,
        /// Versions the catalog lists, newest first.
        available: String,
    },
    /// The version exists but does not support the cluster's Kubernetes.
    #[error(
        "{addon} {version} does not support Kubernetes {kubernetes} (it supports {range}); \
         versions compatible with {kubernetes}: {compatible}"
    )]
    Incompatible {
        /// Add-on name.
        addon: String,
        /// Requested version.
        version: Version,
        /// The cluster's Kubernetes minor line.
        kubernetes: MinorVersion,
        /// The range that version supports.
        range: String,
        /// Compatible alternatives, or "none".
        compatible: String,
    },
    /// No listed version supports the cluster's Kubernetes.
    #[error(
        "no {addon} version in the catalog supports Kubernetes {kubernetes}; listed versions: \
         {available}"
    )]
    NoCompatibleVersion {
        /// Add-on name.
        addon: String,
        /// The cluster's Kubernetes minor line.
        kubernetes: MinorVersion,
        /// Versions and their ranges.
        available: String,
    },
    /// A required add-on is not installed.
    #[error("{addon} requires the {dependency} add-on: {reason}")]
    MissingDependency {
        /// Add-on name.
        addon: String,
        /// Missing add-on.
        dependency: String,
        /// Why it is needed.
        reason: String,
    },
    /// An add-on whose version follows another one runs a different version.
    #[error("{addon} {version} must run the same version as {follows}, which is at {follows_version}")]
    VersionMismatch {
        /// Add-on name.
        addon: String,
        /// Requested version.
        version: Version,
        /// The add-on it follows.
        follows: String,
        /// That add-on's installed version.
        follows_version: Version,
    },
    /// The requested add-on version is older than the installed one.
    #[error("cannot move {addon} from {from} to {to}: add-on downgrades are not supported")]
    Downgrade {
        /// Add-on name.
        addon: String,
        /// Installed version.
        from: Version,
        /// Requested version.
        to: Version,
    },
}
