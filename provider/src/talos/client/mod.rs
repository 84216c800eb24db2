//! The Talos machine API client: tonic over rustls (*ring*), typed calls, transient-only
//! retries, every call bounded by a deadline and cancellable.
//!
//! Map:
//! - [`connect`]: [`TalosClient`]: maintenance-mode connections (no client certificate, the
//!   node's self-signed certificate trusted on first use) and mTLS with the cluster's OS CA;
//!   `node` targeting; the deadline, cancellation and error plumbing of every call;
//! - [`tls`]: the rustls configurations of both modes and [`TalosCredentials`];
//! - [`machine`]: Version, ApplyConfiguration, Bootstrap (`AlreadyExists` is success),
//!   Kubeconfig (the `.tar.gz` stream unpacked), ServiceList, Reboot, Reset;
//! - [`etcd`]: member list, remove member, leave, forfeit leadership;
//! - [`lifecycle`]: Talos upgrades (LifecycleService, or the deprecated MachineService.Upgrade
//!   on older nodes) and the cluster health check stream;
//! - [`options`]: [`Options`], the deadline and cancellation token of an operation;
//! - [`retry`](mod@retry): [`retry()`] and [`wait_until`], backoff with jitter for transient errors only;
//! - [`wait`]: waits for maintenance mode, for a configured node, for etcd membership and
//!   health, for an upgraded node, for a reboot to start;
//! - [`error`]: [`TalosError`] (RPC, node, gRPC code and message) and what is transient.
//!
//! Nothing here logs or returns a machine configuration, a key or a kubeconfig: inputs and
//! outputs that hold secrets are [`Sensitive`](crate::talos::Sensitive), and logs carry RPC
//! names, node addresses, attempt numbers, fingerprints and progress messages only.

pub mod connect;
pub mod error;
pub mod etcd;
pub mod lifecycle;
pub mod machine;
pub mod options;
pub mod retry;
pub mod tls;
pub mod wait;

pub use connect::{DEFAULT_PORT, Mode, TalosClient};
pub use error::{ErrorKind, TalosError};
pub use etcd::EtcdMember;
pub use lifecycle::{UpgradeOutcome, UpgradePath, UpgradeSpec};
pub use machine::{ApplyResult, BootstrapOutcome, RebootMode, ServiceInfo, VersionInfo, WipeMode};
pub use options::Options;
pub use retry::{Backoff, Probe, retry, wait_until};
pub use tls::TalosCredentials;
pub use wait::{
    wait_for_configured, wait_for_etcd_healthy, wait_for_etcd_quorum, wait_for_maintenance,
    wait_for_reboot_start, wait_for_version,
};
