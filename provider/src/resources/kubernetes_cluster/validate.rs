//! Rules a cluster configuration must follow, checked at validate time on whatever is already
//! known (values computed by other resources are checked again at apply-time planning):
//! - topology: `dev` has exactly 1 control plane; `production` exactly 3, one per zone;
//! - network: valid, non-overlapping node, pod and service networks; the endpoint and every
//!   node address inside the node network, all distinct;
//! - versions: known to the catalog, and the Talos version runs the Kubernetes version.

use super::ZONES;
use crate::catalog::{Catalog, Version};
use crate::cidr::Cidr;
use std::collections::BTreeMap;
use std::net::IpAddr;
use tfplugin::{AttributePath, Diagnostics, Value};

fn root() -> AttributePath {
    AttributePath::root()
}

fn known_str(v: Option<&Value>) -> Option<&str> {
    v.filter(|v| v.is_known()).and_then(Value::as_str)
}

/// Checks a configuration (which may hold unknown values).
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    topology(config, diags);
    network(config, diags);
    versions(config, diags);
}

fn control_planes(config: &Value) -> Option<&[Value]> {
    config.get_attr("control_plane").filter(|v| v.is_known()).and_then(Value::as_list)
}

fn topology(config: &Value, diags: &mut Diagnostics) {
    let (Some(topology), Some(nodes)) = (known_str(config.get_attr("topology")), control_planes(config))
    else {
        return;
    };
    let path = root().attr("control_plane");
    match topology {
        "dev" if nodes.len() != 1 => diags.error_at(
            path,
            "Wrong number of control planes",
            format!("A dev cluster has exactly 1 control plane node; {} are configured.", nodes.len()),
        ),
        "production" if nodes.len() != 3 => diags.error_at(
            path,
            "Wrong number of control planes",
            format!(
                "A production cluster has exactly 3 control plane nodes, one in each of {}; {} are configured.",
                ZONES.join(", "),
                nodes.len()
            ),
        ),
        "production" => {
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, node) in nodes.iter().enumerate() {
                let Some(zone) = known_str(node.get_attr("zone")) else { return };
                if let Some(first) = seen.insert(zone, i) {
                    diags.error_at(
                        path.clone().index(i as i64).attr("zone"),
                        "Control planes share a zone",
                        format!(
                            "Control planes {first} and {i} are both in {zone}; a production cluster spreads its 3 \
                             control planes over {} so that losing a zone keeps etcd quorum.",
                            ZONES.join(", ")
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// A configured address with where it was configured.
struct Placed {
    ip: IpAddr,
    path: AttributePath,
    what: String,
}

fn network(config: &Value, diags: &mut Diagnostics) {
    let net = config.get_attr("network").filter(|v| v.is_known());
    let cidr_at = |name: &str| -> Option<(Cidr, AttributePath)> {
        let text = known_str(net?.get_attr(name))?;
        // Syntax errors are reported by the attribute's own validator.
        Cidr::parse(text).ok().map(|c| (c, root().attr("network").attr(name)))
    };
    let nets: Vec<(&str, Cidr, AttributePath)> = ["node_cidr", "pod_cidr", "service_cidr"]
        .into_iter()
        .filter_map(|n| cidr_at(n).map(|(c, p)| (n, c, p)))
        .collect();
    for (i, (a_name, a, _)) in nets.iter().enumerate() {
        for (b_name, b, b_path) in &nets[i + 1..] {
            if a.overlaps(b) {
                diags.error_at(
                    b_path.clone(),
                    "Overlapping networks",
                    format!(
                        "{b_name} {b} overlaps {a_name} {a}; node, pod and service networks must be disjoint."
                    ),
                );
            }
        }
    }

    let mut placed = Vec::new();
    if let Some(ip) = known_str(config.get_attr("endpoint")).and_then(|s| s.parse::<IpAddr>().ok()) {
        placed.push(Placed { ip, path: root().attr("endpoint"), what: "the endpoint".into() });
    }
    for (i, node) in control_planes(config).unwrap_or_default().iter().enumerate() {
        if let Some(ip) = known_str(node.get_attr("address")).and_then(|s| s.parse::<IpAddr>().ok()) {
            let path = root().attr("control_plane").index(i as i64).attr("address");
            placed.push(Placed { ip, path, what: format!("control plane {i}") });
        }
    }
    if let Some((node_cidr, _)) = cidr_at("node_cidr") {
        for p in &placed {
            if !node_cidr.contains(p.ip) {
                diags.error_at(
                    p.path.clone(),
                    "Address outside the node network",
                    format!("{} ({}) is not inside network.node_cidr {node_cidr}.", p.ip, p.what),
                );
            }
        }
    }
    for (i, a) in placed.iter().enumerate() {
        if let Some(b) = placed[..i].iter().find(|b| b.ip == a.ip) {
            diags.error_at(
                a.path.clone(),
                "Address used twice",
                format!(
                    "{} is both {} and {}; every node and the endpoint need their own address.",
                    a.ip, b.what, a.what
                ),
            );
        }
    }

    let mut hostnames: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, node) in control_planes(config).unwrap_or_default().iter().enumerate() {
        if let Some(h) = known_str(node.get_attr("hostname"))
            && let Some(first) = hostnames.insert(h, i)
        {
            diags.error_at(
                root().attr("control_plane").index(i as i64).attr("hostname"),
                "Hostname used twice",
                format!("Control planes {first} and {i} are both named {h:?}."),
            );
        }
    }
}

/// Parses a configured version, reporting a syntax error at `path`.
fn parse_version(config: &Value, name: &str, diags: &mut Diagnostics) -> Option<Version> {
    let text = known_str(config.get_attr(name))?;
    match Version::parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error_at(root().attr(name), "Invalid version", format!("{e}; write it like `1.36.4`."));
            None
        }
    }
}

fn versions(config: &Value, diags: &mut Diagnostics) {
    let catalog = Catalog::embedded();
    let kubernetes = parse_version(config, "kubernetes_version", diags);
    let talos = parse_version(config, "talos_version", diags);
    if let Some(k) = kubernetes {
        let known = catalog.kubernetes_release(k.minor_line());
        match known {
            None => {
                let lines: Vec<String> =
                    catalog.kubernetes_versions().iter().map(|r| r.minor.to_string()).collect();
                diags.error_at(
                    root().attr("kubernetes_version"),
                    "Unsupported Kubernetes version",
                    format!("Kubernetes {k} is not offered; available minor versions: {}.", lines.join(", ")),
                );
            }
            Some(r) if k > r.latest_patch => diags.error_at(
                root().attr("kubernetes_version"),
                "Unknown Kubernetes release",
                format!(
                    "Kubernetes {k} is newer than the latest known {} release, {}.",
                    r.minor, r.latest_patch
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(t) = talos {
        match catalog.talos_release(t) {
            None => {
                let lines: Vec<String> =
                    catalog.talos_versions().iter().map(|r| r.latest_patch.to_string()).collect();
                diags.error_at(
                    root().attr("talos_version"),
                    "Unsupported Talos version",
                    format!("Talos {t} is not offered; available versions: {}.", lines.join(", ")),
                );
            }
            Some(release) => {
                if let Some(k) = kubernetes
                    && !release.supports(k.minor_line())
                {
                    diags.error_at(
                        root().attr("talos_version"),
                        "Incompatible Talos and Kubernetes versions",
                        format!("Talos {t} runs {}, not Kubernetes {k}.", release.kubernetes),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(address: &str, zone: &str) -> Value {
        Value::object([
            ("address", Value::from(address)),
            ("zone", Value::from(zone)),
            ("hostname", Value::Null),
        ])
    }

    fn config(topology: &str, nodes: Vec<Value>) -> Value {
        let catalog = Catalog::embedded();
        Value::object([
            ("name", Value::from("ctprd")),
            ("topology", Value::from(topology)),
            ("endpoint", Value::from("10.20.0.20")),
            ("kubernetes_version", Value::from(catalog.default_kubernetes().to_string())),
            ("talos_version", Value::from(catalog.default_talos().to_string())),
            (
                "network",
                Value::object([
                    ("node_cidr", Value::from("10.20.0.0/22")),
                    ("pod_cidr", Value::from("10.241.0.0/16")),
                    ("service_cidr", Value::from("10.96.0.0/12")),
                    ("dns_domain", Value::Null),
                ]),
            ),
            ("control_plane", Value::List(nodes)),
        ])
    }

    fn production() -> Value {
        config(
            "production",
            vec![node("10.20.0.21", "AZ05"), node("10.20.0.22", "AZ06"), node("10.20.0.23", "AZ07")],
        )
    }

    fn problems(config: &Value) -> Vec<String> {
        let mut d = Diagnostics::new();
        validate(config, &mut d);
        d.iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    d.attribute.as_ref().map(ToString::to_string).unwrap_or_default(),
                    d.summary
                )
            })
            .collect()
    }

    fn set(v: &mut Value, path: &[&str], value: Value) {
        let mut cur = v;
        for p in &path[..path.len() - 1] {
            cur = cur.get_attr_mut(p).unwrap();
        }
        cur.set_attr(path[path.len() - 1], value).unwrap();
    }

    #[test]
    fn valid_production_and_dev_clusters_pass() {
        assert!(problems(&production()).is_empty(), "{:?}", problems(&production()));
        let dev = config("dev", vec![node("10.20.0.21", "AZ05")]);
        assert!(problems(&dev).is_empty(), "{:?}", problems(&dev));
    }

    #[test]
    fn topology_rules() {
        let dev = config("dev", vec![node("10.20.0.21", "AZ05"), node("10.20.0.22", "AZ06")]);
        assert_eq!(problems(&dev), vec!["control_plane: Wrong number of control planes"]);
        let prod = config("production", vec![node("10.20.0.21", "AZ05")]);
        assert_eq!(problems(&prod), vec!["control_plane: Wrong number of control planes"]);
        let same_zone = config(
            "production",
            vec![node("10.20.0.21", "AZ05"), node("10.20.0.22", "AZ05"), node("10.20.0.23", "AZ07")],
        );
        assert_eq!(problems(&same_zone), vec!["control_plane[1].zone: Control planes share a zone"]);
    }

    #[test]
    fn network_rules() {
        let mut c = production();
        set(&mut c, &["network", "service_cidr"], Value::from("10.241.128.0/17"));
        assert_eq!(problems(&c), vec!["network.service_cidr: Overlapping networks"]);

        let mut c = production();
        set(&mut c, &["endpoint"], Value::from("10.30.0.20"));
        assert_eq!(problems(&c), vec!["endpoint: Address outside the node network"]);

        let c = config(
            "production",
            vec![node("10.20.0.21", "AZ05"), node("10.20.0.20", "AZ06"), node("10.20.0.23", "AZ07")],
        );
        assert_eq!(problems(&c), vec!["control_plane[1].address: Address used twice"]);
    }

    #[test]
    fn version_rules() {
        let mut c = production();
        set(&mut c, &["kubernetes_version"], Value::from("1.20.0"));
        assert!(problems(&c).contains(&"kubernetes_version: Unsupported Kubernetes version".to_string()));

        let mut c = production();
        set(&mut c, &["kubernetes_version"], Value::from("1.36.99"));
        assert_eq!(problems(&c), vec!["kubernetes_version: Unknown Kubernetes release"]);

        let mut c = production();
        set(&mut c, &["kubernetes_version"], Value::from("one.two"));
        assert_eq!(problems(&c), vec!["kubernetes_version: Invalid version"]);

        // The oldest listed Talos line cannot run the newest Kubernetes line.
        let catalog = Catalog::embedded();
        let oldest_talos = catalog.talos_versions().last().unwrap().latest_patch;
        let newest_k8s = catalog.kubernetes_versions()[0].latest_patch;
        let mut c = production();
        set(&mut c, &["talos_version"], Value::from(oldest_talos.to_string()));
        set(&mut c, &["kubernetes_version"], Value::from(newest_k8s.to_string()));
        assert_eq!(problems(&c), vec!["talos_version: Incompatible Talos and Kubernetes versions"]);
    }

    #[test]
    fn unknown_values_are_skipped_not_reported() {
        let mut c = production();
        set(&mut c, &["endpoint"], Value::Unknown);
        set(&mut c, &["control_plane"], Value::Unknown);
        set(&mut c, &["kubernetes_version"], Value::Unknown);
        assert!(problems(&c).is_empty());
    }
}
