//! Node maintenance through the cluster's Kubernetes API, around what the Talos side does to a
//! node (the Kubernetes node name is the node's hostname, the `nodes` key):
//! - before a node leaves the pool (scale-down, destroy): cordon, drain, then (after the reset)
//!   delete its Node object, which a real kubelet never removes itself;
//! - before a node reboots in a rollout (Talos upgrade, a configuration change Talos cannot apply
//!   live): cordon and drain, and uncordon once it is back with its kubelet running.
//!
//! Draining evicts every pod through the Eviction API (PodDisruptionBudgets hold; refusals are
//! retried until the operation's timeout) except DaemonSet and mirror pods; emptyDir data is
//! evicted too (the node is wiped or rebooted anyway).
//!
//! A leaving node that is itself gone (back in maintenance mode, or not answering its Talos API)
//! has nothing left to drain and is removed without a drain: its pods could never confirm their
//! eviction. A running node is drained; when the Kubernetes API cannot be reached it is not
//! touched, and the error says so (the way out is `drain = false`).

use super::read::{NodeHealth, probe};
use super::spec::{PoolNode, PoolSpec};
use crate::kube::{Budget, DrainOptions, KubeAccess, KubeClient, KubeError, ObjectRef};
use crate::talos::client::Options;
use std::time::Duration;
use tfplugin::{Context, Diagnostic, Value};

/// How long a cordon may take before the Kubernetes API counts as unreachable.
const REACH: Duration = Duration::from_secs(60);

/// How long a node has to say over its Talos API whether it still runs.
const PROBE: Duration = Duration::from_secs(10);

/// Cordons, drains and uncordons the nodes of one pool within one operation's budget.
pub struct Drainer {
    client: Result<KubeClient, String>,
    enabled: bool,
    budget: Budget,
}

impl std::fmt::Debug for Drainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drainer")
            .field("client", &self.client.as_ref().map(|_| "KubeClient"))
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn options() -> DrainOptions {
    DrainOptions { delete_emptydir_data: true, grace_period_seconds: None }
}

impl Drainer {
    /// For the pool `spec` stored or planned with `cluster` (its access), within `timeout`.
    pub fn new(
        ctx: &Context,
        spec: &PoolSpec,
        cluster: Option<&Value>,
        field_manager: &str,
        timeout: Duration,
    ) -> Self {
        let client = cluster
            .ok_or_else(|| "no cluster access".to_string())
            .and_then(|c| KubeAccess::from_value(c).map_err(|e| e.to_string()))
            .and_then(|a| KubeClient::new(&a, field_manager).map_err(|e| e.to_string()));
        Self { client, enabled: spec.drain, budget: Budget::new(ctx, timeout) }
    }

    fn client(&self) -> Result<&KubeClient, Diagnostic> {
        self.client.as_ref().map_err(|e| {
            Diagnostic::error(
                "No Kubernetes client",
                format!("The pool cannot reach its cluster's Kubernetes API: {e}."),
            )
        })
    }

    /// Marks `hostnames` unschedulable at once, so that pods evicted from one of them do not
    /// land on another about to go. Best effort: [`Drainer::before_removal`] and
    /// [`Drainer::before_reboot`] cordon each node again and report failures.
    pub async fn cordon_all(&self, hostnames: &[&str]) {
        let Ok(client) = self.client.as_ref() else { return };
        if !self.enabled {
            return;
        }
        let budget = self.budget.part(REACH);
        let cordons = hostnames.iter().map(|h| client.cordon(h, &budget));
        for (h, r) in hostnames.iter().zip(futures::future::join_all(cordons).await) {
            if let Err(e) = r {
                tracing::debug!(node = %h, error = %e, "cordon ahead of the drain failed");
            }
        }
    }

    /// Cordons and drains `hostname` before it is reset. `Ok` means the reset may go ahead.
    pub async fn before_removal(
        &self,
        spec: &PoolSpec,
        hostname: &str,
        node: &PoolNode,
        opts: &Options,
    ) -> Result<(), Diagnostic> {
        if !self.enabled {
            tracing::info!(pool = %spec.name, %hostname, "drain = false: removing the node without draining it");
            return Ok(());
        }
        // A node that is down or already reset runs nothing: its pods could never confirm their
        // eviction (no kubelet), so draining it would only wait out the timeout.
        match probe(node, &spec.cluster.talos, &opts.step(PROBE)).await {
            NodeHealth::Configured(_) => {}
            health => {
                tracing::warn!(pool = %spec.name, %hostname, ?health, "node not running: removed without a drain");
                return Ok(());
            }
        }
        let client = self.client()?;
        tracing::info!(pool = %spec.name, %hostname, "cordoning and draining the node before it leaves the pool");
        self.cordon_and_drain(client, spec, hostname)
            .await
            .map_err(|e| drain_failure(hostname, "was not reset and stays in the pool (cordoned)", &e))
    }

    /// Cordons and drains `hostname` before it reboots; on failure it is uncordoned again (it
    /// does not reboot).
    pub async fn before_reboot(&self, spec: &PoolSpec, hostname: &str) -> Result<(), Diagnostic> {
        if !self.enabled {
            return Ok(());
        }
        let client = self.client()?;
        tracing::info!(pool = %spec.name, %hostname, "cordoning and draining the node before it reboots");
        let Err(e) = self.cordon_and_drain(client, spec, hostname).await else { return Ok(()) };
        // Not rebooted after all: let it take pods again.
        if let Err(u) = client.uncordon(hostname, &self.budget.part(REACH)).await {
            tracing::warn!(%hostname, error = %u, "could not uncordon the node after a failed drain");
        }
        Err(drain_failure(hostname, "was not rebooted", &e))
    }

    /// Cordons then drains `hostname`; a missing Node object means there is nothing to drain.
    async fn cordon_and_drain(
        &self,
        client: &KubeClient,
        spec: &PoolSpec,
        hostname: &str,
    ) -> Result<(), KubeError> {
        match client.cordon(hostname, &self.budget.part(REACH)).await {
            Err(e) if e.is_not_found() => {
                tracing::info!(pool = %spec.name, %hostname, "no Node object: nothing to drain");
                return Ok(());
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        let report = client.drain(hostname, &options(), &self.budget).await?;
        tracing::info!(
            pool = %spec.name, %hostname, evicted = report.evicted.len(), skipped = report.skipped.len(),
            "node drained: {}", report.evicted.join(", ")
        );
        Ok(())
    }

    /// Uncordons `hostname` once it is back after a reboot.
    pub async fn after_reboot(&self, spec: &PoolSpec, hostname: &str) -> Result<(), Diagnostic> {
        if !self.enabled {
            return Ok(());
        }
        let client = self.client()?;
        match client.uncordon(hostname, &self.budget.part(REACH)).await {
            Ok(()) => {
                tracing::info!(pool = %spec.name, %hostname, "node back: uncordoned");
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.to_diagnostic(&format!("Cannot uncordon {hostname}"))),
        }
    }

    /// Deletes the Node object of a node that was reset (best effort: a Node left behind is
    /// only a NotReady entry in `kubectl get nodes`).
    pub async fn forget(&self, hostname: &str) {
        let Ok(client) = self.client.as_ref() else { return };
        let node = ObjectRef {
            api_version: "v1".into(),
            kind: "Node".into(),
            namespace: None,
            name: hostname.into(),
        };
        match client.delete_object(&node, &self.budget.part(REACH)).await {
            Ok(true) => tracing::info!(%hostname, "Node object deleted"),
            Ok(false) => {}
            Err(e) => tracing::warn!(%hostname, error = %e, "Node object not deleted"),
        }
    }
}

fn drain_failure(hostname: &str, consequence: &str, e: &KubeError) -> Diagnostic {
    let mut d = e.to_diagnostic(&format!("Cannot drain {hostname}"));
    d.detail = format!(
        "{}\n\n{hostname} {consequence}. A PodDisruptionBudget that never allows the eviction, or a Kubernetes API \
         that cannot be reached, keeps a node from being drained: fix it and apply again, or set `drain = false` \
         on the pool (applied first) to go ahead without draining.",
        d.detail
    );
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Version;
    use crate::resources::timeouts::Timeouts;
    use crate::talos::client::TalosCredentials;
    use crate::talos::machine_config::{ClusterNetwork, NodeRole};
    use crate::talos::{SecretsBundle, Sensitive};
    use std::collections::BTreeMap;

    /// A pool whose one node (`w1`, on a loopback address of this suite's range where nothing
    /// listens) does not answer, with `drain` on.
    fn pool() -> (PoolSpec, PoolNode) {
        let node = PoolNode { address: "127.82.250.1".parse().unwrap(), zone: "AZ05".into() };
        let cluster = super::super::spec::ClusterAccess {
            cluster_id: "c".into(),
            cluster_name: "c".into(),
            topology: "dev".into(),
            api_url: "https://127.82.250.20:6443".into(),
            kubernetes_version: Version::parse("1.36.4").unwrap(),
            talos_version: Version::parse("1.14.1").unwrap(),
            bundle: SecretsBundle::generate(time::OffsetDateTime::now_utc()).unwrap(),
            talos: TalosCredentials {
                ca_pem: String::new(),
                cert_pem: String::new(),
                key_pem: Sensitive::new(String::new()),
            },
            network: ClusterNetwork {
                pod_cidrs: Vec::new(),
                service_cidrs: Vec::new(),
                dns_domain: "c-cluster.local".into(),
                node_cidr: None,
                cni: crate::talos::machine_config::Cni::None,
                kube_proxy: false,
            },
        };
        let spec = PoolSpec {
            cluster,
            name: "workers".into(),
            role: NodeRole::Worker,
            nodes: BTreeMap::from([("w1".to_string(), node.clone())]),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            config_patches: Vec::new(),
            max_unavailable: 1,
            drain: true,
            timeouts: Timeouts::from_value(&Value::Null, super::super::TIMEOUTS),
        };
        (spec, node)
    }

    #[tokio::test]
    async fn without_cluster_access_reboots_are_refused_and_a_gone_node_is_removed() {
        let (spec, node) = pool();
        let ctx = Context::background();
        let drainer = Drainer::new(&ctx, &spec, None, "test", Duration::from_secs(5));
        // Not answering its Talos API: nothing runs there, the removal goes ahead.
        let opts = Options::with_timeout(Duration::from_secs(5));
        drainer.before_removal(&spec, "w1", &node, &opts).await.expect("a gone node is removed");
        // A reboot needs the API: refused with the way out.
        let d = drainer.before_reboot(&spec, "w1").await.expect_err("no API, no reboot");
        assert!(d.detail.contains("no cluster access"), "{}", d.detail);
        assert!(drainer.after_reboot(&spec, "w1").await.is_err());
        // `drain = false`: nothing is asked of the API.
        let off = PoolSpec { drain: false, ..pool().0 };
        let drainer = Drainer::new(&ctx, &off, None, "test", Duration::from_secs(5));
        assert!(drainer.before_reboot(&off, "w1").await.is_ok());
        assert!(drainer.after_reboot(&off, "w1").await.is_ok());
    }

    #[test]
    fn a_failed_drain_says_what_happened_and_the_way_out() {
        let refused = KubeError::Api {
            object: None,
            code: 403,
            reason: "Forbidden".into(),
            message: String::new(),
            retry_after: None,
        };
        let d = drain_failure("w1", "was not rebooted", &refused);
        assert!(
            d.detail.contains("w1 was not rebooted") && d.detail.contains("drain = false"),
            "{}",
            d.detail
        );
    }
}
