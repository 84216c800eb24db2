//! Identifiers the emulated machines hand out (etcd member ids, actor ids, certificate serials)
//! and the coin flips of error-rate faults. None of them is security relevant, so they come from
//! the standard library's randomly keyed hasher rather than a CSPRNG dependency.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh pseudo-random 64-bit value.
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(crate::timing::now_ms());
    h.finish()
}

/// A non-zero etcd member id.
pub(crate) fn member_id() -> u64 {
    random_u64().max(1)
}

/// A UUID-shaped actor id, as upstream returns for Reboot, Reset and Upgrade.
pub(crate) fn actor_id() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// A uniformly distributed value in [0, 1).
pub(crate) fn unit_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_and_well_formed() {
        let a = super::actor_id();
        assert_eq!(a.len(), 36);
        assert_ne!(a, super::actor_id());
        let u = super::unit_f64();
        assert!((0.0..1.0).contains(&u));
        assert_ne!(super::member_id(), 0);
    }
}
