//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for on `get`, with the columns the
//! real printers use for common kinds, CRD `additionalPrinterColumns`, and the default
//! Name / Created At columns for everything else.

use serde_json::{Value, json};

use crate::kube::catalog::ResourceType;
use crate::kube::meta::{human_age, meta_str};

fn col(name: &str, kind: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
}

fn s(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}

fn n(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".to_owned() } else { s }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `.a[0].b`,
/// `.a[?(@.type=="Ready")].status`.
pub(crate) fn json_path(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}').trim_start_matches('$');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?.clone();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Ok(i) = inner.parse::<usize>() {
                cur = cur.get(i)?.clone();
            } else if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches(|c| c == '"' || c == '\'');
                cur = cur
                    .as_array()?
                    .iter()
                    .find(|i| i.get(field.trim()).and_then(Value::as_str) == Some(want))?
                    .clone();
            } else {
                return None;
            }
        } else {
            return None;
        }
    }
    Some(cur)
}

fn node_status(o: &Value) -> String {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True");
    let mut s = if ready { "Ready".to_owned() } else { "NotReady".to_owned() };
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        s.push_str(",SchedulingDisabled");
    }
    s
}

fn node_roles(o: &Value) -> String {
    let labels = crate::kube::meta::labels(o);
    let roles: Vec<&str> = labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    or_none(roles.join(","))
}

fn address(o: &Value, kind: &str) -> String {
    o.pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == kind))
        .and_then(|x| x["address"].as_str())
        .map_or_else(|| "<none>".to_owned(), str::to_owned)
}

fn service_ports(o: &Value) -> String {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) => format!("{}:{np}/{proto}", s(p, "/port")),
                        None => format!("{}/{proto}", s(p, "/port")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    or_none(ports.join(","))
}

fn external_ip(o: &Value) -> String {
    let ips: Vec<String> = o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|i| i.get("ip").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default();
    match (ips.is_empty(), s(o, "/spec/type").as_str()) {
        (false, _) => ips.join(","),
        (true, "LoadBalancer") => "<pending>".to_owned(),
        _ => "<none>".to_owned(),
    }
}

/// Column definitions and the cells of one object.
fn columns(t: &ResourceType) -> Vec<Value> {
    let c = |names: &[(&str, &str, u8)]| names.iter().map(|(n, k, p)| col(n, k, *p)).collect();
    match (t.group.as_str(), t.resource.as_str()) {
        ("", "nodes") => c(&[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
        ]),
        ("", "pods") => c(&[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
        ]),
        ("", "namespaces") => c(&[("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)]),
        ("", "services") => c(&[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
        ]),
        ("", "persistentvolumeclaims") => c(&[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("Age", "string", 0),
        ]),
        ("apps", "deployments") => c(&[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
        ]),
        ("apps", "statefulsets") => c(&[("Name", "string", 0), ("Ready", "string", 0), ("Age", "string", 0)]),
        ("apps", "daemonsets") => c(&[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
        ]),
        ("storage.k8s.io", "storageclasses") => c(&[
            ("Name", "string", 0),
            ("Provisioner", "string", 0),
            ("ReclaimPolicy", "string", 0),
            ("VolumeBindingMode", "string", 0),
            ("Age", "string", 0),
        ]),
        _ if !t.printer_columns.is_empty() => {
            let mut cols = vec![col("Name", "string", 0)];
            cols.extend(t.printer_columns.iter().map(|(name, kind, _)| col(name, kind, 0)));
            cols
        }
        ("", "configmaps") => c(&[("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)]),
        ("", "secrets") => {
            c(&[("Name", "string", 0), ("Type", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)])
        }
        ("", "persistentvolumes") => c(&[
            ("Name", "string", 0),
            ("Capacity", "string", 0),
            ("Reclaim Policy", "string", 0),
            ("Status", "string", 0),
            ("Claim", "string", 0),
            ("StorageClass", "string", 0),
            ("Age", "string", 0),
        ]),
        ("apps", "replicasets") => c(&[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
        ]),
        ("networking.k8s.io", "ingresses") => c(&[
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Age", "string", 0),
        ]),
        _ => c(&[("Name", "string", 0), ("Age", "string", 0)]),
    }
}

fn cells(t: &ResourceType, o: &Value) -> Vec<Value> {
    let name = json!(meta_str(o, "name").unwrap_or_default());
    let age = json!(human_age(meta_str(o, "creationTimestamp").unwrap_or_default()));
    match (t.group.as_str(), t.resource.as_str()) {
        ("", "nodes") => vec![
            name,
            json!(node_status(o)),
            json!(node_roles(o)),
            age,
            json!(s(o, "/status/nodeInfo/kubeletVersion")),
            json!(address(o, "InternalIP")),
            json!(address(o, "ExternalIP")),
        ],
        ("", "pods") => {
            let total = o.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
            let ready = if s(o, "/status/phase") == "Running" { total } else { 0 };
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(s(o, "/status/phase")),
                json!("0"),
                age,
                json!(or_none(s(o, "/status/podIP"))),
                json!(or_none(s(o, "/spec/nodeName"))),
            ]
        }
        ("", "namespaces") => vec![name, json!(s(o, "/status/phase")), age],
        ("", "services") => vec![
            name,
            json!(s(o, "/spec/type")),
            json!(or_none(s(o, "/spec/clusterIP"))),
            json!(external_ip(o)),
            json!(service_ports(o)),
            age,
        ],
        ("", "persistentvolumeclaims") => {
            let modes: Vec<String> = o
                .pointer("/status/accessModes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|m| {
                            match m {
                                "ReadWriteOnce" => "RWO",
                                "ReadOnlyMany" => "ROX",
                                "ReadWriteMany" => "RWX",
                                other => other,
                            }
                            .to_owned()
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                name,
                json!(s(o, "/status/phase")),
                json!(s(o, "/spec/volumeName")),
                json!(s(o, "/status/capacity/storage")),
                json!(modes.join(",")),
                json!(s(o, "/spec/storageClassName")),
                age,
            ]
        }
        ("apps", "deployments") => vec![
            name,
            json!(format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
            )),
            json!(n(o, "/status/updatedReplicas")),
            json!(n(o, "/status/availableReplicas")),
            age,
        ],
        ("apps", "statefulsets") => vec![
            name,
            json!(format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
            )),
            age,
        ],
        ("apps", "daemonsets") => vec![
            name,
            json!(n(o, "/status/desiredNumberScheduled")),
            json!(n(o, "/status/currentNumberScheduled")),
            json!(n(o, "/status/numberReady")),
            json!(n(o, "/status/updatedNumberScheduled")),
            json!(n(o, "/status/numberAvailable")),
            age,
        ],
        ("storage.k8s.io", "storageclasses") => {
            let mut n = s(o, "/metadata/name");
            if o.pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                .and_then(Value::as_str)
                == Some("true")
            {
                n.push_str(" (default)");
            }
            vec![
                json!(n),
                json!(s(o, "/provisioner")),
                json!(or_none(s(o, "/reclaimPolicy"))),
                json!(or_none(s(o, "/volumeBindingMode"))),
                age,
            ]
        }
        _ if !t.printer_columns.is_empty() => {
            let mut out = vec![name];
            out.extend(t.printer_columns.iter().map(|(_, kind, path)| {
                let v = json_path(o, path).unwrap_or(Value::Null);
                if kind == "date" { json!(human_age(v.as_str().unwrap_or_default())) } else { v }
            }));
            out
        }
        ("", "configmaps") => {
            let count = ["data", "binaryData"]
                .iter()
                .filter_map(|f| o.get(*f).and_then(Value::as_object))
                .map(serde_json::Map::len)
                .sum::<usize>();
            vec![name, json!(count), age]
        }
        ("", "secrets") => vec![
            name,
            json!(s(o, "/type")),
            json!(o.get("data").and_then(Value::as_object).map_or(0, serde_json::Map::len)),
            age,
        ],
        ("", "persistentvolumes") => {
            let claim = match (
                o.pointer("/spec/claimRef/namespace").and_then(Value::as_str),
                o.pointer("/spec/claimRef/name").and_then(Value::as_str),
            ) {
                (Some(ns), Some(n)) => format!("{ns}/{n}"),
                _ => String::new(),
            };
            vec![
                name,
                json!(s(o, "/spec/capacity/storage")),
                json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(o, "/status/phase")),
                json!(claim),
                json!(s(o, "/spec/storageClassName")),
                age,
            ]
        }
        ("apps", "replicasets") => vec![
            name,
            json!(n(o, "/spec/replicas")),
            json!(n(o, "/status/replicas")),
            json!(n(o, "/status/readyReplicas")),
            age,
        ],
        ("networking.k8s.io", "ingresses") => {
            let hosts: Vec<String> = o
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|r| r.get("host").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let hosts = if hosts.is_empty() { "*".to_owned() } else { hosts.join(",") };
            let address =
                o.pointer("/status/loadBalancer/ingress/0/ip").and_then(Value::as_str).unwrap_or_default();
            vec![name, json!(or_none(s(o, "/spec/ingressClassName"))), json!(hosts), json!(address), age]
        }
        _ => vec![name, age],
    }
}

fn row_object(o: &Value, include: &str) -> Value {
    match include {
        "None" => Value::Null,
        "Object" => o.clone(),
        _ => {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))})
        }
    }
}

/// Builds the Table for some objects of one type. `include` is the `includeObject` parameter.
pub fn table(t: &ResourceType, objects: &[Value], list_meta: &Value, include: &str) -> Value {
    let rows: Vec<Value> =
        objects.iter().map(|o| json!({"cells": cells(t, o), "object": row_object(o, include)})).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": columns(t), "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::catalog::builtins;

    #[test]
    fn node_tables_read_like_kubectl_get_nodes() {
        let t = builtins().into_iter().find(|t| t.resource == "nodes").expect("nodes");
        let node = json!({"metadata": {"name": "cp1", "creationTimestamp": crate::kube::meta::now_rfc3339(),
            "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.3"}}});
        let tab = table(&t, &[node], &json!({}), "Metadata");
        assert_eq!(tab["rows"][0]["cells"][1], "Ready");
        assert_eq!(tab["rows"][0]["cells"][2], "control-plane");
        assert_eq!(tab["rows"][0]["cells"][4], "v1.32.3");
        assert_eq!(tab["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn json_path_handles_filters() {
        let o = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(json_path(&o, ".status.conditions[?(@.type==\"Ready\")].status"), Some(json!("True")));
        assert_eq!(json_path(&o, ".status.conditions[0].type"), Some(json!("A")));
    }
}
