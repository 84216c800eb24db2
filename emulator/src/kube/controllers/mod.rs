//! Controllers that make the API behave like a running cluster, each a pass over the store run on
//! a timer: workloads become ready after a modelled delay, LoadBalancer Services get addresses
//! from MetalLB pools, PVCs bind, terminating namespaces are emptied and removed. Delays are
//! multiplied by [`Timings::time_scale`] so tests run them fast.

mod pods;
mod scheduling;
mod services;
mod storage;
mod workloads;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::kube::apply::{self, Writer};
use crate::kube::fieldset::Scope;
use crate::kube::lifecycle::{self, Propagation};
use crate::kube::meta::{self, has_finalizers, meta_str};
use crate::kube::server::Shared;
use crate::kube::store::{ObjectKey, Txn};

/// Modelled delays of the controllers, before scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timings {
    /// Multiplier of every delay (1.0 = demo speed, 0.01 in tests).
    pub time_scale: f64,
    /// How often the controllers run.
    pub tick_ms: u64,
    /// From a workload generation to all replicas ready.
    pub workload_ready_ms: u64,
    /// From a PVC (with an existing StorageClass) to Bound.
    pub pvc_bind_ms: u64,
    /// From a LoadBalancer Service (with a matching pool) to its address.
    pub lb_assign_ms: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            tick_ms: 500,
            workload_ready_ms: 5_000,
            pvc_bind_ms: 2_000,
            lb_assign_ms: 1_000,
        }
    }
}

impl Timings {
    /// Timings for tests: everything a hundred times faster.
    pub fn fast() -> Self {
        Self { time_scale: 0.01, ..Self::default() }
    }

    /// Scales a delay.
    pub fn scaled(&self, ms: u64) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale >= 0.0 { self.time_scale } else { 1.0 };
        Duration::from_secs_f64(ms as f64 * scale / 1000.0)
    }

    /// The controller period (at least 20 ms: a pass scans every object).
    pub(crate) fn tick(&self) -> Duration {
        self.scaled(self.tick_ms).max(Duration::from_millis(20))
    }
}

/// When each controller first saw each object generation: readiness delays count from there.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    seen: Mutex<HashMap<(ObjectKey, i64), Instant>>,
    /// Whether the last pass left something waiting for its delay.
    waiting: AtomicBool,
    /// The store's resourceVersion after the last pass.
    last_rv: AtomicU64,
}

impl Clock {
    /// Whether `delay` has passed since this generation of `key` was first seen.
    pub(crate) fn elapsed(&self, key: &ObjectKey, generation: i64, delay: Duration) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = *seen.entry((key.clone(), generation)).or_insert_with(Instant::now);
        let done = first.elapsed() >= delay;
        if !done {
            self.waiting.store(true, Ordering::Relaxed);
        }
        done
    }

    fn retain(&self, live: impl Fn(&ObjectKey) -> bool) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|(k, _), _| live(k));
    }
}

/// Replaces an object's status as a controller does (through the status subresource, recorded
/// under `kube-controller-manager`); nothing is written when the status is unchanged.
pub(crate) fn write_status(txn: &mut Txn<'_>, key: &ObjectKey, status: Value) {
    let Some(old) = txn.get(key).cloned() else { return };
    if old.get("status") == Some(&status) {
        return;
    }
    let mut new = old.clone();
    new["status"] = status;
    let av = old.get("apiVersion").and_then(Value::as_str).unwrap_or("v1").to_owned();
    apply::track_update(
        Some(&old),
        &mut new,
        &Writer {
            manager: "kube-controller-manager",
            api_version: &av,
            subresource: "status",
            scope: Scope::StatusOnly,
        },
    );
    if let Err(e) = txn.put(key, new) {
        tracing::warn!(error = %e, "controller status write failed");
    }
}

/// A condition list with `(type, status, reason, message)` set, keeping transition times of
/// conditions whose status did not change.
pub(crate) fn conditions(old: Option<&Value>, wanted: &[(&str, &str, &str, &str)]) -> Value {
    let now = meta::now_rfc3339();
    let previous = old.and_then(Value::as_array).cloned().unwrap_or_default();
    let out: Vec<Value> = wanted
        .iter()
        .map(|(kind, status, reason, message)| {
            let prev = previous.iter().find(|c| c["type"] == *kind);
            match prev {
                Some(p) if p["status"] == *status && p["reason"] == *reason => p.clone(),
                _ => json!({"type": kind, "status": status, "reason": reason, "message": message,
                            "lastTransitionTime": now, "lastUpdateTime": now}),
            }
        })
        .collect();
    Value::Array(out)
}

/// One pass of every controller; skipped when nothing changed and nothing is waiting.
pub(crate) fn reconcile(shared: &Shared) {
    let t = &shared.timings;
    let clock = &shared.clock;
    shared.store.transact(|txn| {
        if txn.resource_version() == clock.last_rv.load(Ordering::Relaxed)
            && !clock.waiting.swap(false, Ordering::Relaxed)
        {
            return;
        }
        clock.waiting.store(false, Ordering::Relaxed);
        namespaces(txn);
        pods::reconcile(txn, &shared.clock, t);
        workloads::reconcile(txn, &shared.clock, t);
        services::reconcile(txn, &shared.clock, t);
        storage::reconcile(txn, &shared.clock, t);
        let keys: std::collections::HashSet<ObjectKey> = txn.keys().into_iter().collect();
        shared.clock.retain(|k| keys.contains(k));
        clock.last_rv.store(txn.resource_version(), Ordering::Relaxed);
    });
}

/// Terminating namespaces: delete their objects, then the namespace once empty.
fn namespaces(txn: &mut Txn<'_>) {
    let terminating: Vec<String> = txn
        .list("", "namespaces", None)
        .into_iter()
        .filter(|(_, ns)| meta_str(ns, "deletionTimestamp").is_some())
        .map(|(k, _)| k.name.clone())
        .collect();
    for ns in terminating {
        let contents = txn.keys_in_namespace(&ns);
        for k in &contents {
            if txn.get(k).is_some_and(|o| meta_str(o, "deletionTimestamp").is_none()) {
                let _ = lifecycle::delete(txn, k, Propagation::Background, false);
            }
        }
        if !txn.keys_in_namespace(&ns).is_empty() {
            continue;
        }
        let key = ObjectKey::new("", "namespaces", "", &ns);
        let Some(mut obj) = txn.get(&key).cloned() else { continue };
        if obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty()) {
            obj["spec"]["finalizers"] = json!([]);
            let _ = txn.put(&key, obj.clone());
        }
        if !has_finalizers(&obj) {
            let _ = txn.delete(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_their_times_while_unchanged() {
        let first = conditions(None, &[("Available", "False", "MinimumReplicasUnavailable", "m")]);
        let mut aged = first;
        aged[0]["lastTransitionTime"] = json!("2000-01-01T00:00:00Z");
        let again = conditions(Some(&aged), &[("Available", "False", "MinimumReplicasUnavailable", "m")]);
        assert_eq!(again[0]["lastTransitionTime"], "2000-01-01T00:00:00Z");
        let flipped = conditions(Some(&aged), &[("Available", "True", "MinimumReplicasAvailable", "m")]);
        assert_ne!(flipped[0]["lastTransitionTime"], "2000-01-01T00:00:00Z");
        assert_eq!(Timings::fast().scaled(5_000), Duration::from_millis(50));
    }
}
