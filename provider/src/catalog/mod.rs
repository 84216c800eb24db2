//! The provider's catalog: supported Kubernetes and Talos versions and the platform add-ons,
//! kept as data files in `provider/catalog/` (each fact with its public source) and compiled
//! into the binary, loaded once and validated before any resource uses them.
//!
//! Submodules:
//! - [`version`]: `Version` (`1.35.2`) and `MinorVersion` (`1.35`), parsing and ordering;
//! - [`date`]: calendar dates for release and end-of-life facts;
//! - [`source`]: provenance of every fact (URL + what it states);
//! - [`versions`]: `versions.yaml`, Kubernetes lines, Talos lines, support policy, defaults;
//! - [`addons`]: `addons/<name>.yaml`, components, aliases, versions, tiers, dependencies;
//! - [`manifests`]: the objects each add-on installs, as templates, and their rendering;
//! - [`schema`]: the JSON Schema subset of `configuration_values` and its validator;
//! - [`error`]: data errors (file + field) and version/add-on choice errors.
//!
//! This root holds the [`Catalog`] itself: loading, the rules that span several files, and the
//! query API the resources and data sources use.

pub mod addons;
pub mod date;
pub mod error;
pub mod manifests;
pub mod schema;
pub mod source;
pub mod version;
pub mod versions;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use addons::{Addon, AddonVersion, Alias, Category, Dependency, TierAvailability, Tiers};
pub use date::Date;
pub use error::{CatalogError, CatalogErrors, CompatibilityError, UpgradeError};
pub use source::{Source, Sources};
pub use version::{MinorVersion, Version, VersionParseError};
pub use versions::{KubernetesRange, KubernetesRelease, SupportPolicy, TalosRelease};

use addons::AddonFile;

/// `versions.yaml`, compiled in.
const EMBEDDED_VERSIONS: &str = include_str!("../../catalog/versions.yaml");

/// Every add-on file, compiled in, with its path relative to `provider/catalog/`. A unit test
/// checks this list against the directory so a new file cannot be forgotten here.
const EMBEDDED_ADDONS: &[(&str, &str)] = &[
    ("addons/argocd.yaml", include_str!("../../catalog/addons/argocd.yaml")),
    ("addons/capsule.yaml", include_str!("../../catalog/addons/capsule.yaml")),
    ("addons/cert-manager.yaml", include_str!("../../catalog/addons/cert-manager.yaml")),
    ("addons/cilium.yaml", include_str!("../../catalog/addons/cilium.yaml")),
    ("addons/harbor.yaml", include_str!("../../catalog/addons/harbor.yaml")),
    ("addons/hubble.yaml", include_str!("../../catalog/addons/hubble.yaml")),
    ("addons/ingress-nginx.yaml", include_str!("../../catalog/addons/ingress-nginx.yaml")),
    ("addons/kasten.yaml", include_str!("../../catalog/addons/kasten.yaml")),
    ("addons/keda.yaml", include_str!("../../catalog/addons/keda.yaml")),
    ("addons/kube-prometheus-stack.yaml", include_str!("../../catalog/addons/kube-prometheus-stack.yaml")),
    ("addons/kubecost.yaml", include_str!("../../catalog/addons/kubecost.yaml")),
    ("addons/kyverno.yaml", include_str!("../../catalog/addons/kyverno.yaml")),
    ("addons/loki.yaml", include_str!("../../catalog/addons/loki.yaml")),
    ("addons/metallb.yaml", include_str!("../../catalog/addons/metallb.yaml")),
    ("addons/opencost.yaml", include_str!("../../catalog/addons/opencost.yaml")),
    ("addons/pyroscope.yaml", include_str!("../../catalog/addons/pyroscope.yaml")),
    ("addons/rook-ceph.yaml", include_str!("../../catalog/addons/rook-ceph.yaml")),
    ("addons/topolvm.yaml", include_str!("../../catalog/addons/topolvm.yaml")),
];

/// The loaded, validated catalog. Obtain the compiled-in one with [`Catalog::embedded`].
#[derive(Debug, Clone)]
pub struct Catalog {
    as_of: Date,
    policy: SupportPolicy,
    kubernetes: Vec<KubernetesRelease>,
    default_kubernetes: Version,
    default_kubernetes_rationale: String,
    talos: Vec<TalosRelease>,
    default_talos: Version,
    default_talos_rationale: String,
    addons: BTreeMap<String, Addon>,
    aliases: BTreeMap<String, Alias>,
}

/// An add-on found by name, with the deprecation notice when the name was an alias.
#[derive(Debug, Clone, Copy)]
pub struct AddonLookup<'a> {
    /// The add-on the name resolves to.
    pub addon: &'a Addon,
    /// The alias record, when the requested name is a deprecated alias.
    pub alias: Option<&'a Alias>,
}

impl AddonLookup<'_> {
    /// The deprecation message to show as a warning, when the name was an alias.
    pub fn deprecation(&self) -> Option<&str> {
        self.alias.map(|alias| alias.deprecation.as_str())
    }
}

/// One row of the Talos ↔ Kubernetes compatibility matrix.
#[derive(Debug, Clone)]
pub struct MatrixRow<'a> {
    /// The Talos line.
    pub talos: &'a TalosRelease,
    /// The catalog's Kubernetes lines that Talos line supports, newest first.
    pub kubernetes: Vec<&'a KubernetesRelease>,
}

impl Catalog {
    /// The catalog compiled into the provider, loaded and validated on first use.
    ///
    /// # Panics
    /// When the compiled-in data is invalid: that is a build defect caught by the unit tests,
    /// never user input. Use [`Catalog::try_embedded`] to handle it as an error instead.
    pub fn embedded() -> &'static Catalog {
        match Self::try_embedded() {
            Ok(catalog) => catalog,
            Err(errors) => panic!("{errors}"),
        }
    }

    /// The compiled-in catalog, or every problem found in it.
    pub fn try_embedded() -> Result<&'static Catalog, &'static CatalogErrors> {
        static EMBEDDED: OnceLock<Result<Catalog, CatalogErrors>> = OnceLock::new();
        EMBEDDED.get_or_init(|| Self::from_sources(EMBEDDED_VERSIONS, EMBEDDED_ADDONS)).as_ref()
    }

    /// Loads and validates a catalog from the text of `versions.yaml` and of each add-on file
    /// (`(path relative to provider/catalog/, text)`), reporting every problem found.
    pub fn from_sources(versions_text: &str, addon_files: &[(&str, &str)]) -> Result<Catalog, CatalogErrors> {
        let mut errors = Vec::new();
        let versions = versions::parse(versions_text, &mut errors);
        let mut addons = BTreeMap::new();
        let mut aliases = BTreeMap::new();
        for (file, text) in addon_files {
            let name = match addons::parse(file, text, &mut errors) {
                Some(AddonFile::Addon(addon)) => addons.insert(addon.name.clone(), *addon).map(|a| a.name),
                Some(AddonFile::Alias(alias)) => aliases.insert(alias.name.clone(), alias).map(|a| a.name),
                None => None,
            };
            if let Some(name) = name {
                errors.push(CatalogError::Duplicate {
                    file: (*file).to_owned(),
                    field: "name".into(),
                    value: name,
                });
            }
        }
        let Some(versions) = versions else {
            return Err(CatalogErrors(errors));
        };
        let catalog = Catalog {
            as_of: versions.as_of,
            policy: versions.cloudtemple_policy,
            kubernetes: versions.kubernetes.releases,
            default_kubernetes: versions.kubernetes.default,
            default_kubernetes_rationale: versions.kubernetes.default_rationale,
            talos: versions.talos.releases,
            default_talos: versions.talos.default,
            default_talos_rationale: versions.talos.default_rationale,
            addons,
            aliases,
        };
        catalog.validate_across_files(&mut errors);
        if errors.is_empty() { Ok(catalog) } else { Err(CatalogErrors(errors)) }
    }

    fn validate_across_files(&self, errors: &mut Vec<CatalogError>) {
        let file_of = |name: &str| format!("addons/{name}.yaml");
        for alias in self.aliases.values() {
            if self.addons.contains_key(&alias.name) {
                errors.push(CatalogError::Duplicate {
                    file: file_of(&alias.name),
                    field: "name".into(),
                    value: alias.name.clone(),
                });
            }
            if !self.addons.contains_key(&alias.alias_of) {
                errors.push(CatalogError::UnknownAliasTarget {
                    file: file_of(&alias.name),
                    field: "alias_of".into(),
                    target: alias.alias_of.clone(),
                });
            }
        }
        for addon in self.addons.values() {
            for (index, dependency) in addon.dependencies.iter().enumerate() {
                if !self.addons.contains_key(&dependency.name) {
                    errors.push(CatalogError::UnknownDependency {
                        file: file_of(&addon.name),
                        field: format!("dependencies[{index}]"),
                        dependency: dependency.name.clone(),
                    });
                }
            }
            if let Some(followed) = &addon.version_follows {
                self.validate_follows(addon, followed, errors);
            }
        }
        self.validate_no_dependency_cycle(errors);
        let default_line = self.default_kubernetes.minor_line();
        for addon in self.addons.values().filter(|a| a.tiers.included_somewhere()) {
            if let Err(error) = addon.default_version_for(default_line) {
                errors.push(CatalogError::InvalidValue {
                    file: file_of(&addon.name),
                    field: "versions".into(),
                    message: format!("a product tier includes this add-on, so it must install on the default Kubernetes: {error}"),
                });
            }
        }
    }

    fn validate_follows(&self, addon: &Addon, followed: &str, errors: &mut Vec<CatalogError>) {
        let file = format!("addons/{}.yaml", addon.name);
        let Some(target) = self.addons.get(followed) else {
            errors.push(CatalogError::UnknownDependency {
                file,
                field: "version_follows".into(),
                dependency: followed.to_owned(),
            });
            return;
        };
        for entry in &addon.versions {
            if target.version(entry.version).is_none() {
                errors.push(CatalogError::InvalidValue {
                    file: file.clone(),
                    field: format!("versions[{}]", entry.version),
                    message: format!("follows {followed}, which does not list {}", entry.version),
                });
            }
        }
    }

    fn validate_no_dependency_cycle(&self, errors: &mut Vec<CatalogError>) {
        // Depth-first search with the current path; a dependency already on the path closes a cycle.
        fn visit<'a>(
            catalog: &'a Catalog,
            name: &'a str,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<Vec<&'a str>> {
            if let Some(start) = path.iter().position(|n| *n == name) {
                let mut cycle = path[start..].to_vec();
                cycle.push(name);
                return Some(cycle);
            }
            if !done.insert(name) {
                return None;
            }
            path.push(name);
            let found = catalog.addons.get(name).and_then(|addon| {
                addon.dependencies.iter().find_map(|d| visit(catalog, &d.name, path, done))
            });
            path.pop();
            found
        }
        let mut done = BTreeSet::new();
        for name in self.addons.keys() {
            if let Some(cycle) = visit(self, name, &mut Vec::new(), &mut done) {
                errors.push(CatalogError::InvalidValue {
                    file: format!("addons/{}.yaml", cycle[0]),
                    field: "dependencies".into(),
                    message: format!("dependency cycle: {}", cycle.join(" -> ")),
                });
                return;
            }
        }
    }

    /// The date the catalog's facts were last checked against their sources.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// Cloud Temple's version policy.
    pub fn policy(&self) -> &SupportPolicy {
        &self.policy
    }

    /// Every Kubernetes minor line the catalog knows, newest first.
    pub fn kubernetes_versions(&self) -> &[KubernetesRelease] {
        &self.kubernetes
    }

    /// The supported window (N-2: the newest three minor lines), newest first.
    pub fn supported_kubernetes(&self) -> &[KubernetesRelease] {
        &self.kubernetes[..self.policy.supported_minors.min(self.kubernetes.len())]
    }

    /// Whether `version` is a known release in the supported window.
    pub fn is_supported_kubernetes(&self, version: Version) -> bool {
        self.supported_kubernetes().iter().any(|r| r.minor.contains(version) && version <= r.latest_patch)
    }

    /// The Kubernetes minor line `minor`, if the catalog knows it.
    pub fn kubernetes_release(&self, minor: MinorVersion) -> Option<&KubernetesRelease> {
        self.kubernetes.iter().find(|r| r.minor == minor)
    }

    /// Kubernetes version of new clusters when none is given.
    pub fn default_kubernetes(&self) -> Version {
        self.default_kubernetes
    }

    /// Why [`Catalog::default_kubernetes`] is what it is (Cloud Temple publishes no numbers).
    pub fn default_kubernetes_rationale(&self) -> &str {
        &self.default_kubernetes_rationale
    }

    /// When Cloud Temple stops supporting `minor`: `end_of_support_days_after_n` days after the
    /// line three minors newer is released; `None` while that line is not released.
    pub fn cloudtemple_end_of_support(&self, minor: MinorVersion) -> Option<Date> {
        let successor = MinorVersion::new(minor.major, minor.minor + 3);
        self.kubernetes_release(successor)
            .map(|r| r.released.add_days(i64::from(self.policy.end_of_support_days_after_n)))
    }

    /// Every Talos line the catalog knows, newest first.
    pub fn talos_versions(&self) -> &[TalosRelease] {
        &self.talos
    }

    /// The Talos line of `version`, if the catalog knows it.
    pub fn talos_release(&self, version: Version) -> Option<&TalosRelease> {
        self.talos.iter().find(|r| r.minor.contains(version))
    }

    /// Talos version of new clusters when none is given.
    pub fn default_talos(&self) -> Version {
        self.default_talos
    }

    /// Why [`Catalog::default_talos`] is what it is.
    pub fn default_talos_rationale(&self) -> &str {
        &self.default_talos_rationale
    }

    /// Whether Talos `talos` runs Kubernetes `kubernetes` (per the Talos support matrix).
    pub fn talos_supports(&self, talos: Version, kubernetes: Version) -> bool {
        self.talos_release(talos)
            .is_some_and(|release| talos <= release.latest_patch && release.supports(kubernetes.minor_line()))
    }

    /// The Talos ↔ Kubernetes matrix: one row per Talos line, newest first.
    pub fn compatibility_matrix(&self) -> Vec<MatrixRow<'_>> {
        self.talos
            .iter()
            .map(|talos| MatrixRow {
                talos,
                kubernetes: self.kubernetes.iter().filter(|k| talos.supports(k.minor)).collect(),
            })
            .collect()
    }

    /// Checks a Kubernetes version change: patch moves and re-applies are fine, minor upgrades
    /// go one line at a time, downgrades and major changes are refused, and the target must be a
    /// released version of a line the catalog knows.
    pub fn upgrade_path_ok(&self, from: Version, to: Version) -> Result<(), UpgradeError> {
        upgrade_rules(from, to)?;
        let line = to.minor_line();
        let Some(release) = self.kubernetes_release(line) else {
            let available: Vec<String> = self.kubernetes.iter().map(|r| r.minor.to_string()).collect();
            return Err(UpgradeError::UnknownTarget { to, available: available.join(", ") });
        };
        if to > release.latest_patch {
            return Err(UpgradeError::UnreleasedPatch { to, line, latest: release.latest_patch });
        }
        Ok(())
    }

    /// Finds an add-on by name; a deprecated alias resolves to its target and carries the notice.
    pub fn addon(&self, name: &str) -> Result<AddonLookup<'_>, CompatibilityError> {
        if let Some(addon) = self.addons.get(name) {
            return Ok(AddonLookup { addon, alias: None });
        }
        let alias = self.aliases.get(name);
        match alias.and_then(|a| self.addons.get(&a.alias_of)) {
            Some(addon) => Ok(AddonLookup { addon, alias }),
            None => Err(CompatibilityError::UnknownAddon {
                name: name.to_owned(),
                available: self.addons.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Every add-on, sorted by name (aliases excluded).
    pub fn addons(&self) -> impl Iterator<Item = &Addon> {
        self.addons.values()
    }

    /// Every deprecated alias, sorted by name.
    pub fn aliases(&self) -> impl Iterator<Item = &Alias> {
        self.aliases.values()
    }

    /// Checks that the dependencies of add-on `name` at `version` are among `installed`
    /// (`(canonical name, version)` pairs), and that a version-following add-on matches.
    pub fn check_dependencies(
        &self,
        name: &str,
        version: Version,
        installed: &[(&str, Version)],
    ) -> Result<(), CompatibilityError> {
        let addon = self.addon(name)?.addon;
        for dependency in &addon.dependencies {
            if !installed.iter().any(|(n, _)| *n == dependency.name) {
                return Err(CompatibilityError::MissingDependency {
                    addon: addon.name.clone(),
                    dependency: dependency.name.clone(),
                    reason: dependency.reason.clone(),
                });
            }
        }
        if let Some(followed) = &addon.version_follows
            && let Some((_, followed_version)) = installed.iter().find(|(n, _)| n == followed)
            && *followed_version != version
        {
            return Err(CompatibilityError::VersionMismatch {
                addon: addon.name.clone(),
                version,
                follows: followed.clone(),
                follows_version: *followed_version,
            });
        }
        Ok(())
    }
}

/// The version-change rules alone, without looking at the catalog.
pub fn upgrade_rules(from: Version, to: Version) -> Result<(), UpgradeError> {
    if from.major != to.major {
        return Err(UpgradeError::MajorChange { from, to });
    }
    if to < from {
        return Err(UpgradeError::Downgrade { from, to });
    }
    let from_line = from.minor_line();
    match from_line.steps_to(to.minor_line()) {
        Some(0 | 1) => Ok(()),
        _ => Err(UpgradeError::SkipsMinors { from, to, next: from_line.next() }),
    }
}
