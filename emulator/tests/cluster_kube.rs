//! The two halves together: a cluster bootstrapped through the Talos API brings up its
//! Kubernetes API on the endpoint of its configuration, and real clients (kubectl, kube-rs) with
//! the kubeconfig from the Kubeconfig RPC see Nodes for its machines, run workloads, lose the API
//! with etcd quorum, keep everything across an emulator restart, and see a reset worker leave.

mod common;
mod kube_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use ct_emulator::faults::{FaultKind, FaultSpec};
use ct_emulator::{RegionConfig, RunningRegion};
use ct_proto::talos::cluster::cluster_service_client::ClusterServiceClient;
use ct_proto::talos::cluster::{ClusterInfo, HealthCheckRequest};
use ct_proto::talos::machine::{ApplyConfigurationRequest, BootstrapRequest, ResetRequest};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

const V1: &str = "v1.32.3";
const ZONES: [&str; 4] = ["az-1", "az-2", "az-3", "az-1"];

/// kubectl with the admin kubeconfig of a cluster.
struct Kubectl {
    config: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(dir: &std::path::Path, kubeconfig: &str) -> Self {
        let config = dir.join("kubeconfig");
        std::fs::write(&config, kubeconfig).expect("write kubeconfig");
        Self { config, cache: dir.join("kube-cache") }
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        kube_support::kubectl(&self.config, &self.cache, args, stdin).await
    }

    async fn json(&self, args: &[&str]) -> Option<Value> {
        let mut full = args.to_vec();
        full.extend(["-o", "json"]);
        let (ok, out, _) = self.run(&full, None).await;
        ok.then(|| serde_json::from_str(&out).expect("kubectl prints JSON"))
    }
}

/// Configures machines m1.. (control planes first, the last `workers` as workers) in parallel
/// and bootstraps etcd on m1.
async fn cluster(r: &RunningRegion, s: &Secrets, subnet: u8, control_planes: usize, workers: usize) {
    let configs: Vec<(String, String)> = (0..control_planes + workers)
        .map(|i| {
            let (kind, host) = if i < control_planes {
                ("controlplane", format!("cp-{}", i + 1))
            } else {
                ("worker", format!("worker-{}", i + 1 - control_planes))
            };
            (format!("m{}", i + 1), s.k8s_config(kind, &endpoint(subnet), &host, ZONES[i], V1))
        })
        .collect();
    futures::future::join_all(configs.iter().map(|(id, cfg)| configure(r, id, cfg))).await;
    admin(r, "m1", s).await.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
}

/// (name, Ready, zone, control plane) of each Node, sorted by name.
fn node_summary(list: &Value) -> Vec<(String, bool, String, bool)> {
    let mut out: Vec<(String, bool, String, bool)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| {
            let labels = &n["metadata"]["labels"];
            let ready = n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            (
                n["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                ready,
                labels["topology.kubernetes.io/zone"].as_str().unwrap_or_default().to_owned(),
                labels.get("node-role.kubernetes.io/control-plane").is_some(),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected_nodes(control_planes: usize, workers: usize) -> Vec<(String, bool, String, bool)> {
    let mut out: Vec<(String, bool, String, bool)> = (0..control_planes)
        .map(|i| (format!("cp-{}", i + 1), true, ZONES[i].to_owned(), true))
        .chain(
            (0..workers)
                .map(|i| (format!("worker-{}", i + 1), true, ZONES[control_planes + i].to_owned(), false)),
        )
        .collect();
    out.sort();
    out
}

async fn health_lines(
    r: &RunningRegion,
    s: &Secrets,
    nodes: Vec<String>,
    secs: i64,
) -> (Vec<String>, Option<String>) {
    let mut client =
        ClusterServiceClient::new(mtls(r.addr("m1").expect("addr"), s, "os:reader").await.expect("reader"));
    let request = HealthCheckRequest {
        wait_timeout: Some(prost_types::Duration { seconds: secs, nanos: 0 }),
        cluster_info: Some(ClusterInfo { control_plane_nodes: nodes, ..ClusterInfo::default() }),
    };
    let mut stream = client.health_check(request).await.expect("health").into_inner();
    let mut lines = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(p)) => lines.push(p.message),
            Ok(None) => return (lines, None),
            Err(e) => return (lines, Some(e.message().to_owned())),
        }
    }
}

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_the_cluster_through_quorum_loss_restart_and_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || RegionConfig { state_dir: Some(dir.path().join("state")), ..fast_config() };
    let r = region(4, 60, config()).await;
    let s = Secrets::generate("c60");
    let start = Instant::now();
    cluster(&r, &s, 60, 3, 1).await;
    let endpoint = eventually("the Kubernetes API listens", 20, || async {
        r.region().kube_endpoint("c60").and_then(|e| e.listening.ok())
    })
    .await;
    assert_eq!(endpoint.to_string(), "127.77.60.1:6443", "the API listens where the endpoint URL says");
    let k = Kubectl::new(dir.path(), &fetch_kubeconfig(&r, "m1", &s).await);

    // Every machine registers its Node; the control planes carry the role, all carry their zone.
    eventually("4 Ready nodes", 30, || async {
        let nodes = k.json(&["get", "nodes"]).await?;
        (node_summary(&nodes) == expected_nodes(3, 1)).then_some(())
    })
    .await;
    let (ok, out, _) = k.run(&["get", "nodes"], None).await;
    assert!(ok);
    let cp1 = out.lines().find(|l| l.starts_with("cp-1")).expect("cp-1 listed");
    assert!(cp1.contains(" Ready ") && cp1.contains("control-plane") && cp1.contains(V1), "{out}");
    let node = k.json(&["get", "node", "cp-1"]).await.expect("cp-1");
    assert_eq!(node["spec"]["taints"][0]["key"], "node-role.kubernetes.io/control-plane");
    assert_eq!(node["status"]["addresses"][0]["address"], "127.77.60.1");
    let (ok, out, _) = k.run(&["version", "-o", "json"], None).await;
    assert!(ok && out.contains(&format!("\"gitVersion\": \"{V1}\"")), "{out}");

    // The health check runs the Kubernetes checks after the Talos ones, as upstream does.
    let all: Vec<String> = (1..=4).map(|i| format!("127.77.60.{i}")).collect();
    let (lines, error) = health_lines(&r, &s, all[..3].to_vec(), 1).await;
    assert!(
        error.as_deref().is_some_and(|e| e.contains("unexpected nodes with IPs [\"127.77.60.4\"]")),
        "a worker the request does not name is unexpected: {error:?} {lines:?}"
    );
    let mut client =
        ClusterServiceClient::new(mtls(r.addr("m1").expect("addr"), &s, "os:reader").await.expect("reader"));
    let request = HealthCheckRequest {
        wait_timeout: Some(prost_types::Duration { seconds: 20, nanos: 0 }),
        cluster_info: Some(ClusterInfo {
            control_plane_nodes: all[..3].to_vec(),
            worker_nodes: all[3..].to_vec(),
            ..ClusterInfo::default()
        }),
    };
    let mut stream = client.health_check(request).await.expect("health").into_inner();
    let mut lines = Vec::new();
    while let Some(p) = stream.message().await.expect("a healthy cluster streams no error") {
        lines.push(p.message);
    }
    let at = |l: &str| lines.iter().position(|x| x == l).unwrap_or_else(|| panic!("{l:?} in {lines:?}"));
    assert!(
        at("waiting for all nodes to finish boot sequence: OK")
            < at("waiting for all k8s nodes to report: OK")
    );
    for check in [
        "all control plane static pods to be running",
        "all control plane components to be ready",
        "all k8s nodes to report ready",
        "kube-proxy to report ready",
        "coredns to report ready",
        "all k8s nodes to report schedulable",
    ] {
        at(&format!("waiting for {check}: OK"));
    }

    let (ok, out, err) = k.run(&["apply", "--server-side", "-f", "-"], Some(WEB)).await;
    assert!(ok && out.contains("deployment.apps/web serverside-applied"), "{out}{err}");
    let (ok, out, err) =
        k.run(&["wait", "--for=condition=Available", "deployment/web", "--timeout=30s"], None).await;
    assert!(ok && out.contains("condition met"), "{out}{err}");
    let (ok, out, _) = k.run(&["get", "pods", "-n", "kube-system", "-o", "name"], None).await;
    assert!(ok && out.contains("pod/kube-apiserver-cp-2") && out.contains("pod/coredns-"), "{out}");

    // Two of three control planes gone: etcd loses quorum, the API answers 503.
    let reg = r.region();
    reg.add_fault(FaultSpec { machine: "m2".into(), api: "*".into(), kind: FaultKind::Down }).expect("down");
    reg.add_fault(FaultSpec { machine: "m3".into(), api: "*".into(), kind: FaultKind::EtcdMemberLost })
        .expect("lost");
    let (ok, _, err) = k.run(&["get", "nodes", "--request-timeout=20s"], None).await;
    assert!(!ok && err.contains("etcdserver: request timed out"), "{err}");
    reg.clear_faults(None);
    eventually("the API answers again, with 4 Ready nodes", 30, || async {
        let nodes = k.json(&["get", "nodes"]).await?;
        (node_summary(&nodes) == expected_nodes(3, 1)).then_some(())
    })
    .await;

    // A restarted emulator serves the same cluster from its state directory.
    r.shutdown().await;
    let gone = tokio::net::TcpStream::connect(endpoint).await;
    assert!(gone.is_err(), "the Kubernetes API stops with the region");
    let r = region(4, 60, config()).await;
    assert!(
        r.region().kube_endpoint("c60").is_some_and(|e| e.listening.is_ok()),
        "serving before start returns"
    );
    let web = k.json(&["get", "deployment", "web"]).await.expect("the Deployment survived");
    assert_eq!(web["status"]["availableReplicas"], 2);
    let nodes = k.json(&["get", "nodes"]).await.expect("nodes");
    assert_eq!(node_summary(&nodes), expected_nodes(3, 1));

    // A reset worker leaves the cluster: its Node goes.
    admin(&r, "m4", &s)
        .await
        .reset(ResetRequest { graceful: true, reboot: false, ..ResetRequest::default() })
        .await
        .expect("reset");
    eventually("worker-1 gone", 20, || async {
        let nodes = k.json(&["get", "nodes"]).await?;
        (node_summary(&nodes) == expected_nodes(3, 0)).then_some(())
    })
    .await;
    let (ok, _, err) = k.run(&["get", "node", "worker-1"], None).await;
    assert!(!ok && err.contains("NotFound"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(120));
    r.shutdown().await;
}

async fn kube_client(kubeconfig: &str, retry: bool) -> kube::Client {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig");
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("config");
    // Without retries, the injected 429s and 503s reach the test instead of being retried.
    config.default_retry = retry;
    kube::Client::try_from(config).expect("client")
}

fn api_error(e: kube::Error) -> (u16, String, Option<u32>) {
    let kube::Error::Api(status) = e else { panic!("an API error, got {e:?}") };
    let retry = status.details.as_ref().map(|d| d.retry_after_seconds);
    (status.code, status.reason, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_sees_nodes_versions_faults_upgrades_and_resets() {
    let r = region(2, 61, fast_config()).await;
    let s = Secrets::generate("c61");
    cluster(&r, &s, 61, 1, 1).await;
    eventually("the Kubernetes API listens", 20, || async {
        r.region().kube_endpoint("c61").and_then(|e| e.listening.ok())
    })
    .await;
    let kubeconfig = fetch_kubeconfig(&r, "m1", &s).await;
    let client = kube_client(&kubeconfig, true).await;
    let raw = kube_client(&kubeconfig, false).await;
    assert_eq!(client.apiserver_version().await.expect("version").git_version, V1);

    let nodes: Api<Node> = Api::all(client.clone());
    let ready = |n: &Node| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let listed = eventually("2 Ready nodes", 20, || async {
        let list = nodes.list(&ListParams::default()).await.ok()?;
        (list.items.len() == 2 && list.items.iter().all(ready)).then_some(list.items)
    })
    .await;
    let cp = listed.iter().find(|n| n.metadata.name.as_deref() == Some("cp-1")).expect("cp-1");
    let labels = cp.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("topology.kubernetes.io/zone").map(String::as_str), Some("az-1"));
    assert!(labels.contains_key("node-role.kubernetes.io/control-plane"));
    let taints = cp.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    assert_eq!(
        (taints[0].key.as_str(), taints[0].effect.as_str()),
        ("node-role.kubernetes.io/control-plane", "NoSchedule")
    );
    let worker = nodes.get("worker-1").await.expect("worker-1");
    assert!(worker.spec.as_ref().and_then(|s| s.taints.as_ref()).is_none_or(Vec::is_empty));
    let kubelet =
        |n: &Node| n.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.clone());
    assert_eq!(kubelet(&worker).as_deref(), Some(V1));

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let web: Value = serde_norway::from_str(WEB).expect("yaml");
    deployments.patch("web", &PatchParams::apply("provider"), &Patch::Apply(&web)).await.expect("apply");
    eventually("web available", 20, || async {
        let d = deployments.get("web").await.ok()?;
        (d.status?.available_replicas == Some(2)).then_some(())
    })
    .await;

    // Kubernetes API faults through the admin endpoint and the CLI.
    let admin_flag = r.admin_addr().expect("admin").to_string();
    let cli = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let fault = |args: &[&str]| {
        let mut all = vec!["fault", "add", "--admin", &admin_flag, "--cluster", "demo"];
        all.extend_from_slice(args);
        ct_emulator::cli::run(cli(&all))
    };
    // A fault reaches the cluster's API server through a region event: poll until it shows.
    fault(&["--kind", "throttle", "--rate", "1", "--retry-after", "2"]).await.expect("throttle");
    let raw_nodes: Api<Node> = Api::all(raw.clone());
    let throttled = eventually("the throttle fault", 5, || async { raw_nodes.get("cp-1").await.err() }).await;
    assert_eq!(api_error(throttled), (429, "TooManyRequests".to_owned(), Some(2)));
    ct_emulator::cli::run(cli(&["fault", "clear", "--admin", &admin_flag])).await.expect("clear");
    eventually("the throttle fault cleared", 5, || async { raw_nodes.get("cp-1").await.ok() }).await;
    fault(&["--kind", "error-rate", "--rate", "1"]).await.expect("errors");
    let failed = eventually("the error-rate fault", 5, || async { raw_nodes.get("cp-1").await.err() }).await;
    assert_eq!(api_error(failed).0, 500);
    ct_emulator::cli::run(cli(&["fault", "clear", "--admin", &admin_flag])).await.expect("clear");
    eventually("the error-rate fault cleared", 5, || async { raw_nodes.get("cp-1").await.ok() }).await;
    fault(&["--kind", "delay", "--ms", "300"]).await.expect("delay");
    eventually("the delay fault", 5, || async {
        let t = Instant::now();
        nodes.get("cp-1").await.expect("slow but fine");
        (t.elapsed() >= Duration::from_millis(300)).then_some(())
    })
    .await;
    assert!(fault(&["--kind", "down"]).await.is_err(), "a machine fault cannot target a cluster");
    r.region().clear_faults(None);

    // The only control plane down: no quorum, 503 (kube-rs would retry it; the raw client shows it).
    let id = r
        .region()
        .add_fault(FaultSpec { machine: "m1".into(), api: "*".into(), kind: FaultKind::Down })
        .expect("down");
    let e = raw_nodes.get("cp-1").await.expect_err("no quorum");
    assert_eq!(api_error(e).0, 503);
    r.region().clear_faults(Some(id));
    nodes.get("cp-1").await.expect("quorum is back");

    // upgrade-k8s moves the image tags in the configs: /version and the kubelets follow.
    const V2: &str = "v1.33.0";
    for (id, kind, host, zone) in
        [("m1", "controlplane", "cp-1", "az-1"), ("m2", "worker", "worker-1", "az-2")]
    {
        let config = s.k8s_config(kind, &endpoint(61), host, zone, V2);
        let request = ApplyConfigurationRequest { data: config.into_bytes(), mode: 1, ..Default::default() };
        admin(&r, id, &s).await.apply_configuration(request).await.expect("apply");
    }
    eventually("the new version", 20, || async {
        let version = client.apiserver_version().await.ok()?.git_version;
        let worker = nodes.get("worker-1").await.ok()?;
        (version == V2 && kubelet(&worker).as_deref() == Some(V2)).then_some(())
    })
    .await;

    admin(&r, "m2", &s)
        .await
        .reset(ResetRequest { graceful: true, reboot: true, ..ResetRequest::default() })
        .await
        .expect("reset");
    eventually("worker-1 gone", 20, || async {
        let list = nodes.list(&ListParams::default()).await.ok()?;
        (list.items.len() == 1).then_some(())
    })
    .await;
    let e = nodes.get("worker-1").await.expect_err("gone");
    assert_eq!(api_error(e).0, 404);
    assert_eq!(json!(r.region().clusters()[0].kube_api_listening), json!("127.77.61.1:6443"));
    let endpoint = r.region().kube_endpoint("c61").expect("served");
    assert!(!format!("{endpoint:?}").contains("PRIVATE KEY"), "the serving key stays out of logs");
    r.shutdown().await;
}
