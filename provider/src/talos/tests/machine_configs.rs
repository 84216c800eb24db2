//! Machine configurations: fields per role, patches (merge, JSON, errors with index and path),
//! version-specific warnings, determinism and the normalised hash.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::bundle;
use crate::catalog::Version;
use crate::talos::error::ConfigError;
use crate::talos::machine_config::{
    ClusterInput, ClusterNetwork, Cni, NodeInput, NodeRole, RenderedConfig, Taint, check_patches,
    config_hash, render,
};
use crate::talos::pem;
use crate::talos::pki::CaKind;

fn network() -> ClusterNetwork {
    ClusterNetwork {
        pod_cidrs: vec!["10.241.0.0/16".into()],
        service_cidrs: vec!["10.96.0.0/12".into()],
        dns_domain: ClusterNetwork::default_dns_domain("ctodev"),
        node_cidr: Some("10.20.0.0/22".into()),
        cni: Cni::None,
        kube_proxy: true,
    }
}

fn cluster(net: &ClusterNetwork, talos: &str) -> ClusterInput<'static> {
    let net: &'static ClusterNetwork = Box::leak(Box::new(net.clone()));
    ClusterInput {
        name: "ctodev",
        endpoint: "https://10.20.0.20:6443",
        kubernetes_version: Version::parse("1.36.2").unwrap(),
        talos_version: Version::parse(talos).unwrap(),
        network: net,
    }
}

fn node<'a>(role: NodeRole, labels: &'a BTreeMap<String, String>, taints: &'a [Taint]) -> NodeInput<'a> {
    NodeInput {
        address: "10.20.0.21".parse().unwrap(),
        hostname: "cp-1",
        zone: "AZ05",
        install_disk: "/dev/sda",
        role,
        labels,
        taints,
        installer_repository: None,
    }
}

fn render_role(role: NodeRole, patches: &[&str]) -> Result<RenderedConfig, ConfigError> {
    let labels = BTreeMap::new();
    let patches: Vec<String> = patches.iter().map(|p| (*p).to_owned()).collect();
    render(&cluster(&network(), "1.14.1"), &node(role, &labels, &[]), bundle(), &patches)
}

/// The v1alpha1 document (the first one).
fn doc(rendered: &RenderedConfig) -> Value {
    crate::talos::patch::parse_documents(rendered.yaml.expose()).unwrap().remove(0)
}

fn at<'v>(v: &'v Value, path: &str) -> &'v Value {
    crate::talos::config_checks::lookup(v, path).unwrap_or_else(|| panic!("missing `{path}`"))
}

/// A key that itself contains dots (labels, sysctls) under `path`.
fn entry(v: &Value, path: &str, key: &str) -> String {
    at(v, path)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing `{path}` entry `{key}`"))
        .to_owned()
}

fn text(v: &Value, path: &str) -> String {
    at(v, path).as_str().unwrap_or_else(|| panic!("`{path}` is not a string")).to_owned()
}

#[test]
fn control_plane_has_images_secrets_and_network() {
    let rendered = render_role(NodeRole::ControlPlane, &[]).unwrap();
    let d = doc(&rendered);
    assert_eq!(text(&d, "version"), "v1alpha1");
    assert_eq!(text(&d, "machine.type"), "controlplane");
    assert_eq!(text(&d, "machine.kubelet.image"), "ghcr.io/siderolabs/kubelet:v1.36.2");
    assert_eq!(text(&d, "machine.install.image"), "ghcr.io/siderolabs/installer:v1.14.1");
    assert_eq!(text(&d, "machine.install.disk"), "/dev/sda");
    assert_eq!(text(&d, "machine.network.hostname"), "cp-1");
    assert_eq!(
        at(&d, "machine.certSANs"),
        &serde_norway::from_str::<Value>("[10.20.0.21, 10.20.0.20]").unwrap()
    );
    assert_eq!(entry(&d, "machine.nodeLabels", "topology.kubernetes.io/zone"), "AZ05");
    for (component, path) in [
        ("kube-apiserver", "cluster.apiServer.image"),
        ("kube-controller-manager", "cluster.controllerManager.image"),
        ("kube-scheduler", "cluster.scheduler.image"),
        ("kube-proxy", "cluster.proxy.image"),
    ] {
        assert_eq!(text(&d, path), format!("registry.k8s.io/{component}:v1.36.2"));
    }
    assert_eq!(text(&d, "cluster.controlPlane.endpoint"), "https://10.20.0.20:6443");
    assert_eq!(text(&d, "cluster.clusterName"), "ctodev");
    assert_eq!(text(&d, "cluster.network.dnsDomain"), "ctodev-cluster.local");
    assert_eq!(text(&d, "cluster.network.cni.name"), "none");
    assert_eq!(at(&d, "cluster.network.podSubnets"), &Value::Sequence(vec!["10.241.0.0/16".into()]));
    assert_eq!(at(&d, "cluster.etcd.advertisedSubnets"), &Value::Sequence(vec!["10.20.0.0/22".into()]));
    assert_eq!(text(&d, "cluster.token"), bundle().bootstrap_token().expose());
    assert_eq!(text(&d, "machine.token"), bundle().trustd_token().expose());
    assert_eq!(text(&d, "cluster.ca.crt"), pem::to_field(bundle().ca(CaKind::Kubernetes).cert_pem()));
    assert_eq!(
        text(&d, "cluster.ca.key"),
        pem::to_field(bundle().ca(CaKind::Kubernetes).key().to_pem().expose())
    );
    assert_eq!(text(&d, "machine.ca.key"), pem::to_field(bundle().ca(CaKind::Os).key().to_pem().expose()));
    for path in [
        "cluster.aggregatorCA.key",
        "cluster.serviceAccount.key",
        "cluster.etcd.ca.key",
        "cluster.secretboxEncryptionSecret",
    ] {
        at(&d, path);
    }
    // 1.14+: no deprecated manifests fields.
    let yaml = rendered.yaml.expose();
    assert!(!yaml.contains("inlineManifests") && !yaml.contains("extraManifests"));
    assert!(rendered.admin_labels.is_empty() && rendered.warnings.is_empty());
}

#[test]
fn workers_carry_no_ca_keys() {
    for role in [NodeRole::Worker, NodeRole::Storage, NodeRole::Gpu] {
        let rendered = render_role(role, &[]).unwrap();
        let d = doc(&rendered);
        assert_eq!(text(&d, "machine.type"), "worker", "{role:?}");
        assert!(crate::talos::config_checks::lookup(&d, "machine.ca.key").is_none(), "{role:?}");
        assert!(crate::talos::config_checks::lookup(&d, "cluster.ca.key").is_none(), "{role:?}");
        for absent in [
            "cluster.aggregatorCA",
            "cluster.serviceAccount",
            "cluster.etcd",
            "cluster.apiServer",
            "cluster.secretboxEncryptionSecret",
        ] {
            assert!(crate::talos::config_checks::lookup(&d, absent).is_none(), "{role:?} has {absent}");
        }
        assert_eq!(text(&d, "machine.ca.crt"), pem::to_field(bundle().ca(CaKind::Os).cert_pem()));
        assert_eq!(text(&d, "cluster.clusterName"), "ctodev");
        let key = format!("node-role.kubernetes.io/{}", role.as_str());
        assert_eq!(rendered.admin_labels.get(&key).map(String::as_str), Some(""), "{role:?}");
        for (kind, _) in [(CaKind::Os, ()), (CaKind::Kubernetes, ()), (CaKind::Etcd, ())] {
            let key_pem = bundle().ca(kind).key().to_pem();
            assert!(
                !rendered.yaml.expose().contains(&pem::to_field(key_pem.expose())),
                "{role:?} leaks a CA key"
            );
        }
    }
}

#[test]
fn gpu_and_taints_per_role() {
    let gpu = render_role(NodeRole::Gpu, &[]).unwrap();
    let d = doc(&gpu);
    let modules: Vec<String> =
        at(&d, "machine.kernel.modules").as_sequence().unwrap().iter().map(|m| text(m, "name")).collect();
    assert_eq!(modules, ["nvidia", "nvidia_uvm", "nvidia_drm", "nvidia_modeset"]);
    assert_eq!(entry(&d, "machine.sysctls", "net.core.bpf_jit_harden"), "1");
    assert!(gpu.warnings.iter().any(|w| w.contains("NVIDIA system extensions")));

    let labels = BTreeMap::from([("ceph-osd".to_owned(), "true".to_owned())]);
    let taints = [Taint {
        key: "node-role.kubernetes.io/storage".into(),
        value: String::new(),
        effect: "NoSchedule".into(),
    }];
    let storage =
        render(&cluster(&network(), "1.14.1"), &node(NodeRole::Storage, &labels, &taints), bundle(), &[])
            .unwrap();
    let d = doc(&storage);
    assert_eq!(entry(&d, "machine.nodeLabels", "ceph-osd"), "true");
    let registered = &at(&d, "machine.kubelet.extraConfig.registerWithTaints").as_sequence().unwrap()[0];
    assert_eq!(text(registered, "key"), "node-role.kubernetes.io/storage");
    assert_eq!(text(registered, "effect"), "NoSchedule");
    assert!(crate::talos::config_checks::lookup(&d, "machine.nodeTaints").is_none());

    let cp = render(
        &cluster(&network(), "1.14.1"),
        &node(NodeRole::ControlPlane, &labels, &taints),
        bundle(),
        &[],
    )
    .unwrap();
    assert_eq!(entry(&doc(&cp), "machine.nodeTaints", "node-role.kubernetes.io/storage"), ":NoSchedule");
}

#[test]
fn invalid_inputs_are_rejected_with_the_field() {
    let restricted = BTreeMap::from([("node-role.kubernetes.io/worker".to_owned(), String::new())]);
    let err =
        render(&cluster(&network(), "1.14.1"), &node(NodeRole::Worker, &restricted, &[]), bundle(), &[])
            .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Input { field, .. } if field == "labels[\"node-role.kubernetes.io/worker\"]"),
        "{err}"
    );
    // Control planes apply labels with admin access, so the same label is fine there.
    assert!(
        render(
            &cluster(&network(), "1.14.1"),
            &node(NodeRole::ControlPlane, &restricted, &[]),
            bundle(),
            &[]
        )
        .is_ok()
    );

    let bad_effect = [Taint { key: "a".into(), value: "b".into(), effect: "Never".into() }];
    let labels = BTreeMap::new();
    let err =
        render(&cluster(&network(), "1.14.1"), &node(NodeRole::Worker, &labels, &bad_effect), bundle(), &[])
            .unwrap_err();
    assert_eq!(err.to_string(), "taints[0]: effect must be NoSchedule, PreferNoSchedule or NoExecute");

    let mut net = network();
    net.pod_cidrs = vec!["10.241.0.1/16".into()];
    let err =
        render(&cluster(&net, "1.14.1"), &node(NodeRole::Worker, &labels, &[]), bundle(), &[]).unwrap_err();
    assert!(err.to_string().starts_with("network.pod_cidrs[0]:"), "{err}");

    let mut c = cluster(&network(), "1.14.1");
    c.endpoint = "10.20.0.20:6443";
    assert!(
        render(&c, &node(NodeRole::Worker, &labels, &[]), bundle(), &[])
            .unwrap_err()
            .to_string()
            .starts_with("endpoint:")
    );
}

#[test]
fn patches_merge_in_order() {
    let rendered = render_role(
        NodeRole::Worker,
        &[
            "machine:\n  install:\n    disk: /dev/vda\n  certSANs: [ctodev.example.com]\n  sysctls:\n    vm.max_map_count: \"262144\"\n",
            "- op: add\n  path: /machine/nodeLabels/rack\n  value: r13\n",
            "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: tailscale\nenvironment: [TS_AUTHKEY=x]\n",
        ],
    )
    .unwrap();
    let d = doc(&rendered);
    assert_eq!(text(&d, "machine.install.disk"), "/dev/vda");
    assert_eq!(
        text(&d, "machine.install.image"),
        "ghcr.io/siderolabs/installer:v1.14.1",
        "sibling keys kept"
    );
    assert_eq!(
        at(&d, "machine.certSANs"),
        &Value::Sequence(vec!["ctodev.example.com".into()]),
        "lists replace"
    );
    assert_eq!(entry(&d, "machine.nodeLabels", "rack"), "r13");
    assert_eq!(entry(&d, "machine.nodeLabels", "topology.kubernetes.io/region"), "FR1");
    let docs = crate::talos::patch::parse_documents(rendered.yaml.expose()).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(text(&docs[1], "kind"), "ExtensionServiceConfig");
}

fn patch_error(patches: &[&str]) -> (usize, String, String) {
    match render_role(NodeRole::Worker, patches).unwrap_err() {
        ConfigError::Patch { index, path, reason } => (index, path, reason),
        other => panic!("expected a patch error, got {other}"),
    }
}

#[test]
fn bad_patches_report_index_and_path() {
    let ok = "machine:\n  sysctls:\n    a.b: \"1\"\n";
    let (index, path, reason) = patch_error(&[ok, "machine:\n  instal:\n    disk: /dev/vda\n"]);
    assert_eq!((index, path.as_str()), (1, "machine.instal"));
    assert!(reason.contains("did you mean `install`"), "{reason}");

    let (index, path, reason) =
        patch_error(&[ok, ok, "cluster:\n  network:\n    podSubnets: [10.0.0.0/8]\n"]);
    assert_eq!((index, path.as_str()), (2, "cluster.network.podSubnets"));
    assert!(reason.contains("network.pod_cidr"), "{reason}");

    let (index, path, _) = patch_error(&["machine:\n  type: controlplane\n"]);
    assert_eq!((index, path.as_str()), (0, "machine.type"));

    let (_, path, reason) = patch_error(&["machine:\n  nodeLabels:\n    gpu: true\n"]);
    assert_eq!(path, "machine.nodeLabels.gpu");
    assert!(reason.contains("quote"), "{reason}");

    let (_, path, reason) = patch_error(&["machine:\n  install: /dev/vda\n"]);
    assert_eq!(
        (path.as_str(), reason.as_str()),
        ("machine.install", "cannot replace a mapping with a scalar")
    );

    let (index, path, reason) = patch_error(&[ok, "- {op: remove, path: /machine/nope}\n"]);
    assert_eq!((index, path.as_str(), reason.as_str()), (1, "/machine/nope", "path does not exist"));

    let (index, path, reason) = patch_error(&["machine: [\n"]);
    assert_eq!((index, path.as_str()), (0, ""));
    assert!(reason.starts_with("not valid YAML"), "{reason}");

    let err = render_role(NodeRole::Worker, &["machine:\n  instal: {}\n"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config_patches[0] at `machine.instal`: unknown field `instal`; did you mean `install`?"
    );
}

#[test]
fn deprecated_fields_warn_from_1_14() {
    let patch = "cluster:\n  inlineManifests:\n    - name: x\n      contents: \"\"\n";
    let labels = BTreeMap::new();
    let patches = vec![patch.to_owned()];
    let new = render(
        &cluster(&network(), "1.14.1"),
        &node(NodeRole::ControlPlane, &labels, &[]),
        bundle(),
        &patches,
    )
    .unwrap();
    assert!(
        new.warnings.iter().any(|w| w.contains("config_patches[0]") && w.contains("cluster.inlineManifests")),
        "{:?}",
        new.warnings
    );
    let old = render(
        &cluster(&network(), "1.13.9"),
        &node(NodeRole::ControlPlane, &labels, &[]),
        bundle(),
        &patches,
    )
    .unwrap();
    assert!(old.warnings.is_empty());
}

#[test]
fn rendering_is_deterministic_and_the_hash_is_semantic() {
    let a = render_role(NodeRole::ControlPlane, &["machine:\n  sysctls:\n    a.b: \"1\"\n"]).unwrap();
    let b = render_role(NodeRole::ControlPlane, &["machine:\n  sysctls:\n    a.b: \"1\"\n"]).unwrap();
    assert_eq!(a.yaml, b.yaml);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.hash.len(), 64);
    assert_eq!(config_hash(a.yaml.expose()).unwrap(), a.hash);

    // The same configuration re-encoded differently (flow style, other key order, comments,
    // explicit nulls) hashes the same; a real change does not.
    let value: Value = serde_norway::from_str(a.yaml.expose()).unwrap();
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(config_hash(&format!("# node config\n{json}\n")).unwrap(), a.hash);
    let with_null = a.yaml.expose().replacen("machine:\n", "machine:\n  udev: null\n", 1);
    assert_eq!(config_hash(&with_null).unwrap(), a.hash);
    let changed = a.yaml.expose().replace("/dev/sda", "/dev/sdb");
    assert_ne!(config_hash(&changed).unwrap(), a.hash);
    assert_ne!(render_role(NodeRole::Worker, &[]).unwrap().hash, a.hash);
}

#[test]
fn plan_time_patch_check_needs_no_secrets() {
    let labels = BTreeMap::new();
    let c = cluster(&network(), "1.14.1");
    let n = node(NodeRole::Worker, &labels, &[]);
    assert!(check_patches(&c, &n, &["machine:\n  sysctls:\n    a: \"1\"\n".to_owned()]).unwrap().is_empty());
    let err = check_patches(&c, &n, &["machine:\n  sysctls: 1\n".to_owned()]).unwrap_err();
    assert_eq!(err.to_string(), "config_patches[0] at `machine.sysctls`: must be a mapping of strings");
    let err =
        check_patches(&c, &n, &["machine:\n  token: abcdef.0123456789abcdef\n".to_owned()]).unwrap_err();
    assert!(err.to_string().contains("machine.token"), "{err}");
}

#[test]
fn debug_of_rendered_config_hides_keys() {
    let rendered = render_role(NodeRole::ControlPlane, &[]).unwrap();
    let shown = format!("{rendered:?}");
    assert!(!shown.contains(&pem::to_field(bundle().ca(CaKind::Os).key().to_pem().expose())));
    assert!(!shown.contains(bundle().bootstrap_token().expose()));
    assert!(shown.contains(&rendered.hash));
}
