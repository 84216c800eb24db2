//! [`ApiServer`]: one cluster's Kubernetes API (its store, version, availability, faults and
//! controllers), with the hooks the Talos side drives (nodes, version, availability).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use serde_json::{Value, json};

use crate::kube::catalog::Registry;
use crate::kube::controllers::{self, Timings};
use crate::kube::error::KubeError;
use crate::kube::faults::KubeFaults;
use crate::kube::meta::{self, meta_str};
use crate::kube::store::{ObjectKey, Store};

/// How to run one cluster's API server.
#[derive(Clone)]
pub struct ApiServerConfig {
    /// Kubernetes version (`1.32.3` or `v1.32.3`), reported by `/version` and on Nodes.
    pub kubernetes_version: String,
    /// The cluster's Kubernetes CA (PEM): client certificates must chain to it.
    pub cluster_ca_pem: String,
    /// Serving certificate (PEM), see [`crate::kube::certs::issue_server_cert`].
    pub server_cert_pem: String,
    /// Serving key (PEM).
    pub server_key_pem: String,
    /// `host:port` clients reach the API at (reported by `/api`).
    pub server_address: String,
    /// Controller delays and time scale.
    pub timings: Timings,
}

impl std::fmt::Debug for ApiServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The serving key stays out of logs.
        f.debug_struct("ApiServerConfig")
            .field("kubernetes_version", &self.kubernetes_version)
            .field("server_address", &self.server_address)
            .field("timings", &self.timings)
            .finish_non_exhaustive()
    }
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        Self {
            kubernetes_version: "1.32.3".to_owned(),
            cluster_ca_pem: String::new(),
            server_cert_pem: String::new(),
            server_key_pem: String::new(),
            server_address: "127.0.0.1:6443".to_owned(),
            timings: Timings::default(),
        }
    }
}

/// A Node as the Talos side reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInfo {
    /// Node name (the machine's hostname).
    pub name: String,
    /// Labels to set (existing labels not named here are kept).
    pub labels: Vec<(String, String)>,
    /// Taints as (key, value, effect); control planes get `node-role.kubernetes.io/control-plane:NoSchedule`.
    pub taints: Vec<(String, String, String)>,
    /// InternalIP address.
    pub internal_ip: Option<String>,
    /// Kubelet version (`v1.32.3`).
    pub kubelet_version: String,
    /// Whether the Ready condition is True.
    pub ready: bool,
}

/// State shared by the handlers, the serve loop and the controllers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Store,
    pub config: ApiServerConfig,
    pub server_address: String,
    version: RwLock<String>,
    available: AtomicBool,
    faults: Mutex<KubeFaults>,
    registry: Mutex<(u64, Arc<Registry>)>,
    pub timings: Timings,
    pub clock: controllers::Clock,
}

const CRDS: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");

impl Shared {
    pub(crate) fn is_available(&self) -> bool {
        self.available.load(Ordering::SeqCst)
    }

    pub(crate) fn faults(&self) -> KubeFaults {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// `v1.32.3`.
    pub(crate) fn git_version(&self) -> String {
        let v = self.version.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if v.starts_with('v') { v.clone() } else { format!("v{v}") }
    }

    pub(crate) fn version_info(&self) -> Value {
        let git = self.git_version();
        let mut parts = git.trim_start_matches('v').split('.');
        let (major, minor) = (parts.next().unwrap_or("1").to_owned(), parts.next().unwrap_or("0").to_owned());
        json!({"major": major, "minor": minor, "gitVersion": git, "gitCommit": "0000000000000000000000000000000000000000",
               "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.6",
               "compiler": "gc", "platform": "linux/amd64"})
    }

    /// The registry, rebuilt when a CRD changed since it was last built.
    pub(crate) fn registry(&self) -> Arc<Registry> {
        let epoch = self.store.epoch(CRDS.0, CRDS.1);
        let mut cache = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.0 != epoch || cache.1.all().is_empty() {
            let crds = self.store.list(CRDS.0, CRDS.1, None);
            *cache = (epoch, Arc::new(Registry::build(crds.iter())));
        }
        cache.1.clone()
    }
}

/// One cluster's Kubernetes API server. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct ApiServer {
    pub(crate) shared: Arc<Shared>,
}

fn seed(store: &Store) -> Result<(), KubeError> {
    store.transact(|t| {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let key = ObjectKey::new("", "namespaces", "", ns);
            if t.get(&key).is_none() {
                t.put(&key, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "uid": meta::new_uid(),
                    "creationTimestamp": meta::now_rfc3339(), "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}))?;
            }
        }
        let svc = ObjectKey::new("", "services", "default", "kubernetes");
        if t.get(&svc).is_none() {
            t.put(&svc, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default",
                "uid": meta::new_uid(), "creationTimestamp": meta::now_rfc3339(),
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "sessionAffinity": "None",
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
                "status": {"loadBalancer": {}}}))?;
        }
        Ok(())
    })
}

impl ApiServer {
    /// Creates the server over a store, seeding the namespaces and the `kubernetes` Service every
    /// cluster has (kept as they are when the store already holds them).
    ///
    /// # Errors
    /// [`KubeError::State`] when seeding cannot be persisted.
    pub fn new(config: ApiServerConfig, store: Store) -> Result<Self, KubeError> {
        seed(&store)?;
        let timings = config.timings.clone();
        let shared = Shared {
            server_address: config.server_address.clone(),
            version: RwLock::new(config.kubernetes_version.clone()),
            store,
            config,
            available: AtomicBool::new(true),
            faults: Mutex::new(KubeFaults::default()),
            registry: Mutex::new((0, Arc::new(Registry::default()))),
            timings,
            clock: controllers::Clock::default(),
        };
        Ok(Self { shared: Arc::new(shared) })
    }

    /// The HTTP routes (no TLS, no authentication layer: put an [`crate::kube::Identity`] in the
    /// request extensions to act as a user; without one a request is anonymous).
    pub fn router(&self) -> Router {
        Router::new().fallback(crate::kube::http::dispatch).with_state(self.shared.clone())
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Makes the API answer (true) or fail with 503 like a server whose etcd lost quorum (false).
    pub fn set_available(&self, available: bool) {
        self.shared.available.store(available, Ordering::SeqCst);
    }

    /// Whether the API answers.
    pub fn is_available(&self) -> bool {
        self.shared.is_available()
    }

    /// Changes the reported Kubernetes version (after an upgrade).
    pub fn set_version(&self, version: &str) {
        *self.shared.version.write().unwrap_or_else(std::sync::PoisonError::into_inner) = version.to_owned();
    }

    /// The reported version (`v1.32.3`).
    pub fn version(&self) -> String {
        self.shared.git_version()
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: KubeFaults) {
        *self.shared.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    }

    /// The injected faults.
    pub fn faults(&self) -> KubeFaults {
        self.shared.faults()
    }

    /// Creates or refreshes a Node (labels merged, kubelet version, Ready condition).
    ///
    /// # Errors
    /// [`KubeError::State`] when persisting fails.
    pub fn upsert_node(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        kubelet_version: &str,
        ready: bool,
    ) -> Result<(), KubeError> {
        self.upsert_node_info(&NodeInfo {
            name: name.to_owned(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            kubelet_version: kubelet_version.to_owned(),
            ready,
            ..NodeInfo::default()
        })
    }

    /// Creates or refreshes a Node from full information.
    ///
    /// # Errors
    /// [`KubeError::State`] when persisting fails.
    pub fn upsert_node_info(&self, info: &NodeInfo) -> Result<(), KubeError> {
        let key = ObjectKey::new("", "nodes", "", &info.name);
        self.shared.store.transact(|t| {
            let old = t.get(&key).cloned();
            let mut node = old.clone().unwrap_or_else(|| {
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": info.name, "uid": meta::new_uid(),
                    "creationTimestamp": meta::now_rfc3339(), "labels": {}}, "spec": {}, "status": {}})
            });
            let labels = &mut node["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            for (k, v) in [("kubernetes.io/hostname", info.name.as_str()), ("kubernetes.io/os", "linux"), ("kubernetes.io/arch", "amd64")]
                .into_iter()
                .chain(info.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                labels[k] = json!(v);
            }
            if !info.taints.is_empty() || old.is_none() {
                let taints: Vec<Value> = info.taints.iter().map(|(k, v, e)| {
                    let mut t = json!({"key": k, "effect": e});
                    if !v.is_empty() { t["value"] = json!(v); }
                    t
                }).collect();
                if taints.is_empty() {
                    if let Some(spec) = node["spec"].as_object_mut() { spec.remove("taints"); }
                } else {
                    node["spec"]["taints"] = json!(taints);
                }
            }
            let now = meta::now_rfc3339();
            let was_ready = old.as_ref().and_then(|o| o.pointer("/status/conditions/0/status")).and_then(Value::as_str) == Some("True");
            let since = if was_ready == info.ready {
                old.as_ref().and_then(|o| o.pointer("/status/conditions/0/lastTransitionTime")).cloned().unwrap_or(json!(now))
            } else {
                json!(now)
            };
            let (status, reason, message) = if info.ready {
                ("True", "KubeletReady", "kubelet is posting ready status")
            } else {
                ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
            };
            node["status"]["conditions"] = json!([{"type": "Ready", "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": since, "lastTransitionTime": since}]);
            node["status"]["nodeInfo"] = json!({"kubeletVersion": info.kubelet_version, "kubeProxyVersion": info.kubelet_version,
                "containerRuntimeVersion": "containerd://2.0.2", "operatingSystem": "linux", "architecture": "amd64",
                "osImage": "Talos", "kernelVersion": "6.12.6-talos"});
            let mut addresses = vec![json!({"type": "Hostname", "address": info.name})];
            if let Some(ip) = &info.internal_ip {
                addresses.insert(0, json!({"type": "InternalIP", "address": ip}));
            }
            node["status"]["addresses"] = json!(addresses);
            node["status"]["capacity"] = json!({"cpu": "4", "memory": "8029848Ki", "pods": "110", "ephemeral-storage": "101430960Ki"});
            node["status"]["allocatable"] = node["status"]["capacity"].clone();
            if old.as_ref().map(|o| (o.get("metadata").and_then(|m| m.get("labels")), o.get("spec"), o.get("status")))
                == Some((node["metadata"].get("labels"), node.get("spec"), node.get("status")))
            {
                return Ok(());
            }
            t.put(&key, node).map(|_| ())
        })
    }

    /// Removes a Node (the machine left the cluster).
    ///
    /// # Errors
    /// [`KubeError::State`] when persisting fails.
    pub fn remove_node(&self, name: &str) -> Result<(), KubeError> {
        self.shared.store.transact(|t| t.delete(&ObjectKey::new("", "nodes", "", name)).map(|_| ()))
    }

    /// Names of the Nodes.
    pub fn nodes(&self) -> Vec<String> {
        self.shared
            .store
            .list("", "nodes", None)
            .iter()
            .filter_map(|n| meta_str(n, "name").map(str::to_owned))
            .collect()
    }

    /// One pass of every controller (tests drive it directly; [`ApiServer::run_controllers`]
    /// calls it on a timer).
    pub fn reconcile_once(&self) {
        controllers::reconcile(&self.shared);
    }

    /// Runs the controllers until `shutdown` resolves.
    pub async fn run_controllers(&self, shutdown: impl std::future::Future<Output = ()>) {
        let shared = self.shared.clone();
        let tick = shared.timings.tick();
        let ticker = async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                controllers::reconcile(&shared);
            }
        };
        tokio::select! {
            () = ticker => {}
            () = shutdown => {}
        }
    }
}
