//! Fault injection: per machine and per API, set at start (config file, flags) or at run time
//! (admin endpoint). A machine fault ([`FaultSpec`]) names a machine (`*` for all), a Talos API
//! method (`*` for all) and what goes wrong; a Kubernetes API fault ([`KubeFaultSpec`]) names a
//! cluster and uses the same kinds (delay, error rate, throttling) on its API server.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kube::KubeFaults;
use crate::region::state::MachineRecord;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultKind {
    /// Every matching call waits this long before being handled.
    Delay {
        /// Added latency in milliseconds (not scaled).
        ms: u64,
    },
    /// A share of matching calls fails (`Unavailable` on the Talos API, 500 on Kubernetes).
    ErrorRate {
        /// Probability in [0, 1].
        rate: f64,
    },
    /// A share of Kubernetes API requests is answered 429 TooManyRequests with `Retry-After`.
    Throttle {
        /// Probability in [0, 1].
        rate: f64,
        /// The `Retry-After` seconds (at least 1).
        #[serde(default = "one_second")]
        retry_after_secs: u64,
    },
    /// The machine is powered off: connections are refused.
    Down,
    /// The machine is unreachable: connections hang, proxying to it times out, its etcd member
    /// counts as lost.
    Partitioned,
    /// The machine's next reboot never finishes (until the fault is cleared).
    RebootHang,
    /// The machine's etcd member is lost (crashed, data gone): it no longer counts for quorum.
    EtcdMemberLost,
}

impl FaultKind {
    /// Whether this fault makes the machine's etcd member unhealthy.
    pub fn is_etcd_breaking(&self) -> bool {
        matches!(self, Self::Down | Self::Partitioned | Self::EtcdMemberLost)
    }

    /// Whether the fault is about the whole machine (the `api` of its spec is ignored).
    pub fn is_machine_wide(&self) -> bool {
        !self.is_per_request()
    }

    /// Whether the fault acts on each request (delay, errors, throttling): the only kinds a
    /// Kubernetes API fault may have.
    pub fn is_per_request(&self) -> bool {
        matches!(self, Self::Delay { .. } | Self::ErrorRate { .. } | Self::Throttle { .. })
    }

    fn validate_rate(&self) -> Result<()> {
        match self {
            Self::ErrorRate { rate } | Self::Throttle { rate, .. } if !(0.0..=1.0).contains(rate) => {
                Err(Error::InvalidFault(format!("rate {rate} is not within [0, 1]")))
            }
            _ => Ok(()),
        }
    }
}

fn one_second() -> u64 {
    1
}

/// A fault as requested: which machine, which API, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Machine id, hostname, `ip:port` or IP; `*` matches every machine.
    pub machine: String,
    /// gRPC method name (`ApplyConfiguration`, `/machine.MachineService/Version`) or `*`.
    #[serde(default = "any")]
    pub api: String,
    /// What goes wrong.
    #[serde(flatten)]
    pub kind: FaultKind,
}

fn any() -> String {
    "*".to_owned()
}

impl FaultSpec {
    /// Checks the spec is meaningful.
    ///
    /// # Errors
    /// [`Error::InvalidFault`] for an empty machine or an error rate outside [0, 1].
    pub fn validate(&self) -> Result<()> {
        if self.machine.trim().is_empty() {
            return Err(Error::InvalidFault("machine must be an id, an address or *".into()));
        }
        if matches!(self.kind, FaultKind::Throttle { .. }) {
            return Err(Error::InvalidFault(
                "throttle (429 with Retry-After) applies to a Kubernetes API: name a cluster, not a machine"
                    .into(),
            ));
        }
        self.kind.validate_rate()
    }

    /// Whether the spec targets this machine.
    pub fn matches_machine(&self, m: &MachineRecord) -> bool {
        self.machine == "*" || m.matches(&self.machine)
    }

    /// Whether the spec targets this API method (full path or bare method name).
    pub fn matches_api(&self, full_method: &str) -> bool {
        if self.api == "*" || self.api == full_method {
            return true;
        }
        full_method.rsplit('/').next() == Some(self.api.as_str())
    }
}

/// An active fault with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Id to clear it with.
    pub id: u64,
    /// The fault.
    #[serde(flatten)]
    pub spec: FaultSpec,
}

/// A fault of one cluster's Kubernetes API (or of every cluster's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeFaultSpec {
    /// Cluster key (`cluster.id`), cluster name or endpoint URL; `*` matches every cluster.
    pub cluster: String,
    /// What goes wrong: `delay`, `error-rate` (500s) or `throttle` (429s).
    #[serde(flatten)]
    pub kind: FaultKind,
}

impl KubeFaultSpec {
    /// Checks the spec is meaningful.
    ///
    /// # Errors
    /// [`Error::InvalidFault`] for an empty cluster, a machine-wide kind or a rate outside [0, 1].
    pub fn validate(&self) -> Result<()> {
        if self.cluster.trim().is_empty() {
            return Err(Error::InvalidFault("cluster must be a cluster id, name, endpoint or *".into()));
        }
        if !self.kind.is_per_request() {
            return Err(Error::InvalidFault(format!(
                "{:?} is a machine fault; a Kubernetes API fault is delay, error-rate or throttle",
                self.kind
            )));
        }
        self.kind.validate_rate()
    }

    /// Whether the spec targets the cluster with this key, name and endpoint.
    pub fn matches_cluster(&self, key: &str, name: &str, endpoint: &str) -> bool {
        ["*", key, name, endpoint].contains(&self.cluster.as_str())
    }
}

/// An active Kubernetes API fault with its id (ids are shared with machine faults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeFault {
    /// Id to clear it with.
    pub id: u64,
    /// The fault.
    #[serde(flatten)]
    pub spec: KubeFaultSpec,
}

/// What the faults matching one cluster do to its API server: delays add up, error and
/// throttling chances combine as independent coins, the longest `Retry-After` wins.
pub(crate) fn kube_faults_for<'a>(faults: impl IntoIterator<Item = &'a KubeFaultSpec>) -> KubeFaults {
    let mut out = KubeFaults::default();
    for spec in faults {
        match spec.kind {
            FaultKind::Delay { ms } => out.latency_ms = out.latency_ms.saturating_add(ms),
            FaultKind::ErrorRate { rate } => out.error_rate = 1.0 - (1.0 - out.error_rate) * (1.0 - rate),
            FaultKind::Throttle { rate, retry_after_secs } => {
                out.throttle_rate = 1.0 - (1.0 - out.throttle_rate) * (1.0 - rate);
                out.retry_after_secs = out.retry_after_secs.max(retry_after_secs.max(1));
            }
            _ => {}
        }
    }
    out
}

/// Whether a machine-wide fault satisfying `pred` applies to the machine.
pub(crate) fn machine_faulted(
    faults: &[Fault],
    m: &MachineRecord,
    pred: impl Fn(&FaultKind) -> bool,
) -> bool {
    faults.iter().any(|f| f.spec.matches_machine(m) && pred(&f.spec.kind))
}

/// The per-call effect of the faults on one machine and method.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct CallEffect {
    /// Total added latency.
    pub delay_ms: u64,
    /// Whether this call fails with Unavailable.
    pub fail: bool,
}

/// Computes the effect of API-level faults on a call (the coin is flipped here).
pub(crate) fn call_effect(faults: &[Fault], m: &MachineRecord, full_method: &str) -> CallEffect {
    let mut effect = CallEffect::default();
    for f in faults.iter().filter(|f| f.spec.matches_machine(m) && f.spec.matches_api(full_method)) {
        match f.spec.kind {
            FaultKind::Delay { ms } => effect.delay_ms = effect.delay_ms.saturating_add(ms),
            FaultKind::ErrorRate { rate } => effect.fail |= crate::ids::unit_f64() < rate,
            _ => {}
        }
    }
    effect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_validate() {
        let json = r#"{"machine":"m1","api":"Version","kind":"error-rate","rate":0.5}"#;
        let spec: FaultSpec = serde_json::from_str(json).expect("parses");
        assert!(spec.validate().is_ok());
        assert!(spec.matches_api("/machine.MachineService/Version"));
        assert!(!spec.matches_api("/machine.MachineService/Reboot"));
        let bad: FaultSpec =
            serde_json::from_str(r#"{"machine":"m1","kind":"error-rate","rate":2}"#).expect("parses");
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"machine":"m1","kind":"melt"}"#).is_err());
        let down: FaultSpec = serde_json::from_str(r#"{"machine":"*","kind":"down"}"#).expect("parses");
        assert_eq!(down.api, "*");
        assert!(down.kind.is_machine_wide() && down.kind.is_etcd_breaking());
        let throttle: FaultSpec =
            serde_json::from_str(r#"{"machine":"m1","kind":"throttle","rate":0.5}"#).expect("parses");
        assert!(throttle.validate().is_err(), "429s are a Kubernetes API fault");
    }

    #[test]
    fn kube_faults_validate_match_and_combine() {
        let spec = |json: &str| serde_json::from_str::<KubeFaultSpec>(json).expect("parses");
        let throttle = spec(r#"{"cluster":"demo","kind":"throttle","rate":0.5}"#);
        assert!(throttle.validate().is_ok());
        assert!(throttle.matches_cluster("id-1", "demo", "https://10.0.0.1:6443"));
        assert!(!throttle.matches_cluster("id-2", "other", "https://10.0.0.2:6443"));
        assert!(spec(r#"{"cluster":"*","kind":"down"}"#).validate().is_err());
        assert!(spec(r#"{"cluster":"","kind":"delay","ms":1}"#).validate().is_err());
        assert!(spec(r#"{"cluster":"*","kind":"error-rate","rate":1.5}"#).validate().is_err());
        let errors = spec(r#"{"cluster":"*","kind":"error-rate","rate":0.5}"#);
        let delay = spec(r#"{"cluster":"*","kind":"delay","ms":30}"#);
        let slow = spec(r#"{"cluster":"*","kind":"throttle","rate":0.5,"retry_after_secs":7}"#);
        let all = kube_faults_for([&throttle, &errors, &errors, &delay, &delay, &slow]);
        assert_eq!((all.latency_ms, all.retry_after_secs), (60, 7));
        assert!((all.error_rate - 0.75).abs() < 1e-9 && (all.throttle_rate - 0.75).abs() < 1e-9);
        assert_eq!(throttle.kind, FaultKind::Throttle { rate: 0.5, retry_after_secs: 1 });
    }
}
