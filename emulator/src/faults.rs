//! Fault injection: per machine and per API, set at start (config file, flags) or at run time
//! (admin endpoint). A fault names a machine (`*` for all), an API method (`*` for all) and what
//! goes wrong.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
    /// A share of matching calls fails with `Unavailable`.
    ErrorRate {
        /// Probability in [0, 1].
        rate: f64,
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
        !matches!(self, Self::Delay { .. } | Self::ErrorRate { .. })
    }
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
        if let FaultKind::ErrorRate { rate } = self.kind
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(Error::InvalidFault(format!("error rate {rate} is not within [0, 1]")));
        }
        Ok(())
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
    }
}
