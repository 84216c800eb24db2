//! The kinds the server knows: the built-in ones (data below, as a v1.32 server lists them in
//! discovery) and those CustomResourceDefinitions add. Objects are schemaless JSON; what varies per
//! kind is only its names, scope and whether it has a `status` subresource.

use std::collections::BTreeMap;

use serde_json::Value;

/// One resource of one group version, as discovery lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Version served.
    pub version: String,
    /// Plural resource name used in paths (`deployments`).
    pub resource: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether `status` is a subresource (writes to the main resource keep the old status).
    pub status_subresource: bool,
    /// Extra printer columns of a CRD version: (name, type, JSON path).
    pub printer_columns: Vec<(String, String, String)>,
    /// Whether the kind came from a CustomResourceDefinition.
    pub custom: bool,
}

impl ResourceType {
    /// `apiVersion` of objects served through this entry.
    pub fn api_version(&self) -> String {
        crate::kube::meta::api_version(&self.group, &self.version)
    }

    /// Whether writes bump `metadata.generation` (every kind with a spec/status split).
    pub(crate) fn tracks_generation(&self) -> bool {
        self.status_subresource || self.custom
    }
}

/// (group, version, plural, kind, namespaced, short names, status subresource, in category `all`)
type Builtin =
    (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str], bool, bool);

const BUILTINS: &[Builtin] = &[
    ("", "v1", "configmaps", "ConfigMap", true, &["cm"], false, false),
    ("", "v1", "endpoints", "Endpoints", true, &["ep"], false, false),
    ("", "v1", "events", "Event", true, &["ev"], false, false),
    ("", "v1", "limitranges", "LimitRange", true, &["limits"], false, false),
    ("", "v1", "namespaces", "Namespace", false, &["ns"], true, false),
    ("", "v1", "nodes", "Node", false, &["no"], true, false),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"], true, false),
    ("", "v1", "persistentvolumes", "PersistentVolume", false, &["pv"], true, false),
    ("", "v1", "pods", "Pod", true, &["po"], true, true),
    ("", "v1", "podtemplates", "PodTemplate", true, &[], false, false),
    ("", "v1", "replicationcontrollers", "ReplicationController", true, &["rc"], true, true),
    ("", "v1", "resourcequotas", "ResourceQuota", true, &["quota"], true, false),
    ("", "v1", "secrets", "Secret", true, &[], false, false),
    ("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"], false, false),
    ("", "v1", "services", "Service", true, &["svc"], true, true),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        false,
        &[],
        true,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
        &[],
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
        false,
    ),
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", false, &[], true, false),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", true, &[], false, false),
    ("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], true, true),
    ("apps", "v1", "deployments", "Deployment", true, &["deploy"], true, true),
    ("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"], true, true),
    ("apps", "v1", "statefulsets", "StatefulSet", true, &["sts"], true, true),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"], true, true),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"], true, true),
    ("batch", "v1", "cronjobs", "CronJob", true, &["cj"], true, true),
    ("batch", "v1", "jobs", "Job", true, &[], true, true),
    (
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        false,
        &["csr"],
        true,
        false,
    ),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, &[], false, false),
    (
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        false,
        &[],
        false,
        false,
    ),
    ("coordination.k8s.io", "v1", "leases", "Lease", true, &[], false, false),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, &[], false, false),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, &[], false, false),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", true, &["ing"], true, false),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, &["netpol"], false, false),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false, &[], false, false),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"], true, false),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
        false,
        false,
    ),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, &[], false, false),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, &[], false, false),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true, &[], false, false),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, &["pc"], false, false),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", false, &[], false, false),
    ("storage.k8s.io", "v1", "csinodes", "CSINode", false, &[], false, false),
    ("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", true, &[], false, false),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, &["sc"], false, false),
    ("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", false, &[], true, false),
];

/// The built-in resource types, in discovery order (preferred version of a group first).
pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|&(group, version, resource, kind, namespaced, short, status, all)| ResourceType {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.to_owned(),
            namespaced,
            short_names: short.iter().map(|s| (*s).to_owned()).collect(),
            categories: if all { vec!["all".to_owned()] } else { Vec::new() },
            status_subresource: status,
            printer_columns: Vec::new(),
            custom: false,
        })
        .collect()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The resource types one CustomResourceDefinition serves (one per served version), or a reason
/// it is not acceptable.
pub fn from_crd(crd: &Value) -> Result<Vec<ResourceType>, (String, String)> {
    let spec = crd.get("spec").ok_or(("spec".to_owned(), "Required value".to_owned()))?;
    let group = spec.get("group").and_then(Value::as_str).unwrap_or_default();
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let plural = names.get("plural").and_then(Value::as_str).unwrap_or_default();
    let kind = names.get("kind").and_then(Value::as_str).unwrap_or_default();
    if group.is_empty() {
        return Err(("spec.group".to_owned(), "Required value".to_owned()));
    }
    if plural.is_empty() || kind.is_empty() {
        return Err(("spec.names".to_owned(), "Required value: plural and kind are required".to_owned()));
    }
    let expected = format!("{plural}.{group}");
    if crate::kube::meta::meta_str(crd, "name") != Some(expected.as_str()) {
        return Err((
            "metadata.name".to_owned(),
            format!("Invalid value: must be spec.names.plural+\".\"+spec.group ({expected:?})"),
        ));
    }
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let versions = spec.get("versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        return Err((
            "spec.versions".to_owned(),
            "Required value: must have at least one version".to_owned(),
        ));
    }
    let mut out = Vec::new();
    // The storage version is listed first so that discovery prefers it, as the real server does
    // when versions are otherwise equal.
    let mut ordered: Vec<&Value> = versions.iter().collect();
    ordered.sort_by_key(|v| !v.get("storage").and_then(Value::as_bool).unwrap_or(false));
    for v in ordered {
        if !v.get("served").and_then(Value::as_bool).unwrap_or(true) {
            continue;
        }
        let Some(version) = v.get("name").and_then(Value::as_str) else { continue };
        let columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| {
                        Some((
                            c.get("name")?.as_str()?.to_owned(),
                            c.get("type").and_then(Value::as_str).unwrap_or("string").to_owned(),
                            c.get("jsonPath")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(ResourceType {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: plural.to_owned(),
            singular: names
                .get("singular")
                .and_then(Value::as_str)
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned),
            kind: kind.to_owned(),
            namespaced,
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            status_subresource: v.pointer("/subresources/status").is_some(),
            printer_columns: columns,
            custom: true,
        });
    }
    Ok(out)
}

/// Built-ins plus the kinds of the established CRDs, indexed for lookups.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: Vec<ResourceType>,
    by_path: BTreeMap<(String, String, String), usize>,
}

impl Registry {
    /// Builds the registry from the CRD objects in the store.
    pub fn build<'a>(crds: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut types = builtins();
        for crd in crds {
            if crate::kube::meta::meta_str(crd, "deletionTimestamp").is_some() {
                continue;
            }
            if let Ok(mut t) = from_crd(crd) {
                types.append(&mut t);
            }
        }
        let by_path = types
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.group.clone(), t.version.clone(), t.resource.clone()), i))
            .collect();
        Self { types, by_path }
    }

    /// The type served at `/apis/<group>/<version>/<resource>`.
    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<&ResourceType> {
        self.by_path
            .get(&(group.to_owned(), version.to_owned(), resource.to_owned()))
            .map(|&i| &self.types[i])
    }

    /// The first (preferred) type of a group with this kind, any version.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.group == group && t.kind == kind)
    }

    /// The preferred entry for a group and plural resource.
    pub fn by_resource(&self, group: &str, resource: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.group == group && t.resource == resource)
    }

    /// Every type.
    pub fn all(&self) -> &[ResourceType] {
        &self.types
    }

    /// Groups with their versions, preferred first, in order of first appearance.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) if !versions.contains(&t.version) => versions.push(t.version.clone()),
                Some(_) => {}
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    /// The types of one group version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceType> {
        self.types.iter().filter(move |t| t.group == group && t.version == version)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn crds_add_served_versions_storage_first() {
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Cluster",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1alpha1", "served": true, "storage": false},
                         {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v0", "served": false, "storage": false}]}});
        let reg = Registry::build([&crd]);
        let t = reg.lookup("example.com", "v1", "widgets").expect("served");
        assert!(!t.namespaced && t.status_subresource && t.custom);
        assert_eq!(t.short_names, vec!["wd"]);
        assert!(reg.lookup("example.com", "v0", "widgets").is_none());
        let groups = reg.groups();
        let (_, versions) = groups.iter().find(|(g, _)| g == "example.com").expect("group");
        assert_eq!(versions, &vec!["v1".to_owned(), "v1alpha1".to_owned()]);
        let bad = json!({"metadata": {"name": "nope"}, "spec": crd["spec"].clone()});
        assert!(from_crd(&bad).is_err());
    }
}
