//! The wiring between the two halves of the region: every cluster whose etcd was bootstrapped
//! through the Talos API gets its Kubernetes API server ([`crate::kube::ApiServer`]) on the
//! endpoint of its machine configuration (`cluster.controlPlane.endpoint`, the API VIP: it
//! stays up while any control plane runs, and answers 503 while etcd has no quorum).
//!
//! A supervisor re-derives what each API should show ([`view`]) after every region change and
//! converges: it starts servers (serving certificate from the cluster CA, store under
//! `<state dir>/kube/<cluster>`, bootstrap manifests), registers Nodes and static pods, sets
//! availability, version and injected faults, and stops servers of clusters that are gone. A
//! restarted region serves every bootstrapped cluster again from its persisted store.

mod bootstrap;
pub(crate) mod health;
mod nodes;
pub(crate) mod view;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::kube::{ApiServer, ApiServerConfig, KubeError, Store, Timings, certs};
use crate::region::{Region, RegionEvent};
use view::ClusterView;

/// How long to wait before binding an endpoint again after a failure.
const BIND_RETRY: Duration = Duration::from_secs(1);

/// A cluster's Kubernetes API as the region serves it.
#[derive(Debug, Clone)]
pub struct KubeEndpoint {
    /// The API server: its store, version, availability and faults.
    pub server: ApiServer,
    /// The URL clients use (`cluster.controlPlane.endpoint`).
    pub url: String,
    /// Where it listens, or why it cannot.
    pub listening: Result<SocketAddr, String>,
}

struct Served {
    endpoint: KubeEndpoint,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    retry_at: Option<Instant>,
    store_dir: Option<PathBuf>,
    /// The cluster CA the server was made for: a different one means another cluster.
    ca_crt: String,
}

/// Keeps the Kubernetes API servers of a region in line with its clusters.
pub(crate) struct Supervisor {
    region: Region,
    state_dir: Option<PathBuf>,
    timings: Timings,
    served: BTreeMap<String, Served>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").field("clusters", &self.served.keys()).finish_non_exhaustive()
    }
}

/// The store directory of a cluster: keys are ids or URLs, so they are hashed into a file name.
fn store_dir(state_dir: &std::path::Path, key: &str) -> PathBuf {
    let digest: String = Sha256::digest(key.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    state_dir.join("kube").join(digest)
}

async fn bind(url: &str) -> Result<tokio::net::TcpListener, String> {
    let (host, port) = view::endpoint_host_port(url).ok_or_else(|| format!("cannot parse endpoint {url}"))?;
    let addr: SocketAddr = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} resolves to no address"))?,
    };
    tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))
}

impl Supervisor {
    /// A supervisor for `region`, keeping stores under `state_dir` (in memory without one).
    pub(crate) fn new(region: Region, state_dir: Option<PathBuf>, timings: Timings) -> Self {
        Self { region, state_dir, timings, served: BTreeMap::new() }
    }

    /// Converges after every region change until `stop` is cancelled, then stops every server.
    pub(crate) async fn run(mut self, stop: CancellationToken) {
        let mut changes = self.region.watch();
        loop {
            self.reconcile().await;
            let retry = self.served.values().filter_map(|s| s.retry_at).min();
            tokio::select! {
                () = stop.cancelled() => break,
                changed = changes.changed() => if changed.is_err() { break },
                () = tokio::time::sleep_until(retry.unwrap_or_else(Instant::now)), if retry.is_some() => {}
            }
        }
        let keys: Vec<String> = self.served.keys().cloned().collect();
        for key in keys {
            self.stop_serving(&key, false).await;
        }
    }

    /// One convergence pass over every cluster.
    pub(crate) async fn reconcile(&mut self) {
        let views = {
            let st = self.region.lock();
            view::views(&st)
        };
        let gone: Vec<String> = self
            .served
            .keys()
            .filter(|k| !views.iter().any(|v| v.key == **k && v.bootstrapped))
            .cloned()
            .collect();
        for key in gone {
            // The cluster record is gone, or its etcd lost every member (every machine wiped):
            // so is its data.
            self.stop_serving(&key, true).await;
        }
        for v in views.iter().filter(|v| v.bootstrapped) {
            if let Err(e) = self.converge(v).await {
                tracing::warn!(cluster = %v.name, error = %e, "Kubernetes API not in line with the cluster");
            }
        }
    }

    async fn converge(&mut self, v: &ClusterView) -> Result<(), KubeError> {
        // The same name and endpoint bootstrapped again with new secrets (a cluster destroyed
        // and created anew between two passes) is a new cluster: new serving certificate, empty
        // store, as a real control plane would have.
        let replaced =
            self.served.get(&v.key).is_some_and(|s| v.ca.as_ref().is_some_and(|ca| ca.crt != s.ca_crt));
        if replaced {
            tracing::info!(cluster = %v.name, "new cluster CA: serving a new cluster on the endpoint");
            self.stop_serving(&v.key, true).await;
        }
        if !self.served.contains_key(&v.key) {
            let Some(served) = self.create(v).await? else { return Ok(()) };
            self.served.insert(v.key.clone(), served);
        }
        let due = self
            .served
            .get(&v.key)
            .is_some_and(|s| s.task.is_none() && s.retry_at.is_none_or(|at| at <= Instant::now()));
        if due {
            self.listen(v).await;
        }
        let Some(served) = self.served.get(&v.key) else { return Ok(()) };
        let server = &served.endpoint.server;
        server.set_available(v.available);
        if server.faults() != v.faults {
            server.set_faults(v.faults.clone());
        }
        if server.version() != v.version {
            tracing::info!(cluster = %v.name, version = %v.version, "Kubernetes version changed");
            server.set_version(&v.version);
        }
        if v.available {
            nodes::sync(server, v)?;
        }
        Ok(())
    }

    /// A new API server for a bootstrapped cluster (`None` while no configuration carries the
    /// Kubernetes CA key).
    async fn create(&self, v: &ClusterView) -> Result<Option<Served>, KubeError> {
        let Some((ca_crt, ca_key)) = v.ca.as_ref().and_then(|ca| Some((ca.crt.clone(), ca.key.clone()?)))
        else {
            return Ok(None);
        };
        let (host, port) =
            view::endpoint_host_port(&v.endpoint).unwrap_or_else(|| ("127.0.0.1".into(), 6443));
        let mut names: Vec<&str> = vec![host.as_str(), "10.96.0.1"];
        names.extend(v.cert_sans.iter().map(String::as_str));
        let serving = certs::issue_server_cert(&ca_crt, &ca_key, &names)?;
        let server_address =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let config = ApiServerConfig {
            kubernetes_version: v.version.clone(),
            cluster_ca_pem: ca_crt.clone(),
            server_cert_pem: serving.cert_pem,
            server_key_pem: serving.key_pem,
            server_address,
            timings: self.timings.clone(),
        };
        let store_dir = self.state_dir.as_deref().map(|d| store_dir(d, &v.key));
        let store = match &store_dir {
            Some(dir) => Store::open(dir)?,
            None => Store::in_memory(),
        };
        let server = ApiServer::new(config, store)?;
        bootstrap::apply(&server, &v.addons, &v.version).await;
        let endpoint = KubeEndpoint { server, url: v.endpoint.clone(), listening: Err("not started".into()) };
        Ok(Some(Served {
            endpoint,
            stop: CancellationToken::new(),
            task: None,
            retry_at: None,
            store_dir,
            ca_crt,
        }))
    }

    /// Binds the endpoint and serves on it (or records why not, to retry later).
    async fn listen(&mut self, v: &ClusterView) {
        let Some(served) = self.served.get_mut(&v.key) else { return };
        let error = match bind(&v.endpoint).await {
            Ok(listener) => match listener.local_addr() {
                Ok(addr) => {
                    let server = served.endpoint.server.clone();
                    let (stop, name) = (served.stop.clone(), v.name.clone());
                    served.task = Some(tokio::spawn(async move {
                        if let Err(e) = server.serve(listener, stop.cancelled_owned()).await {
                            tracing::warn!(cluster = %name, error = %e, "Kubernetes API stopped");
                        }
                    }));
                    served.endpoint.listening = Ok(addr);
                    served.retry_at = None;
                    tracing::info!(cluster = %v.name, url = %v.endpoint, "Kubernetes API serving");
                    None
                }
                Err(e) => Some(e.to_string()),
            },
            Err(e) => Some(e),
        };
        let first_failure = served.retry_at.is_none();
        if let Some(e) = &error {
            served.endpoint.listening = Err(e.clone());
            served.retry_at = Some(Instant::now() + BIND_RETRY);
            if first_failure {
                tracing::warn!(cluster = %v.name, url = %v.endpoint, error = %e, "Kubernetes API cannot listen");
            }
        }
        self.region.set_kube_endpoint(&v.key, Some(served.endpoint.clone()));
        if error.is_none() || first_failure {
            self.region.emit(RegionEvent::KubeApi {
                key: v.key.clone(),
                name: v.name.clone(),
                url: v.endpoint.clone(),
                error,
            });
        }
    }

    /// Stops a cluster's server; `forget` also deletes its store (the cluster is gone).
    async fn stop_serving(&mut self, key: &str, forget: bool) {
        let Some(served) = self.served.remove(key) else { return };
        served.stop.cancel();
        if let Some(task) = served.task {
            let _ = task.await;
        }
        self.region.set_kube_endpoint(key, None);
        if forget
            && let Some(dir) = served.store_dir
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the store of a removed cluster");
        }
    }
}
