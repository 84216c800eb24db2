//! Critical-path lower bounds of cluster operations, from the local region's own latency model
//! (`emulator/src/timing.rs` and the lifecycle in `emulator/src/region/`): the least wall time any
//! provider could take against that region, given what must be sequential.
//!
//! What the region models, per machine (each delay × `time_scale`, except the grace):
//! - ApplyConfiguration holds the node's apply lock for `apply_ms` before answering;
//! - from maintenance mode it then schedules the install a grace of 100 ms later (unscaled, so
//!   the answer gets out first), installs (`install_ms`), reboots (`reboot_ms`) and boots
//!   (`boot_ms`) before it runs configured;
//! - etcd bootstrap needs a control plane that runs configured and takes no modelled time; the
//!   other control planes join etcd the moment they run configured and etcd has quorum;
//! - a Talos upgrade (LifecycleService) installs (`upgrade_ms`), then the Reboot RPC schedules the
//!   reboot after the grace, then `reboot_ms` and `boot_ms`;
//! - a configuration change Talos applies live costs one ApplyConfiguration (`apply_ms`).
//!
//! What must be sequential (DESIGN §7): bootstrap after the configured boot, one control plane at a
//! time through a rolling change (etcd quorum), workers in batches of `max_unavailable`. Parallel
//! steps count once. RPC round trips, TLS handshakes and polling are not modelled, so they are
//! what a measured time adds above its bound.

use ct_emulator::timing::Latencies;

/// The grace between an RPC's answer and the install or reboot it schedules
/// (`GRACE_MS` in `emulator/src/region/power.rs`), in seconds; not scaled.
pub(crate) const GRACE_S: f64 = 0.1;

/// One term of a bound: `count` sequential occurrences of a step of `each` seconds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Term {
    /// What the step is.
    pub(crate) what: &'static str,
    /// How many times it is on the critical path.
    pub(crate) count: usize,
    /// Its duration, seconds.
    pub(crate) each: f64,
}

/// A lower bound: the sum of its terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Bound {
    /// The terms, in the order they happen.
    pub(crate) terms: Vec<Term>,
}

impl Bound {
    /// Seconds.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn total(&self) -> f64 {
        self.terms.iter().map(|t| t.count as f64 * t.each).sum()
    }

    /// The terms, for the README: `3 × (upgrade 7.50 s + …)` reads better than a number.
    pub(crate) fn formula(&self) -> String {
        let parts: Vec<String> = self
            .terms
            .iter()
            .filter(|t| t.count > 0 && t.each > 0.0)
            .map(|t| {
                if t.count == 1 {
                    format!("{} {:.2} s", t.what, t.each)
                } else {
                    format!("{} × {} {:.2} s", t.count, t.what, t.each)
                }
            })
            .collect();
        parts.join(" + ")
    }

    fn then(mut self, what: &'static str, count: usize, each: f64) -> Self {
        self.terms.push(Term { what, count, each });
        self
    }
}

/// A modelled delay in seconds (`Latencies::scaled`, the emulator's own arithmetic).
fn s(l: &Latencies, ms: u64) -> f64 {
    l.scaled(ms).as_secs_f64()
}

/// One node from maintenance mode to running configured: apply, grace, install, reboot, boot.
pub(crate) fn configure_node(l: &Latencies) -> f64 {
    s(l, l.apply_ms) + GRACE_S + s(l, l.install_ms) + s(l, l.reboot_ms) + s(l, l.boot_ms)
}

/// One node through a Talos upgrade: install the new release, grace, reboot, boot.
pub(crate) fn upgrade_node(l: &Latencies) -> f64 {
    s(l, l.upgrade_ms) + GRACE_S + s(l, l.reboot_ms) + s(l, l.boot_ms)
}

/// Sequential rounds for `nodes` nodes taken `batch` at a time (at least one node per batch).
pub(crate) fn batches(nodes: usize, batch: usize) -> usize {
    nodes.div_ceil(batch.max(1))
}

/// Creating a cluster of `control_planes`: every control plane configured in parallel, then
/// bootstrap once (no modelled time), the others join etcd as soon as they run (no modelled
/// time). The number of control planes does not change the bound: that is the point of
/// configuring them in parallel.
pub(crate) fn cluster_create(l: &Latencies, control_planes: usize) -> Bound {
    let _ = control_planes;
    Bound::default()
        .then("configure (apply + install + reboot + boot), all control planes at once", 1, configure_node(l))
        .then("etcd bootstrap and joins", 1, 0.0)
}

/// Joining `nodes` workers: all in parallel, so one node's configuration.
pub(crate) fn pool_join(l: &Latencies, nodes: usize) -> Bound {
    Bound::default().then(
        "configure (apply + install + reboot + boot), all nodes at once",
        usize::from(nodes > 0),
        configure_node(l),
    )
}

/// A Talos rolling upgrade of `nodes` nodes, `batch` at a time (1 for control planes): each
/// batch installs and reboots, then the configuration that names the new installer image is
/// applied live (all nodes at once: it does not reboot).
pub(crate) fn talos_upgrade(l: &Latencies, nodes: usize, batch: usize) -> Bound {
    Bound::default().then("upgrade (install + reboot + boot)", batches(nodes, batch), upgrade_node(l)).then(
        "live apply of the new installer image",
        usize::from(nodes > 0),
        s(l, l.apply_ms),
    )
}

/// A Kubernetes upgrade of `nodes` nodes, `batch` at a time: the new kubelet and control plane
/// images are a live configuration change, one ApplyConfiguration per node.
pub(crate) fn kubernetes_upgrade(l: &Latencies, nodes: usize, batch: usize) -> Bound {
    Bound::default().then("live apply", batches(nodes, batch), s(l, l.apply_ms))
}

/// The sum of bounds that terraform must run one after the other (a pool waits for its
/// cluster's `access`).
pub(crate) fn sequence(bounds: &[&Bound]) -> Bound {
    Bound { terms: bounds.iter().flat_map(|b| b.terms.iter().cloned()).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Real speed: the defaults of `Latencies` (install 20 s, reboot 15 s, boot 5 s, upgrade 30 s,
    /// apply 200 ms).
    fn real() -> Latencies {
        Latencies { time_scale: 1.0, ..Latencies::default() }
    }

    #[test]
    fn a_node_configures_in_apply_grace_install_reboot_boot() {
        assert!(close(configure_node(&real()), 0.2 + 0.1 + 20.0 + 15.0 + 5.0));
        let quarter = Latencies { time_scale: 0.25, ..Latencies::default() };
        // The grace is not scaled.
        assert!(close(configure_node(&quarter), (0.2 + 20.0 + 15.0 + 5.0) / 4.0 + 0.1));
    }

    #[test]
    fn creation_does_not_grow_with_control_planes_or_pool_nodes() {
        let l = real();
        assert!(close(cluster_create(&l, 1).total(), 40.3));
        assert_eq!(cluster_create(&l, 3), cluster_create(&l, 1));
        assert!(close(pool_join(&l, 30).total(), pool_join(&l, 1).total()));
        assert!(close(pool_join(&l, 0).total(), 0.0));
    }

    #[test]
    fn rolling_upgrades_go_one_control_plane_or_one_batch_at_a_time() {
        let l = real();
        let node = 30.0 + 0.1 + 15.0 + 5.0;
        assert!(close(talos_upgrade(&l, 3, 1).total(), 3.0 * node + 0.2));
        // 30 workers, 10 at a time: 3 batches; 7 nodes 2 at a time: 4 batches.
        assert!(close(talos_upgrade(&l, 30, 10).total(), 3.0 * node + 0.2));
        assert!(close(talos_upgrade(&l, 7, 2).total(), 4.0 * node + 0.2));
        // max_unavailable 0 is not valid, but must not divide by zero here.
        assert_eq!(batches(5, 0), 5);
        assert!(close(kubernetes_upgrade(&l, 3, 1).total(), 0.6));
        assert!(close(kubernetes_upgrade(&l, 30, 10).total(), 0.6));
    }

    #[test]
    fn sequences_add_up_and_formulas_name_their_terms() {
        let l = real();
        let (cp, pool) = (talos_upgrade(&l, 3, 1), talos_upgrade(&l, 30, 10));
        let both = sequence(&[&cp, &pool]);
        assert!(close(both.total(), cp.total() + pool.total()));
        let text = cp.formula();
        assert!(text.starts_with("3 × upgrade (install + reboot + boot) 50.10 s"), "{text}");
        assert!(text.ends_with("live apply of the new installer image 0.20 s"), "{text}");
        assert!(!cluster_create(&l, 3).formula().contains("etcd"), "zero terms are left out");
    }
}
