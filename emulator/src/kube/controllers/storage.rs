//! PersistentVolumeClaims bind once their StorageClass exists (or a default one does, assigned
//! retroactively as the real PV controller does): a PersistentVolume `pvc-<uid>` is provisioned
//! and both become Bound after the modelled delay. Volumes whose claim is gone are deleted or
//! released according to their reclaim policy.

use serde_json::{Value, json};

use super::{Clock, Timings, write_status};
use crate::kube::meta::{self, meta_str};
use crate::kube::store::{ObjectKey, Txn};

fn default_class(txn: &Txn<'_>) -> Option<String> {
    txn.list("storage.k8s.io", "storageclasses", None)
        .into_iter()
        .find(|(_, sc)| {
            sc.pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                .and_then(Value::as_str)
                == Some("true")
        })
        .map(|(k, _)| k.name.clone())
}

pub(super) fn reconcile(txn: &mut Txn<'_>, clock: &Clock, t: &Timings) {
    let claims: Vec<(ObjectKey, Value)> = txn
        .list("", "persistentvolumeclaims", None)
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, mut pvc) in claims {
        if pvc.pointer("/status/phase").and_then(Value::as_str) == Some("Bound")
            || meta_str(&pvc, "deletionTimestamp").is_some()
        {
            continue;
        }
        let class = match pvc.pointer("/spec/storageClassName").and_then(Value::as_str) {
            Some(c) => c.to_owned(),
            None => match default_class(txn) {
                Some(c) => {
                    pvc["spec"]["storageClassName"] = json!(c);
                    c
                }
                None => continue,
            },
        };
        let Some(sc) = txn.get(&ObjectKey::new("storage.k8s.io", "storageclasses", "", &class)).cloned()
        else {
            continue;
        };
        if !clock.elapsed(&key, 0, t.scaled(t.pvc_bind_ms)) {
            continue;
        }
        bind(txn, &key, pvc, &sc, &class);
    }
    release_orphans(txn);
}

fn bind(txn: &mut Txn<'_>, key: &ObjectKey, mut pvc: Value, sc: &Value, class: &str) {
    let uid = meta_str(&pvc, "uid").unwrap_or_default().to_owned();
    let pv_name = format!("pvc-{uid}");
    let storage = pvc.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"));
    let modes = pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"]));
    let provisioner =
        sc.get("provisioner").and_then(Value::as_str).unwrap_or("kubernetes.io/no-provisioner").to_owned();
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "uid": meta::new_uid(), "creationTimestamp": meta::now_rfc3339(),
                     "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
        "spec": {"capacity": {"storage": storage}, "accessModes": modes, "storageClassName": class,
                 "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy").cloned().unwrap_or(json!("Delete")),
                 "volumeMode": pvc.pointer("/spec/volumeMode").cloned().unwrap_or(json!("Filesystem")),
                 "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": key.namespace, "name": key.name, "uid": uid},
                 "csi": {"driver": provisioner, "volumeHandle": meta::new_uid()}},
        "status": {"phase": "Bound"}});
    let pv_key = ObjectKey::new("", "persistentvolumes", "", &pv_name);
    if txn.get(&pv_key).is_none() && txn.put(&pv_key, pv).is_err() {
        return;
    }
    pvc["spec"]["volumeName"] = json!(pv_name);
    let ann = meta::meta_mut(&mut pvc).entry("annotations").or_insert(json!({}));
    ann["pv.kubernetes.io/bind-completed"] = json!("yes");
    ann["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    ann["volume.kubernetes.io/storage-provisioner"] = json!(provisioner);
    if let Err(e) = txn.put(key, pvc) {
        tracing::warn!(error = %e, "binding a claim failed");
        return;
    }
    write_status(txn, key, json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}}));
}

fn release_orphans(txn: &mut Txn<'_>) {
    let volumes: Vec<(ObjectKey, Value)> =
        txn.list("", "persistentvolumes", None).into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, pv) in volumes {
        let Some(claim) = pv.pointer("/spec/claimRef") else { continue };
        let ns = claim.get("namespace").and_then(Value::as_str).unwrap_or_default();
        let name = claim.get("name").and_then(Value::as_str).unwrap_or_default();
        let live = txn
            .get(&ObjectKey::new("", "persistentvolumeclaims", ns, name))
            .and_then(|c| meta_str(c, "uid").map(str::to_owned));
        if live.as_deref() == claim.get("uid").and_then(Value::as_str)
            || pv.pointer("/status/phase").and_then(Value::as_str) == Some("Released")
        {
            continue;
        }
        if pv.pointer("/spec/persistentVolumeReclaimPolicy").and_then(Value::as_str) == Some("Delete") {
            let _ = txn.delete(&key);
        } else {
            write_status(txn, &key, json!({"phase": "Released"}));
        }
    }
}
