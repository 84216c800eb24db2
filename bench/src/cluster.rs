//! Cluster lifecycles and refresh against the local region, driven through terraform 1.0.3 with
//! the release provider, each measured against its critical-path lower bound ([`crate::bound`]).
//!
//! One region (in this process, `ct_emulator::start`, machines on 127.85.1.x and 127.85.2.x) with
//! the emulator's default latencies scaled by `time_scale`, then in order:
//! 1. terraform's fixed cost: `apply` of a configuration with the provider and no resource;
//! 2. a dev cluster created (1 control plane);
//! 3. a production cluster (3 control planes) and a worker pool of `pool_small` nodes, one apply;
//! 4. refresh of that cluster and pool, with and without an added latency per Talos RPC;
//! 5. the pool scaled to `pool_large` nodes (the new ones join in parallel), a no-op apply, and
//!    the same refresh;
//! 6. a Talos rolling upgrade of the control planes and the pool (`max_unavailable` at a time);
//! 7. a Kubernetes upgrade of both.

use crate::binaries::Terraform;
use crate::bound::{self, Bound};
use crate::error::BenchError;
use crate::tfrun::{ApplyTimes, Stack};
use ct_emulator::faults::{FaultKind, FaultSpec};
use ct_emulator::timing::Latencies;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

const CLUSTER: &str = "cloudtemple_kubernetes_cluster.prod";
const POOL: &str = "cloudtemple_kubernetes_node_pool.workers";
const DEV: &str = "cloudtemple_kubernetes_cluster.dev";
/// Versions before and after the upgrades (a supported path of the catalog).
pub(crate) const TALOS_FROM: &str = "1.13.9";
pub(crate) const TALOS_TO: &str = "1.14.1";
pub(crate) const K8S_FROM: &str = "1.35.9";
pub(crate) const K8S_TO: &str = "1.36.4";

/// What the cluster benchmark is asked to do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClusterOptions {
    /// Multiplier of the emulator's modelled latencies.
    pub(crate) time_scale: f64,
    /// Pool size of the first refresh.
    pub(crate) pool_small: usize,
    /// Pool size of the second refresh and of the upgrades.
    pub(crate) pool_large: usize,
    /// The pool's `max_unavailable`.
    pub(crate) max_unavailable: usize,
    /// Latency added to every Talos RPC for the refresh comparison, ms.
    pub(crate) rpc_delay_ms: u64,
    /// Plans per refresh case.
    pub(crate) refresh_reps: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            time_scale: 0.25,
            pool_small: 3,
            pool_large: 30,
            max_unavailable: 10,
            rpc_delay_ms: 100,
            refresh_reps: 3,
        }
    }
}

/// One operation against its lower bound.
#[derive(Clone, Debug)]
pub(crate) struct OpRow {
    /// What was done.
    pub(crate) what: String,
    /// Seconds from terraform's `apply_start` to `apply_complete` of the resource(s).
    pub(crate) measured: f64,
    /// Wall time of the whole `terraform apply`.
    pub(crate) apply_wall: f64,
    /// The critical-path lower bound.
    pub(crate) bound: Bound,
    /// How the bound is made, for the README.
    pub(crate) formula: String,
}

/// Refresh plans of the production cluster and a pool of `nodes`.
#[derive(Clone, Debug)]
pub(crate) struct RefreshRow {
    /// Pool nodes.
    pub(crate) nodes: usize,
    /// Plan walls with no added latency, seconds.
    pub(crate) plain: Vec<f64>,
    /// Plan walls with `rpc_delay_ms` on every Talos RPC, seconds.
    pub(crate) delayed: Vec<f64>,
    /// Whether every plan was empty.
    pub(crate) empty: bool,
}

/// Everything the cluster benchmark measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterResult {
    /// The terraform version used.
    pub(crate) version: String,
    /// The latencies of the region.
    pub(crate) latencies: Latencies,
    /// The options it ran with.
    pub(crate) options: Option<ClusterOptions>,
    /// Fixed costs: `(what, walls)`.
    pub(crate) fixed: Vec<(String, Vec<f64>)>,
    /// Operations against their bounds.
    pub(crate) ops: Vec<OpRow>,
    /// Refresh plans.
    pub(crate) refresh: Vec<RefreshRow>,
}

const REQUIRED: &str = "terraform {\n  required_providers {\n    cloudtemple = { source = \"cloud-temple/cloudtemple\" }\n  }\n}\n\nprovider \"cloudtemple\" {}\n";

const ZONES: [&str; 3] = ["AZ05", "AZ06", "AZ07"];

/// The production cluster on 127.85.1.1-3 and a pool of `nodes` workers on 127.85.1.4 onwards.
pub(crate) fn production_config(talos: &str, k8s: &str, nodes: usize, max_unavailable: usize) -> String {
    let mut text = format!(
        "{REQUIRED}\nresource \"cloudtemple_kubernetes_cluster\" \"prod\" {{\n  \
           name               = \"benchprod\"\n  \
           topology           = \"production\"\n  \
           endpoint           = \"127.85.1.250\"\n  \
           kubernetes_version = \"{k8s}\"\n  \
           talos_version      = \"{talos}\"\n  \
           network = {{\n    node_cidr = \"127.85.1.0/24\"\n  }}\n  \
           control_plane = [\n"
    );
    for (i, zone) in ZONES.iter().enumerate() {
        let _ = writeln!(text, "    {{ address = \"127.85.1.{}\", zone = \"{zone}\" }},", i + 1);
    }
    let _ = write!(
        text,
        "  ]\n}}\n\nresource \"cloudtemple_kubernetes_node_pool\" \"workers\" {{\n  \
           cluster         = cloudtemple_kubernetes_cluster.prod.access\n  \
           name            = \"workers\"\n  \
           role            = \"worker\"\n  \
           max_unavailable = {max_unavailable}\n  \
           nodes = {{\n"
    );
    for i in 0..nodes {
        let _ = writeln!(
            text,
            "    w{n:02} = {{ address = \"127.85.1.{n}\", zone = \"{}\" }}",
            ZONES[i % 3],
            n = i + 4
        );
    }
    text.push_str("  }\n}\n");
    text
}

/// A dev cluster on 127.85.2.1.
pub(crate) fn dev_config() -> String {
    format!(
        "{REQUIRED}\nresource \"cloudtemple_kubernetes_cluster\" \"dev\" {{\n  \
           name          = \"benchdev\"\n  \
           topology      = \"dev\"\n  \
           endpoint      = \"127.85.2.250\"\n  \
           network = {{\n    node_cidr = \"127.85.2.0/24\"\n  }}\n  \
           control_plane = [{{ address = \"127.85.2.1\", zone = \"AZ05\" }}]\n}}\n"
    )
}

/// The region of this benchmark, in this process.
struct Region {
    rt: tokio::runtime::Runtime,
    running: Option<ct_emulator::RunningRegion>,
}

impl Region {
    fn start(latencies: Latencies, pool: usize) -> Result<Self, BenchError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(BenchError::io("starting the region's runtime"))?;
        let last =
            u8::try_from(3 + pool).map_err(|_| BenchError::Setup(format!("a pool of {pool} is too big")))?;
        let mut machines: Vec<(String, SocketAddr)> =
            (1..=last).map(|i| (format!("p{i}"), SocketAddr::from(([127, 85, 1, i], 50000)))).collect();
        machines.push(("d1".to_string(), SocketAddr::from(([127, 85, 2, 1], 50000))));
        let options = ct_emulator::RegionOptions {
            region: ct_emulator::RegionConfig {
                latencies,
                talos_version: format!("v{TALOS_TO}"),
                ..ct_emulator::RegionConfig::default()
            },
            machines,
            admin: None,
        };
        let running = rt
            .block_on(ct_emulator::start(options))
            .map_err(|e| BenchError::Setup(format!("the region on 127.85.0.0/16 does not start: {e}")))?;
        Ok(Self { rt, running: Some(running) })
    }

    fn region(&self) -> Option<&ct_emulator::Region> {
        self.running.as_ref().map(ct_emulator::RunningRegion::region)
    }

    /// Every Talos RPC of every machine waits `ms` first (`None`: no added latency).
    fn delay(&self, ms: Option<u64>) -> Result<(), BenchError> {
        let Some(region) = self.region() else { return Ok(()) };
        region.clear_faults(None);
        if let Some(ms) = ms {
            let spec = FaultSpec { machine: "*".into(), api: "*".into(), kind: FaultKind::Delay { ms } };
            region.add_fault(spec).map_err(|e| BenchError::Setup(format!("delay fault refused: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.rt.block_on(running.shutdown());
        }
    }
}

fn op(what: String, times: &ApplyTimes, addresses: &[&str], bound: Bound) -> OpRow {
    // Resources applied one after the other (a pool waits for its cluster): their times add up.
    let measured = addresses.iter().map(|a| times.of(a)).sum();
    let formula =
        if addresses.len() > 1 { "the rows above, one after the other".to_string() } else { bound.formula() };
    OpRow { what, measured, apply_wall: times.wall, bound, formula }
}

fn refresh(
    stack: &Stack,
    region: &Region,
    nodes: usize,
    opts: &ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<RefreshRow, BenchError> {
    let mut row = RefreshRow { nodes, plain: Vec::new(), delayed: Vec::new(), empty: true };
    for rep in 0..opts.refresh_reps {
        progress(&format!(
            "refresh of the cluster and {nodes} pool nodes, round {}/{}",
            rep + 1,
            opts.refresh_reps
        ));
        // Interleaved, so that a burst of load on the shared machine hits both alike.
        for delayed in [false, true] {
            region.delay(delayed.then_some(opts.rpc_delay_ms))?;
            let label = format!("plan-{nodes}-{}-{rep}", if delayed { "delayed" } else { "plain" });
            let (wall, empty) = stack.plan(&label, true)?;
            row.empty &= empty;
            if delayed { &mut row.delayed } else { &mut row.plain }.push(wall);
        }
        region.delay(None)?;
    }
    Ok(row)
}

/// Runs the whole sequence with `tf` (terraform 1.0.3) and the provider in `provider_dir`.
pub(crate) fn measure(
    tf: &Terraform,
    provider_dir: &Path,
    work: &Path,
    opts: ClusterOptions,
    progress: &dyn Fn(&str),
) -> Result<ClusterResult, BenchError> {
    let l = Latencies { time_scale: opts.time_scale, ..Latencies::default() };
    let (small, large, k) =
        (opts.pool_small, opts.pool_large.max(opts.pool_small), opts.max_unavailable.max(1));
    let mut result = ClusterResult {
        version: tf.version.clone(),
        latencies: l.clone(),
        options: Some(opts),
        ..ClusterResult::default()
    };
    progress(&format!(
        "starting a region of {} machines on 127.85.0.0/16, time scale {}",
        large + 4,
        opts.time_scale
    ));
    let region = Region::start(l.clone(), large)?;

    progress("terraform's fixed cost: apply of the provider with no resource");
    let empty = Stack::create(&work.join("empty"), tf, provider_dir)?;
    empty.configure(REQUIRED)?;
    let walls =
        (0..3).map(|i| empty.apply(&format!("apply-empty-{i}")).map(|t| t.wall)).collect::<Result<_, _>>()?;
    result.fixed.push(("`apply`, provider and no resource".into(), walls));

    progress("dev cluster: create");
    let dev = Stack::create(&work.join("dev"), tf, provider_dir)?;
    dev.configure(&dev_config())?;
    let t = dev.apply("create")?;
    result.ops.push(op(
        "Dev cluster create (1 control plane)".into(),
        &t,
        &[DEV],
        bound::cluster_create(&l, 1),
    ));

    progress(&format!("production cluster and a pool of {small}: create"));
    let prod = Stack::create(&work.join("prod"), tf, provider_dir)?;
    prod.configure(&production_config(TALOS_FROM, K8S_FROM, small, k))?;
    let t = prod.apply("create")?;
    let (create, join) = (bound::cluster_create(&l, 3), bound::pool_join(&l, small));
    result.ops.push(op(
        "Production cluster create (3 control planes)".into(),
        &t,
        &[CLUSTER],
        create.clone(),
    ));
    result.ops.push(op(format!("Worker pool join, {small} nodes"), &t, &[POOL], join.clone()));
    result.ops.push(op(
        "… both resources (the pool waits for the cluster's `access`)".into(),
        &t,
        &[CLUSTER, POOL],
        bound::sequence(&[&create, &join]),
    ));
    result.refresh.push(refresh(&prod, &region, small, &opts, progress)?);

    progress(&format!("pool: {small} → {large} nodes"));
    prod.configure(&production_config(TALOS_FROM, K8S_FROM, large, k))?;
    let t = prod.apply("scale")?;
    result.ops.push(op(
        format!("Worker pool join, {} more nodes ({small} → {large})", large - small),
        &t,
        &[POOL],
        bound::pool_join(&l, large - small),
    ));
    let walls =
        (0..3).map(|i| prod.apply(&format!("apply-noop-{i}")).map(|t| t.wall)).collect::<Result<_, _>>()?;
    result.fixed.push((
        format!("`apply` with nothing to change (production cluster, pool of {large}, refresh included)"),
        walls,
    ));
    result.refresh.push(refresh(&prod, &region, large, &opts, progress)?);

    progress(&format!("Talos upgrade {TALOS_FROM} → {TALOS_TO}"));
    prod.configure(&production_config(TALOS_TO, K8S_FROM, large, k))?;
    let t = prod.apply("talos-upgrade")?;
    let (cp, pool) = (bound::talos_upgrade(&l, 3, 1), bound::talos_upgrade(&l, large, k));
    result.ops.push(op("Talos upgrade, 3 control planes (one at a time)".into(), &t, &[CLUSTER], cp.clone()));
    result.ops.push(op(
        format!("Talos upgrade, pool of {large} (max_unavailable = {k})"),
        &t,
        &[POOL],
        pool.clone(),
    ));
    result.ops.push(op("… both resources".into(), &t, &[CLUSTER, POOL], bound::sequence(&[&cp, &pool])));

    progress(&format!("Kubernetes upgrade {K8S_FROM} → {K8S_TO}"));
    prod.configure(&production_config(TALOS_TO, K8S_TO, large, k))?;
    let t = prod.apply("kubernetes-upgrade")?;
    let (cp, pool) = (bound::kubernetes_upgrade(&l, 3, 1), bound::kubernetes_upgrade(&l, large, k));
    result.ops.push(op(
        "Kubernetes upgrade, 3 control planes (one at a time)".into(),
        &t,
        &[CLUSTER],
        cp.clone(),
    ));
    result.ops.push(op(
        format!("Kubernetes upgrade, pool of {large} (max_unavailable = {k})"),
        &t,
        &[POOL],
        pool.clone(),
    ));
    result.ops.push(op("… both resources".into(), &t, &[CLUSTER, POOL], bound::sequence(&[&cp, &pool])));
    drop(region);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_config_stays_in_the_bench_range() {
        let text = production_config("1.13.9", "1.35.9", 30, 10);
        assert_eq!(text.matches("address = \"127.85.1.").count(), 33);
        assert!(text.contains("w33 = { address = \"127.85.1.33\""));
        assert!(text.contains("max_unavailable = 10") && text.contains("talos_version      = \"1.13.9\""));
        assert!(!dev_config().contains("127.0.") && dev_config().contains("127.85.2.1"));
    }
}
