//! The `talosconfig` client configuration: a context named after the cluster, its endpoints and
//! nodes, the OS CA, and an `os:admin` client certificate signed by the OS CA.
//!
//! Layout from siderolabs/talos `pkg/machinery/client/config/config.go`: top-level `context`
//! and `contexts` (name → `endpoints`, `nodes`, `ca`, `crt`, `key`, base64 of PEM). Talos's own
//! admin certificate (`NewAdminCertificateAndKey`) has organization = the roles, key usage
//! digitalSignature, extended key usage clientAuth, and a key of the CA's algorithm; its
//! default lifetime is one year (`TalosAPIDefaultCertificateValidityDuration`).
//!
//! Byte stability: the OS CA is Ed25519, whose signatures are deterministic (RFC 8032), and the
//! client key seed and serial are derived with HKDF-SHA256 from the OS CA key and every input,
//! so the same bundle and inputs always give the same bytes. (An imported bundle with an ECDSA
//! OS CA gets a fresh key and signature on every call: the resource stores the result once.)

use std::collections::BTreeMap;

use ring::hkdf;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::error::{ClientConfigError, PkiError, redact_quoted};
use super::keys::{KeyAlgorithm, PrivateKey};
use super::pem;
use super::pki::{self, CaKind, ClientCertificateSpec};
use super::secrets::SecretsBundle;
use super::sensitive::Sensitive;

/// Talos's default client certificate lifetime: 365 days.
pub const DEFAULT_VALIDITY: Duration = Duration::days(365);
/// The role of the provider's own client certificate.
pub const ADMIN_ROLE: &str = "os:admin";

/// Inputs of [`generate`].
#[derive(Debug, Clone)]
pub struct TalosconfigInput<'a> {
    /// Context name: the cluster name.
    pub cluster_name: &'a str,
    /// API endpoints (control-plane addresses).
    pub endpoints: &'a [String],
    /// Default target nodes.
    pub nodes: &'a [String],
    /// Talos roles in the certificate (`os:admin`, `os:reader`, ...).
    pub roles: &'a [&'a str],
    /// Certificate validity start; keep it fixed (stored in state) so the output is stable.
    pub not_before: OffsetDateTime,
    /// Certificate lifetime.
    pub validity: Duration,
}

/// A generated talosconfig and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talosconfig {
    /// The talosconfig YAML.
    pub yaml: Sensitive,
    /// The client certificate PEM.
    pub client_cert_pem: String,
    /// The client key PEM.
    pub client_key_pem: Sensitive,
}

/// What the provider needs from a talosconfig to open an mTLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalosClientConfig {
    /// Selected context name.
    pub context: String,
    /// API endpoints.
    pub endpoints: Vec<String>,
    /// Default nodes.
    pub nodes: Vec<String>,
    /// CA certificate PEM.
    pub ca_pem: String,
    /// Client certificate PEM.
    pub client_cert_pem: String,
    /// Client key PEM.
    pub client_key_pem: Sensitive,
}

/// Generates a talosconfig from the bundle's OS CA.
pub fn generate(
    secrets: &SecretsBundle,
    input: &TalosconfigInput<'_>,
) -> Result<Talosconfig, ClientConfigError> {
    let ca = secrets.ca(CaKind::Os);
    let not_before = pki::truncate_to_second(input.not_before);
    let not_after = not_before
        .checked_add(input.validity)
        .ok_or_else(|| PkiError::Validity("validity is out of range".into()))?;
    let info = format!(
        "{}\0{}\0{}\0{}",
        input.cluster_name,
        input.roles.join(","),
        not_before.unix_timestamp(),
        not_after.unix_timestamp()
    );
    let (key, serial) = if ca.key().algorithm() == KeyAlgorithm::Ed25519 {
        let mut okm = [0u8; 48];
        derive(b"cloudtemple talosconfig client v1", ca.key().secret_der(), info.as_bytes(), &mut okm)?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&okm[..32]);
        let mut serial = [0u8; 16];
        serial.copy_from_slice(&okm[32..]);
        (PrivateKey::ed25519_from_seed(&seed), serial)
    } else {
        (PrivateKey::generate(KeyAlgorithm::EcdsaP256)?, pki::random_serial()?)
    };
    let spec = ClientCertificateSpec {
        common_name: None,
        organizations: input.roles,
        not_before,
        not_after,
        serial,
    };
    let client_cert_pem = ca.issue_client_certificate(&spec, &key)?;
    let client_key_pem = key.to_pem();
    let file = File {
        context: input.cluster_name.to_owned(),
        contexts: BTreeMap::from([(
            input.cluster_name.to_owned(),
            Context {
                endpoints: input.endpoints.to_vec(),
                nodes: input.nodes.to_vec(),
                ca: pem::to_field(ca.cert_pem()),
                crt: pem::to_field(&client_cert_pem),
                key: pem::to_field(client_key_pem.expose()),
            },
        )]),
    };
    let yaml = serde_norway::to_string(&file)
        .map_err(|e| ClientConfigError::Invalid { kind: "talosconfig", reason: e.to_string() })?;
    Ok(Talosconfig { yaml: Sensitive::new(yaml), client_cert_pem, client_key_pem })
}

/// HKDF-SHA256 (RFC 5869) of `secret` into `out`.
pub(crate) fn derive(salt: &[u8], secret: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), PkiError> {
    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(secret);
    let info = [info];
    let okm = prk.expand(&info, Len(out.len())).map_err(|_| PkiError::Random)?;
    okm.fill(out).map_err(|_| PkiError::Random)
}

/// Parses a talosconfig and returns its current context (or the only one).
pub fn parse(yaml: &str) -> Result<TalosClientConfig, ClientConfigError> {
    let invalid = |reason: String| ClientConfigError::Invalid { kind: "talosconfig", reason };
    let file: File = serde_norway::from_str(yaml).map_err(|e| ClientConfigError::Yaml {
        kind: "talosconfig",
        message: redact_quoted(&e.to_string()),
    })?;
    let name = if file.context.is_empty() && file.contexts.len() == 1 {
        file.contexts.keys().next().cloned().unwrap_or_default()
    } else {
        file.context.clone()
    };
    let ctx =
        file.contexts.get(&name).ok_or_else(|| invalid(format!("context `{name}` is not in `contexts`")))?;
    let field = |value: &str, path: &str| {
        pem::from_field(value)
            .ok_or_else(|| invalid(format!("`contexts.{name}.{path}` is not base64-encoded PEM")))
    };
    if ctx.endpoints.is_empty() {
        return Err(invalid(format!("`contexts.{name}.endpoints` is empty")));
    }
    Ok(TalosClientConfig {
        context: name.clone(),
        endpoints: ctx.endpoints.clone(),
        nodes: ctx.nodes.clone(),
        ca_pem: field(&ctx.ca, "ca")?,
        client_cert_pem: field(&ctx.crt, "crt")?,
        client_key_pem: Sensitive::new(field(&ctx.key, "key")?),
    })
}

/// The same talosconfig with other endpoints and nodes in its current context; the CA, the
/// client certificate and the key stay byte for byte (a control plane moved to another machine
/// changes where talosctl connects, not who it is).
///
/// # Errors
/// A talosconfig that does not parse, or has no current context.
pub fn with_endpoints(
    yaml: &str,
    endpoints: &[String],
    nodes: &[String],
) -> Result<Sensitive, ClientConfigError> {
    let invalid = |reason: String| ClientConfigError::Invalid { kind: "talosconfig", reason };
    let mut file: File = serde_norway::from_str(yaml).map_err(|e| ClientConfigError::Yaml {
        kind: "talosconfig",
        message: redact_quoted(&e.to_string()),
    })?;
    let name = file.context.clone();
    let ctx = file
        .contexts
        .get_mut(&name)
        .ok_or_else(|| invalid(format!("context `{name}` is not in `contexts`")))?;
    ctx.endpoints = endpoints.to_vec();
    ctx.nodes = nodes.to_vec();
    serde_norway::to_string(&file).map(Sensitive::new).map_err(|e| invalid(e.to_string()))
}

#[derive(Serialize, Deserialize)]
struct File {
    #[serde(default)]
    context: String,
    contexts: BTreeMap<String, Context>,
}

#[derive(Serialize, Deserialize)]
struct Context {
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<String>,
    ca: String,
    crt: String,
    key: String,
}
