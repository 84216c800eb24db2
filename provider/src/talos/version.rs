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
//!   multi-document kinds; Talos still reads them;
//! - which changes a running node takes live ([`reboot_reason`]): the same on every supported
//!   line; what differs is who reboots (Talos itself with AUTO before 1.14, the provider's
//!   explicit Reboot call from 1.14, see [`TalosContract::apply_plan`]).

use crate::catalog::Version;
use serde_norway::Value;
use std::collections::BTreeMap;

/// Parts of the v1alpha1 document a running node applies without a reboot (upstream
/// `CanApplyImmediate` clears these before comparing; the local region models the same list).
/// Every other document kind (`HostnameConfig`, `k8s` kinds...) applies live as well.
const LIVE_PATHS: &[&str] = &[
    "debug",
    "cluster",
    "machine.time",
    "machine.certSANs",
    "machine.network",
    "machine.sysctls",
    "machine.sysfs",
    "machine.logging",
    "machine.controlPlane",
    "machine.kubelet",
    "machine.install",
    "machine.nodeLabels",
    "machine.nodeAnnotations",
    "machine.nodeTaints",
    "machine.registries",
    "machine.features",
    "machine.udev",
    "machine.pods",
    "machine.seccompProfiles",
];

fn is_live(path: &str) -> bool {
    LIVE_PATHS.iter().any(|p| {
        path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

fn leaves(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                let sub = if path.is_empty() { key } else { format!("{path}.{key}") };
                leaves(child, &sub, out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                leaves(child, &format!("{path}[{i}]"), out);
            }
        }
        Value::Tagged(t) => leaves(&t.value, path, out),
        Value::Null => {}
        scalar => {
            out.insert(path.to_string(), scalar.clone());
        }
    }
}

/// The v1alpha1 document of a configuration (the one with a `version` key).
fn v1alpha1(docs: &[Value]) -> Option<&Value> {
    docs.iter().find(|d| d.get("version").is_some())
}

/// The first path (`machine.env.HTTP_PROXY`) whose change between two configurations a
/// running node cannot apply live, or `None` when the whole change applies without a reboot.
pub fn reboot_reason(before: &[Value], after: &[Value]) -> Option<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    if let Some(d) = v1alpha1(before) {
        leaves(d, "", &mut a);
    }
    if let Some(d) = v1alpha1(after) {
        leaves(d, "", &mut b);
    }
    let changed = a.iter().filter(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k);
    let added = b.keys().filter(|k| !a.contains_key(*k));
    let mut paths: Vec<&String> = changed.chain(added).collect();
    paths.sort();
    paths.into_iter().find(|p| !is_live(p)).cloned()
}

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

    fn doc(yaml: &str) -> Vec<Value> {
        vec![serde_norway::from_str(yaml).unwrap()]
    }

    #[test]
    fn live_changes_need_no_reboot() {
        let base =
            doc("version: v1alpha1\nmachine:\n  kubelet:\n    image: k:v1.35.9\n  sysctls: {a: '1'}\n");
        let kube =
            doc("version: v1alpha1\nmachine:\n  kubelet:\n    image: k:v1.36.4\n  sysctls: {a: '2'}\n");
        assert_eq!(reboot_reason(&base, &kube), None);
        assert_eq!(reboot_reason(&base, &base), None);
        let env = doc(
            "version: v1alpha1\nmachine:\n  kubelet:\n    image: k:v1.35.9\n  sysctls: {a: '1'}\n  env: {HTTP_PROXY: x}\n",
        );
        assert_eq!(reboot_reason(&base, &env).as_deref(), Some("machine.env.HTTP_PROXY"));
        assert_eq!(reboot_reason(&env, &base).as_deref(), Some("machine.env.HTTP_PROXY"));
        // `machine.kubeletX` is not `machine.kubelet`.
        let near = doc("version: v1alpha1\nmachine:\n  kubeletX: 1\n");
        assert!(reboot_reason(&base, &near).is_some());
    }

    #[test]
    fn deprecations_start_at_1_14() {
        assert!(contract("1.13.0").deprecated_paths().is_empty());
        assert!(contract("1.14.0").deprecated_paths().contains(&"cluster.inlineManifests"));
    }
}
