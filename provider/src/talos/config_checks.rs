//! Validation of machine-configuration inputs and of patched configurations, shared by the
//! renderer and by plan-time checks so both report the same errors.
//!
//! Facts behind the rules:
//! - v1alpha1 top-level, `machine` and `cluster` keys: siderolabs/talos
//!   `pkg/machinery/config/types/v1alpha1/v1alpha1_types.go` (Talos rejects unknown keys);
//! - node labels a kubelet may set on its own Node: the Kubernetes NodeRestriction admission
//!   plugin (kubernetes.io docs, "Admission controllers" → NodeRestriction). Talos applies
//!   `machine.nodeLabels` with the node's own credentials on workers, so a worker label in a
//!   restricted namespace fails the whole label update (siderolabs/talos#10122, #6750);
//! - taints: keys follow label-key syntax, effects are NoSchedule, PreferNoSchedule, NoExecute.

use serde_norway::Value;

use super::error::ConfigError;
use super::machine_config::{ClusterInput, NodeInput, NodeRole};

const TOP_LEVEL_KEYS: &[&str] = &["version", "debug", "persist", "machine", "cluster"];

const MACHINE_KEYS: &[&str] = &[
    "type",
    "token",
    "ca",
    "acceptedCAs",
    "certSANs",
    "controlPlane",
    "kubelet",
    "pods",
    "network",
    "disks",
    "install",
    "files",
    "env",
    "time",
    "sysctls",
    "sysfs",
    "registries",
    "systemDiskEncryption",
    "features",
    "udev",
    "logging",
    "kernel",
    "seccompProfiles",
    "baseRuntimeSpecOverrides",
    "nodeLabels",
    "nodeAnnotations",
    "nodeTaints",
];

const CLUSTER_KEYS: &[&str] = &[
    "id",
    "secret",
    "controlPlane",
    "clusterName",
    "network",
    "token",
    "aescbcEncryptionSecret",
    "secretboxEncryptionSecret",
    "ca",
    "acceptedCAs",
    "aggregatorCA",
    "serviceAccount",
    "apiServer",
    "controllerManager",
    "proxy",
    "scheduler",
    "discovery",
    "etcd",
    "coreDNS",
    "externalCloudProvider",
    "extraManifests",
    "extraManifestHeaders",
    "inlineManifests",
    "adminKubeconfig",
    "allowSchedulingOnMasters",
    "allowSchedulingOnControlPlanes",
];

/// Paths the provider owns, with the attribute to change instead. A patch may not alter them.
pub const MANAGED_PATHS: &[(&str, &str)] = &[
    ("version", "nothing: the provider renders v1alpha1"),
    ("machine.type", "the node's role"),
    ("machine.token", "nothing: it comes from the cluster secrets"),
    ("machine.ca", "nothing: it comes from the cluster secrets"),
    ("cluster.id", "nothing: it comes from the cluster secrets"),
    ("cluster.secret", "nothing: it comes from the cluster secrets"),
    ("cluster.token", "nothing: it comes from the cluster secrets"),
    ("cluster.ca", "nothing: it comes from the cluster secrets"),
    ("cluster.aggregatorCA", "nothing: it comes from the cluster secrets"),
    ("cluster.serviceAccount", "nothing: it comes from the cluster secrets"),
    ("cluster.secretboxEncryptionSecret", "nothing: it comes from the cluster secrets"),
    ("cluster.aescbcEncryptionSecret", "nothing: it comes from the cluster secrets"),
    ("cluster.etcd.ca", "nothing: it comes from the cluster secrets"),
    ("cluster.clusterName", "`name`"),
    ("cluster.controlPlane.endpoint", "`endpoint`"),
    ("cluster.network.podSubnets", "`network.pod_cidr`"),
    ("cluster.network.serviceSubnets", "`network.service_cidr`"),
    ("cluster.network.dnsDomain", "`network.dns_domain`"),
];

/// Paths whose value must be a mapping of strings to strings (YAML `true`/`1` must be quoted).
const STRING_MAPS: &[&str] = &[
    "machine.nodeLabels",
    "machine.nodeAnnotations",
    "machine.nodeTaints",
    "machine.sysctls",
    "machine.sysfs",
    "machine.kubelet.extraArgs",
    "cluster.apiServer.extraArgs",
    "cluster.controllerManager.extraArgs",
    "cluster.scheduler.extraArgs",
    "cluster.proxy.extraArgs",
    "cluster.etcd.extraArgs",
];

/// Paths whose value must be a list of strings.
const STRING_LISTS: &[&str] = &[
    "machine.certSANs",
    "cluster.apiServer.certSANs",
    "cluster.network.podSubnets",
    "cluster.network.serviceSubnets",
];

/// Paths whose value must be a string.
const STRINGS: &[&str] =
    &["machine.install.disk", "machine.install.image", "machine.kubelet.image", "machine.network.hostname"];

/// Looks up a dotted path in a document.
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(doc, |node, key| node.as_mapping()?.get(key))
}

/// Checks a v1alpha1 document after a patch: unknown keys, managed paths changed, value types.
/// `before` is the document before the patch. Errors carry the key path and the reason.
pub fn check_patched(before: &Value, after: &Value) -> Result<(), (String, String)> {
    let Some(top) = after.as_mapping() else {
        return Err((String::new(), "the v1alpha1 document must be a mapping".into()));
    };
    for (section, allowed) in [("", TOP_LEVEL_KEYS), ("machine", MACHINE_KEYS), ("cluster", CLUSTER_KEYS)] {
        let map = if section.is_empty() { Some(top) } else { top.get(section).and_then(Value::as_mapping) };
        for key in map.into_iter().flat_map(|m| m.keys()) {
            let name = key.as_str().unwrap_or_default();
            if !allowed.contains(&name) {
                let path = if section.is_empty() { name.to_owned() } else { format!("{section}.{name}") };
                let hint =
                    closest(name, allowed).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
                return Err((path, format!("unknown field `{name}`{hint}")));
            }
        }
    }
    for (path, instead) in MANAGED_PATHS {
        if lookup(before, path) != lookup(after, path) {
            return Err(((*path).to_owned(), format!("is managed by the provider; set {instead}")));
        }
    }
    for path in STRING_MAPS {
        match lookup(after, path) {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(m)) => {
                if let Some((k, _)) = m.iter().find(|(k, v)| !k.is_string() || !v.is_string()) {
                    let key = k.as_str().map_or_else(|| "?".to_owned(), str::to_owned);
                    return Err((
                        format!("{path}.{key}"),
                        "must be a string (quote numbers and booleans)".into(),
                    ));
                }
            }
            Some(_) => return Err(((*path).to_owned(), "must be a mapping of strings".into())),
        }
    }
    for path in STRING_LISTS {
        match lookup(after, path) {
            None | Some(Value::Null) => {}
            Some(Value::Sequence(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => return Err(((*path).to_owned(), "must be a list of strings".into())),
        }
    }
    for path in STRINGS {
        if lookup(after, path).is_some_and(|v| !v.is_null() && !v.is_string()) {
            return Err(((*path).to_owned(), "must be a string".into()));
        }
    }
    Ok(())
}

/// The allowed name closest to `name` (edit distance ≤ 2), for "did you mean" hints.
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|c| (distance(&name.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn input(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Input { field: field.into(), reason: reason.into() }
}

/// A DNS-1123 label: 1-63 lowercase letters, digits and `-`, not starting or ending with `-`.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Checks a Kubernetes label key (`prefix/name` or `name`).
pub fn check_label_key(field: &str, key: &str) -> Result<(), ConfigError> {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Err(input(field, format!("label prefix `{prefix}` is not a DNS subdomain")));
    }
    if !is_label_value(name) || name.is_empty() {
        return Err(input(
            field,
            format!(
                "label name `{name}` must be 1-63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric"
            ),
        ));
    }
    Ok(())
}

/// A Kubernetes label value: empty, or ≤ 63 of `[A-Za-z0-9-_.]` starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && s.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
}

/// Whether a kubelet may set this label on its own Node (NodeRestriction admission plugin).
pub fn kubelet_may_set_label(key: &str) -> bool {
    const ALLOWED: &[&str] = &[
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    ];
    let Some((prefix, _)) = key.rsplit_once('/') else {
        return true;
    };
    let restricted = |domain: &str| prefix == domain || prefix.ends_with(&format!(".{domain}"));
    if !restricted("kubernetes.io") && !restricted("k8s.io") {
        return true;
    }
    if prefix == "node-restriction.kubernetes.io" {
        return false;
    }
    ALLOWED.contains(&key) || prefix == "kubelet.kubernetes.io" || prefix == "node.kubernetes.io"
}

/// Checks a CIDR (`10.244.0.0/16`, `fd00::/64`): a valid address and prefix length, host bits
/// clear.
pub fn check_cidr(field: &str, cidr: &str) -> Result<(), ConfigError> {
    let (addr, len) =
        cidr.split_once('/').ok_or_else(|| input(field, format!("`{cidr}` is not in CIDR notation")))?;
    let addr: std::net::IpAddr =
        addr.parse().map_err(|_| input(field, format!("`{addr}` is not an IP address")))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| input(field, format!("prefix length must be 0-{max}")))?;
    let bits = match addr {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    // Shifting the prefix out leaves the host bits (IPv4 sits in the top 32 bits).
    let host_bits = if len >= 128 { 0 } else { bits << len };
    if host_bits != 0 {
        return Err(input(field, format!("`{cidr}` has host bits set")));
    }
    Ok(())
}

/// Checks the control-plane endpoint: `https://host:port` with no path.
pub fn check_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    let rest =
        endpoint.strip_prefix("https://").ok_or_else(|| input("endpoint", "must start with https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('@') {
        return Err(input("endpoint", "must be https://HOST:PORT without a path"));
    }
    let host = endpoint_host(endpoint);
    if host.is_empty() || (host.parse::<std::net::IpAddr>().is_err() && !is_dns_subdomain(&host)) {
        return Err(input("endpoint", format!("`{host}` is neither an IP address nor a DNS name")));
    }
    let port =
        rest.strip_prefix(&format!("[{host}]")).or_else(|| rest.strip_prefix(host.as_str())).unwrap_or("");
    if let Some(port) = port.strip_prefix(':')
        && port.parse::<u16>().ok().filter(|p| *p > 0).is_none()
    {
        return Err(input("endpoint", format!("`{port}` is not a port number")));
    }
    Ok(())
}

/// The host part of `https://host:port` (IPv6 brackets removed).
pub fn endpoint_host(endpoint: &str) -> String {
    let rest = endpoint.strip_prefix("https://").unwrap_or(endpoint);
    let rest = rest.split('/').next().unwrap_or_default();
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default().to_owned();
    }
    rest.rsplit_once(':').map_or(rest, |(h, _)| h).to_owned()
}

/// Validates the typed inputs of a machine configuration; [`super::machine_config::render`]
/// runs the same checks first.
pub fn check_inputs(cluster: &ClusterInput<'_>, node: &NodeInput<'_>) -> Result<(), ConfigError> {
    if !is_dns_label(cluster.name) {
        return Err(input("name", "must be a DNS label: 1-63 lowercase letters, digits and `-`"));
    }
    check_endpoint(cluster.endpoint)?;
    let net = cluster.network;
    for (field, cidrs) in
        [("network.pod_cidrs", &net.pod_cidrs), ("network.service_cidrs", &net.service_cidrs)]
    {
        if cidrs.is_empty() {
            return Err(input(field, "at least one CIDR is required"));
        }
        for (i, cidr) in cidrs.iter().enumerate() {
            check_cidr(&format!("{field}[{i}]"), cidr)?;
        }
    }
    if let Some(cidr) = &net.node_cidr {
        check_cidr("network.node_cidr", cidr)?;
    }
    if !is_dns_subdomain(&net.dns_domain) {
        return Err(input("network.dns_domain", "must be a DNS name such as `prod-cluster.local`"));
    }
    if !node.hostname.split('.').all(is_dns_label) {
        return Err(input("hostname", format!("`{}` is not a valid hostname", node.hostname)));
    }
    if node.zone.is_empty() || !is_label_value(node.zone) {
        return Err(input("zone", "must be a label value such as AZ05"));
    }
    if !node.install_disk.starts_with("/dev/") {
        return Err(input("install_disk", "must be a device path such as /dev/sda"));
    }
    for (key, value) in node.labels {
        let field = format!("labels[\"{key}\"]");
        check_label_key(&field, key)?;
        if !is_label_value(value) {
            return Err(input(field, format!("`{value}` is not a valid label value")));
        }
        if node.role != NodeRole::ControlPlane && !kubelet_may_set_label(key) {
            return Err(input(
                field,
                "a worker node cannot set labels in the kubernetes.io and k8s.io namespaces itself \
                 (Kubernetes NodeRestriction); use another prefix",
            ));
        }
    }
    for (i, taint) in node.taints.iter().enumerate() {
        let field = format!("taints[{i}]");
        check_label_key(&field, &taint.key)?;
        if !is_label_value(&taint.value) {
            return Err(input(&field, format!("`{}` is not a valid taint value", taint.value)));
        }
        if !matches!(taint.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(input(field, "effect must be NoSchedule, PreferNoSchedule or NoExecute"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rules() {
        assert!(kubelet_may_set_label("topology.kubernetes.io/zone"));
        assert!(kubelet_may_set_label("node.kubernetes.io/role"));
        assert!(kubelet_may_set_label("example.com/rack"));
        assert!(kubelet_may_set_label("plain"));
        assert!(!kubelet_may_set_label("node-role.kubernetes.io/worker"));
        assert!(!kubelet_may_set_label("node-restriction.kubernetes.io/x"));
        assert!(!kubelet_may_set_label("k8s.io/x"));
        assert!(check_label_key("l", "example.com/a_b.c").is_ok());
        assert!(check_label_key("l", "Bad_Prefix/x").is_err());
        assert!(check_label_key("l", "x/").is_err());
        assert!(
            is_label_value("") && is_label_value("AZ05") && !is_label_value("-a") && !is_label_value("a b")
        );
    }

    #[test]
    fn cidr_and_endpoint_rules() {
        assert!(check_cidr("c", "10.244.0.0/16").is_ok());
        assert!(check_cidr("c", "fd00::/64").is_ok());
        assert!(check_cidr("c", "0.0.0.0/0").is_ok());
        assert!(check_cidr("c", "10.244.0.1/16").is_err());
        assert!(check_cidr("c", "10.244.0.0/33").is_err());
        assert!(check_cidr("c", "10.244.0.0").is_err());
        assert!(check_endpoint("https://10.20.0.20:6443").is_ok());
        assert!(check_endpoint("https://api.example.com:6443").is_ok());
        assert!(check_endpoint("https://[fd00::1]:6443").is_ok());
        assert!(check_endpoint("http://10.20.0.20:6443").is_err());
        assert!(check_endpoint("https://10.20.0.20:6443/path").is_err());
        assert!(check_endpoint("https://10.20.0.20:99999").is_err());
        assert_eq!(endpoint_host("https://[fd00::1]:6443"), "fd00::1");
        assert_eq!(endpoint_host("https://10.20.0.20:6443"), "10.20.0.20");
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let before: Value = serde_norway::from_str("version: v1alpha1\nmachine: {}\ncluster: {}\n").unwrap();
        let after: Value =
            serde_norway::from_str("version: v1alpha1\nmachine: {nodeLabel: {}}\ncluster: {}\n").unwrap();
        let (path, reason) = check_patched(&before, &after).unwrap_err();
        assert_eq!(path, "machine.nodeLabel");
        assert!(reason.contains("did you mean `nodeLabels`"), "{reason}");
    }
}
