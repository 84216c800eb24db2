//! Plan refinements of `cloudtemple_kubernetes_cluster`, after the generic engine:
//! - defaults the schema describes (versions from the catalog, pod and service networks, DNS
//!   domain, control plane hostnames, upgrade policy, `on_destroy`), set as known values so the
//!   plan shows them;
//! - an unset version keeps the running one (removing `kubernetes_version` never upgrades);
//! - version moves checked against the running versions: Kubernetes one minor at a time and
//!   never down, Talos never down and only from a line it upgrades from, new clusters inside
//!   the supported N-2 window — each refused with the attribute path before any remote call;
//! - the configuration rules of [`super::validate`] run again on the planned values, now that
//!   defaults and values from other resources are known.

use super::validate;
use crate::catalog::{Catalog, Version};
use tfplugin::resource::{PlanRequest, PlanResponse};
use tfplugin::{AttributePath, Diagnostics, Value};

/// Default pod network (Kubernetes' usual; Cloud Temple agrees one per cluster at setup).
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
/// Default service network.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// Default action on destroy.
pub const DEFAULT_ON_DESTROY: &str = "reset";
/// Port of the Kubernetes API on the endpoint.
pub const API_PORT: u16 = 6443;

fn root() -> AttributePath {
    AttributePath::root()
}

fn configured<'a>(config: &'a Value, name: &str) -> Option<&'a Value> {
    config.get_attr(name).filter(|v| !v.is_null())
}

/// Sets `name` in `object` to `value` when the planned value is unknown and the configuration
/// leaves it unset.
fn default_if_unset(object: &mut Value, config: &Value, name: &str, value: impl Into<Value>) {
    let unset = config.get_attr(name).is_none_or(Value::is_null);
    if unset && object.get_attr(name).is_some_and(Value::is_unknown) {
        let _ = object.set_attr(name, value.into());
    }
}

/// The `https://<endpoint>:6443` URL of the API, when the endpoint is known.
pub fn api_url(endpoint: &str) -> String {
    match endpoint.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => format!("https://[{v6}]:{API_PORT}"),
        _ => format!("https://{endpoint}:{API_PORT}"),
    }
}

/// Refines a plan in place.
pub fn refine(req: &PlanRequest<'_>, resp: &mut PlanResponse) {
    let catalog = Catalog::embedded();
    let config = req.config;
    let planned = &mut resp.planned;
    let name = config.get_attr("name").and_then(Value::as_str).map(str::to_string);

    // Versions: defaults on create, the running version when unset on update.
    for (attr, default) in
        [("kubernetes_version", catalog.default_kubernetes()), ("talos_version", catalog.default_talos())]
    {
        match (req.prior, configured(config, attr)) {
            (None, None) => {
                let _ = planned.set_attr(attr, Value::from(default.to_string()));
            }
            (Some(prior), None) => {
                let _ = planned.set_attr(attr, prior.get_attr(attr).cloned().unwrap_or(Value::Null));
            }
            _ => {}
        }
    }

    // Network defaults (the whole object forces replacement, so only creation sets them).
    if let Some(net_cfg) = configured(config, "network").cloned()
        && let Some(net) = planned.get_attr_mut("network")
        && net.is_known()
    {
        default_if_unset(net, &net_cfg, "pod_cidr", DEFAULT_POD_CIDR);
        default_if_unset(net, &net_cfg, "service_cidr", DEFAULT_SERVICE_CIDR);
        if let Some(name) = &name {
            default_if_unset(net, &net_cfg, "dns_domain", format!("{name}-cluster.local"));
        }
        if let Some(prior_net) = req.prior.and_then(|p| p.get_attr("network")) {
            // Keep what the running cluster uses for anything still unknown.
            for key in ["pod_cidr", "service_cidr", "dns_domain"] {
                if net.get_attr(key).is_some_and(Value::is_unknown)
                    && let Some(v) = prior_net.get_attr(key)
                {
                    let _ = net.set_attr(key, v.clone());
                }
            }
        }
    }

    // Control plane hostnames: `<name>-cp-<n>`.
    if let (Some(name), Some(Value::List(nodes))) = (&name, planned.get_attr_mut("control_plane")) {
        for (i, node) in nodes.iter_mut().enumerate() {
            if node.get_attr("hostname").is_some_and(Value::is_unknown) {
                let _ = node.set_attr("hostname", Value::from(format!("{name}-cp-{}", i + 1)));
            }
        }
    }

    // Upgrade policy and on_destroy defaults.
    if planned.get_attr("upgrade").is_some_and(Value::is_unknown) && configured(config, "upgrade").is_none() {
        let policy =
            req.prior.and_then(|p| p.get_attr("upgrade")).filter(|v| !v.is_null()).cloned().unwrap_or_else(
                || Value::object([("drain", Value::from(true)), ("reboot_mode", Value::from("default"))]),
            );
        let _ = planned.set_attr("upgrade", policy);
    } else if let (Some(up_cfg), Some(up)) =
        (configured(config, "upgrade").cloned(), planned.get_attr_mut("upgrade"))
    {
        default_if_unset(up, &up_cfg, "drain", true);
        default_if_unset(up, &up_cfg, "reboot_mode", "default");
    }
    default_if_unset(planned, config, "on_destroy", DEFAULT_ON_DESTROY);

    if let Some(endpoint) = planned.get_attr("endpoint").filter(|v| v.is_known()).and_then(Value::as_str) {
        let url = api_url(endpoint);
        let _ = planned.set_attr("api_url", Value::from(url));
    }

    let mut diags = Diagnostics::new();
    validate::validate(planned, &mut diags);
    check_versions(catalog, req.prior, planned, &mut diags);
    resp.diags.extend(diags);
}

fn version_at(v: Option<&Value>, attr: &str) -> Option<Version> {
    v?.get_attr(attr).filter(|v| v.is_known()).and_then(Value::as_str).and_then(|s| Version::parse(s).ok())
}

fn check_versions(catalog: &Catalog, prior: Option<&Value>, planned: &Value, diags: &mut Diagnostics) {
    let kubernetes = version_at(Some(planned), "kubernetes_version");
    let talos = version_at(Some(planned), "talos_version");
    match prior {
        None => {
            if let Some(k) = kubernetes
                && !catalog.supported_kubernetes().iter().any(|r| r.minor == k.minor_line())
            {
                let window: Vec<String> =
                    catalog.supported_kubernetes().iter().map(|r| r.minor.to_string()).collect();
                diags.error_at(
                    root().attr("kubernetes_version"),
                    "Kubernetes version outside the supported window",
                    format!(
                        "New clusters run one of the supported Kubernetes minor versions ({}); {k} is not one of them.",
                        window.join(", ")
                    ),
                );
            }
        }
        Some(prior) => {
            if let (Some(from), Some(to)) = (version_at(Some(prior), "kubernetes_version"), kubernetes)
                && let Err(e) = catalog.upgrade_path_ok(from, to)
            {
                diags.error_at(
                    root().attr("kubernetes_version"),
                    "Kubernetes version change refused",
                    e.to_string(),
                );
            }
            if let (Some(from), Some(to)) = (version_at(Some(prior), "talos_version"), talos) {
                check_talos_move(catalog, from, to, diags);
            }
        }
    }
}

fn check_talos_move(catalog: &Catalog, from: Version, to: Version, diags: &mut Diagnostics) {
    let path = root().attr("talos_version");
    if to < from {
        diags.error_at(
            path,
            "Talos version change refused",
            format!("Talos cannot be downgraded in place from {from} to {to}; keep {from} or move forward."),
        );
        return;
    }
    if let Some(target) = catalog.talos_release(to)
        && from.minor_line() < target.upgrade_from
    {
        diags.error_at(
            path,
            "Talos version change refused",
            format!(
                "Talos {to} upgrades from {} or newer, and the nodes run {from}: upgrade through an intermediate \
                 version first.",
                target.upgrade_from
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Diagnostics;

    fn node(address: &str, zone: &str, hostname: Value) -> Value {
        Value::object([
            ("address", Value::from(address)),
            ("zone", Value::from(zone)),
            ("hostname", hostname),
        ])
    }

    fn config() -> Value {
        Value::object([
            ("name", Value::from("ctdev1")),
            ("topology", Value::from("dev")),
            ("endpoint", Value::from("10.20.0.20")),
            ("kubernetes_version", Value::Null),
            ("talos_version", Value::Null),
            (
                "network",
                Value::object([
                    ("node_cidr", Value::from("10.20.0.0/22")),
                    ("pod_cidr", Value::Null),
                    ("service_cidr", Value::Null),
                    ("dns_domain", Value::Null),
                ]),
            ),
            ("control_plane", Value::List(vec![node("10.20.0.21", "AZ05", Value::Null)])),
            ("upgrade", Value::Null),
            ("on_destroy", Value::Null),
            ("api_url", Value::Null),
        ])
    }

    /// What the engine plans on create: unset computed values unknown.
    fn engine_create(config: &Value) -> Value {
        let mut p = config.clone();
        for k in ["kubernetes_version", "talos_version", "upgrade", "on_destroy", "api_url"] {
            p.set_attr(k, Value::Unknown).unwrap();
        }
        let net = p.get_attr_mut("network").unwrap();
        for k in ["pod_cidr", "service_cidr", "dns_domain"] {
            net.set_attr(k, Value::Unknown).unwrap();
        }
        if let Some(Value::List(nodes)) = p.get_attr_mut("control_plane") {
            for n in nodes {
                n.set_attr("hostname", Value::Unknown).unwrap();
            }
        }
        p
    }

    fn run(prior: Option<&Value>, config: &Value, planned: Value) -> PlanResponse {
        let req = PlanRequest { prior, config, prior_private: &[] };
        let mut resp = PlanResponse {
            planned,
            planned_private: Vec::new(),
            requires_replace: Vec::new(),
            diags: Diagnostics::new(),
        };
        refine(&req, &mut resp);
        resp
    }

    fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
        path.iter().fold(v, |v, k| v.get_attr(k).unwrap())
    }

    #[test]
    fn create_fills_every_default() {
        let catalog = Catalog::embedded();
        let cfg = config();
        let out = run(None, &cfg, engine_create(&cfg));
        assert!(out.diags.is_empty(), "{}", out.diags);
        let p = &out.planned;
        assert_eq!(at(p, &["kubernetes_version"]), &Value::from(catalog.default_kubernetes().to_string()));
        assert_eq!(at(p, &["talos_version"]), &Value::from(catalog.default_talos().to_string()));
        assert_eq!(at(p, &["network", "pod_cidr"]), &Value::from(DEFAULT_POD_CIDR));
        assert_eq!(at(p, &["network", "service_cidr"]), &Value::from(DEFAULT_SERVICE_CIDR));
        assert_eq!(at(p, &["network", "dns_domain"]), &Value::from("ctdev1-cluster.local"));
        assert_eq!(
            at(&at(p, &["control_plane"]).as_list().unwrap()[0], &["hostname"]),
            &Value::from("ctdev1-cp-1")
        );
        assert_eq!(at(p, &["upgrade", "drain"]), &Value::from(true));
        assert_eq!(at(p, &["on_destroy"]), &Value::from("reset"));
        assert_eq!(at(p, &["api_url"]), &Value::from("https://10.20.0.20:6443"));
    }

    fn created() -> Value {
        let cfg = config();
        run(None, &cfg, engine_create(&cfg)).planned
    }

    fn with(mut v: Value, attr: &str, value: &str) -> Value {
        v.set_attr(attr, Value::from(value)).unwrap();
        v
    }

    fn first_error(out: &PlanResponse) -> (String, String) {
        let d = out.diags.iter().next().expect("an error");
        (d.attribute.as_ref().unwrap().to_string(), d.detail.clone())
    }

    #[test]
    fn kubernetes_moves_one_minor_up_and_never_down() {
        let catalog = Catalog::embedded();
        let prior = created();
        let running =
            Version::parse(prior.get_attr("kubernetes_version").unwrap().as_str().unwrap()).unwrap();
        let older = catalog.kubernetes_versions().iter().find(|r| r.minor < running.minor_line()).unwrap();
        let down = with(prior.clone(), "kubernetes_version", &older.latest_patch.to_string());
        let out =
            run(Some(&prior), &with(config(), "kubernetes_version", &older.latest_patch.to_string()), down);
        let (path, detail) = first_error(&out);
        assert_eq!(path, "kubernetes_version");
        assert!(detail.contains("downgrad"), "{detail}");

        // Two minors up from the oldest line of the catalog skips one.
        let oldest = catalog.kubernetes_versions().last().unwrap();
        let two_up = &catalog.kubernetes_versions()[catalog.kubernetes_versions().len() - 3];
        let prior_old = with(prior, "kubernetes_version", &oldest.latest_patch.to_string());
        let target = two_up.latest_patch.to_string();
        let out = run(
            Some(&prior_old),
            &with(config(), "kubernetes_version", &target),
            with(prior_old.clone(), "kubernetes_version", &target),
        );
        assert_eq!(first_error(&out).0, "kubernetes_version");
    }

    #[test]
    fn unset_version_keeps_the_running_one() {
        let prior = with(created(), "kubernetes_version", "1.35.9");
        let mut planned = prior.clone();
        planned.set_attr("kubernetes_version", Value::Unknown).unwrap();
        let out = run(Some(&prior), &config(), planned);
        assert_eq!(out.planned.get_attr("kubernetes_version"), Some(&Value::from("1.35.9")));
    }

    #[test]
    fn talos_never_downgrades_in_place() {
        let catalog = Catalog::embedded();
        let prior = created();
        let older = catalog.talos_versions()[1].latest_patch.to_string();
        let out = run(
            Some(&prior),
            &with(config(), "talos_version", &older),
            with(prior.clone(), "talos_version", &older),
        );
        assert_eq!(first_error(&out).0, "talos_version");
    }

    #[test]
    fn new_clusters_stay_in_the_supported_window() {
        let catalog = Catalog::embedded();
        let Some(old) =
            catalog.kubernetes_versions().iter().find(|r| !catalog.supported_kubernetes().contains(r))
        else {
            return;
        };
        let v = old.latest_patch.to_string();
        let cfg = with(config(), "kubernetes_version", &v);
        let out = run(None, &cfg, with(engine_create(&cfg), "kubernetes_version", &v));
        let errors: Vec<String> = out.diags.iter().map(|d| d.summary.clone()).collect();
        assert!(
            errors.contains(&"Kubernetes version outside the supported window".to_string()),
            "{errors:?}"
        );
    }
}
