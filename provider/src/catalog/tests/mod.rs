//! Tests of the catalog: the compiled-in data loads and holds the product rules
//! ([`queries`]), the add-on templates render ([`manifests`]), and validation rejects each kind
//! of bad data ([`validation`]).

mod manifests;
mod queries;
mod validation;

use super::*;

/// The embedded catalog, with every problem printed when it does not load.
pub(super) fn catalog() -> &'static Catalog {
    match Catalog::try_embedded() {
        Ok(catalog) => catalog,
        Err(errors) => panic!("{errors}"),
    }
}

pub(super) fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

pub(super) fn m(text: &str) -> MinorVersion {
    MinorVersion::parse(text).unwrap()
}

#[test]
fn embedded_catalog_loads_and_validates() {
    let catalog = catalog();
    assert_eq!(catalog.as_of().to_string(), "2026-11-25");
    assert_eq!(catalog.addons().count(), 17);
    assert_eq!(catalog.aliases().count(), 1);
}

#[test]
fn every_addon_file_in_the_directory_is_embedded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/addons");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| format!("addons/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    let embedded: Vec<&str> = EMBEDDED_ADDONS.iter().map(|(path, _)| *path).collect();
    assert_eq!(on_disk, embedded, "EMBEDDED_ADDONS in catalog/mod.rs must list every file, sorted");
}

#[test]
fn the_product_component_list_is_complete() {
    let names: Vec<&str> = catalog().addons().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "argocd",
            "capsule",
            "cert-manager",
            "cilium",
            "harbor",
            "hubble",
            "ingress-nginx",
            "kasten",
            "keda",
            "kube-prometheus-stack",
            "kyverno",
            "loki",
            "metallb",
            "opencost",
            "pyroscope",
            "rook-ceph",
            "topolvm",
        ]
    );
}

#[test]
fn every_addon_lists_several_sourced_versions() {
    for addon in catalog().addons() {
        assert!(addon.versions().len() >= 2, "{} lists fewer than 2 versions", addon.name);
        assert!(
            addon.versions().windows(2).all(|w| w[0].version > w[1].version),
            "{} versions are not sorted newest first",
            addon.name
        );
        for version in addon.versions() {
            assert!(version.source.problem().is_none(), "{} {}", addon.name, version.version);
        }
    }
}
