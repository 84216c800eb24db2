//! `cloudtemple_kubernetes_cluster`: the control plane of one Talos Linux Kubernetes cluster.
//!
//! - [`schema`]: attributes and their documentation.
//! - [`validate`]: topology, network and version rules checked before any remote call.
//! - [`plan`]: defaults, and version moves checked against the running cluster.
//!
//! Create, upgrades, drift and reset land with the Talos client (see `issues show 4`); until
//! then the type is registered schema-first.

pub mod plan;
pub mod schema;
pub mod validate;

pub use schema::schema;

/// Resource type name.
pub const TYPE_NAME: &str = "cloudtemple_kubernetes_cluster";

/// Availability zones of region FR1 (AZ05 = PAR7S, AZ06 = TH3S, AZ07 = DATA4).
pub const ZONES: [&str; 3] = ["AZ05", "AZ06", "AZ07"];
