//! The Kubernetes side of a machine configuration: what the node's kubelet registers (labels,
//! taints, version) and what the control plane runs (API server version and SANs, kube-proxy,
//! CoreDNS, CNI), read from the v1alpha1 document the way Talos validates it.

use serde_norway::Value;

use super::{at, str_at};
use crate::error::{Error, Result};

/// Taint effects Kubernetes accepts.
const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// One taint: key, value (may be empty) and effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value (`""` when none).
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Kubernetes facts of one machine configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeSettings {
    /// `machine.nodeLabels`, in document order.
    pub node_labels: Vec<(String, String)>,
    /// `machine.nodeTaints` (`key: value:Effect`) and
    /// `machine.kubelet.extraConfig.registerWithTaints`.
    pub node_taints: Vec<Taint>,
    /// The tag of `machine.kubelet.image` (`v1.32.3`), when set.
    pub kubelet_version: Option<String>,
    /// The tag of `cluster.apiServer.image`, when set (control planes).
    pub apiserver_version: Option<String>,
    /// `cluster.apiServer.certSANs`.
    pub apiserver_cert_sans: Vec<String>,
    /// `cluster.allowSchedulingOnControlPlanes` (or the deprecated `allowSchedulingOnMasters`).
    pub allow_scheduling_on_control_planes: bool,
    /// `cluster.proxy.disabled`.
    pub proxy_disabled: bool,
    /// `cluster.coreDNS.disabled`.
    pub coredns_disabled: bool,
}

impl KubeSettings {
    /// Reads the settings from the v1alpha1 document.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for labels or taints that are not strings, or a taint effect
    /// Kubernetes does not know.
    pub(super) fn read(root: &Value) -> Result<Self> {
        let node_labels = string_map(root, &["machine", "nodeLabels"])?;
        let mut node_taints = Vec::new();
        for (key, spec) in string_map(root, &["machine", "nodeTaints"])? {
            let (value, effect) = spec.rsplit_once(':').unwrap_or(("", spec.as_str()));
            node_taints.push(taint(&key, value, effect, "machine.nodeTaints")?);
        }
        let registered = at(root, &["machine", "kubelet", "extraConfig", "registerWithTaints"]);
        for t in registered.and_then(Value::as_sequence).into_iter().flatten() {
            let field = |name: &str| t.get(name).and_then(Value::as_str).unwrap_or_default();
            node_taints.push(taint(
                field("key"),
                field("value"),
                field("effect"),
                "machine.kubelet.extraConfig.registerWithTaints",
            )?);
        }
        let flag = |path: &[&str]| at(root, path).and_then(Value::as_bool).unwrap_or(false);
        Ok(Self {
            node_labels,
            node_taints,
            kubelet_version: str_at(root, &["machine", "kubelet", "image"]).and_then(image_tag),
            apiserver_version: str_at(root, &["cluster", "apiServer", "image"]).and_then(image_tag),
            apiserver_cert_sans: at(root, &["cluster", "apiServer", "certSANs"])
                .and_then(Value::as_sequence)
                .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            allow_scheduling_on_control_planes: flag(&["cluster", "allowSchedulingOnControlPlanes"])
                || flag(&["cluster", "allowSchedulingOnMasters"]),
            proxy_disabled: flag(&["cluster", "proxy", "disabled"]),
            coredns_disabled: flag(&["cluster", "coreDNS", "disabled"]),
        })
    }
}

fn taint(key: &str, value: &str, effect: &str, field: &str) -> Result<Taint> {
    if key.is_empty() {
        return Err(Error::InvalidConfig(format!("{field}: a taint needs a key")));
    }
    if !EFFECTS.contains(&effect) {
        return Err(Error::InvalidConfig(format!(
            "{field}: taint {key:?} has effect {effect:?}, expected one of {EFFECTS:?}"
        )));
    }
    Ok(Taint { key: key.to_owned(), value: value.to_owned(), effect: effect.to_owned() })
}

fn string_map(root: &Value, path: &[&str]) -> Result<Vec<(String, String)>> {
    let Some(value) = at(root, path).filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let name = path.join(".");
    let map = value.as_mapping().ok_or_else(|| Error::InvalidConfig(format!("{name} must be a map")))?;
    map.iter()
        .map(|(k, v)| {
            let key =
                k.as_str().ok_or_else(|| Error::InvalidConfig(format!("{name}: keys must be strings")))?;
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Err(Error::InvalidConfig(format!("{name}.{key} must be a string"))),
            };
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// The tag of an image reference (`registry.k8s.io/kube-apiserver:v1.32.3@sha256:...` → `v1.32.3`).
pub fn image_tag(image: &str) -> Option<String> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    let (_, tag) = last.rsplit_once(':')?;
    (!tag.is_empty()).then(|| tag.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<KubeSettings> {
        KubeSettings::read(&serde_norway::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn labels_taints_and_versions() {
        let s = read(
            "machine:\n  nodeLabels:\n    topology.kubernetes.io/zone: az1\n    empty: \"\"\n  nodeTaints:\n    dedicated: gpu:NoSchedule\n    bare: NoExecute\n  kubelet:\n    image: ghcr.io/siderolabs/kubelet:v1.32.3\n    extraConfig:\n      registerWithTaints:\n      - {key: storage, value: ceph, effect: NoSchedule}\ncluster:\n  apiServer:\n    image: registry.k8s.io/kube-apiserver:v1.32.2@sha256:00\n    certSANs: [api.example]\n  allowSchedulingOnMasters: true\n  proxy: {disabled: true}\n",
        )
        .expect("valid");
        assert_eq!(s.node_labels[0], ("topology.kubernetes.io/zone".to_owned(), "az1".to_owned()));
        let taints: Vec<(&str, &str, &str)> =
            s.node_taints.iter().map(|t| (t.key.as_str(), t.value.as_str(), t.effect.as_str())).collect();
        assert_eq!(
            taints,
            [
                ("dedicated", "gpu", "NoSchedule"),
                ("bare", "", "NoExecute"),
                ("storage", "ceph", "NoSchedule")
            ]
        );
        assert_eq!(s.kubelet_version.as_deref(), Some("v1.32.3"));
        assert_eq!(s.apiserver_version.as_deref(), Some("v1.32.2"));
        assert_eq!(s.apiserver_cert_sans, ["api.example"]);
        assert!(s.allow_scheduling_on_control_planes && s.proxy_disabled && !s.coredns_disabled);
        assert_eq!(read("machine: {}\n").expect("empty"), KubeSettings::default());
    }

    #[test]
    fn bad_taints_and_labels_are_config_errors() {
        let e = read("machine:\n  nodeTaints:\n    a: b:Sometimes\n").expect_err("effect");
        assert!(e.to_string().contains("Sometimes"), "{e}");
        assert!(read("machine:\n  nodeLabels: [a]\n").is_err());
        assert!(read("machine:\n  nodeLabels:\n    a: {b: c}\n").is_err());
        assert_eq!(image_tag("localhost:5000/kubelet"), None);
    }
}
