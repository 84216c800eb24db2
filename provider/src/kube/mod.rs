//! The Kubernetes API client, on kube-rs: what add-ons, manifests and node pools need from a
//! cluster, reached with the cluster's `access` (never provider configuration).
//!
//! Layout:
//! - [`client`]: [`KubeAccess`] and [`KubeClient`] (TLS against the cluster CA, client
//!   certificate, discovery refreshed on a miss since CRDs appear mid-apply, single-object calls);
//! - [`apply`]: server-side apply of a set in one pass (Namespaces, then CRDs waited for
//!   Established, then the rest), prune and delete with a wait until gone;
//! - [`object`]: [`ObjectRef`] (`<apiVersion>//<Kind>//<namespace>//<name>`) and [`Inventory`];
//! - [`ready`]: readiness of workloads, CRDs, Jobs, PVCs, LoadBalancer Services;
//! - [`drift`]: live objects projected onto what was applied, to see out-of-band edits;
//! - [`node`]: cordon and drain;
//! - [`budget`]: deadlines, cancellation (StopProvider), retries of 429/5xx (honouring
//!   `Retry-After`) and connection errors, never of other 4xx;
//! - [`error`]: [`KubeError`], transient or permanent, one diagnostic each.
//!
//! ```no_run
//! # async fn demo(cluster: &tfplugin::Value, objects: Vec<serde_json::Value>) -> Result<(), cloudtemple::kube::KubeError> {
//! use cloudtemple::kube::{ApplyOptions, Budget, Inventory, KubeAccess, KubeClient};
//! let client = KubeClient::new(&KubeAccess::from_value(cluster)?, "terraform-provider-cloudtemple")?;
//! let budget = Budget::new(&tfplugin::Context::background(), std::time::Duration::from_secs(600));
//! let applied = client.apply_set(&objects, &ApplyOptions { wait: true, ..Default::default() }, &budget).await?;
//! let inventory = Inventory::from_applied(&applied);
//! # let _ = inventory; Ok(())
//! # }
//! ```

pub mod apply;
pub mod budget;
pub mod client;
pub mod drift;
pub mod error;
pub mod node;
pub mod object;
pub mod ready;

pub use apply::{Applied, ApplyOptions};
pub use budget::Budget;
pub use client::{KubeAccess, KubeClient, ResolvedKind};
pub use drift::{Drift, DriftKind, owned_by, project};
pub use error::{FieldConflict, KubeError};
pub use node::{DrainOptions, DrainReport};
pub use object::{Inventory, ObjectRef};
