//! The README tables of the cluster benchmark: the latency model at the scale used, terraform's
//! fixed cost, each operation against its lower bound, and the refresh fan-out.

use crate::cluster::{ClusterResult, RefreshRow};
use crate::stats::{Summary, ratio};
use std::fmt::Write as _;

fn times(x: f64) -> String {
    if x.is_nan() { "n/a".to_string() } else { format!("{x:.2}×") }
}

fn median(xs: &[f64]) -> f64 {
    Summary::of(xs.iter().copied()).median
}

fn model(r: &ClusterResult, out: &mut String) {
    let l = &r.latencies;
    let _ = writeln!(
        out,
        "Latency model of the region (`emulator/src/timing.rs` defaults) at time scale {}; the 100 ms grace \
         between an RPC's answer and the install or reboot it schedules is not scaled.\n\n\
         | Step | Modelled | At this scale |\n| --- | --- | --- |",
        l.time_scale
    );
    for (what, ms) in [
        ("ApplyConfiguration (apply lock)", l.apply_ms),
        ("install from maintenance mode", l.install_ms),
        ("reboot", l.reboot_ms),
        ("boot (API up, services starting)", l.boot_ms),
        ("upgrade image install", l.upgrade_ms),
    ] {
        #[allow(clippy::cast_precision_loss)]
        let modelled = ms as f64 / 1000.0;
        let _ = writeln!(out, "| {what} | {modelled:.1} s | {:.3} s |", l.scaled(ms).as_secs_f64());
    }
    let _ = writeln!(out);
}

fn ops(r: &ClusterResult, out: &mut String) {
    let _ = writeln!(
        out,
        "Each operation is one `terraform apply -json`; *measured* is the time from terraform's \
         `apply_start` to its `apply_complete` message for the resource (both stamped by ct-bench as they \
         arrive), which is the provider's `ApplyResourceChange` plus terraform's bookkeeping around it. \
         *Whole apply* is the wall time of the command (terraform's start, refresh, plan, the provider \
         processes, state writes). *Above the bound* is what RPC round trips, TLS handshakes and polling \
         (the provider polls from 250 ms up to every 2 s) add to the modelled latencies.\n\n\
         | Operation | Measured s | Lower bound s | Measured ÷ bound | Above the bound s | Whole apply s | Lower bound: critical path |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    for o in &r.ops {
        let bound = o.bound.total();
        let _ = writeln!(
            out,
            "| {} | {:.2} | {bound:.2} | {} | {:.2} | {:.2} | {} |",
            o.what,
            o.measured,
            times(ratio(o.measured, bound)),
            o.measured - bound,
            o.apply_wall,
            o.formula,
        );
    }
    let _ = writeln!(out);
}

fn refresh(r: &ClusterResult, out: &mut String) {
    let Some(opts) = r.options else { return };
    let d = opts.rpc_delay_ms;
    #[allow(clippy::cast_precision_loss)]
    let delay = d as f64 / 1000.0;
    let _ = writeln!(
        out,
        "### 4. Refresh of a large cluster\n\n\
         `terraform plan` (refresh on) of the production cluster and its worker pool, {reps} rounds per case, \
         interleaved; cells are medians. The region models no latency for a read, so each case also runs with \
         a delay of {d} ms added to every Talos RPC of every machine (the emulator's `delay` fault): the \
         pool's refresh asks each node its version (one RPC per node), the cluster's asks each control plane \
         its version and etcd members. Done one node after another, the pool's refresh alone would add \
         nodes × {d} ms: that is the serial counterfactual.\n\n\
         | Pool nodes | Plan s | Plan s, +{d} ms per Talos RPC | Added by the latency s | Serial counterfactual: the pool's probes one after another would add s | Plans empty |\n\
         | --- | --- | --- | --- | --- | --- |",
        reps = opts.refresh_reps,
    );
    for row in &r.refresh {
        #[allow(clippy::cast_precision_loss)]
        let serial = row.nodes as f64 * delay;
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.2} | {:.2} | {serial:.2} | {} |",
            row.nodes,
            median(&row.plain),
            median(&row.delayed),
            median(&row.delayed) - median(&row.plain),
            if row.empty { "yes" } else { "**no**" },
        );
    }
    if let [small, large] = r.refresh.as_slice() {
        fan_out(small, large, delay, out);
    }
}

#[allow(clippy::cast_precision_loss)]
fn fan_out(small: &RefreshRow, large: &RefreshRow, delay: f64, out: &mut String) {
    let (ps, pl) = (median(&small.plain), median(&large.plain));
    let (ds, dl) = (median(&small.delayed), median(&large.delayed));
    let serial = ds + (large.nodes - small.nodes) as f64 * delay;
    let _ = writeln!(
        out,
        "\nRatios, {l} nodes ÷ {s} nodes ({f:.0}× the nodes): plan {plain}, plan with the added latency \
         {delayed}. A refresh that probed the pool's nodes one after another would take at least \
         {serial:.2} s for {l} nodes with the added latency, {counter} the {s}-node plan.\n",
        l = large.nodes,
        s = small.nodes,
        f = ratio(large.nodes as f64, small.nodes as f64),
        plain = times(ratio(pl, ps)),
        delayed = times(ratio(dl, ds)),
        counter = times(ratio(serial, ds)),
    );
}

/// Sections 3 and 4 of the results.
pub(crate) fn tables(r: &ClusterResult, out: &mut String) {
    let Some(opts) = r.options else { return };
    let _ = writeln!(
        out,
        "### 3. Cluster create and rolling upgrades against the local region\n\n\
         Terraform {v} with the release provider (dev_overrides) against a region started by ct-bench in its own \
         process (`ct_emulator::start`, {m} machines on 127.85.1.x and 127.85.2.x). One production cluster is \
         taken through every step in turn: created with a pool of {s} workers, the pool grown to {l}, Talos \
         upgraded {tf} → {tt}, Kubernetes upgraded {kf} → {kt}; `max_unavailable = {k}`. The dev cluster is \
         created on its own.\n",
        v = r.version,
        m = opts.pool_large + 4,
        s = opts.pool_small,
        l = opts.pool_large,
        k = opts.max_unavailable,
        tf = crate::cluster::TALOS_FROM,
        tt = crate::cluster::TALOS_TO,
        kf = crate::cluster::K8S_FROM,
        kt = crate::cluster::K8S_TO,
    );
    model(r, out);
    let _ = writeln!(
        out,
        "Terraform's own fixed cost, for scale (each row: median of 3, min – max):\n\n\
         | Command | Wall s |\n| --- | --- |"
    );
    for (what, walls) in &r.fixed {
        let min = walls.iter().copied().fold(f64::INFINITY, f64::min);
        let max = walls.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(out, "| {what} | {:.2} ({min:.2} – {max:.2}) |", median(walls));
    }
    let _ = writeln!(out);
    ops(r, out);
    refresh(r, out);
}
