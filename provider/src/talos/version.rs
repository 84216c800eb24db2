//! What changes between the Talos minor lines this provider supports, in one place, so that
//! the machine configuration renderer and the resources never compare version numbers
//! themselves.
//!
//! Facts (siderolabs/talos, see reference/talos-api-and-peer-providers.md §2 and the Talos docs
//! "Editing Machine Configuration"):
//! - up to 1.13, `ApplyConfiguration` mode AUTO reboots the node when the change cannot be
//!   applied live, and REBOOT is available;
//! - from 1.14, REBOOT answers Unimplemented outside maintenance mode and AUTO always resolves
//!   to NO_REBOOT: a change that needs a reboot must be followed by an explicit Reboot call;
//! - from 1.14, `cluster.inlineManifests`, `cluster.extraManifests` (and their headers) and
//!   `cluster.coreDNS` of the v1alpha1 document are deprecated in favour of the `k8s`
//!   multi-document kinds; Talos still reads them.

use crate::catalog::Version;

/// `ApplyConfigurationRequest.mode` values (api/machine/machine.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// REBOOT = 0: apply and reboot (Talos < 1.14 only, or maintenance mode).
    Reboot,
    /// AUTO = 1: reboot only if needed (< 1.14); never reboots on 1.14+.
    Auto,
    /// NO_REBOOT = 2: apply live, fail if that is impossible.
    NoReboot,
    /// STAGED = 3: store for the next boot.
    Staged,
    /// TRY = 4: apply live and roll back after a timeout unless confirmed.
    Try,
}

impl ApplyMode {
    /// The protobuf enum number.
    pub const fn proto_value(self) -> i32 {
        match self {
            Self::Reboot => 0,
            Self::Auto => 1,
            Self::NoReboot => 2,
            Self::Staged => 3,
            Self::Try => 4,
        }
    }
}

/// How to apply a configuration change to a running node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyPlan {
    /// The mode to send.
    pub mode: ApplyMode,
    /// Whether the provider must call Reboot itself after a successful apply.
    pub reboot_after_apply: bool,
}

/// The behaviour of one Talos minor line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TalosContract {
    major: u64,
    minor: u64,
}

impl TalosContract {
    /// The contract of a Talos release.
    pub const fn of(version: Version) -> Self {
        Self { major: version.major, minor: version.minor }
    }

    const fn at_least(self, major: u64, minor: u64) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// Whether AUTO may reboot the node (Talos < 1.14).
    pub const fn auto_apply_may_reboot(self) -> bool {
        !self.at_least(1, 14)
    }

    /// Whether v1alpha1 `cluster.inlineManifests`, `extraManifests` and `coreDNS` are deprecated.
    pub const fn multidoc_kubernetes_config(self) -> bool {
        self.at_least(1, 14)
    }

    /// How to apply a change to a running (configured) node. `needs_reboot` is the provider's
    /// own reading of the change, so the plan it showed is what happens: below 1.14 a change
    /// predicted not to need a reboot is sent as NO_REBOOT (Talos fails instead of rebooting
    /// by surprise); from 1.14 the reboot is an explicit call after the apply.
    pub const fn apply_plan(self, needs_reboot: bool) -> ApplyPlan {
        match (self.auto_apply_may_reboot(), needs_reboot) {
            (true, true) => ApplyPlan { mode: ApplyMode::Auto, reboot_after_apply: false },
            (true, false) => ApplyPlan { mode: ApplyMode::NoReboot, reboot_after_apply: false },
            (false, reboot) => ApplyPlan { mode: ApplyMode::Auto, reboot_after_apply: reboot },
        }
    }

    /// v1alpha1 paths deprecated on this line; a user patch that sets one gets a warning.
    pub const fn deprecated_paths(self) -> &'static [&'static str] {
        if self.multidoc_kubernetes_config() {
            &[
                "cluster.inlineManifests",
                "cluster.extraManifests",
                "cluster.extraManifestHeaders",
                "cluster.coreDNS",
            ]
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(s: &str) -> TalosContract {
        TalosContract::of(Version::parse(s).unwrap())
    }

    #[test]
    fn apply_modes_follow_the_version() {
        let old = contract("1.13.9");
        assert!(old.auto_apply_may_reboot());
        assert_eq!(old.apply_plan(true), ApplyPlan { mode: ApplyMode::Auto, reboot_after_apply: false });
        assert_eq!(old.apply_plan(false).mode, ApplyMode::NoReboot);
        let new = contract("1.14.1");
        assert!(!new.auto_apply_may_reboot());
        assert_eq!(new.apply_plan(true), ApplyPlan { mode: ApplyMode::Auto, reboot_after_apply: true });
        assert_eq!(new.apply_plan(false), ApplyPlan { mode: ApplyMode::Auto, reboot_after_apply: false });
        assert!(contract("2.0.0").multidoc_kubernetes_config());
        assert_eq!(ApplyMode::Try.proto_value(), 4);
    }

    #[test]
    fn deprecations_start_at_1_14() {
        assert!(contract("1.13.0").deprecated_paths().is_empty());
        assert!(contract("1.14.0").deprecated_paths().contains(&"cluster.inlineManifests"));
    }
}
