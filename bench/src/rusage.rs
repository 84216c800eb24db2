//! CPU time of reaped child processes (`getrusage(RUSAGE_CHILDREN)`): a child's time is added
//! when its parent waits for it, so a process tree that reaps its own children (terraform, the
//! wrapper, the provider) is accounted in full once the top process has been waited for.

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike as _;

/// Accumulated CPU time of the reaped children of this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChildCpu {
    /// User time, microseconds.
    pub(crate) user_us: i64,
    /// System time, microseconds.
    pub(crate) system_us: i64,
    /// Largest peak resident set of any reaped child, KiB.
    pub(crate) max_rss_kib: i64,
}

impl ChildCpu {
    /// The current totals.
    pub(crate) fn now() -> Result<Self, nix::Error> {
        let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
        Ok(Self {
            user_us: usage.user_time().num_microseconds(),
            system_us: usage.system_time().num_microseconds(),
            max_rss_kib: usage.max_rss(),
        })
    }

    /// User plus system time spent since `earlier`, in seconds.
    pub(crate) fn cpu_since(self, earlier: Self) -> f64 {
        let us = (self.user_us - earlier.user_us) + (self.system_us - earlier.system_us);
        // Microsecond counts stay far below 2^52, where f64 is exact.
        #[allow(clippy::cast_precision_loss)]
        let us = us as f64;
        us / 1e6
    }
}
