//! The local region: emulated Talos machines and the Kubernetes API they bring up.
//!
//! Layout:
//! - [`region`]: the set of machines and clusters, their lifecycle (install, reboot, upgrade,
//!   reset), etcd membership and quorum, persisted to a state directory.
//! - [`apid`]: the Talos machine API each machine serves on its own address (maintenance mode
//!   with a self-signed certificate, then mTLS with roles), including `node` proxying.
//! - [`config`]: the v1alpha1 machine configuration as ApplyConfiguration validates it.
//! - [`pki`]: certificates (CAs from configs, server, client and self-signed leaves).
//! - [`faults`]: fault injection per machine and per API.
//! - [`admin`]: the admin HTTP endpoint (and its client) to inspect the region and inject faults.
//! - [`launch`]: starting a whole region (listeners, ticker, admin) from a library call.
//! - [`cli`]: the `ct-emulator` command line.
//!
//! - [`kube`]: the Kubernetes API each cluster serves on its endpoint once etcd is bootstrapped
//!   (HTTPS with client certificates from the cluster CA, discovery, CRUD, patches, server-side
//!   apply, watches, CRDs, controllers for workloads, MetalLB addresses and PVCs, persisted state).
//! - [`cluster_api`]: the wiring of the two halves: the region drives each cluster's
//!   [`kube::ApiServer`] (listener on the endpoint, Nodes and static pods from the machines,
//!   bootstrap manifests, version, availability with etcd quorum, faults).

pub mod admin;
pub mod apid;
pub mod cli;
pub mod cluster_api;
pub mod config;
mod error;
pub mod faults;
mod ids;
pub mod kube;
pub mod launch;
pub mod pki;
pub mod region;
pub mod timing;
pub mod version;

pub use error::{Error, Result};
pub use launch::{RegionOptions, RunningRegion, start};
pub use region::{Region, RegionConfig};
