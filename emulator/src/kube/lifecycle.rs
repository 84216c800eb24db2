//! Deletion semantics shared by the DELETE handlers and the controllers: objects with finalizers
//! (and namespaces) are only marked with a deletionTimestamp; others are removed at once, taking
//! their dependents (ownerReferences) and, for a CRD, its custom objects with them.

use serde_json::{Value, json};

use crate::kube::error::KubeError;
use crate::kube::meta::{self, has_finalizers, meta_str};
use crate::kube::store::{ObjectKey, Txn};

/// What a deletion did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The object is gone (the value is its last state).
    Removed(Value),
    /// The object is marked for deletion and waits for finalizers (or namespace cleanup).
    Pending(Value),
}

/// How dependents are treated (`propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are removed after (here: with) the owner.
    Background,
    /// Dependents are removed before the owner (modelled like Background: both go at once).
    Foreground,
    /// Dependents are left alone.
    Orphan,
}

impl Propagation {
    /// Parses the DeleteOptions value (Background when absent or unknown).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Orphan") => Self::Orphan,
            Some("Foreground") => Self::Foreground,
            _ => Self::Background,
        }
    }
}

fn is_namespace(key: &ObjectKey) -> bool {
    key.group.is_empty() && key.resource == "namespaces"
}

/// Deletes (or marks for deletion) the object at `key`.
///
/// # Errors
/// [`KubeError::State`] when persisting fails.
pub fn delete(
    txn: &mut Txn<'_>,
    key: &ObjectKey,
    policy: Propagation,
    dry_run: bool,
) -> Result<Option<Outcome>, KubeError> {
    let Some(obj) = txn.get(key).cloned() else { return Ok(None) };
    let marked = meta_str(&obj, "deletionTimestamp").is_some();
    if is_namespace(key) || has_finalizers(&obj) {
        if marked || dry_run {
            return Ok(Some(Outcome::Pending(obj)));
        }
        let mut obj = obj;
        let m = meta::meta_mut(&mut obj);
        m.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        if is_namespace(key) {
            obj["status"]["phase"] = json!("Terminating");
        }
        return Ok(Some(Outcome::Pending(txn.put(key, obj)?)));
    }
    if dry_run {
        return Ok(Some(Outcome::Removed(obj)));
    }
    let removed = txn.delete(key)?.unwrap_or(obj);
    cascade(txn, key, &removed, policy)?;
    Ok(Some(Outcome::Removed(removed)))
}

/// After an object left the store: its custom objects (CRDs) and its dependents go too.
fn cascade(
    txn: &mut Txn<'_>,
    key: &ObjectKey,
    removed: &Value,
    policy: Propagation,
) -> Result<(), KubeError> {
    if key.group == "apiextensions.k8s.io" && key.resource == "customresourcedefinitions" {
        let group = removed.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default().to_owned();
        let plural =
            removed.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or_default().to_owned();
        let keys: Vec<ObjectKey> =
            txn.list(&group, &plural, None).into_iter().map(|(k, _)| k.clone()).collect();
        for k in keys {
            // Custom objects go with their definition, finalizers or not: nothing serves them any more.
            txn.delete(&k)?;
        }
    }
    if policy == Propagation::Orphan {
        return Ok(());
    }
    let Some(uid) = meta_str(removed, "uid").map(str::to_owned) else { return Ok(()) };
    let dependents: Vec<ObjectKey> = txn
        .keys()
        .into_iter()
        .filter(|k| {
            txn.get(k)
                .and_then(|o| o.pointer("/metadata/ownerReferences"))
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| r.get("uid").and_then(Value::as_str) == Some(uid.as_str()))
                })
        })
        .collect();
    for k in dependents {
        delete(txn, &k, Propagation::Background, false)?;
    }
    Ok(())
}

/// After a write: an object marked for deletion whose last finalizer is gone leaves the store.
/// Returns the removed object.
///
/// # Errors
/// [`KubeError::State`] when persisting fails.
pub fn release_if_done(txn: &mut Txn<'_>, key: &ObjectKey) -> Result<Option<Value>, KubeError> {
    let done = txn.get(key).is_some_and(|o| {
        meta_str(o, "deletionTimestamp").is_some() && !has_finalizers(o) && !is_namespace(key)
    });
    if !done {
        return Ok(None);
    }
    let Some(removed) = txn.delete(key)? else { return Ok(None) };
    cascade(txn, key, &removed, Propagation::Background)?;
    Ok(Some(removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::store::Store;

    #[test]
    fn finalizers_hold_objects_and_owners_take_dependents() {
        let store = Store::in_memory();
        let owner = ObjectKey::new("apps", "deployments", "ns", "web");
        let child = ObjectKey::new("apps", "replicasets", "ns", "web-1");
        let held = ObjectKey::new("", "configmaps", "ns", "held");
        store.transact(|t| {
            t.put(&owner, json!({"metadata": {"name": "web", "uid": "u1"}})).expect("put");
            t.put(&child, json!({"metadata": {"name": "web-1", "ownerReferences": [{"uid": "u1"}]}}))
                .expect("put");
            t.put(&held, json!({"metadata": {"name": "held", "finalizers": ["x"]}})).expect("put");
            assert!(matches!(
                delete(t, &owner, Propagation::Background, false),
                Ok(Some(Outcome::Removed(_)))
            ));
            assert!(t.get(&child).is_none(), "dependent removed");
            assert!(matches!(
                delete(t, &held, Propagation::Background, false),
                Ok(Some(Outcome::Pending(_)))
            ));
            let mut o = t.get(&held).cloned().expect("still there");
            assert!(meta_str(&o, "deletionTimestamp").is_some());
            o["metadata"]["finalizers"] = json!([]);
            t.put(&held, o).expect("put");
            assert!(release_if_done(t, &held).expect("ok").is_some());
            assert!(t.get(&held).is_none());
        });
    }
}
