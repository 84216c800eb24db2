//! Managed resource types: the single registration list, and shared schema fragments.
//!
//! - [`kubernetes_cluster`], [`kubernetes_node_pool`], [`kubernetes_addon`],
//!   [`kubernetes_manifest`]: one module per type.
//! - [`access`]: the credentials object a cluster exports and the others take.
//! - [`timeouts`]: the `timeouts` block.

pub mod access;
pub mod kubernetes_addon;
pub mod kubernetes_cluster;
pub mod kubernetes_manifest;
pub mod kubernetes_node_pool;
pub mod timeouts;

use crate::provider::SharedSettings;
use std::sync::Arc;
use tfplugin::Resource;

/// Every resource type of the provider.
pub fn all(settings: &SharedSettings) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(kubernetes_cluster::KubernetesCluster),
        Arc::new(kubernetes_node_pool::KubernetesNodePool { settings: settings.clone() }),
        Arc::new(kubernetes_addon::KubernetesAddon::new(settings)),
        Arc::new(kubernetes_manifest::KubernetesManifest { settings: settings.clone() }),
    ]
}
