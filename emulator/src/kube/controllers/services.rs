//! LoadBalancer Services get an address from a MetalLB `IPAddressPool` (metallb.io), once MetalLB's
//! CRD and pools exist: the pool named by the `metallb.io/address-pool` (or legacy
//! `metallb.universe.tf/address-pool`) annotation, else a pool whose `serviceAllocation`
//! selects the Service (e.g. `lb-type: external`), else a default pool (auto-assign, no selectors).

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::{Clock, Timings, write_status};
use crate::kube::meta::{labels, meta_str};
use crate::kube::selectors::LabelSelector;
use crate::kube::store::{ObjectKey, Txn};

/// Largest number of addresses considered per pool entry.
const MAX_POOL: u32 = 1 << 16;

/// The IPv4 addresses of a pool entry: `10.0.0.0/24` or `10.0.0.10-10.0.0.20`.
fn addresses(entry: &str) -> Vec<Ipv4Addr> {
    let range = if let Some((ip, bits)) = entry.split_once('/') {
        let (Ok(ip), Ok(bits)) = (ip.trim().parse::<Ipv4Addr>(), bits.trim().parse::<u32>()) else {
            return Vec::new();
        };
        if bits > 32 {
            return Vec::new();
        }
        let size = if bits == 0 { u32::MAX } else { (1u32 << (32 - bits)) - 1 };
        let base = u32::from(ip) & !size;
        (base, base.saturating_add(size))
    } else if let Some((a, b)) = entry.split_once('-') {
        let (Ok(a), Ok(b)) = (a.trim().parse::<Ipv4Addr>(), b.trim().parse::<Ipv4Addr>()) else {
            return Vec::new();
        };
        (u32::from(a), u32::from(b))
    } else {
        return Vec::new();
    };
    (range.0..=range.1.min(range.0.saturating_add(MAX_POOL))).map(Ipv4Addr::from).collect()
}

fn pool_selects(pool: &Value, svc: &Value) -> bool {
    pool.pointer("/spec/serviceAllocation/serviceSelectors").and_then(Value::as_array).is_some_and(|sels| {
        sels.iter().filter_map(LabelSelector::from_object).any(|s| !s.is_empty() && s.matches(&labels(svc)))
    })
}

fn pool_namespaces_ok(pool: &Value, ns: &str) -> bool {
    pool.pointer("/spec/serviceAllocation/namespaces")
        .and_then(Value::as_array)
        .is_none_or(|n| n.is_empty() || n.iter().any(|x| x == ns))
}

fn choose<'a>(pools: &'a [Value], svc: &Value) -> Option<&'a Value> {
    let annotations = ["metallb.io/address-pool", "metallb.universe.tf/address-pool"];
    if let Some(name) = annotations
        .iter()
        .find_map(|a| svc.pointer(&format!("/metadata/annotations/{}", a.replace('/', "~1")))?.as_str())
    {
        return pools.iter().find(|p| meta_str(p, "name") == Some(name));
    }
    let ns = meta_str(svc, "namespace").unwrap_or_default();
    let mut selecting: Vec<&Value> =
        pools.iter().filter(|p| pool_selects(p, svc) && pool_namespaces_ok(p, ns)).collect();
    selecting.sort_by_key(|p| {
        (
            p.pointer("/spec/serviceAllocation/priority").and_then(Value::as_i64).unwrap_or(i64::MAX),
            meta_str(p, "name").map(str::to_owned),
        )
    });
    if let Some(p) = selecting.first() {
        return Some(p);
    }
    pools.iter().find(|p| {
        p.pointer("/spec/autoAssign").and_then(Value::as_bool) != Some(false)
            && p.pointer("/spec/serviceAllocation/serviceSelectors")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            && pool_namespaces_ok(p, ns)
    })
}

fn ingress_ip(svc: &Value) -> Option<&str> {
    svc.pointer("/status/loadBalancer/ingress/0/ip").and_then(Value::as_str)
}

pub(super) fn reconcile(txn: &mut Txn<'_>, clock: &Clock, t: &Timings) {
    let mut pools: Vec<Value> =
        txn.list("metallb.io", "ipaddresspools", None).into_iter().map(|(_, p)| p.clone()).collect();
    if pools.is_empty() {
        return;
    }
    pools.sort_by_key(|p| meta_str(p, "name").map(str::to_owned));
    let services: Vec<(ObjectKey, Value)> =
        txn.list("", "services", None).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut used: Vec<String> =
        services.iter().filter_map(|(_, s)| ingress_ip(s).map(str::to_owned)).collect();
    for (key, svc) in services {
        let is_lb = svc.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
        let class_ok = svc
            .pointer("/spec/loadBalancerClass")
            .and_then(Value::as_str)
            .is_none_or(|c| c.contains("metallb"));
        if !is_lb || !class_ok || ingress_ip(&svc).is_some() || meta_str(&svc, "deletionTimestamp").is_some()
        {
            continue;
        }
        let Some(pool) = choose(&pools, &svc) else { continue };
        let generation = svc.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        if !clock.elapsed(&key, generation, t.scaled(t.lb_assign_ms)) {
            continue;
        }
        let candidates: Vec<Ipv4Addr> = pool
            .pointer("/spec/addresses")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).flat_map(addresses).collect())
            .unwrap_or_default();
        let wanted = svc
            .pointer("/spec/loadBalancerIP")
            .and_then(Value::as_str)
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok());
        let ip = match wanted {
            Some(w) if candidates.contains(&w) && !used.contains(&w.to_string()) => Some(w),
            Some(_) => None,
            None => candidates.into_iter().find(|c| !used.contains(&c.to_string())),
        };
        let Some(ip) = ip else { continue };
        used.push(ip.to_string());
        let mut status = svc.get("status").cloned().filter(Value::is_object).unwrap_or(json!({}));
        status["loadBalancer"] = json!({"ingress": [{"ip": ip.to_string(), "ipMode": "VIP"}]});
        write_status(txn, &key, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_parse_and_selectors_pick_the_external_pool() {
        assert_eq!(addresses("10.0.0.0/30").len(), 4);
        assert_eq!(
            addresses("10.0.0.10-10.0.0.12"),
            vec![Ipv4Addr::new(10, 0, 0, 10), Ipv4Addr::new(10, 0, 0, 11), Ipv4Addr::new(10, 0, 0, 12)]
        );
        assert!(addresses("garbage").is_empty());
        let internal = json!({"metadata": {"name": "internal"}, "spec": {"addresses": ["10.0.0.0/30"]}});
        let external = json!({"metadata": {"name": "external"}, "spec": {"addresses": ["192.0.2.0/30"], "autoAssign": false,
            "serviceAllocation": {"serviceSelectors": [{"matchLabels": {"lb-type": "external"}}]}}});
        let pools = vec![external, internal];
        let plain = json!({"metadata": {"name": "a", "namespace": "x"}});
        let ext = json!({"metadata": {"name": "b", "namespace": "x", "labels": {"lb-type": "external"}}});
        assert_eq!(choose(&pools, &plain).and_then(|p| meta_str(p, "name")), Some("internal"));
        assert_eq!(choose(&pools, &ext).and_then(|p| meta_str(p, "name")), Some("external"));
    }
}
