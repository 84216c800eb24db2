//! Updating a cluster in place: the rollout [`super::rollout`] describes (move, repair, Talos
//! upgrade, reconfiguration), one control plane at a time, with etcd healthy on every member
//! (every node's etcd service healthy, full voting membership) before and after each node.
//!
//! Every step is safe to run again: a node already on the target release is not upgraded
//! twice, and applying the configuration a node already runs changes nothing. An update that
//! stops part way (a timeout, a node that does not come back, Ctrl-C) records the prior
//! versions and patches with the live `nodes`, so the next plan shows the update again and
//! the next apply carries on where this one stopped.
//!
//! With `upgrade.drain` (the default), a control plane that reboots (Talos upgrade, a change
//! Talos cannot apply live) is cordoned first and uncordoned once it is back with etcd healthy.
//! It is not drained: a production control plane runs no ordinary workload (its taint keeps them
//! off), and the single control plane of a dev cluster has no other control plane to send its
//! pods to, so evicting them would only make them pending until the node is back. A cordon that
//! fails (Kubernetes API unreachable) is logged and the rollout goes on: the upgrade may be what
//! repairs the API; an uncordon that fails is reported as a warning naming the node.
//!
//! Control planes reboot in the `upgrade.reboot_mode` the plan holds (`powercycle` skips kexec).

use super::create::{TALOS_PORT, apply_in_maintenance, control_plane_config, talos_failure};
use super::read::{NodeHealth, credentials_from_state, live_nodes, probe};
use super::rollout::{
    Move, Reconfiguration, control_plane_move, installer_image, reconfigurations, talos_upgrade,
};
use super::spec::{ClusterSpec, NodeSpec};
use crate::catalog::Version;
use crate::kube::{Budget, KubeAccess, KubeClient};
use crate::resources::kubernetes_node_pool::create::wait_for_kubelet;
use crate::talos::SecretsBundle;
use crate::talos::client::{
    Backoff, Options, TalosClient, TalosCredentials, UpgradeSpec, WipeMode, retry, wait_for_configured,
    wait_for_etcd_quorum, wait_for_maintenance, wait_for_reboot_start, wait_for_version,
};
use crate::talos::version::TalosContract;
use std::time::Duration;
use tfplugin::resource::{ApplyRequest, ApplyResponse};
use tfplugin::{Context, Diagnostic, Value};

/// How long to look for a node going down after a reboot was requested.
const REBOOT_START: Duration = Duration::from_secs(20);

/// How long a rollout waits for a healthy etcd before touching the first node.
const HEALTHY_BEFORE: Duration = Duration::from_secs(120);

/// How long a cordon or uncordon may take.
const CORDON: Duration = Duration::from_secs(60);

/// Cordons control planes around their reboots (`upgrade.drain`).
struct Cordoner {
    client: Option<KubeClient>,
    budget: Budget,
    warnings: std::sync::Mutex<Vec<Diagnostic>>,
}

impl Cordoner {
    /// From the planned state: `None` client when `upgrade.drain` is off.
    fn new(ctx: &Context, planned: &Value, timeout: Duration) -> Self {
        let drain = planned
            .get_attr("upgrade")
            .and_then(|u| u.get_attr("drain"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let client = drain
            .then(|| planned.get_attr("access"))
            .flatten()
            .and_then(|a| KubeAccess::from_value(a).ok())
            // Cordoning is a merge patch: the field manager does not show.
            .and_then(|a| KubeClient::new(&a, crate::provider::DEFAULT_FIELD_MANAGER).ok());
        Self { client, budget: Budget::new(ctx, timeout), warnings: std::sync::Mutex::default() }
    }

    async fn cordon(&self, hostname: &str) {
        let Some(client) = &self.client else { return };
        match client.cordon(hostname, &self.budget.part(CORDON)).await {
            Ok(()) => tracing::info!(%hostname, "control plane cordoned before its reboot"),
            Err(e) => {
                tracing::warn!(%hostname, error = %e, "control plane not cordoned; rebooting it anyway");
            }
        }
    }

    async fn uncordon(&self, hostname: &str) {
        let Some(client) = &self.client else { return };
        match client.uncordon(hostname, &self.budget.part(CORDON)).await {
            Ok(()) => tracing::info!(%hostname, "control plane back: uncordoned"),
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                let mut d = e.to_diagnostic(&format!("{hostname} left cordoned"));
                d.severity = tfplugin::Severity::Warning;
                d.detail = format!(
                    "{}

Run `kubectl uncordon {hostname}` once the API answers.",
                    d.detail
                );
                self.warnings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(d);
            }
        }
    }
}

/// What the rollout works with.
struct Rollout<'a> {
    spec: &'a ClusterSpec,
    bundle: &'a SecretsBundle,
    talos: &'a TalosCredentials,
    opts: &'a Options,
    cordoner: &'a Cordoner,
}

impl Rollout<'_> {
    fn clients_of(&self, nodes: &[&NodeSpec]) -> Result<Vec<TalosClient>, Diagnostic> {
        nodes
            .iter()
            .map(|n| {
                TalosClient::connect(n.address, TALOS_PORT, self.talos)
                    .map_err(|e| talos_failure(&format!("connecting to {}", n.address), &e))
            })
            .collect()
    }

    /// etcd healthy on every member, full membership, within `opts`.
    async fn etcd_healthy_within(&self, after: &str, opts: &Options) -> Result<(), Diagnostic> {
        let nodes: Vec<&NodeSpec> = self.spec.control_planes.iter().collect();
        self.etcd_healthy_among(&nodes, after, opts).await
    }

    /// etcd healthy on each of `nodes`, with exactly that many members.
    async fn etcd_healthy_among(
        &self,
        nodes: &[&NodeSpec],
        after: &str,
        opts: &Options,
    ) -> Result<(), Diagnostic> {
        let clients = self.clients_of(nodes)?;
        wait_for_etcd_quorum(&clients, clients.len(), opts)
            .await
            .map_err(|e| talos_failure(&format!("waiting for a healthy etcd {after}"), &e))
    }

    /// etcd healthy on every member, full membership.
    async fn etcd_healthy(&self, after: &str) -> Result<(), Diagnostic> {
        self.etcd_healthy_within(after, self.opts).await
    }

    fn rendered(&self, node: &NodeSpec) -> Result<crate::talos::Sensitive, Diagnostic> {
        control_plane_config(self.spec, node, self.bundle)
    }

    /// Configures a control plane found in maintenance mode again; it rejoins etcd.
    async fn repair(&self, node: &NodeSpec) -> Result<(), Diagnostic> {
        let fail = |step: &str, e: &crate::talos::client::TalosError| {
            talos_failure(&format!("{step} {} ({})", node.hostname, node.address), e)
        };
        tracing::info!(node = %node.address, hostname = %node.hostname, "repairing a control plane reset to maintenance mode");
        // Its etcd member is still registered (down): remove it, or the node could not join
        // again under its name. Removing a member that is down never costs quorum.
        for peer in self.spec.control_planes.iter().filter(|p| p.address != node.address) {
            let Ok(client) = TalosClient::connect(peer.address, TALOS_PORT, self.talos) else { continue };
            let Ok(members) = client.etcd_member_list(self.opts).await else { continue };
            if let Some(stale) = members.iter().find(|m| is_member_of(m, node)) {
                client
                    .etcd_remove_member(stale.id, self.opts)
                    .await
                    .map_err(|e| fail("removing the etcd member of", &e))?;
            }
            break;
        }
        let yaml = self.rendered(node)?;
        apply_in_maintenance(node.address, &yaml, self.opts)
            .await
            .map_err(|e| fail("applying the configuration of", &e))?;
        wait_for_configured(node.address, TALOS_PORT, self.talos, self.opts)
            .await
            .map_err(|e| fail("waiting for the configured boot of", &e))?;
        self.etcd_healthy(&format!("after repairing {}", node.hostname)).await
    }

    /// Moves a control plane to another machine: the new one joins etcd (one member more than
    /// usual), then the old one leaves and is reset. Each step is skipped when already done, so
    /// an interrupted move carries on.
    async fn relocate(&self, prior: &ClusterSpec, m: &Move) -> Result<(), Diagnostic> {
        let (from, to) = (&m.from, &m.to);
        let fail = |step: &str, node: &NodeSpec, e: &crate::talos::client::TalosError| {
            talos_failure(&format!("{step} {} ({})", node.hostname, node.address), e)
        };
        let others: Vec<&NodeSpec> =
            prior.control_planes.iter().filter(|n| n.address != from.address).collect();
        let mut all: Vec<&NodeSpec> = prior.control_planes.iter().collect();
        all.push(to);
        tracing::info!(hostname = %to.hostname, from = %from.address, to = %to.address, "moving a control plane");
        if matches!(probe(to, self.talos, self.opts).await, NodeHealth::Maintenance) {
            self.etcd_healthy_among(
                &all[..all.len() - 1],
                "before the move",
                &self.opts.step(HEALTHY_BEFORE),
            )
            .await?;
            let yaml = self.rendered(to)?;
            apply_in_maintenance(to.address, &yaml, self.opts)
                .await
                .map_err(|e| fail("applying the configuration of", to, &e))?;
            wait_for_configured(to.address, TALOS_PORT, self.talos, self.opts)
                .await
                .map_err(|e| fail("waiting for the configured boot of", to, &e))?;
        }
        if !matches!(probe(from, self.talos, self.opts).await, NodeHealth::Maintenance) {
            self.etcd_healthy_among(&all, &format!("with {} joined", to.address), self.opts).await?;
            let old = TalosClient::connect(from.address, TALOS_PORT, self.talos)
                .map_err(|e| fail("connecting to", from, &e))?;
            if let Err(e) = old.etcd_forfeit_leadership(self.opts).await {
                tracing::debug!(node = %from.address, error = %e, "etcd leadership not forfeited");
            }
            let members = self
                .clients_of(&others)?
                .first()
                .map(|c| c.etcd_member_list(self.opts))
                .ok_or_else(|| {
                    Diagnostic::error("No control plane left", "The cluster has no other control plane.")
                })?
                .await
                .map_err(|e| fail("listing the etcd members from", to, &e))?;
            if members.iter().any(|mem| is_member_of(mem, from)) {
                old.etcd_leave_cluster(self.opts).await.map_err(|e| fail("making etcd leave", from, &e))?;
            }
            // It left etcd already: a graceful reset would try to leave again.
            old.reset(false, true, WipeMode::All, self.opts)
                .await
                .map_err(|e| fail("resetting", from, &e))?;
            wait_for_maintenance(from.address, TALOS_PORT, self.opts)
                .await
                .map_err(|e| fail("waiting for maintenance mode on", from, &e))?;
        }
        self.etcd_healthy(&format!("after moving {} to {}", to.hostname, to.address)).await
    }

    /// Upgrades one control plane to `to`, unless it runs it already.
    async fn upgrade(&self, node: &NodeSpec, to: Version) -> Result<(), Diagnostic> {
        let fail = |step: &str, e: &crate::talos::client::TalosError| {
            talos_failure(&format!("{step} {} ({})", node.hostname, node.address), e)
        };
        let client = TalosClient::connect(node.address, TALOS_PORT, self.talos)
            .map_err(|e| fail("connecting to", &e))?;
        let running = client.version(self.opts).await.map_err(|e| fail("asking the version of", &e))?;
        if running.tag.trim_start_matches('v') == to.to_string() {
            tracing::info!(node = %node.address, talos = %to, "control plane already upgraded");
            return Ok(());
        }
        if self.spec.control_planes.len() > 1 {
            // Leadership moves before the node goes down rather than after an election.
            if let Err(e) = client.etcd_forfeit_leadership(self.opts).await {
                tracing::debug!(node = %node.address, error = %e, "etcd leadership not forfeited");
            }
        }
        self.cordoner.cordon(&node.hostname).await;
        tracing::info!(node = %node.address, hostname = %node.hostname, from = %running.tag, %to, "upgrading Talos");
        let spec = UpgradeSpec {
            image: installer_image(to),
            stage: false,
            force: false,
            preserve: true,
            reboot_mode: self.spec.reboot_mode,
        };
        client.upgrade(&spec, self.opts).await.map_err(|e| fail("upgrading", &e))?;
        wait_for_reboot_start(&client, REBOOT_START, self.opts).await.map_err(|e| fail("rebooting", &e))?;
        let (client, _) = wait_for_version(node.address, TALOS_PORT, self.talos, &to.to_string(), self.opts)
            .await
            .map_err(|e| fail("waiting for the upgraded", &e))?;
        wait_for_kubelet(&client, self.opts).await.map_err(|e| fail("waiting for the kubelet of", &e))?;
        self.etcd_healthy(&format!("after upgrading {}", node.hostname)).await?;
        self.cordoner.uncordon(&node.hostname).await;
        Ok(())
    }

    /// Applies the new configuration to one control plane, rebooting it when the change
    /// needs it (the same reading the plan warned about).
    async fn reconfigure(&self, change: &Reconfiguration) -> Result<(), Diagnostic> {
        let node = &self.spec.control_planes[change.index];
        let fail = |step: &str, e: &crate::talos::client::TalosError| {
            talos_failure(&format!("{step} {} ({})", node.hostname, node.address), e)
        };
        let yaml = self.rendered(node)?;
        let plan = TalosContract::of(self.spec.talos_version).apply_plan(change.reboot.is_some());
        let client = TalosClient::connect(node.address, TALOS_PORT, self.talos)
            .map_err(|e| fail("connecting to", &e))?;
        if change.reboot.is_some() {
            self.cordoner.cordon(&node.hostname).await;
        }
        tracing::info!(node = %node.address, hostname = %node.hostname, mode = ?plan.mode, reboot = ?change.reboot, "applying the changed configuration");
        retry(self.opts, &Backoff::POLL, |step| {
            let client = client.clone();
            let yaml = yaml.clone();
            async move { client.apply_configuration(&yaml, plan.mode, false, &step).await }
        })
        .await
        .map_err(|e| fail("applying the configuration of", &e))?;
        if plan.reboot_after_apply {
            client.reboot(self.spec.reboot_mode, self.opts).await.map_err(|e| fail("rebooting", &e))?;
        }
        if change.reboot.is_some() {
            wait_for_reboot_start(&client, REBOOT_START, self.opts)
                .await
                .map_err(|e| fail("rebooting", &e))?;
            let (client, _) = wait_for_configured(node.address, TALOS_PORT, self.talos, self.opts)
                .await
                .map_err(|e| fail("waiting for the reboot of", &e))?;
            wait_for_kubelet(&client, self.opts).await.map_err(|e| fail("waiting for the kubelet of", &e))?;
        }
        self.etcd_healthy(&format!("after reconfiguring {}", node.hostname)).await?;
        if change.reboot.is_some() {
            self.cordoner.uncordon(&node.hostname).await;
        }
        Ok(())
    }

    async fn run(&self, prior: &ClusterSpec) -> Result<(), Diagnostic> {
        let moved = control_plane_move(prior, self.spec).map_err(|reason| {
            Diagnostic::error(
                "Control plane change not supported",
                format!("{reason}. This is checked at plan."),
            )
        })?;
        if let Some(m) = &moved {
            self.relocate(prior, m).await?;
        }
        for node in &self.spec.control_planes {
            if matches!(probe(node, self.talos, self.opts).await, NodeHealth::Maintenance) {
                self.repair(node).await?;
            }
        }
        // A control plane that is down (not reset) cannot be repaired from here: say so soon
        // rather than wait out the whole update timeout.
        self.etcd_healthy_within("before the rollout", &self.opts.step(HEALTHY_BEFORE)).await?;
        if let Some((from, to)) = talos_upgrade(prior, self.spec) {
            tracing::info!(cluster = %self.spec.name, %from, %to, "Talos rolling upgrade");
            for node in &self.spec.control_planes {
                self.upgrade(node, to).await?;
            }
        }
        let changes = reconfigurations(prior, self.spec)
            .map_err(|e| Diagnostic::error("Invalid machine configuration", e.to_string()))?;
        for change in &changes {
            self.reconfigure(change).await?;
        }
        Ok(())
    }
}

/// Whether etcd member `m` is the one of `node` (by peer address: a moved control plane keeps
/// its hostname, so two members may share it for a moment).
fn is_member_of(m: &crate::talos::client::EtcdMember, node: &NodeSpec) -> bool {
    let host = match node.address {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        std::net::IpAddr::V4(v4) => v4.to_string(),
    };
    m.peer_urls.iter().any(|u| u.contains(&format!("//{host}:")))
}

fn bundle_from_state(state: &Value) -> Result<SecretsBundle, Diagnostic> {
    let text =
        state.get_attr("access").and_then(|a| a.get_attr("secrets")).and_then(Value::as_str).ok_or_else(
            || Diagnostic::error("Missing cluster secrets", "The state has no `access.secrets`."),
        )?;
    SecretsBundle::from_yaml(text)
        .map_err(|e| Diagnostic::error("Invalid cluster secrets", format!("access.secrets: {e}.")))
}

fn status_of(nodes: &Value) -> String {
    let not_ready: Vec<&str> = nodes
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter(|n| n.get_attr("ready") != Some(&Value::from(true)))
        .filter_map(|n| n.get_attr("hostname").and_then(Value::as_str))
        .collect();
    if not_ready.is_empty() {
        "ready".to_string()
    } else {
        format!("degraded: {} not ready", not_ready.join(", "))
    }
}

/// Updates the cluster.
pub async fn update(ctx: &Context, req: ApplyRequest<'_>) -> ApplyResponse {
    let mut resp = ApplyResponse::default();
    let Some(prior_value) = req.prior else {
        resp.diags
            .error("Missing prior state", "An update needs the prior state. This is a bug in the provider.");
        return resp;
    };
    let parsed = (|| {
        let prior = ClusterSpec::from_value(prior_value)?;
        let spec = ClusterSpec::from_value(req.planned)?;
        let talos = credentials_from_state(req.planned).ok_or_else(|| {
            Diagnostic::error(
                "Missing cluster credentials",
                "The state has no Talos credentials in `access`.",
            )
        })?;
        Ok::<_, Diagnostic>((prior, spec, talos, bundle_from_state(req.planned)?))
    })();
    let (prior, spec, talos, bundle) = match parsed {
        Ok(p) => p,
        Err(d) => {
            resp.diags.push(d);
            return resp;
        }
    };
    let opts = Options::new(spec.timeouts.update, ctx.token());
    let cordoner = Cordoner::new(ctx, req.planned, spec.timeouts.update);
    let rollout = Rollout { spec: &spec, bundle: &bundle, talos: &talos, opts: &opts, cordoner: &cordoner };
    let outcome = rollout.run(&prior).await;
    for warning in cordoner.warnings.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        resp.diags.push(warning);
    }
    let probe_opts = Options::new(Duration::from_secs(60), ctx.token());
    match outcome {
        Ok(()) => {
            let nodes = live_nodes(&spec, &talos, &probe_opts).await;
            let mut state = req.planned.clone();
            let _ = state.set_attr("status", Value::from(status_of(&nodes)));
            let _ = state.set_attr("nodes", nodes);
            resp.state = Some(state);
        }
        Err(d) => {
            resp.diags.push(d);
            // What is true now: the prior versions and patches (so the next plan shows the
            // update again) and the live nodes.
            let nodes = live_nodes(&prior, &talos, &probe_opts).await;
            let mut state = prior_value.clone();
            let _ = state.set_attr("status", Value::from("degraded: update interrupted"));
            let _ = state.set_attr("nodes", nodes);
            resp.state = Some(state);
        }
    }
    resp
}
