//! The connection to one cluster: [`KubeAccess`] from the `cluster` attribute, [`KubeClient`]
//! on kube-rs with TLS verified against the cluster CA and client-certificate authentication,
//! discovery with a cache refreshed on a miss, and the single-object calls (get, apply, delete)
//! that the set operations build on. Every call goes through [`retry`].

use super::budget::{Budget, retry};
use super::error::{KubeError, apply_conflicts};
use super::object::ObjectRef;
use crate::talos::Sensitive;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersion};
use kube::discovery::Scope;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Kubernetes half of a cluster's `access` object.
#[derive(Clone, PartialEq, Eq)]
pub struct KubeAccess {
    /// `https://<endpoint>:6443`.
    pub api_url: String,
    /// The cluster CA (PEM) the API server's certificate must chain to.
    pub ca_certificate: String,
    /// Admin client certificate (PEM).
    pub client_certificate: String,
    /// Its key (PEM).
    pub client_key: Sensitive,
}

impl std::fmt::Debug for KubeAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeAccess").field("api_url", &self.api_url).finish_non_exhaustive()
    }
}

impl KubeAccess {
    /// From the `cluster` attribute (the cluster's `access`).
    pub fn from_value(cluster: &tfplugin::Value) -> Result<Self, KubeError> {
        let field = |name: &'static str| match cluster.get_attr(name) {
            Some(tfplugin::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(v) if v.is_unknown() => {
                Err(KubeError::Access { field: name, reason: "not known yet".into() })
            }
            _ => Err(KubeError::Access { field: name, reason: "missing".into() }),
        };
        if cluster.is_unknown() {
            return Err(KubeError::Access { field: "cluster", reason: "not known yet".into() });
        }
        Ok(Self {
            api_url: field("api_url")?,
            ca_certificate: field("ca_certificate")?,
            client_certificate: field("client_certificate")?,
            client_key: Sensitive::new(field("client_key")?),
        })
    }
}

/// How the API server serves a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedKind {
    /// apiVersion.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Resource name in URLs (`deployments`).
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ResolvedKind {
    fn api_resource(&self) -> ApiResource {
        let gv: GroupVersion = self
            .api_version
            .parse()
            .unwrap_or(GroupVersion { group: String::new(), version: self.api_version.clone() });
        ApiResource {
            group: gv.group.clone(),
            version: gv.version,
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

/// A client for one cluster, cheap to clone.
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    field_manager: String,
    kinds: Arc<Mutex<HashMap<(String, String), ResolvedKind>>>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").field("field_manager", &self.field_manager).finish_non_exhaustive()
    }
}

/// How long one request may take before it counts as a connection failure (and is retried).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl KubeClient {
    /// A client for `access`, applying as `field_manager`. Needs a Tokio runtime.
    pub fn new(access: &KubeAccess, field_manager: &str) -> Result<Self, KubeError> {
        let url = access.api_url.parse().map_err(|e| KubeError::Access {
            field: "api_url",
            reason: format!("{:?}: {e}", access.api_url),
        })?;
        let ca = crate::talos::pem::decode(&access.ca_certificate)
            .map_err(|e| KubeError::Access { field: "ca_certificate", reason: e.to_string() })?;
        let mut config = kube::Config::new(url);
        config.root_cert = Some(vec![ca.der]);
        config.read_timeout = Some(READ_TIMEOUT);
        config.connect_timeout = Some(Duration::from_secs(10));
        config.auth_info.client_certificate_data = Some(STANDARD.encode(&access.client_certificate));
        config.auth_info.client_key_data = Some(STANDARD.encode(access.client_key.expose()).into());
        // The error text of a bad key may quote it: keep only the kind of failure.
        let client = kube::Client::try_from(config).map_err(|e| KubeError::Client {
            message: format!("cannot use the cluster credentials ({})", error_kind(&e)),
        })?;
        Ok(Self { client, field_manager: field_manager.to_string(), kinds: Arc::default() })
    }

    /// The server-side apply field manager.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// How the server serves `kind` of `api_version`; `Ok(None)` when it does not (yet). A
    /// miss in the cache always asks the server again: CRDs appear during an apply.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
        budget: &Budget,
    ) -> Result<Option<ResolvedKind>, KubeError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(k) = self.kinds.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Some(k.clone()));
        }
        let gv: GroupVersion = api_version.parse().map_err(|_| KubeError::InvalidObject {
            path: "apiVersion".into(),
            reason: format!("{api_version:?} is not <group>/<version> or <version>"),
        })?;
        let group = match retry(budget, "discovery", || async {
            kube::discovery::pinned_group(&self.client, &gv).await.map_err(KubeError::from)
        })
        .await
        {
            Ok(g) => g,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut cache = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        for (ar, caps) in group.versioned_resources(&gv.version) {
            let resolved = ResolvedKind {
                api_version: api_version.to_string(),
                kind: ar.kind.clone(),
                plural: ar.plural.clone(),
                namespaced: caps.scope == Scope::Namespaced,
            };
            cache.insert((api_version.to_string(), ar.kind), resolved);
        }
        Ok(cache.get(&key).cloned())
    }

    /// Like [`KubeClient::resolve`], but an unknown kind is an error.
    pub async fn resolve_known(
        &self,
        api_version: &str,
        kind: &str,
        budget: &Budget,
    ) -> Result<ResolvedKind, KubeError> {
        self.resolve(api_version, kind, budget)
            .await?
            .ok_or_else(|| KubeError::UnknownKind { api_version: api_version.into(), kind: kind.into() })
    }

    fn api(&self, kind: &ResolvedKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// The raw kube-rs client (for typed calls: nodes, pods, evictions).
    pub fn raw(&self) -> &kube::Client {
        &self.client
    }

    /// The live object; `Ok(None)` when it does not exist (or its kind is not served).
    pub async fn get(&self, r: &ObjectRef, budget: &Budget) -> Result<Option<Value>, KubeError> {
        let Some(kind) = self.resolve(&r.api_version, &r.kind, budget).await? else { return Ok(None) };
        let api = self.api(&kind, r.namespace.as_deref());
        let found = retry(budget, "get", || async { api.get_opt(&r.name).await.map_err(KubeError::from) })
            .await
            .map_err(|e| e.about(r))?;
        found.map(to_json).transpose()
    }

    /// Server-side applies one object whose namespace is already resolved; returns the live
    /// object. A 409 with field conflicts becomes [`KubeError::Conflict`].
    pub async fn apply_object(
        &self,
        kind: &ResolvedKind,
        r: &ObjectRef,
        obj: &Value,
        force: bool,
        budget: &Budget,
    ) -> Result<Value, KubeError> {
        let api = self.api(kind, r.namespace.as_deref());
        let mut params = PatchParams::apply(&self.field_manager);
        if force {
            params = params.force();
        }
        let applied = retry(budget, "server-side apply", || async {
            api.patch(&r.name, &params, &Patch::Apply(obj)).await.map_err(|e| match e {
                kube::Error::Api(status) if status.code == 409 => match apply_conflicts(&status) {
                    Some(conflicts) => KubeError::Conflict { object: Box::new(r.clone()), conflicts },
                    None => KubeError::from(kube::Error::Api(status)),
                },
                other => KubeError::from(other),
            })
        })
        .await
        .map_err(|e| e.about(r))?;
        to_json(applied)
    }

    /// Asks for deletion (background propagation: the garbage collector removes what the object
    /// owns, as `kubectl delete` does); `false` when already absent.
    pub async fn delete_object(&self, r: &ObjectRef, budget: &Budget) -> Result<bool, KubeError> {
        let Some(kind) = self.resolve(&r.api_version, &r.kind, budget).await? else { return Ok(false) };
        let api = self.api(&kind, r.namespace.as_deref());
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match retry(budget, "delete", || async {
            api.delete(&r.name, &params).await.map_err(KubeError::from)
        })
        .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.about(r)),
        }
    }
}

/// A kube-rs object as plain JSON.
fn to_json(obj: DynamicObject) -> Result<Value, KubeError> {
    serde_json::to_value(obj).map_err(|e| KubeError::Client { message: format!("encoding an object: {e}") })
}

/// The kind of a client construction failure, without its text (which may quote key material).
fn error_kind(e: &kube::Error) -> &'static str {
    match e {
        kube::Error::RustlsTls(_) => "invalid client certificate, key or CA",
        kube::Error::InferKubeconfig(_) => "invalid credentials",
        _ => "client setup failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_comes_from_the_cluster_attribute_and_never_prints_the_key() {
        let cluster = tfplugin::Value::object([
            ("api_url", tfplugin::Value::from("https://127.80.0.20:6443")),
            ("ca_certificate", tfplugin::Value::from("ca")),
            ("client_certificate", tfplugin::Value::from("cert")),
            ("client_key", tfplugin::Value::from("-----BEGIN KEY----- secret")),
        ]);
        let access = KubeAccess::from_value(&cluster).expect("access");
        assert!(!format!("{access:?}").contains("secret"));
        let partial = tfplugin::Value::object([("api_url", tfplugin::Value::from("https://x"))]);
        assert!(matches!(
            KubeAccess::from_value(&partial),
            Err(KubeError::Access { field: "ca_certificate", .. })
        ));
        assert!(KubeAccess::from_value(&tfplugin::Value::Unknown).is_err());
    }
}
