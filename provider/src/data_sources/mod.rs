//! Data sources: the single registration list.

pub mod kubernetes_addons;
pub mod kubernetes_cluster;
pub mod kubernetes_versions;

use std::sync::Arc;
use tfplugin::DataSource;

/// Every data source of the provider.
pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(kubernetes_versions::KubernetesVersions),
        Arc::new(kubernetes_addons::KubernetesAddons),
        Arc::new(kubernetes_cluster::KubernetesCluster),
    ]
}
