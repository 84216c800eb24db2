//! Talos v1alpha1 machine configurations for control planes and for the pool roles (worker,
//! storage, gpu), from typed inputs plus user `config_patches`, as deterministic YAML with a
//! SHA-256 hash of the normalised documents for drift detection.
//!
//! The document follows what `talosctl gen config` writes for the supported lines (1.11 to
//! 1.14; siderolabs/talos `pkg/machinery/config/generate/{init,worker}.go`): machine CA (with
//! key on control planes, certificate only on workers), trustd token, kubelet image
//! `ghcr.io/siderolabs/kubelet:vX.Y.Z`, installer `ghcr.io/siderolabs/installer:vX.Y.Z`, the
//! default-on features (RBAC, stable hostname, apid extended key usage check, disk quota,
//! KubePrism on 7445, host DNS forwarding), control-plane images from `registry.k8s.io`, the
//! PodSecurity admission defaults, and the cluster secrets. Version-specific: on Talos 1.14+ it
//! never uses the deprecated `cluster.inlineManifests`/`extraManifests` (platform components
//! are add-ons), and patches that set them produce warnings.
//!
//! Product choices (Cloud Temple): CNI `none` by default (Cilium is an add-on), DNS domain
//! `<name>-cluster.local`, labels `topology.kubernetes.io/region=FR1` and
//! `topology.kubernetes.io/zone=<zone>`; the discovery service is disabled so nodes never call
//! the public discovery endpoint. Worker taints are registered by the kubelet at first
//! registration (`registerWithTaints`), because NodeRestriction forbids a worker from changing
//! taints afterwards; role labels (`node-role.kubernetes.io/<role>`) cannot be self-applied by
//! a worker and are returned in [`RenderedConfig::admin_labels`] for the Kubernetes client.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_norway::{Mapping, Value};

use super::config_checks::{self, endpoint_host};
use super::error::ConfigError;
use super::patch;
use super::pem;
use super::pki::CaKind;
use super::secrets::{EncryptionSecret, SecretsBundle};
use super::sensitive::Sensitive;
use super::version::TalosContract;
use crate::catalog::Version;

pub use super::config_checks::check_inputs;
pub use super::config_hash::config_hash;

/// The region label value of every Cloud Temple node (AZ05, AZ06, AZ07 are in FR1).
pub const REGION: &str = "FR1";
/// KubePrism's default port (`constants.DefaultKubePrismPort`).
pub const KUBEPRISM_PORT: u16 = 7445;

/// Cluster-wide inputs.
#[derive(Debug, Clone)]
pub struct ClusterInput<'a> {
    /// Cluster name (DNS label).
    pub name: &'a str,
    /// Kubernetes API endpoint, `https://VIP:6443`.
    pub endpoint: &'a str,
    /// Kubernetes release for the control-plane and kubelet images.
    pub kubernetes_version: Version,
    /// Talos release for the installer image and version-specific rendering.
    pub talos_version: Version,
    /// Cluster networking.
    pub network: &'a ClusterNetwork,
}

/// Cluster networking inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNetwork {
    /// Pod CIDRs (one per IP family).
    pub pod_cidrs: Vec<String>,
    /// Service CIDRs (one per IP family).
    pub service_cidrs: Vec<String>,
    /// Cluster DNS domain; the product default is [`ClusterNetwork::default_dns_domain`].
    pub dns_domain: String,
    /// The nodes' CIDR; when set, kubelet and etcd pick their address from it.
    pub node_cidr: Option<String>,
    /// CNI installed by Talos.
    pub cni: Cni,
    /// Whether Talos deploys kube-proxy (off when Cilium replaces it).
    pub kube_proxy: bool,
}

impl ClusterNetwork {
    /// `<name>-cluster.local`, the Cloud Temple cluster domain.
    pub fn default_dns_domain(cluster_name: &str) -> String {
        format!("{cluster_name}-cluster.local")
    }
}

/// CNI choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cni {
    /// No CNI from Talos: Cilium is installed as an add-on.
    None,
    /// Talos's built-in Flannel.
    Flannel,
}

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    /// etcd + Kubernetes control plane.
    ControlPlane,
    /// General workloads.
    Worker,
    /// Dedicated Ceph storage node (a worker).
    Storage,
    /// NVIDIA GPU node (a worker with the NVIDIA kernel modules).
    Gpu,
}

impl NodeRole {
    /// The role name used in labels and attributes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ControlPlane => "control-plane",
            Self::Worker => "worker",
            Self::Storage => "storage",
            Self::Gpu => "gpu",
        }
    }

    /// Talos machine type.
    pub const fn machine_type(self) -> &'static str {
        match self {
            Self::ControlPlane => "controlplane",
            _ => "worker",
        }
    }
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Taint {
    /// Taint key (label-key syntax).
    pub key: String,
    /// Taint value (label-value syntax, may be empty).
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Per-node inputs.
#[derive(Debug, Clone)]
pub struct NodeInput<'a> {
    /// The node's address on the node network (also a certificate SAN).
    pub address: IpAddr,
    /// Hostname (DNS label).
    pub hostname: &'a str,
    /// Availability zone (AZ05, AZ06, AZ07).
    pub zone: &'a str,
    /// Install disk, e.g. `/dev/sda`.
    pub install_disk: &'a str,
    /// Role.
    pub role: NodeRole,
    /// Extra node labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Taints.
    pub taints: &'a [Taint],
    /// Installer image repository override (e.g. an Image Factory schematic for GPU nodes),
    /// without tag; the Talos version is appended.
    pub installer_repository: Option<&'a str>,
}

/// A rendered configuration. `yaml` holds keys on control planes: keep it sensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedConfig {
    /// The configuration documents, YAML, `---`-separated.
    pub yaml: Sensitive,
    /// Hex SHA-256 of the normalised documents ([`config_hash`]).
    pub hash: String,
    /// Non-fatal findings to show as plan warnings.
    pub warnings: Vec<String>,
    /// Labels the node cannot set itself; apply them with an admin Kubernetes client.
    pub admin_labels: BTreeMap<String, String>,
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in entries {
        if !v.is_null() {
            m.insert(s(k), v);
        }
    }
    Value::Mapping(m)
}

fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value::Sequence(items.into_iter().map(Value::String).collect())
}

fn string_map<'k>(entries: impl IntoIterator<Item = (&'k String, &'k String)>) -> Value {
    Value::Mapping(entries.into_iter().map(|(k, v)| (s(k.as_str()), s(v.as_str()))).collect())
}

/// Secret values in the base document: the real bundle when rendering, placeholders when only
/// validating patches at plan time (before the bundle exists).
struct SecretFields {
    trustd_token: String,
    bootstrap_token: String,
    cluster_id: String,
    cluster_secret: String,
    encryption: (String, String),
    ca: [(String, String); 4],
    service_account_key: String,
}

impl SecretFields {
    fn from_bundle(secrets: &SecretsBundle) -> Self {
        let ca = |kind| {
            let ca = secrets.ca(kind);
            (pem::to_field(ca.cert_pem()), pem::to_field(ca.key().to_pem().expose()))
        };
        let encryption = match secrets.encryption() {
            EncryptionSecret::Secretbox(v) => ("secretboxEncryptionSecret".to_owned(), v.expose().to_owned()),
            EncryptionSecret::AesCbc(v) => ("aescbcEncryptionSecret".to_owned(), v.expose().to_owned()),
        };
        Self {
            trustd_token: secrets.trustd_token().expose().to_owned(),
            bootstrap_token: secrets.bootstrap_token().expose().to_owned(),
            cluster_id: secrets.cluster_id().to_owned(),
            cluster_secret: secrets.cluster_secret().expose().to_owned(),
            encryption,
            ca: [ca(CaKind::Os), ca(CaKind::Kubernetes), ca(CaKind::Aggregator), ca(CaKind::Etcd)],
            service_account_key: pem::to_field(secrets.service_account_key().to_pem().expose()),
        }
    }

    fn placeholders() -> Self {
        let p = || "(generated)".to_owned();
        Self {
            trustd_token: p(),
            bootstrap_token: p(),
            cluster_id: p(),
            cluster_secret: p(),
            encryption: ("secretboxEncryptionSecret".to_owned(), p()),
            ca: [(p(), p()), (p(), p()), (p(), p()), (p(), p())],
            service_account_key: p(),
        }
    }
}

/// The v1alpha1 document before patches.
fn base_document(cluster: &ClusterInput<'_>, node: &NodeInput<'_>, secrets: &SecretFields) -> Value {
    let k8s = cluster.kubernetes_version.to_tag();
    let cp = node.role == NodeRole::ControlPlane;
    let net = cluster.network;
    let [os_ca, k8s_ca, aggregator_ca, etcd_ca] = &secrets.ca;
    let crt_key = |pair: &(String, String), with_key: bool| {
        map([("crt", s(pair.0.as_str())), ("key", if with_key { s(pair.1.as_str()) } else { Value::Null })])
    };
    let valid_subnets = || net.node_cidr.iter().cloned().map(Value::String).collect::<Vec<_>>();

    let mut labels: BTreeMap<String, String> = node.labels.clone();
    labels.insert("topology.kubernetes.io/region".into(), REGION.into());
    labels.insert("topology.kubernetes.io/zone".into(), node.zone.into());
    if cp {
        // Talos adds this label to control planes from the 1.8 contract on.
        labels.insert("node.kubernetes.io/exclude-from-external-load-balancers".into(), String::new());
    }
    let taints: Vec<&Taint> = node.taints.iter().collect();
    // Talos writes `key: value:Effect`; control planes apply taints with their own admin access.
    let node_taints = if cp && !taints.is_empty() {
        Value::Mapping(
            taints.iter().map(|t| (s(t.key.as_str()), s(format!("{}:{}", t.value, t.effect)))).collect(),
        )
    } else {
        Value::Null
    };
    let register_with_taints = (!cp && !taints.is_empty()).then(|| {
        map([(
            "registerWithTaints",
            Value::Sequence(
                taints
                    .iter()
                    .map(|t| {
                        map([
                            ("key", s(t.key.as_str())),
                            ("value", s(t.value.as_str())),
                            ("effect", s(t.effect.as_str())),
                        ])
                    })
                    .collect(),
            ),
        )])
    });
    let installer = node.installer_repository.unwrap_or("ghcr.io/siderolabs/installer");
    let gpu = node.role == NodeRole::Gpu;

    let machine = map([
        ("type", s(node.role.machine_type())),
        ("token", s(secrets.trustd_token.as_str())),
        ("ca", crt_key(os_ca, cp)),
        ("certSANs", list(dedup([node.address.to_string(), endpoint_host(cluster.endpoint)]))),
        (
            "kubelet",
            map([
                ("image", s(format!("ghcr.io/siderolabs/kubelet:{k8s}"))),
                ("defaultRuntimeSeccompProfileEnabled", Value::Bool(true)),
                ("disableManifestsDirectory", Value::Bool(true)),
                (
                    "nodeIP",
                    if net.node_cidr.is_some() {
                        map([("validSubnets", Value::Sequence(valid_subnets()))])
                    } else {
                        Value::Null
                    },
                ),
                ("extraConfig", register_with_taints.unwrap_or(Value::Null)),
            ]),
        ),
        ("network", map([("hostname", s(node.hostname))])),
        (
            "install",
            map([
                ("disk", s(node.install_disk)),
                ("image", s(format!("{installer}:{}", cluster.talos_version.to_tag()))),
                ("wipe", Value::Bool(false)),
            ]),
        ),
        (
            "features",
            map([
                ("rbac", Value::Bool(true)),
                ("stableHostname", Value::Bool(true)),
                ("apidCheckExtKeyUsage", Value::Bool(true)),
                ("diskQuotaSupport", Value::Bool(true)),
                (
                    "kubePrism",
                    map([
                        ("enabled", Value::Bool(true)),
                        ("port", Value::Number(u64::from(KUBEPRISM_PORT).into())),
                    ]),
                ),
                (
                    "hostDNS",
                    map([("enabled", Value::Bool(true)), ("forwardKubeDNSToHost", Value::Bool(true))]),
                ),
            ]),
        ),
        // NVIDIA proprietary driver modules and the BPF hardening they need (Talos docs,
        // "NVIDIA GPU (Proprietary drivers)"); the drivers come from the installer's extensions.
        (
            "kernel",
            if gpu {
                map([(
                    "modules",
                    Value::Sequence(
                        ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"]
                            .map(|m| map([("name", s(m))]))
                            .to_vec(),
                    ),
                )])
            } else {
                Value::Null
            },
        ),
        ("sysctls", if gpu { map([("net.core.bpf_jit_harden", s("1"))]) } else { Value::Null }),
        ("nodeLabels", string_map(&labels)),
        ("nodeTaints", node_taints),
    ]);

    let image = |component: &str| map([("image", s(format!("registry.k8s.io/{component}:{k8s}")))]);
    let pod_security = map([
        ("apiVersion", s("pod-security.admission.config.k8s.io/v1alpha1")),
        ("kind", s("PodSecurityConfiguration")),
        (
            "defaults",
            map([
                ("enforce", s("baseline")),
                ("enforce-version", s("latest")),
                ("audit", s("restricted")),
                ("audit-version", s("latest")),
                ("warn", s("restricted")),
                ("warn-version", s("latest")),
            ]),
        ),
        (
            "exemptions",
            map([
                ("usernames", list([])),
                ("runtimeClasses", list([])),
                ("namespaces", list(["kube-system".to_owned()])),
            ]),
        ),
    ]);
    let cni = match net.cni {
        Cni::None => "none",
        Cni::Flannel => "flannel",
    };
    let cp_only = |v: Value| if cp { v } else { Value::Null };
    let cluster_doc = map([
        ("id", s(secrets.cluster_id.as_str())),
        ("secret", s(secrets.cluster_secret.as_str())),
        ("controlPlane", map([("endpoint", s(cluster.endpoint))])),
        ("clusterName", s(cluster.name)),
        (
            "network",
            map([
                ("cni", map([("name", s(cni))])),
                ("dnsDomain", s(net.dns_domain.as_str())),
                ("podSubnets", list(net.pod_cidrs.iter().cloned())),
                ("serviceSubnets", list(net.service_cidrs.iter().cloned())),
            ]),
        ),
        ("token", s(secrets.bootstrap_token.as_str())),
        (secrets.encryption.0.as_str(), cp_only(s(secrets.encryption.1.as_str()))),
        ("ca", crt_key(k8s_ca, cp)),
        ("aggregatorCA", cp_only(crt_key(aggregator_ca, true))),
        ("serviceAccount", cp_only(map([("key", s(secrets.service_account_key.as_str()))]))),
        (
            "apiServer",
            cp_only(map([
                ("image", s(format!("registry.k8s.io/kube-apiserver:{k8s}"))),
                ("certSANs", list([endpoint_host(cluster.endpoint)])),
                (
                    "admissionControl",
                    Value::Sequence(vec![map([("name", s("PodSecurity")), ("configuration", pod_security)])]),
                ),
            ])),
        ),
        ("controllerManager", cp_only(image("kube-controller-manager"))),
        (
            "proxy",
            cp_only(map([
                ("image", s(format!("registry.k8s.io/kube-proxy:{k8s}"))),
                ("disabled", if net.kube_proxy { Value::Null } else { Value::Bool(true) }),
            ])),
        ),
        ("scheduler", cp_only(image("kube-scheduler"))),
        ("discovery", map([("enabled", Value::Bool(false))])),
        (
            "etcd",
            cp_only(map([
                ("ca", crt_key(etcd_ca, true)),
                (
                    "advertisedSubnets",
                    if net.node_cidr.is_some() { Value::Sequence(valid_subnets()) } else { Value::Null },
                ),
            ])),
        ),
    ]);
    map([
        ("version", s("v1alpha1")),
        ("debug", Value::Bool(false)),
        ("machine", machine),
        ("cluster", cluster_doc),
    ])
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Applies `patches` in order, checking the v1alpha1 document after each one so that an error
/// names the patch that caused it. Returns the warnings.
fn apply_patches(
    docs: &mut Vec<Value>,
    patches: &[String],
    contract: TalosContract,
) -> Result<Vec<String>, ConfigError> {
    let mut warnings = Vec::new();
    for (index, text) in patches.iter().enumerate() {
        let fail = |(path, reason): patch::Problem| ConfigError::Patch { index, path, reason };
        let parsed = patch::parse(text).map_err(fail)?;
        let before = docs.first().cloned().unwrap_or(Value::Null);
        patch::apply(&parsed, docs).map_err(fail)?;
        let after = docs.first().cloned().unwrap_or(Value::Null);
        config_checks::check_patched(&before, &after).map_err(fail)?;
        for path in contract.deprecated_paths() {
            if config_checks::lookup(&before, path) != config_checks::lookup(&after, path) {
                warnings.push(format!(
                    "config_patches[{index}] sets `{path}`, deprecated since Talos 1.14; install manifests with \
                     cloudtemple_kubernetes_manifest or an add-on instead"
                ));
            }
        }
    }
    Ok(warnings)
}

/// Renders the configuration of one node.
pub fn render(
    cluster: &ClusterInput<'_>,
    node: &NodeInput<'_>,
    secrets: &SecretsBundle,
    patches: &[String],
) -> Result<RenderedConfig, ConfigError> {
    check_inputs(cluster, node)?;
    let contract = TalosContract::of(cluster.talos_version);
    let mut docs = vec![base_document(cluster, node, &SecretFields::from_bundle(secrets))];
    let mut warnings = apply_patches(&mut docs, patches, contract)?;
    if node.role == NodeRole::Gpu && node.installer_repository.is_none() {
        warnings.push(format!(
            "node {}: GPU nodes need an installer image that contains the NVIDIA system extensions \
             (nonfree-kmod-nvidia, nvidia-container-toolkit), built with the Talos Image Factory",
            node.hostname
        ));
    }
    let mut yaml = String::new();
    for doc in &docs {
        if !yaml.is_empty() {
            yaml.push_str("---\n");
        }
        yaml.push_str(&serde_norway::to_string(doc).map_err(|e| ConfigError::Yaml(e.to_string()))?);
    }
    let admin_labels = match node.role {
        NodeRole::ControlPlane => BTreeMap::new(),
        role => BTreeMap::from([(format!("node-role.kubernetes.io/{}", role.as_str()), String::new())]),
    };
    Ok(RenderedConfig {
        hash: super::config_hash::hash_documents(&docs)?,
        yaml: Sensitive::new(yaml),
        warnings,
        admin_labels,
    })
}

/// The documents this node would get, with placeholder secrets: what plan compares between
/// the prior and the planned configuration to tell which changes need a reboot (see
/// [`super::version::reboot_reason`]). Placeholders are the same on both sides, so only real
/// changes show.
pub fn preview(
    cluster: &ClusterInput<'_>,
    node: &NodeInput<'_>,
    patches: &[String],
) -> Result<Vec<Value>, ConfigError> {
    check_inputs(cluster, node)?;
    let mut docs = vec![base_document(cluster, node, &SecretFields::placeholders())];
    apply_patches(&mut docs, patches, TalosContract::of(cluster.talos_version))?;
    Ok(docs)
}

/// Checks `patches` at plan time, before the cluster secrets exist, against the configuration
/// this node would get. Returns the same errors and warnings [`render`] would.
pub fn check_patches(
    cluster: &ClusterInput<'_>,
    node: &NodeInput<'_>,
    patches: &[String],
) -> Result<Vec<String>, ConfigError> {
    check_inputs(cluster, node)?;
    let mut docs = vec![base_document(cluster, node, &SecretFields::placeholders())];
    apply_patches(&mut docs, patches, TalosContract::of(cluster.talos_version))
}
