//! Sets of objects: server-side apply in one pass (Namespaces and CRDs first, CRDs waited for
//! Established before the objects that may use them), prune of what left the set, and delete
//! in reverse order with a wait until gone.

use super::budget::{Budget, Poll, poll_until};
use super::client::{KubeClient, ResolvedKind};
use super::error::KubeError;
use super::object::ObjectRef;
use serde_json::Value;

/// How a set is applied.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Take over fields other managers own (`conflict_resolution = "overwrite"`).
    pub force: bool,
    /// Wait for every object to be ready.
    pub wait: bool,
    /// Namespace of namespaced objects that name none (`default` when unset).
    pub default_namespace: Option<String>,
}

impl ApplyOptions {
    fn namespace(&self) -> &str {
        self.default_namespace.as_deref().unwrap_or("default")
    }
}

/// One applied object.
#[derive(Clone, Debug)]
pub struct Applied {
    /// Its identity, with the namespace resolved.
    pub reference: ObjectRef,
    /// UID the server gave it.
    pub uid: String,
    /// The object as the server returned it.
    pub live: Value,
}

/// The object with its namespace settled for `kind`: filled in for a namespaced kind that names
/// none, refused on a cluster-scoped kind.
pub fn settle_namespace(
    obj: &Value,
    kind: &ResolvedKind,
    opts: &ApplyOptions,
) -> Result<(ObjectRef, Value), KubeError> {
    let mut r = ObjectRef::from_object(obj)?;
    let mut obj = obj.clone();
    match (kind.namespaced, &r.namespace) {
        (true, None) => {
            let ns = opts.namespace().to_string();
            obj["metadata"]["namespace"] = Value::String(ns.clone());
            r.namespace = Some(ns);
        }
        (false, Some(_)) => {
            return Err(KubeError::InvalidObject {
                path: "metadata.namespace".into(),
                reason: format!("{} is cluster-scoped: remove the namespace", kind.kind),
            });
        }
        _ => {}
    }
    Ok((r, obj))
}

/// How long an apply waits for a kind the cluster does not serve yet.
const KIND_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl KubeClient {
    /// Waits until the cluster serves the kind of `r`.
    async fn wait_for_kind(&self, r: &ObjectRef, budget: &Budget) -> Result<ResolvedKind, KubeError> {
        let found =
            poll_until(budget, &format!("waiting for kind {} of {}", r.kind, r.api_version), || async {
                Ok(match self.resolve(&r.api_version, &r.kind, budget).await? {
                    Some(k) => Poll::Ready(k),
                    None => Poll::NotYet(format!("{} not served", r.kind)),
                })
            })
            .await;
        match found {
            Err(KubeError::Timeout { .. }) => {
                Err(KubeError::UnknownKind { api_version: r.api_version.clone(), kind: r.kind.clone() })
            }
            other => other,
        }
    }

    /// Resolves the kind of `obj`, settles its namespace and applies it.
    async fn apply_one(
        &self,
        obj: &Value,
        opts: &ApplyOptions,
        budget: &Budget,
    ) -> Result<Applied, KubeError> {
        let r = ObjectRef::from_object(obj)?;
        let kind = match self.resolve(&r.api_version, &r.kind, budget).await? {
            Some(k) => k,
            // Its CRD may be on its way (created by another resource of the same apply).
            None => self.wait_for_kind(&r, &budget.part(KIND_WAIT)).await?,
        };
        let (r, obj) = settle_namespace(obj, &kind, opts)?;
        let live = self.apply_object(&kind, &r, &obj, opts.force, budget).await?;
        let uid = live.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        tracing::info!(object = %r, manager = self.field_manager(), force = opts.force, "applied");
        Ok(Applied { reference: r, uid, live })
    }

    /// Server-side applies `objects` in one pass: Namespaces, then CRDs (waited for), then the
    /// rest in the given order. Stops at the first error; objects before it stay applied.
    pub async fn apply_set(
        &self,
        objects: &[Value],
        opts: &ApplyOptions,
        budget: &Budget,
    ) -> Result<Vec<Applied>, KubeError> {
        let mut ordered: Vec<(u8, &Value)> = objects
            .iter()
            .map(|o| ObjectRef::from_object(o).map(|r| (r.apply_rank(), o)))
            .collect::<Result<_, _>>()?;
        ordered.sort_by_key(|(rank, _)| *rank);
        let mut applied: Vec<Applied> = Vec::with_capacity(objects.len());
        let mut crds = Vec::new();
        for (rank, obj) in ordered {
            if rank > 1 && !crds.is_empty() {
                // Later objects may be of the kinds these CRDs define.
                self.wait_ready(&std::mem::take(&mut crds), budget).await?;
            }
            let a = self.apply_one(obj, opts, budget).await?;
            if rank == 1 {
                crds.push(a.reference.clone());
            }
            applied.push(a);
        }
        if opts.wait {
            let refs: Vec<ObjectRef> = applied.iter().map(|a| a.reference.clone()).collect();
            self.wait_ready(&refs, budget).await?;
        } else if !crds.is_empty() {
            self.wait_ready(&crds, budget).await?;
        }
        Ok(applied)
    }

    /// Deletes the objects of `previous` that are not in `current`; returns them.
    pub async fn prune(
        &self,
        previous: &super::Inventory,
        current: &super::Inventory,
        wait: bool,
        budget: &Budget,
    ) -> Result<Vec<ObjectRef>, KubeError> {
        let gone = previous.minus(current);
        self.delete_set(&gone, wait, budget).await?;
        Ok(gone)
    }

    /// Deletes `refs` in reverse apply order (workloads, then CRDs, then Namespaces) and, with
    /// `wait`, waits until each is gone (finalizers may keep it a while).
    pub async fn delete_set(&self, refs: &[ObjectRef], wait: bool, budget: &Budget) -> Result<(), KubeError> {
        let mut ordered: Vec<&ObjectRef> = refs.iter().rev().collect();
        ordered.sort_by_key(|r| std::cmp::Reverse(r.apply_rank()));
        for r in &ordered {
            if self.delete_object(r, budget).await? {
                tracing::info!(object = %r, "deletion requested");
            }
        }
        if wait {
            for r in ordered {
                self.wait_gone(r, budget).await?;
            }
        }
        Ok(())
    }

    /// Waits until `r` no longer exists.
    pub async fn wait_gone(&self, r: &ObjectRef, budget: &Budget) -> Result<(), KubeError> {
        poll_until(budget, &format!("waiting for {r} to be deleted"), || async {
            Ok(match self.get(r, budget).await? {
                None => Poll::Ready(()),
                Some(live) => {
                    let finalizers = live.pointer("/metadata/finalizers").cloned().unwrap_or(Value::Null);
                    Poll::NotYet(format!("{r} still exists (finalizers: {finalizers})"))
                }
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(namespaced: bool) -> ResolvedKind {
        ResolvedKind {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced,
        }
    }

    #[test]
    fn namespaces_are_filled_in_or_refused() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let opts = ApplyOptions { default_namespace: Some("team".into()), ..ApplyOptions::default() };
        let (r, obj) = settle_namespace(&cm, &kind(true), &opts).expect("settled");
        assert_eq!((r.namespace.as_deref(), &obj["metadata"]["namespace"]), (Some("team"), &json!("team")));
        let (r, _) = settle_namespace(&cm, &kind(true), &ApplyOptions::default()).expect("settled");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        let (r, _) = settle_namespace(&cm, &kind(false), &opts).expect("cluster-scoped");
        assert_eq!(r.namespace, None);
        let with_ns =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}});
        let err = settle_namespace(&with_ns, &kind(false), &opts).expect_err("refused");
        assert!(matches!(err, KubeError::InvalidObject { ref path, .. } if path == "metadata.namespace"));
    }
}
