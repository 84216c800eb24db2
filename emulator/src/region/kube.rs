//! The region's side of the Kubernetes APIs: the faults injected into them (persisted with the
//! machine faults, ids shared) and the registry of the servers [`crate::cluster_api`] runs, so
//! that health checks, the admin endpoint and library users can reach them.

use super::{Region, RegionEvent};
use crate::cluster_api::KubeEndpoint;
use crate::error::Result;
use crate::faults::{KubeFault, KubeFaultSpec};

impl Region {
    /// Adds a Kubernetes API fault, returning its id.
    ///
    /// # Errors
    /// [`crate::Error::InvalidFault`] when the spec is not valid.
    pub fn add_kube_fault(&self, spec: KubeFaultSpec) -> Result<u64> {
        spec.validate()?;
        Ok(self.mutate(|st| {
            st.next_fault_id += 1;
            let id = st.next_fault_id;
            st.kube_faults.push(KubeFault { id, spec });
            id
        }))
    }

    /// Active Kubernetes API faults.
    pub fn kube_faults(&self) -> Vec<KubeFault> {
        self.lock().kube_faults.clone()
    }

    /// The Kubernetes API of a cluster (by key), once etcd was bootstrapped and the region
    /// serves it.
    pub fn kube_endpoint(&self, cluster_key: &str) -> Option<KubeEndpoint> {
        self.kube_registry().get(cluster_key).cloned()
    }

    /// Every served Kubernetes API, by cluster key.
    pub fn kube_endpoints(&self) -> Vec<(String, KubeEndpoint)> {
        self.kube_registry().iter().map(|(k, e)| (k.clone(), e.clone())).collect()
    }

    /// Records (or forgets) the server of a cluster.
    pub(crate) fn set_kube_endpoint(&self, cluster_key: &str, endpoint: Option<KubeEndpoint>) {
        let mut registry = self.kube_registry();
        match endpoint {
            Some(e) => registry.insert(cluster_key.to_owned(), e),
            None => registry.remove(cluster_key),
        };
    }

    /// Tells subscribers about something that happened outside the region state.
    pub(crate) fn emit(&self, event: RegionEvent) {
        // Nobody listening is fine.
        let _ = self.inner.events.send(event);
    }

    fn kube_registry(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, KubeEndpoint>> {
        self.inner.kube.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
