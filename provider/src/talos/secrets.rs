//! The cluster secrets bundle: Talos's `secrets.yaml`, generated here in Rust or imported.
//!
//! Layout and generation rules from siderolabs/talos `pkg/machinery/config/generate/secrets`
//! (`secrets.go`, `bundle.go`, `utils.go`, `testdata/secrets.yaml`):
//! - `cluster.id`: 32 random bytes, URL-safe base64 with padding; `cluster.secret`: 32 random
//!   bytes, standard base64 (`constants.DefaultClusterIDSize`/`DefaultClusterSecretSize`);
//! - `secrets.bootstraptoken` and `trustdinfo.token`: `[a-z0-9]{6}.[a-z0-9]{16}`, characters
//!   drawn by rejection sampling so every one is equally likely;
//! - `secrets.secretboxencryptionsecret`: 32 random bytes, standard base64 (contracts after
//!   1.2; `aescbcencryptionsecret` on older clusters, accepted on import, exactly one of both);
//! - `certs.{etcd,k8s,k8saggregator,os}.{crt,key}` and `certs.k8sserviceaccount.key`: base64 of
//!   PEM (see [`super::pki`] for the CAs).
//!
//! Service-account key: `talosctl` generates RSA-4096 from the 1.7 contract on (Talos PR #8223,
//! for OIDC consumers that only accept RS256). *ring* cannot generate RSA keys, so this provider
//! generates ECDSA P-256, which Talos and Kubernetes both accept (Talos PR #14257 adds the same
//! option to Talos's own bundle generation); an imported RSA key is kept unchanged.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{PkiError, SecretsError, redact_quoted};
use super::keys::{KeyAlgorithm, PrivateKey};
use super::pem;
use super::pki::{CaKind, CertificateAuthority};
use super::sensitive::Sensitive;

/// A Talos cluster's secrets. Build it with [`SecretsBundle::generate`] or
/// [`SecretsBundle::from_yaml`]; `Debug` prints only the cluster id.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretsBundle {
    cluster_id: String,
    cluster_secret: Sensitive,
    bootstrap_token: Sensitive,
    encryption: EncryptionSecret,
    trustd_token: Sensitive,
    etcd: CertificateAuthority,
    kubernetes: CertificateAuthority,
    aggregator: CertificateAuthority,
    service_account: PrivateKey,
    os: CertificateAuthority,
}

/// The key Kubernetes encrypts Secrets at rest with.
#[derive(Clone, PartialEq, Eq)]
pub enum EncryptionSecret {
    /// `secretbox` (XSalsa20-Poly1305), what Talos generates since the 1.3 contract.
    Secretbox(Sensitive),
    /// `aescbc`, found in bundles of clusters created before Talos 1.3.
    AesCbc(Sensitive),
}

impl fmt::Debug for SecretsBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsBundle").field("cluster_id", &self.cluster_id).finish_non_exhaustive()
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Secretbox(_) => "Secretbox(<redacted>)",
            Self::AesCbc(_) => "AesCbc(<redacted>)",
        })
    }
}

impl SecretsBundle {
    /// Generates a new bundle; CA validity starts at `now` (pass the wall clock).
    pub fn generate(now: OffsetDateTime) -> Result<Self, PkiError> {
        let rng = SystemRandom::new();
        Ok(Self {
            cluster_id: URL_SAFE.encode(random_bytes::<32>(&rng)?),
            cluster_secret: Sensitive::new(STANDARD.encode(random_bytes::<32>(&rng)?)),
            bootstrap_token: Sensitive::new(token(&rng)?),
            encryption: EncryptionSecret::Secretbox(Sensitive::new(
                STANDARD.encode(random_bytes::<32>(&rng)?),
            )),
            trustd_token: Sensitive::new(token(&rng)?),
            etcd: CertificateAuthority::generate(CaKind::Etcd, now)?,
            kubernetes: CertificateAuthority::generate(CaKind::Kubernetes, now)?,
            aggregator: CertificateAuthority::generate(CaKind::Aggregator, now)?,
            service_account: PrivateKey::generate(KeyAlgorithm::EcdsaP256)?,
            os: CertificateAuthority::generate(CaKind::Os, now)?,
        })
    }

    /// Parses and validates a `secrets.yaml` (as written by `talosctl gen secrets` or by
    /// [`SecretsBundle::to_yaml`]). Unknown fields are ignored, as Talos does.
    pub fn from_yaml(text: &str) -> Result<Self, SecretsError> {
        let file: SecretsFile =
            serde_norway::from_str(text).map_err(|e| SecretsError::Yaml(redact_quoted(&e.to_string())))?;
        let field =
            |path: &'static str, reason: &str| SecretsError::Field { path, reason: reason.to_owned() };

        if file.cluster.id.trim().is_empty() {
            return Err(field("cluster.id", "must not be empty"));
        }
        if file.cluster.secret.trim().is_empty() {
            return Err(field("cluster.secret", "must not be empty"));
        }
        if !is_token(&file.secrets.bootstraptoken) {
            return Err(field("secrets.bootstraptoken", "must match [a-z0-9]{6}.[a-z0-9]{16}"));
        }
        let encryption = match (file.secrets.secretboxencryptionsecret, file.secrets.aescbcencryptionsecret) {
            (Some(s), None) => EncryptionSecret::Secretbox(Sensitive::new(check_key32(
                s,
                "secrets.secretboxencryptionsecret",
            )?)),
            (None, Some(s)) => {
                EncryptionSecret::AesCbc(Sensitive::new(check_key32(s, "secrets.aescbcencryptionsecret")?))
            }
            (Some(_), Some(_)) => {
                return Err(field(
                    "secrets",
                    "only one of secretboxencryptionsecret and aescbcencryptionsecret is allowed",
                ));
            }
            (None, None) => {
                return Err(field(
                    "secrets",
                    "one of secretboxencryptionsecret and aescbcencryptionsecret is required",
                ));
            }
        };
        let trustd = file.trustdinfo.token;
        if trustd.is_empty() || trustd.chars().any(char::is_whitespace) {
            return Err(field("trustdinfo.token", "must be a non-empty token without spaces"));
        }
        let certs = file.certs;
        let service_account = pem::from_field(&certs.k8sserviceaccount.key)
            .ok_or_else(|| field("certs.k8sserviceaccount.key", "is not base64-encoded PEM"))
            .and_then(|text| {
                PrivateKey::from_pem(&text)
                    .map_err(|e| SecretsError::Pki { path: "certs.k8sserviceaccount.key", source: e.into() })
            })?;
        Ok(Self {
            cluster_id: file.cluster.id,
            cluster_secret: Sensitive::new(file.cluster.secret),
            bootstrap_token: Sensitive::new(file.secrets.bootstraptoken),
            encryption,
            trustd_token: Sensitive::new(trustd),
            etcd: load_ca(&certs.etcd, "certs.etcd")?,
            kubernetes: load_ca(&certs.k8s, "certs.k8s")?,
            aggregator: load_ca(&certs.k8saggregator, "certs.k8saggregator")?,
            service_account,
            os: load_ca(&certs.os, "certs.os")?,
        })
    }

    /// The bundle as `secrets.yaml` text, readable by `talosctl gen config --with-secrets`.
    /// The same bundle always gives the same bytes.
    pub fn to_yaml(&self) -> Sensitive {
        let ca = |ca: &CertificateAuthority| CertAndKey {
            crt: pem::to_field(ca.cert_pem()),
            key: pem::to_field(ca.key().to_pem().expose()),
        };
        let (secretbox, aescbc) = match &self.encryption {
            EncryptionSecret::Secretbox(s) => (Some(s.expose().to_owned()), None),
            EncryptionSecret::AesCbc(s) => (None, Some(s.expose().to_owned())),
        };
        let file = SecretsFile {
            cluster: ClusterFile {
                id: self.cluster_id.clone(),
                secret: self.cluster_secret.expose().to_owned(),
            },
            secrets: SecretsSection {
                bootstraptoken: self.bootstrap_token.expose().to_owned(),
                aescbcencryptionsecret: aescbc,
                secretboxencryptionsecret: secretbox,
            },
            trustdinfo: TrustdFile { token: self.trustd_token.expose().to_owned() },
            certs: CertsFile {
                etcd: ca(&self.etcd),
                k8s: ca(&self.kubernetes),
                k8saggregator: ca(&self.aggregator),
                k8sserviceaccount: KeyOnly { key: pem::to_field(self.service_account.to_pem().expose()) },
                os: ca(&self.os),
            },
        };
        // Plain strings and maps always serialise; an error here would be a bug in this module.
        Sensitive::new(serde_norway::to_string(&file).unwrap_or_default())
    }

    /// `cluster.id` (not secret: it names the cluster to the discovery service).
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// `cluster.secret`.
    pub fn cluster_secret(&self) -> &Sensitive {
        &self.cluster_secret
    }

    /// The Kubernetes bootstrap token `abcdef.0123456789abcdef`.
    pub fn bootstrap_token(&self) -> &Sensitive {
        &self.bootstrap_token
    }

    /// The Secrets-at-rest encryption key.
    pub fn encryption(&self) -> &EncryptionSecret {
        &self.encryption
    }

    /// The token machines present to trustd to obtain their certificates.
    pub fn trustd_token(&self) -> &Sensitive {
        &self.trustd_token
    }

    /// The CA of the given kind.
    pub fn ca(&self, kind: CaKind) -> &CertificateAuthority {
        match kind {
            CaKind::Etcd => &self.etcd,
            CaKind::Kubernetes => &self.kubernetes,
            CaKind::Aggregator => &self.aggregator,
            CaKind::Os => &self.os,
        }
    }

    /// The key kube-apiserver signs service-account tokens with.
    pub fn service_account_key(&self) -> &PrivateKey {
        &self.service_account
    }
}

fn load_ca(pair: &CertAndKey, path: &'static str) -> Result<CertificateAuthority, SecretsError> {
    let not_pem =
        |what: &str| SecretsError::Field { path, reason: format!("{what} is not base64-encoded PEM") };
    let crt = pem::from_field(&pair.crt).ok_or_else(|| not_pem("crt"))?;
    let key = pem::from_field(&pair.key).ok_or_else(|| not_pem("key"))?;
    CertificateAuthority::from_pem(&crt, &key).map_err(|source| SecretsError::Pki { path, source })
}

fn check_key32(value: String, path: &'static str) -> Result<String, SecretsError> {
    match STANDARD.decode(value.trim()) {
        Ok(bytes) if bytes.len() == 32 => Ok(value),
        _ => Err(SecretsError::Field { path, reason: "must be the base64 encoding of 32 bytes".into() }),
    }
}

/// Whether `s` has the kubeadm/Talos token shape `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn is_token(s: &str) -> bool {
    let ok = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    matches!(s.split_once('.'), Some((id, secret)) if ok(id, 6) && ok(secret, 16))
}

fn random_bytes<const N: usize>(rng: &SystemRandom) -> Result<[u8; N], PkiError> {
    let mut out = [0u8; N];
    rng.fill(&mut out).map_err(|_| PkiError::Random)?;
    Ok(out)
}

/// A `[a-z0-9]{6}.[a-z0-9]{16}` token. Bytes of 252 and above are discarded so that
/// `byte % 36` is uniform (252 = 7 × 36), as Talos's `randBootstrapTokenString` does.
fn token(rng: &SystemRandom) -> Result<String, PkiError> {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut chars = Vec::with_capacity(22);
    while chars.len() < 22 {
        for b in random_bytes::<32>(rng)? {
            if b < 252 && chars.len() < 22 {
                chars.push(ALPHABET[usize::from(b) % 36]);
            }
        }
    }
    let (id, secret) = chars.split_at(6);
    Ok(format!("{}.{}", String::from_utf8_lossy(id), String::from_utf8_lossy(secret)))
}

// The secrets.yaml layout: field names and order as Talos's `Bundle` marshals them.

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    cluster: ClusterFile,
    secrets: SecretsSection,
    trustdinfo: TrustdFile,
    certs: CertsFile,
}

#[derive(Serialize, Deserialize)]
struct ClusterFile {
    id: String,
    secret: String,
}

#[derive(Serialize, Deserialize)]
struct SecretsSection {
    bootstraptoken: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aescbcencryptionsecret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secretboxencryptionsecret: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct TrustdFile {
    token: String,
}

#[derive(Serialize, Deserialize)]
struct CertsFile {
    etcd: CertAndKey,
    k8s: CertAndKey,
    k8saggregator: CertAndKey,
    k8sserviceaccount: KeyOnly,
    os: CertAndKey,
}

#[derive(Serialize, Deserialize)]
struct CertAndKey {
    crt: String,
    key: String,
}

#[derive(Serialize, Deserialize)]
struct KeyOnly {
    key: String,
}
