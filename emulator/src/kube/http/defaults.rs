//! Admission and defaulting on every write, the part of each kind's strategy clients notice:
//! namespaces get their finalizer and phase, services their cluster IP and node ports, secrets fold
//! `stringData` into `data`, PVCs get the default StorageClass, CRDs are validated and established.

use base64::Engine;
use serde_json::{Value, json};

use crate::kube::catalog::{ResourceType, from_crd};
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::meta::{self, meta_str};
use crate::kube::store::Txn;

/// Applies the defaults of `rt` to `obj` (`old` is the stored object on updates).
pub(super) fn on_write(
    txn: &Txn<'_>,
    rt: &ResourceType,
    old: Option<&Value>,
    obj: &mut Value,
) -> ApiResult<()> {
    let name = meta_str(obj, "name").unwrap_or_default().to_owned();
    match (rt.group.as_str(), rt.resource.as_str()) {
        ("", "namespaces") => namespace(obj, &name),
        ("", "services") => service(txn, old, obj),
        ("", "secrets") => secret(obj),
        ("", "pods") if obj.pointer("/status/phase").is_none() => obj["status"] = json!({"phase": "Pending"}),
        ("", "persistentvolumeclaims") if old.is_none() => pvc(txn, obj),
        ("apps", "deployments" | "statefulsets" | "replicasets")
            if obj.pointer("/spec/replicas").is_none_or(Value::is_null)
                && obj.get("spec").is_some_and(Value::is_object) =>
        {
            obj["spec"]["replicas"] = json!(1);
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => crd(rt, obj, &name)?,
        _ => {}
    }
    Ok(())
}

fn namespace(obj: &mut Value, name: &str) {
    if obj.pointer("/spec/finalizers").is_none() {
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
    }
    let phase = if meta_str(obj, "deletionTimestamp").is_some() { "Terminating" } else { "Active" };
    obj["status"]["phase"] = json!(phase);
    let m = meta::meta_mut(obj);
    if !m.get("labels").is_some_and(Value::is_object) {
        m.insert("labels".into(), json!({}));
    }
    m["labels"]["kubernetes.io/metadata.name"] = json!(name);
}

fn service(txn: &Txn<'_>, old: Option<&Value>, obj: &mut Value) {
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj["spec"] = json!({});
    }
    let spec_type = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_owned();
    obj["spec"]["type"] = json!(spec_type);
    if obj.pointer("/spec/sessionAffinity").is_none() {
        obj["spec"]["sessionAffinity"] = json!("None");
    }
    let used = |field: &str| -> Vec<String> {
        txn.list("", "services", None)
            .into_iter()
            .flat_map(|(_, s)| match s.pointer(field) {
                Some(Value::String(ip)) => vec![ip.clone()],
                Some(Value::Array(ports)) => ports
                    .iter()
                    .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                    .map(|p| p.to_string())
                    .collect(),
                _ => vec![],
            })
            .collect()
    };
    if spec_type != "ExternalName"
        && obj.pointer("/spec/clusterIP").and_then(Value::as_str).is_none_or(str::is_empty)
    {
        let ip = old.and_then(|o| o.pointer("/spec/clusterIP")).and_then(Value::as_str).map_or_else(
            || {
                let taken = used("/spec/clusterIP");
                (2u32..65_000)
                    .map(|n| format!("10.96.{}.{}", n / 250, n % 250 + 1))
                    .find(|ip| !taken.contains(ip))
                    .unwrap_or_else(|| "10.96.255.254".into())
            },
            str::to_owned,
        );
        obj["spec"]["clusterIP"] = json!(ip);
    }
    if let Some(ip) = obj.pointer("/spec/clusterIP").cloned()
        && obj.pointer("/spec/clusterIPs").is_none()
    {
        obj["spec"]["clusterIPs"] = json!([ip]);
    }
    let needs_node_ports = matches!(spec_type.as_str(), "NodePort" | "LoadBalancer");
    let old_ports: Vec<Value> =
        old.and_then(|o| o.pointer("/spec/ports")).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut taken = used("/spec/ports");
    if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter(|p| p.is_object()) {
            if p.get("protocol").is_none() {
                p["protocol"] = json!("TCP");
            }
            if p.get("targetPort").is_none()
                && let Some(port) = p.get("port").cloned()
            {
                p["targetPort"] = port;
            }
            if needs_node_ports && p.get("nodePort").is_none() {
                let previous = old_ports
                    .iter()
                    .find(|o| o.get("port") == p.get("port"))
                    .and_then(|o| o.get("nodePort"))
                    .and_then(Value::as_i64);
                let np = previous.unwrap_or_else(|| {
                    (30_000..32_768).find(|n| !taken.contains(&n.to_string())).unwrap_or(32_767)
                });
                taken.push(np.to_string());
                p["nodePort"] = json!(np);
            }
        }
    }
    if obj.get("status").is_none() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

fn secret(obj: &mut Value) {
    if obj.get("type").and_then(Value::as_str).is_none_or(str::is_empty) {
        obj["type"] = json!("Opaque");
    }
    let Some(Value::Object(string_data)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = json!({});
    }
    for (k, v) in string_data {
        let encoded = base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
        obj["data"][k] = json!(encoded);
    }
}

fn pvc(txn: &Txn<'_>, obj: &mut Value) {
    if obj.pointer("/spec/storageClassName").is_none() {
        let default =
            txn.list("storage.k8s.io", "storageclasses", None).into_iter().map(|(_, sc)| sc).find(|sc| {
                sc.pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                    .and_then(Value::as_str)
                    == Some("true")
            });
        if let Some(name) = default.and_then(|sc| meta_str(sc, "name")) {
            obj["spec"]["storageClassName"] = json!(name);
        }
    }
    if obj.pointer("/status/phase").is_none() {
        obj["status"] = json!({"phase": "Pending"});
    }
}

fn crd(rt: &ResourceType, obj: &mut Value, name: &str) -> ApiResult<()> {
    from_crd(obj).map_err(|(field, detail)| {
        ApiError::invalid(&rt.kind, &rt.group, name, &field, "FieldValueInvalid", &detail)
    })?;
    let storage: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect())
        .unwrap_or_default();
    let now = meta::now_rfc3339();
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    if obj.pointer("/status/acceptedNames") == Some(&names)
        && obj.pointer("/status/storedVersions") == Some(&json!(storage))
    {
        // Already established under these names: keep the conditions (and their times).
        return Ok(());
    }
    obj["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": storage,
    });
    Ok(())
}
