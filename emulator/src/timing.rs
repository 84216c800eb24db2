//! Modelled latencies of machine lifecycle steps, and the time scale that lets tests run them fast.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long lifecycle steps take on an emulated machine, before scaling.
///
/// Every delay is multiplied by `time_scale`: 1.0 is "real" speed for demos, 0.01 makes a
/// 20 s install last 200 ms in tests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Latencies {
    /// Installing to disk after the first ApplyConfiguration in maintenance mode.
    pub install_ms: u64,
    /// A reboot: the API refuses connections for this long.
    pub reboot_ms: u64,
    /// After a reboot, the API answers but services (etcd, kubelet) are still starting.
    pub boot_ms: u64,
    /// Pulling and installing an upgrade image before the node reboots into it.
    pub upgrade_ms: u64,
    /// Wiping disks during a reset.
    pub reset_ms: u64,
    /// Time an ApplyConfiguration call holds the per-node apply lock.
    pub apply_ms: u64,
    /// Multiplier applied to every delay above (and to health check polling).
    pub time_scale: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            install_ms: 20_000,
            reboot_ms: 15_000,
            boot_ms: 5_000,
            upgrade_ms: 30_000,
            reset_ms: 5_000,
            apply_ms: 200,
            time_scale: 1.0,
        }
    }
}

impl Latencies {
    /// Latencies for tests: the defaults scaled down a hundredfold.
    pub fn fast() -> Self {
        Self { time_scale: 0.01, ..Self::default() }
    }

    /// Scales a modelled delay in milliseconds.
    pub fn scaled(&self, ms: u64) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale >= 0.0 { self.time_scale } else { 1.0 };
        Duration::from_secs_f64(ms as f64 * scale / 1000.0)
    }

    /// Scales a delay and returns it in whole milliseconds (at least 1 for a non-zero delay).
    pub(crate) fn scaled_ms(&self, ms: u64) -> u64 {
        let d = self.scaled(ms).as_millis();
        u64::try_from(d).unwrap_or(u64::MAX).max(u64::from(ms > 0))
    }
}

/// Milliseconds since the Unix epoch: the clock persisted deadlines are expressed in.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_linear_and_guards_bad_scales() {
        let mut l = Latencies::fast();
        assert_eq!(l.scaled(20_000), Duration::from_millis(200));
        assert_eq!(l.scaled_ms(10), 1);
        assert_eq!(l.scaled_ms(0), 0);
        l.time_scale = f64::NAN;
        assert_eq!(l.scaled(1_000), Duration::from_secs(1));
    }
}
