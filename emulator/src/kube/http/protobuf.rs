//! Protobuf request bodies, for the kinds kubectl's typed clients POST and PUT in protobuf
//! (`kubectl create namespace|configmap|secret|serviceaccount|deployment|service`, `kubectl run`,
//! `kubectl expose`, `kubectl drain`, `kubectl auth can-i|whoami`): the `k8s\0` envelope
//! (runtime.Unknown with TypeMeta and raw bytes) decoded by field number into the JSON form the
//! rest of the server works with. Only the fields those commands set are decoded (others are
//! skipped); other kinds are refused with 415 so clients know to send JSON.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::kube::error::{ApiError, ApiResult};

const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Bytes,
    Int,
    Bool,
    Msg(&'static [Field]),
    Time,
    IntOrString,
    MapStr,
    MapBytes,
}

/// (field number, JSON name, type, repeated)
type Field = (u64, &'static str, Ty, bool);

const OWNER_REF: &[Field] = &[
    (1, "kind", Ty::Str, false),
    (3, "name", Ty::Str, false),
    (4, "uid", Ty::Str, false),
    (5, "apiVersion", Ty::Str, false),
    (6, "controller", Ty::Bool, false),
    (7, "blockOwnerDeletion", Ty::Bool, false),
];
const OBJECT_META: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "generateName", Ty::Str, false),
    (3, "namespace", Ty::Str, false),
    (5, "uid", Ty::Str, false),
    (6, "resourceVersion", Ty::Str, false),
    (7, "generation", Ty::Int, false),
    (8, "creationTimestamp", Ty::Time, false),
    (11, "labels", Ty::MapStr, false),
    (12, "annotations", Ty::MapStr, false),
    (13, "ownerReferences", Ty::Msg(OWNER_REF), true),
    (14, "finalizers", Ty::Str, true),
];
const OBJECT_REF: &[Field] = &[
    (1, "kind", Ty::Str, false),
    (2, "namespace", Ty::Str, false),
    (3, "name", Ty::Str, false),
    (4, "uid", Ty::Str, false),
    (5, "apiVersion", Ty::Str, false),
    (6, "resourceVersion", Ty::Str, false),
    (7, "fieldPath", Ty::Str, false),
];
const LOCAL_REF: &[Field] = &[(1, "name", Ty::Str, false)];
const DELETE_OPTIONS: &[Field] = &[
    (1, "gracePeriodSeconds", Ty::Int, false),
    (
        2,
        "preconditions",
        Ty::Msg(&[(1, "uid", Ty::Str, false), (2, "resourceVersion", Ty::Str, false)]),
        false,
    ),
    (3, "orphanDependents", Ty::Bool, false),
    (4, "propagationPolicy", Ty::Str, false),
    (5, "dryRun", Ty::Str, true),
];
const EVICTION: &[Field] =
    &[(1, "metadata", Ty::Msg(OBJECT_META), false), (2, "deleteOptions", Ty::Msg(DELETE_OPTIONS), false)];
const CONTAINER_PORT: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "hostPort", Ty::Int, false),
    (3, "containerPort", Ty::Int, false),
    (4, "protocol", Ty::Str, false),
    (5, "hostIP", Ty::Str, false),
];
const ENV_VAR: &[Field] = &[(1, "name", Ty::Str, false), (2, "value", Ty::Str, false)];
const CONTAINER: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "image", Ty::Str, false),
    (3, "command", Ty::Str, true),
    (4, "args", Ty::Str, true),
    (5, "workingDir", Ty::Str, false),
    (6, "ports", Ty::Msg(CONTAINER_PORT), true),
    (7, "env", Ty::Msg(ENV_VAR), true),
    (14, "imagePullPolicy", Ty::Str, false),
    (16, "stdin", Ty::Bool, false),
    (17, "stdinOnce", Ty::Bool, false),
    (18, "tty", Ty::Bool, false),
];
const TOLERATION: &[Field] = &[
    (1, "key", Ty::Str, false),
    (2, "operator", Ty::Str, false),
    (3, "value", Ty::Str, false),
    (4, "effect", Ty::Str, false),
    (5, "tolerationSeconds", Ty::Int, false),
];
const POD_SPEC: &[Field] = &[
    (2, "containers", Ty::Msg(CONTAINER), true),
    (3, "restartPolicy", Ty::Str, false),
    (4, "terminationGracePeriodSeconds", Ty::Int, false),
    (6, "dnsPolicy", Ty::Str, false),
    (7, "nodeSelector", Ty::MapStr, false),
    (8, "serviceAccountName", Ty::Str, false),
    (10, "nodeName", Ty::Str, false),
    (11, "hostNetwork", Ty::Bool, false),
    (15, "imagePullSecrets", Ty::Msg(LOCAL_REF), true),
    (19, "schedulerName", Ty::Str, false),
    (20, "initContainers", Ty::Msg(CONTAINER), true),
    (22, "tolerations", Ty::Msg(TOLERATION), true),
    (24, "priorityClassName", Ty::Str, false),
];
const POD_TEMPLATE: &[Field] =
    &[(1, "metadata", Ty::Msg(OBJECT_META), false), (2, "spec", Ty::Msg(POD_SPEC), false)];
const LABEL_SELECTOR: &[Field] = &[
    (1, "matchLabels", Ty::MapStr, false),
    (
        2,
        "matchExpressions",
        Ty::Msg(&[(1, "key", Ty::Str, false), (2, "operator", Ty::Str, false), (3, "values", Ty::Str, true)]),
        true,
    ),
];
const DEPLOYMENT: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (
        2,
        "spec",
        Ty::Msg(&[
            (1, "replicas", Ty::Int, false),
            (2, "selector", Ty::Msg(LABEL_SELECTOR), false),
            (3, "template", Ty::Msg(POD_TEMPLATE), false),
            (5, "minReadySeconds", Ty::Int, false),
            (6, "revisionHistoryLimit", Ty::Int, false),
            (7, "paused", Ty::Bool, false),
            (9, "progressDeadlineSeconds", Ty::Int, false),
        ]),
        false,
    ),
];
const SERVICE_PORT: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "protocol", Ty::Str, false),
    (3, "port", Ty::Int, false),
    (4, "targetPort", Ty::IntOrString, false),
    (5, "nodePort", Ty::Int, false),
];
const SERVICE: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (
        2,
        "spec",
        Ty::Msg(&[
            (1, "ports", Ty::Msg(SERVICE_PORT), true),
            (2, "selector", Ty::MapStr, false),
            (3, "clusterIP", Ty::Str, false),
            (4, "type", Ty::Str, false),
            (5, "externalIPs", Ty::Str, true),
            (7, "sessionAffinity", Ty::Str, false),
            (8, "loadBalancerIP", Ty::Str, false),
            (10, "externalName", Ty::Str, false),
        ]),
        false,
    ),
];
const RESOURCE_ATTRIBUTES: &[Field] = &[
    (1, "namespace", Ty::Str, false),
    (2, "verb", Ty::Str, false),
    (3, "group", Ty::Str, false),
    (4, "version", Ty::Str, false),
    (5, "resource", Ty::Str, false),
    (6, "subresource", Ty::Str, false),
    (7, "name", Ty::Str, false),
];
const NON_RESOURCE_ATTRIBUTES: &[Field] = &[(1, "path", Ty::Str, false), (2, "verb", Ty::Str, false)];
const SELF_SUBJECT_ACCESS_REVIEW: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (
        2,
        "spec",
        Ty::Msg(&[
            (1, "resourceAttributes", Ty::Msg(RESOURCE_ATTRIBUTES), false),
            (2, "nonResourceAttributes", Ty::Msg(NON_RESOURCE_ATTRIBUTES), false),
        ]),
        false,
    ),
];
const SELF_SUBJECT_REVIEW: &[Field] = &[(1, "metadata", Ty::Msg(OBJECT_META), false)];
const NAMESPACE: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(&[(1, "finalizers", Ty::Str, true)]), false),
    (3, "status", Ty::Msg(&[(1, "phase", Ty::Str, false)]), false),
];
const CONFIG_MAP: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "data", Ty::MapStr, false),
    (3, "binaryData", Ty::MapBytes, false),
    (4, "immutable", Ty::Bool, false),
];
const SECRET: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "data", Ty::MapBytes, false),
    (3, "type", Ty::Str, false),
    (4, "stringData", Ty::MapStr, false),
    (5, "immutable", Ty::Bool, false),
];
const SERVICE_ACCOUNT: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "secrets", Ty::Msg(OBJECT_REF), true),
    (3, "imagePullSecrets", Ty::Msg(LOCAL_REF), true),
    (4, "automountServiceAccountToken", Ty::Bool, false),
];

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }

    /// Next field: number, wire type, and its varint or bytes.
    fn field(&mut self) -> Option<(u64, Wire<'a>)> {
        let tag = self.varint()?;
        let wire = match tag & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Bytes(self.take(8)?),
            2 => {
                let n = usize::try_from(self.varint()?).ok()?;
                Wire::Bytes(self.take(n)?)
            }
            5 => Wire::Bytes(self.take(4)?),
            _ => return None,
        };
        Some((tag >> 3, wire))
    }
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut r = Reader { buf };
    let mut out = Vec::new();
    while !r.buf.is_empty() {
        out.push(r.field()?);
    }
    Some(out)
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn value(ty: Ty, wire: &Wire<'_>) -> Option<Value> {
    Some(match (ty, wire) {
        (Ty::Str, Wire::Bytes(b)) => text(b),
        (Ty::Bytes, Wire::Bytes(b)) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        (Ty::Int, Wire::Varint(v)) => json!(i64::from_ne_bytes(v.to_ne_bytes())),
        (Ty::Bool, Wire::Varint(v)) => json!(*v != 0),
        (Ty::Msg(schema), Wire::Bytes(b)) => message(b, schema)?,
        (Ty::IntOrString, Wire::Bytes(b)) => {
            let (mut kind, mut int, mut text) = (0, 0, String::new());
            for (n, w) in fields(b)? {
                match (n, w) {
                    (1, Wire::Varint(v)) => kind = v,
                    (2, Wire::Varint(v)) => int = i64::from_ne_bytes(v.to_ne_bytes()),
                    (3, Wire::Bytes(s)) => text = String::from_utf8_lossy(s).into_owned(),
                    _ => {}
                }
            }
            if kind == 1 { json!(text) } else { json!(int) }
        }
        (Ty::Time, Wire::Bytes(b)) => {
            let secs = fields(b)?.into_iter().find_map(|(n, w)| match (n, w) {
                (1, Wire::Varint(v)) => i64::try_from(v).ok(),
                _ => None,
            });
            let t = time::OffsetDateTime::from_unix_timestamp(secs.unwrap_or(0)).ok()?;
            json!(crate::kube::meta::format_time(t))
        }
        _ => return None,
    })
}

fn map_entry(b: &[u8], bytes: bool) -> Option<(String, Value)> {
    let (mut key, mut val) = (String::new(), if bytes { json!("") } else { Value::String(String::new()) });
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (2, w) => val = value(if bytes { Ty::Bytes } else { Ty::Str }, &w)?,
            _ => {}
        }
    }
    Some((key, val))
}

fn message(buf: &[u8], schema: &[Field]) -> Option<Value> {
    let mut out = Map::new();
    for (num, wire) in fields(buf)? {
        let Some(&(_, name, ty, repeated)) = schema.iter().find(|f| f.0 == num) else { continue };
        match ty {
            Ty::MapStr | Ty::MapBytes => {
                let Wire::Bytes(b) = wire else { return None };
                let (k, v) = map_entry(b, matches!(ty, Ty::MapBytes))?;
                out.entry(name).or_insert_with(|| json!({}))[k] = v;
            }
            _ if repeated => {
                let v = value(ty, &wire)?;
                if let Some(Value::Array(items)) = out.get_mut(name) {
                    items.push(v);
                } else {
                    out.insert(name.to_owned(), json!([v]));
                }
            }
            _ => {
                // Go marshals unset strings, numbers and times as zero values; JSON omits them.
                let v = value(ty, &wire)?;
                // (Pointers such as `replicas` are only sent when set, so their zero is kept.)
                let zero = v.as_str().is_some_and(|s| s.is_empty() || s == "1970-01-01T00:00:00Z")
                    || v.as_i64() == Some(0) && name != "replicas";
                if !zero {
                    out.insert(name.to_owned(), v);
                }
            }
        }
    }
    Some(Value::Object(out))
}

/// Decodes a protobuf-encoded object into its JSON form.
///
/// # Errors
/// 415 for a kind this server does not decode from protobuf, 400 for a malformed body.
pub(super) fn decode(body: &[u8]) -> ApiResult<Vec<u8>> {
    let malformed = || ApiError::bad_request("the protobuf body of the request could not be decoded");
    let inner = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(inner).ok_or_else(malformed)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm).ok_or_else(malformed)? {
                    match (n, w) {
                        (1, Wire::Bytes(b)) => api_version = String::from_utf8_lossy(b).into_owned(),
                        (2, Wire::Bytes(b)) => kind = String::from_utf8_lossy(b).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("v1", "Pod") => POD_TEMPLATE,
        ("v1", "Service") => SERVICE,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("v1" | "meta.k8s.io/v1", "DeleteOptions") => DELETE_OPTIONS,
        ("policy/v1", "Eviction") => EVICTION,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => SELF_SUBJECT_ACCESS_REVIEW,
        ("authentication.k8s.io/v1", "SelfSubjectReview") => SELF_SUBJECT_REVIEW,
        _ => {
            return Err(ApiError::unsupported_media_type(&format!(
                "application/vnd.kubernetes.protobuf ({api_version} {kind}: send application/json)"
            )));
        }
    };
    let mut obj = message(raw, schema).ok_or_else(malformed)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    serde_json::to_vec(&obj).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(num: u64, wire: u64) -> u8 {
        u8::try_from(num << 3 | wire).expect("small")
    }

    fn ld(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![tag(num, 2), u8::try_from(bytes.len()).expect("short")];
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn decodes_a_config_map_envelope() {
        let type_meta = [ld(1, b"v1"), ld(2, b"ConfigMap")].concat();
        let labels = [ld(1, b"app"), ld(2, b"web")].concat();
        let meta = [ld(1, b"cfg"), ld(11, &labels), ld(14, b"a"), ld(14, b"b")].concat();
        let data = [ld(1, b"k"), ld(2, b"v")].concat();
        let raw = [ld(1, &meta), ld(2, &data), vec![tag(4, 0), 1]].concat();
        let body = [MAGIC.to_vec(), ld(1, &type_meta), ld(2, &raw)].concat();
        let v: Value = serde_json::from_slice(&decode(&body).expect("decodes")).expect("json");
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
                   "data": {"k": "v"}, "immutable": true})
        );
        let other = [MAGIC.to_vec(), ld(1, &[ld(1, b"apps/v1"), ld(2, b"DaemonSet")].concat())].concat();
        assert_eq!(decode(&other).expect_err("unsupported").code, 415);
        assert_eq!(decode(b"{}").expect_err("not protobuf").code, 400);
    }
}
