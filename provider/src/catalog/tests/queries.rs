//! The query API against the embedded catalog: versions, policy, Talos matrix, upgrade paths,
//! add-on lookup, defaults, compatibility and configuration validation.

use super::{catalog, m, v};
use crate::catalog::*;

#[test]
fn kubernetes_lines_are_newest_first_and_the_window_is_n_minus_2() {
    let catalog = catalog();
    let lines: Vec<String> = catalog.kubernetes_versions().iter().map(|r| r.minor.to_string()).collect();
    assert_eq!(lines, ["1.37", "1.36", "1.35", "1.34", "1.33"]);
    let supported: Vec<String> = catalog.supported_kubernetes().iter().map(|r| r.minor.to_string()).collect();
    assert_eq!(supported, ["1.37", "1.36", "1.35"]);
    assert!(catalog.is_supported_kubernetes(v("1.35.9")));
    assert!(!catalog.is_supported_kubernetes(v("1.35.99")), "an unreleased patch is not supported");
    assert!(!catalog.is_supported_kubernetes(v("1.34.10")), "1.34 left the N-2 window");
}

#[test]
fn cloudtemple_end_of_support_is_90_days_after_n_plus_3() {
    let catalog = catalog();
    assert_eq!(catalog.policy().supported_minors, 3);
    assert!(!catalog.policy().publishes_version_numbers);
    // 1.37.0 was released 2026-08-26: 1.34 support ends 90 days later.
    assert_eq!(catalog.cloudtemple_end_of_support(m("1.34")).unwrap().to_string(), "2026-11-24");
    assert_eq!(catalog.cloudtemple_end_of_support(m("1.33")).unwrap().to_string(), "2026-07-21");
    assert_eq!(catalog.cloudtemple_end_of_support(m("1.35")), None, "1.38 is not released yet");
}

#[test]
fn defaults_are_coherent() {
    let catalog = catalog();
    let kubernetes = catalog.default_kubernetes();
    let talos = catalog.default_talos();
    assert!(catalog.is_supported_kubernetes(kubernetes));
    assert!(catalog.talos_supports(talos, kubernetes));
    // The default Talos runs every line of the support window, so upgrades never need a Talos
    // change first.
    for release in catalog.supported_kubernetes() {
        assert!(catalog.talos_supports(talos, release.latest_patch), "{}", release.minor);
    }
    assert!(!catalog.default_kubernetes_rationale().is_empty());
    assert!(!catalog.default_talos_rationale().is_empty());
}

#[test]
fn addon_defaults_install_on_the_default_kubernetes() {
    let catalog = catalog();
    let line = catalog.default_kubernetes().minor_line();
    for addon in catalog.addons().filter(|a| a.tiers.included_somewhere()) {
        let default = addon.default_version_for(line).unwrap();
        addon.check_version(default.version, line).unwrap();
    }
    // The Core platform (CNI, load balancer, storage) installs on every supported line but 1.37,
    // where Rook publishes no support yet (stated in versions.yaml).
    for release in catalog.supported_kubernetes() {
        for name in ["cilium", "metallb", "rook-ceph"] {
            let addon = catalog.addon(name).unwrap().addon;
            let result = addon.default_version_for(release.minor);
            assert_eq!(
                result.is_ok(),
                !(name == "rook-ceph" && release.minor == m("1.37")),
                "{name} on {}",
                release.minor
            );
        }
    }
}

#[test]
fn default_version_prefers_upstream_tested_versions() {
    let cilium = catalog().addon("cilium").unwrap().addon;
    assert_eq!(cilium.default_version_for(m("1.36")).unwrap().version, v("1.20.3"));
    assert_eq!(cilium.default_version_for(m("1.33")).unwrap().version, v("1.20.3"));
    assert_eq!(cilium.default_version_for(m("1.31")).unwrap().version, v("1.19.7"));
    let version = cilium.version(v("1.20.3")).unwrap();
    assert!(version.supports(m("1.37")) && !version.is_upstream_tested(m("1.37")));
    let error = cilium.default_version_for(m("1.28")).unwrap_err();
    assert!(matches!(error, CompatibilityError::NoCompatibleVersion { .. }));
    assert!(error.to_string().contains("1.18.14 (Kubernetes 1.30 to 1.33)"), "{error}");
}

#[test]
fn talos_matrix_follows_the_support_matrix() {
    let catalog = catalog();
    assert!(catalog.talos_supports(v("1.14.1"), v("1.37.1")));
    assert!(catalog.talos_supports(v("1.14.0"), v("1.32.0")));
    assert!(!catalog.talos_supports(v("1.13.9"), v("1.37.1")), "Talos 1.13 stops at 1.36");
    assert!(!catalog.talos_supports(v("1.14.9"), v("1.36.4")), "1.14.9 is not a known release");
    assert!(!catalog.talos_supports(v("1.9.0"), v("1.30.0")), "unknown Talos line");
    let rows = catalog.compatibility_matrix();
    let row = |talos: &str| rows.iter().find(|r| r.talos.minor == m(talos)).unwrap();
    let lines = |talos: &str| row(talos).kubernetes.iter().map(|k| k.minor.to_string()).collect::<Vec<_>>();
    assert_eq!(lines("1.14"), ["1.37", "1.36", "1.35", "1.34", "1.33"]);
    assert_eq!(lines("1.12"), ["1.35", "1.34", "1.33"]);
    assert_eq!(lines("1.11"), ["1.34", "1.33"]);
    assert_eq!(row("1.14").talos.installer_image, "ghcr.io/siderolabs/installer:v1.14.1");
}

#[test]
fn upgrades_go_one_minor_at_a_time_and_never_down() {
    let catalog = catalog();
    let ok = |from: &str, to: &str| catalog.upgrade_path_ok(v(from), v(to));
    assert_eq!(ok("1.36.1", "1.36.4"), Ok(()), "patch upgrade");
    assert_eq!(ok("1.36.4", "1.36.4"), Ok(()), "no change");
    assert_eq!(ok("1.35.9", "1.36.0"), Ok(()), "next minor, lower patch number");
    assert_eq!(ok("1.33.13", "1.34.10"), Ok(()));
    assert!(matches!(ok("1.36.4", "1.36.2"), Err(UpgradeError::Downgrade { .. })));
    assert!(matches!(ok("1.36.4", "1.35.9"), Err(UpgradeError::Downgrade { .. })));
    let skip = ok("1.35.9", "1.37.1").unwrap_err();
    assert_eq!(skip, UpgradeError::SkipsMinors { from: v("1.35.9"), to: v("1.37.1"), next: m("1.36") });
    assert!(skip.to_string().contains("upgrade to 1.36 first"), "{skip}");
    assert!(matches!(ok("1.36.4", "2.0.0"), Err(UpgradeError::MajorChange { .. })));
    assert!(matches!(ok("1.37.1", "1.38.0"), Err(UpgradeError::UnknownTarget { .. })));
    let unreleased = ok("1.37.0", "1.37.9").unwrap_err();
    assert!(matches!(unreleased, UpgradeError::UnreleasedPatch { .. }));
    assert!(unreleased.to_string().contains("1.37.1"), "{unreleased}");
    assert!(ok("1.36.4", "1.34.10").unwrap_err().to_string().contains("downgrades are not supported"));
}

#[test]
fn kubecost_resolves_to_opencost_with_a_deprecation_notice() {
    let catalog = catalog();
    let lookup = catalog.addon("kubecost").unwrap();
    assert_eq!(lookup.addon.name, "opencost");
    let notice = lookup.deprecation().unwrap();
    assert!(notice.contains("replaced by OpenCost in January 2026"), "{notice}");
    assert!(lookup.alias.unwrap().source.problem().is_none());
    assert_eq!(catalog.addon("opencost").unwrap().deprecation(), None);
    let unknown = catalog.addon("kubecosts").unwrap_err();
    assert!(unknown.to_string().contains("opencost"), "{unknown}");
    assert!(!unknown.to_string().contains("kubecost,"), "aliases are not offered as names");
}

#[test]
fn tier_facts_follow_the_product_table() {
    let tiers = |name: &str| {
        let addon = catalog().addon(name).unwrap().addon;
        (addon.tiers.core, addon.tiers.full)
    };
    use TierAvailability::{Included, No, Optional};
    assert_eq!(tiers("cilium"), (Included, Included));
    assert_eq!(tiers("rook-ceph"), (Included, Included));
    assert_eq!(tiers("topolvm"), (Optional, Optional));
    assert_eq!(tiers("hubble"), (No, Included));
    assert_eq!(tiers("kasten"), (No, Included));
    assert_eq!(tiers("argocd"), (No, Optional));
    assert_eq!(tiers("opencost"), (No, Optional));
}

#[test]
fn version_checks_explain_the_alternatives() {
    let kyverno = catalog().addon("kyverno").unwrap().addon;
    let error = kyverno.check_version(v("1.17.2"), m("1.36")).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("does not support Kubernetes 1.36"), "{text}");
    assert!(text.contains("1.19.1"), "{text}");
    let unknown = kyverno.check_version(v("1.10.0"), m("1.36")).unwrap_err();
    assert!(matches!(unknown, CompatibilityError::UnknownVersion { .. }));
    assert!(kyverno.check_upgrade(v("1.19.1"), v("1.18.2")).is_err());
    assert!(kyverno.check_upgrade(v("1.18.2"), v("1.19.1")).is_ok());
}

#[test]
fn dependencies_and_version_following_are_checked() {
    let catalog = catalog();
    let error =
        catalog.check_dependencies("ingress-nginx", v("5.5.3"), &[("cilium", v("1.20.3"))]).unwrap_err();
    assert!(error.to_string().contains("requires the metallb add-on"), "{error}");
    assert!(catalog.check_dependencies("ingress-nginx", v("5.5.3"), &[("metallb", v("0.15.3"))]).is_ok());
    let mismatch = catalog.check_dependencies("hubble", v("1.20.3"), &[("cilium", v("1.19.7"))]).unwrap_err();
    assert!(matches!(mismatch, CompatibilityError::VersionMismatch { .. }));
    assert!(catalog.check_dependencies("hubble", v("1.20.3"), &[("cilium", v("1.20.3"))]).is_ok());
    // Through the alias too: kubecost is opencost, which needs Prometheus.
    assert!(catalog.check_dependencies("kubecost", v("1.118.0"), &[]).is_err());
}

#[test]
fn configuration_values_are_validated_against_the_schema() {
    let catalog = catalog();
    let metallb = catalog.addon("metallb").unwrap().addon;
    let good = serde_json::json!({
        "internal_pool": {"addresses": ["10.20.1.1-10.20.1.127"]},
        "external_pool": {"addresses": ["10.20.1.128/25"], "service_label_key": "lb-type"}
    });
    assert_eq!(metallb.validate_configuration(&good), vec![]);
    let bad = serde_json::json!({
        "internal_pool": {"addresses": ["10.20.1.127-10.20.1.1"]},
        "external_pool": {"adresses": []},
        "advertisement": "bgp"
    });
    let problems = metallb.validate_configuration(&bad);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"internal_pool.addresses[0]"), "{problems:?}");
    assert!(paths.contains(&"external_pool.adresses"), "{problems:?}");
    assert!(paths.contains(&"external_pool.addresses"), "required field reported: {problems:?}");
    assert!(paths.contains(&"advertisement"), "{problems:?}");
    let cilium = catalog.addon("cilium").unwrap().addon;
    assert!(cilium.validate_configuration(&serde_json::json!({})).is_empty());
    let wrong = cilium.validate_configuration(&serde_json::json!({"ipam": {"mode": "eni"}}));
    assert!(wrong[0].message.contains("\"kubernetes\""), "{wrong:?}");
    let ingress = catalog.addon("ingress-nginx").unwrap().addon;
    let ranges =
        serde_json::json!({"external_secured": {"allowed_source_ranges": ["203.0.113.0/24", "10.0.0.0/33"]}});
    let problems = ingress.validate_configuration(&ranges);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "external_secured.allowed_source_ranges[1]");
}
