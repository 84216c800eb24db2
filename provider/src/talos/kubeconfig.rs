//! The admin kubeconfig, generated offline from the Kubernetes CA of the secrets bundle (no
//! node contact, so it is known as soon as the bundle exists), and a kubeconfig parser for the
//! provider's Kubernetes client.
//!
//! The client certificate follows the Talos Terraform provider's offline kubeconfig (subject
//! `O=system:masters, CN=admin`, clientAuth) with an ECDSA P-256 key under the ECDSA
//! Kubernetes CA; the file uses client-go's layout: cluster `<name>`, user and context
//! `admin@<name>`, namespace `default`.
//!
//! Byte stability: *ring* signs ECDSA with a random nonce and cannot derive a P-256 key from
//! bytes, so two generations differ. Instead, [`generate`] takes the previously generated
//! kubeconfig and returns it unchanged when it still matches the inputs (same server and
//! names, same CA, a client certificate signed by that CA with the requested validity and
//! subject, and a key that matches it). The resource passes the value from state, so plans
//! and refreshes never see a diff.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::error::{ClientConfigError, PkiError, redact_quoted};
use super::keys::{KeyAlgorithm, PrivateKey};
use super::pem;
use super::pki::{self, CaKind, ClientCertificateSpec};
use super::secrets::SecretsBundle;
use super::sensitive::Sensitive;

/// The admin certificate's organization: Kubernetes's superuser group.
pub const ADMIN_GROUP: &str = "system:masters";
/// The admin certificate's common name.
pub const ADMIN_USER: &str = "admin";

/// Inputs of [`generate`].
#[derive(Debug, Clone)]
pub struct KubeconfigInput<'a> {
    /// Cluster name (cluster entry `<name>`, context `admin@<name>`).
    pub cluster_name: &'a str,
    /// API server URL (`https://VIP:6443`).
    pub server: &'a str,
    /// Certificate validity start; keep it fixed (stored in state).
    pub not_before: OffsetDateTime,
    /// Certificate lifetime.
    pub validity: Duration,
}

/// Credentials read from a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeCredentials {
    /// A client certificate and key (PEM).
    ClientCertificate {
        /// Certificate PEM.
        cert_pem: String,
        /// Key PEM.
        key_pem: Sensitive,
    },
    /// A bearer token.
    Token(Sensitive),
}

/// What the Kubernetes client needs from a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeClientConfig {
    /// API server URL.
    pub server: String,
    /// CA bundle PEM, if the kubeconfig has one.
    pub ca_pem: Option<String>,
    /// `tls-server-name`, if set.
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// User credentials.
    pub credentials: KubeCredentials,
}

/// Returns the admin kubeconfig for `input`: `previous` unchanged when it still matches,
/// otherwise a new one signed by the bundle's Kubernetes CA.
pub fn generate(
    secrets: &SecretsBundle,
    input: &KubeconfigInput<'_>,
    previous: Option<&str>,
) -> Result<Sensitive, ClientConfigError> {
    let not_before = pki::truncate_to_second(input.not_before);
    let not_after = not_before
        .checked_add(input.validity)
        .ok_or_else(|| PkiError::Validity("validity is out of range".into()))?;
    if let Some(previous) = previous
        && still_valid(secrets, input, previous, not_before, not_after)
    {
        return Ok(Sensitive::new(previous));
    }
    let ca = secrets.ca(CaKind::Kubernetes);
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let spec = ClientCertificateSpec {
        common_name: Some(ADMIN_USER),
        organizations: &[ADMIN_GROUP],
        not_before,
        not_after,
        serial: pki::random_serial()?,
    };
    let cert_pem = ca.issue_client_certificate(&spec, &key)?;
    let user = format!("admin@{}", input.cluster_name);
    let file = File {
        api_version: "v1".into(),
        kind: "Config".into(),
        clusters: vec![Named {
            name: input.cluster_name.to_owned(),
            cluster: Some(ClusterEntry {
                server: input.server.to_owned(),
                certificate_authority_data: Some(pem::to_field(ca.cert_pem())),
                tls_server_name: None,
                insecure_skip_tls_verify: None,
            }),
            ..Named::default()
        }],
        contexts: vec![Named {
            name: user.clone(),
            context: Some(ContextEntry {
                cluster: input.cluster_name.to_owned(),
                user: user.clone(),
                namespace: Some("default".into()),
            }),
            ..Named::default()
        }],
        current_context: user.clone(),
        users: vec![Named {
            name: user,
            user: Some(UserEntry {
                client_certificate_data: Some(pem::to_field(&cert_pem)),
                client_key_data: Some(pem::to_field(key.to_pem().expose())),
                ..UserEntry::default()
            }),
            ..Named::default()
        }],
    };
    serde_norway::to_string(&file)
        .map(Sensitive::new)
        .map_err(|e| ClientConfigError::Invalid { kind: "kubeconfig", reason: e.to_string() })
}

/// Whether `previous` is exactly what [`generate`] would produce for these inputs, up to the
/// random parts (key, serial, signature).
fn still_valid(
    secrets: &SecretsBundle,
    input: &KubeconfigInput<'_>,
    previous: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> bool {
    let ca = secrets.ca(CaKind::Kubernetes);
    let Ok(parsed) = parse(previous) else { return false };
    let user = format!("admin@{}", input.cluster_name);
    let Ok(file) = serde_norway::from_str::<File>(previous) else { return false };
    if parsed.server != input.server
        || parsed.ca_pem.as_deref() != Some(ca.cert_pem())
        || file.current_context != user
        || file.clusters.first().map(|c| c.name.as_str()) != Some(input.cluster_name)
    {
        return false;
    }
    let KubeCredentials::ClientCertificate { cert_pem, key_pem } = &parsed.credentials else { return false };
    let (Ok(block), Ok(key)) = (pem::decode(cert_pem), PrivateKey::from_pem(key_pem.expose())) else {
        return false;
    };
    let Ok(cert) = pki::parse(&block.der) else { return false };
    let organizations: Vec<&str> =
        cert.subject().iter_organization().filter_map(|a| a.as_str().ok()).collect();
    let common_names: Vec<&str> = cert.subject().iter_common_name().filter_map(|a| a.as_str().ok()).collect();
    ca.signed(&block.der)
        && cert.validity().not_before.to_datetime() == not_before
        && cert.validity().not_after.to_datetime() == not_after
        && organizations == [ADMIN_GROUP]
        && common_names == [ADMIN_USER]
        && key
            .public_key_raw()
            .is_ok_and(|raw| raw.as_slice() == cert.public_key().subject_public_key.data.as_ref())
}

/// Parses a kubeconfig: the current context (or the only one), its cluster and its user.
/// Only inline credentials are supported (`*-data` fields or `token`).
pub fn parse(yaml: &str) -> Result<KubeClientConfig, ClientConfigError> {
    let invalid = |reason: String| ClientConfigError::Invalid { kind: "kubeconfig", reason };
    let file: File = serde_norway::from_str(yaml).map_err(|e| ClientConfigError::Yaml {
        kind: "kubeconfig",
        message: redact_quoted(&e.to_string()),
    })?;
    let context_name = if file.current_context.is_empty() && file.contexts.len() == 1 {
        file.contexts[0].name.clone()
    } else {
        file.current_context.clone()
    };
    let context = file
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| invalid(format!("current-context `{context_name}` is not in `contexts`")))?;
    let cluster = file
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
        invalid(format!("cluster `{}` of context `{context_name}` is not in `clusters`", context.cluster))
    })?;
    let user = file.users.iter().find(|u| u.name == context.user).and_then(|u| u.user.as_ref()).ok_or_else(
        || invalid(format!("user `{}` of context `{context_name}` is not in `users`", context.user)),
    )?;
    let decode = |value: &str, path: String| {
        STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| invalid(format!("`{path}` is not base64-encoded PEM")))
    };
    if cluster.server.is_empty() {
        return Err(invalid(format!("cluster `{}` has no `server`", context.cluster)));
    }
    let ca_pem = cluster
        .certificate_authority_data
        .as_deref()
        .map(|v| decode(v, format!("clusters[{}].cluster.certificate-authority-data", context.cluster)))
        .transpose()?;
    let user_path = |field: &str| format!("users[{}].user.{field}", context.user);
    let credentials = match (&user.client_certificate_data, &user.client_key_data, &user.token) {
        (Some(cert), Some(key), _) => KubeCredentials::ClientCertificate {
            cert_pem: decode(cert, user_path("client-certificate-data"))?,
            key_pem: Sensitive::new(decode(key, user_path("client-key-data"))?),
        },
        (None, None, Some(token)) if !token.is_empty() => {
            KubeCredentials::Token(Sensitive::new(token.clone()))
        }
        _ if user.exec.is_some() || user.auth_provider.is_some() => {
            return Err(invalid(format!(
                "user `{}` uses an exec or auth-provider plugin, which is not supported",
                context.user
            )));
        }
        _ => {
            return Err(invalid(format!(
                "user `{}` needs client-certificate-data and client-key-data, or a token",
                context.user
            )));
        }
    };
    Ok(KubeClientConfig {
        server: cluster.server.clone(),
        ca_pem,
        tls_server_name: cluster.tls_server_name.clone(),
        insecure_skip_tls_verify: cluster.insecure_skip_tls_verify.unwrap_or(false),
        credentials,
    })
}

// client-go's kubeconfig layout (k8s.io/client-go/tools/clientcmd/api/v1).

#[derive(Serialize, Deserialize)]
struct File {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    clusters: Vec<Named>,
    #[serde(default)]
    contexts: Vec<Named>,
    #[serde(rename = "current-context", default)]
    current_context: String,
    #[serde(default)]
    users: Vec<Named>,
}

#[derive(Serialize, Deserialize, Default)]
struct Named {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster: Option<ClusterEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<ContextEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<UserEntry>,
}

#[derive(Serialize, Deserialize)]
struct ClusterEntry {
    #[serde(default)]
    server: String,
    #[serde(rename = "certificate-authority-data", default, skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
    #[serde(rename = "tls-server-name", default, skip_serializing_if = "Option::is_none")]
    tls_server_name: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default, skip_serializing_if = "Option::is_none")]
    insecure_skip_tls_verify: Option<bool>,
}

#[derive(Serialize, Deserialize)]
struct ContextEntry {
    cluster: String,
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct UserEntry {
    #[serde(rename = "client-certificate-data", default, skip_serializing_if = "Option::is_none")]
    client_certificate_data: Option<String>,
    #[serde(rename = "client-key-data", default, skip_serializing_if = "Option::is_none")]
    client_key_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exec: Option<serde_norway::Value>,
    #[serde(rename = "auth-provider", default, skip_serializing_if = "Option::is_none")]
    auth_provider: Option<serde_norway::Value>,
}
