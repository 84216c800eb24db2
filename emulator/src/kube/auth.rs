//! Who is calling and what they may do: the identity from the client certificate (CN = user,
//! O = groups) and RBAC over the Role/ClusterRole bindings in the store. `system:masters` is
//! allowed everything, as on a real cluster.

use serde_json::{Value, json};

use crate::kube::error::{ApiError, qualified};
use crate::kube::store::Txn;

/// An authenticated user. Requests without one (in the request extensions) are anonymous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name (certificate CN).
    pub user: String,
    /// Groups (certificate O).
    pub groups: Vec<String>,
}

impl Identity {
    /// A user with groups.
    pub fn new(user: impl Into<String>, groups: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { user: user.into(), groups: groups.into_iter().map(Into::into).collect() }
    }

    /// The cluster admin a Talos kubeconfig carries (`admin`, group `system:masters`).
    pub fn admin() -> Self {
        Self::new("admin", ["system:masters"])
    }

    fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What a request does, for authorization.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// RBAC verb (get, list, watch, create, update, patch, delete, deletecollection).
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource, if any.
    pub subresource: Option<&'a str>,
    /// Namespace, if any.
    pub namespace: Option<&'a str>,
    /// Object name, if any.
    pub name: Option<&'a str>,
}

fn strs(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn rule_allows(rule: &Value, a: &Attributes<'_>) -> bool {
    let any_or = |list: Vec<String>, want: &str| list.iter().any(|x| x == "*" || x == want);
    let resource = match a.subresource {
        Some(sub) => format!("{}/{sub}", a.resource),
        None => a.resource.to_owned(),
    };
    let names = strs(rule, "resourceNames");
    any_or(strs(rule, "verbs"), a.verb)
        && any_or(strs(rule, "apiGroups"), a.group)
        && (any_or(strs(rule, "resources"), &resource)
            || strs(rule, "resources").iter().any(|r| r == &format!("{}/*", a.resource)))
        && (names.is_empty() || a.name.is_some_and(|n| names.iter().any(|x| x == n)))
}

fn subject_matches(subject: &Value, id: &Identity) -> bool {
    let name = subject.get("name").and_then(Value::as_str).unwrap_or_default();
    match subject.get("kind").and_then(Value::as_str) {
        Some("User") => name == id.user,
        Some("Group") => name == "system:authenticated" || id.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = subject.get("namespace").and_then(Value::as_str).unwrap_or_default();
            id.user == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn role_rules(txn: &Txn<'_>, role_ref: &Value, namespace: &str) -> Vec<Value> {
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or_default();
    let key = match role_ref.get("kind").and_then(Value::as_str) {
        Some("ClusterRole") => {
            crate::kube::store::ObjectKey::new("rbac.authorization.k8s.io", "clusterroles", "", name)
        }
        _ => crate::kube::store::ObjectKey::new("rbac.authorization.k8s.io", "roles", namespace, name),
    };
    txn.get(&key).and_then(|r| r.get("rules")).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Allows or refuses a request.
///
/// # Errors
/// 403 Forbidden worded like the real RBAC authorizer.
pub fn authorize(txn: &Txn<'_>, id: &Identity, a: &Attributes<'_>) -> Result<(), ApiError> {
    if id.is_admin() {
        return Ok(());
    }
    let mut bindings: Vec<(&Value, String)> = txn
        .list("rbac.authorization.k8s.io", "clusterrolebindings", None)
        .into_iter()
        .map(|(_, b)| (b, String::new()))
        .collect();
    if let Some(ns) = a.namespace {
        bindings.extend(
            txn.list("rbac.authorization.k8s.io", "rolebindings", Some(ns))
                .into_iter()
                .map(|(_, b)| (b, ns.to_owned())),
        );
    }
    for (binding, ns) in bindings {
        let subjects = binding.get("subjects").and_then(Value::as_array).cloned().unwrap_or_default();
        if !subjects.iter().any(|s| subject_matches(s, id)) {
            continue;
        }
        let role_ref = binding.get("roleRef").cloned().unwrap_or(Value::Null);
        if role_rules(txn, &role_ref, &ns).iter().any(|r| rule_allows(r, a)) {
            return Ok(());
        }
    }
    let what = match a.name {
        Some(n) => format!("{} \"{n}\"", qualified(a.group, a.resource)),
        None => qualified(a.group, a.resource),
    };
    let resource = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_owned(),
    };
    let scope = match a.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    Err(ApiError::forbidden(
        format!(
            "{what} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            id.user, a.verb, a.group
        ),
        json!({"name": a.name.unwrap_or_default(), "group": a.group, "kind": a.resource}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::store::{ObjectKey, Store};

    #[test]
    fn rbac_grants_through_bindings_and_words_refusals_like_the_server() {
        let store = Store::in_memory();
        store.transact(|t| {
            t.put(&ObjectKey::new("rbac.authorization.k8s.io", "roles", "team", "reader"),
                json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})).expect("put");
            t.put(&ObjectKey::new("rbac.authorization.k8s.io", "rolebindings", "team", "bob-reads"),
                json!({"subjects": [{"kind": "User", "name": "bob"}], "roleRef": {"kind": "Role", "name": "reader"}})).expect("put");
        });
        let bob = Identity::new("bob", ["devs"]);
        let attrs = |verb, ns| Attributes {
            verb,
            group: "",
            resource: "configmaps",
            subresource: None,
            namespace: ns,
            name: None,
        };
        store.transact(|t| {
            assert!(authorize(t, &bob, &attrs("list", Some("team"))).is_ok());
            let err = authorize(t, &bob, &attrs("delete", Some("team"))).expect_err("refused");
            assert_eq!(err.message, "configmaps is forbidden: User \"bob\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"team\"");
            assert!(authorize(t, &bob, &attrs("list", None)).is_err());
            assert!(authorize(t, &Identity::admin(), &attrs("delete", None)).is_ok());
        });
    }
}
