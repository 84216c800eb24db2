//! Talos machine configuration (v1alpha1) as the emulator reads it: multi-document YAML, validated
//! the way ApplyConfiguration needs (InvalidArgument on garbage), reduced to the facts the
//! emulated machine acts on (type, endpoint, CAs, hostname, install image, and in [`KubeSettings`] what
//! its kubelet registers).

mod diff;
mod kube;

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize as _;
use serde_norway::Value;

pub use diff::{ConfigDiff, describe_diff};
pub use kube::{KubeSettings, Taint, image_tag};

use crate::error::{Error, Result};

/// Default lifetime of the admin kubeconfig certificate (upstream: one year).
const DEFAULT_ADMIN_CERT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The role a machine plays in its cluster (`machine.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineType {
    /// Runs etcd and the Kubernetes control plane (`controlplane`, or the legacy `init`).
    Controlplane,
    /// Runs only the kubelet (`worker`).
    Worker,
}

/// A certificate authority from the config: PEM certificate and, on control planes, PEM key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPem {
    /// PEM certificate (decoded from the base64 field `crt`).
    pub crt: String,
    /// PEM private key (decoded from `key`); workers carry none.
    pub key: Option<String>,
}

/// A parsed and validated machine configuration.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// The YAML as applied (kept verbatim: it is what the node persists).
    pub raw: String,
    /// `machine.type`.
    pub machine_type: MachineType,
    /// `machine.network.hostname`, if set.
    pub hostname: Option<String>,
    /// `cluster.clusterName`.
    pub cluster_name: String,
    /// `cluster.id`, if set (configs from old secrets lack it).
    pub cluster_id: Option<String>,
    /// `cluster.controlPlane.endpoint`: the Kubernetes API URL.
    pub endpoint: String,
    /// `machine.ca`: the OS (Talos API) CA.
    pub os_ca: CaPem,
    /// `cluster.ca`: the Kubernetes CA.
    pub k8s_ca: CaPem,
    /// `machine.certSANs`.
    pub cert_sans: Vec<String>,
    /// `machine.install.image`: the installer, whose tag is the version installed.
    pub install_image: Option<String>,
    /// `cluster.adminKubeconfig.certLifetime` (default one year).
    pub admin_cert_lifetime: Duration,
    /// `cluster.network.cni.name` (default `flannel`).
    pub cni: String,
    /// What the kubelet registers and the control plane runs (labels, taints, versions).
    pub kube: KubeSettings,
    /// Non-fatal validation findings, returned as ApplyConfiguration warnings.
    pub warnings: Vec<String>,
    documents: Vec<Value>,
}

impl MachineConfig {
    /// Parses and validates a machine configuration.
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] when the bytes are not UTF-8 YAML; [`Error::InvalidConfig`] when
    /// they hold no v1alpha1 document or miss what a Talos node needs (type, endpoint, CAs).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(data)
            .map_err(|_| Error::ConfigSyntax("configuration is not valid UTF-8".into()))?;
        let mut documents = Vec::new();
        for doc in serde_norway::Deserializer::from_str(text) {
            let value = Value::deserialize(doc).map_err(|e| Error::ConfigSyntax(e.to_string()))?;
            if !value.is_null() {
                documents.push(value);
            }
        }
        let mut v1alpha1 = None;
        for (i, doc) in documents.iter().enumerate() {
            if !doc.is_mapping() {
                return Err(Error::InvalidConfig(format!("document {i} is not a mapping")));
            }
            if str_at(doc, &["version"]).is_some() {
                if str_at(doc, &["version"]) != Some("v1alpha1") {
                    return Err(Error::InvalidConfig(format!(
                        "unsupported config version {:?}",
                        str_at(doc, &["version"]).unwrap_or_default()
                    )));
                }
                if v1alpha1.replace(doc).is_some() {
                    return Err(Error::InvalidConfig("duplicate v1alpha1 document".into()));
                }
            } else if str_at(doc, &["apiVersion"]).is_none() || str_at(doc, &["kind"]).is_none() {
                return Err(Error::InvalidConfig(format!(
                    "document {i} has neither `version: v1alpha1` nor apiVersion and kind"
                )));
            }
        }
        let Some(root) = v1alpha1 else {
            return Err(Error::InvalidConfig(
                "the machine configuration doesn't contain a v1alpha1 document".into(),
            ));
        };
        let mut warnings = Vec::new();
        let machine_type = match str_at(root, &["machine", "type"]) {
            Some("controlplane") => MachineType::Controlplane,
            Some("init") => {
                warnings.push("machine type \"init\" is deprecated, use \"controlplane\"".into());
                MachineType::Controlplane
            }
            Some("worker") => MachineType::Worker,
            Some(other) => {
                return Err(Error::InvalidConfig(format!("unknown machine type {other:?}")));
            }
            None => return Err(Error::InvalidConfig("machine.type is required".into())),
        };
        let endpoint = str_at(root, &["cluster", "controlPlane", "endpoint"])
            .ok_or_else(|| Error::InvalidConfig("cluster.controlPlane.endpoint is required".into()))?
            .to_owned();
        validate_endpoint(&endpoint)?;
        let needs_keys = machine_type == MachineType::Controlplane;
        let os_ca = read_ca(root, &["machine", "ca"], needs_keys)?;
        let k8s_ca = read_ca(root, &["cluster", "ca"], needs_keys)?;
        if str_at(root, &["machine", "token"]).is_none_or(str::is_empty) {
            return Err(Error::InvalidConfig("machine.token is required".into()));
        }
        let cluster_name = match str_at(root, &["cluster", "clusterName"]) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => return Err(Error::InvalidConfig("cluster.clusterName is required".into())),
        };
        let admin_cert_lifetime = match str_at(root, &["cluster", "adminKubeconfig", "certLifetime"]) {
            Some(s) => parse_go_duration(s).ok_or_else(|| {
                Error::InvalidConfig(format!("cluster.adminKubeconfig.certLifetime {s:?} is not a duration"))
            })?,
            None => DEFAULT_ADMIN_CERT_LIFETIME,
        };
        let cert_sans = at(root, &["machine", "certSANs"])
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            raw: text.to_owned(),
            machine_type,
            hostname: str_at(root, &["machine", "network", "hostname"]).map(str::to_owned),
            cluster_name,
            cluster_id: str_at(root, &["cluster", "id"]).map(str::to_owned),
            endpoint,
            os_ca,
            k8s_ca,
            cert_sans,
            install_image: str_at(root, &["machine", "install", "image"]).map(str::to_owned),
            admin_cert_lifetime,
            cni: str_at(root, &["cluster", "network", "cni", "name"]).unwrap_or("flannel").to_owned(),
            kube: KubeSettings::read(root)?,
            warnings,
            documents,
        })
    }

    /// The key that groups machines into one cluster: `cluster.id`, or the endpoint.
    pub fn cluster_key(&self) -> String {
        self.cluster_id.clone().unwrap_or_else(|| self.endpoint.clone())
    }

    /// Compares this (running) configuration with a new one.
    pub fn diff(&self, new: &MachineConfig) -> ConfigDiff {
        ConfigDiff::between(&self.documents, &new.documents)
    }
}

/// Looks a value up by path in a YAML mapping tree.
fn at<'a>(root: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, key| v.get(*key))
}

fn str_at<'a>(root: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(root, path).and_then(Value::as_str)
}

fn validate_endpoint(endpoint: &str) -> Result<()> {
    let rest = endpoint.strip_prefix("https://").ok_or_else(|| {
        Error::InvalidConfig(format!("cluster.controlPlane.endpoint {endpoint:?} must be an https:// URL"))
    })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.ends_with(':') {
        return Err(Error::InvalidConfig(format!("cluster.controlPlane.endpoint {endpoint:?} has no host")));
    }
    Ok(())
}

fn read_ca(root: &Value, path: &[&str], needs_key: bool) -> Result<CaPem> {
    let name = path.join(".");
    let crt = decode_pem(root, path, "crt")?
        .ok_or_else(|| Error::InvalidConfig(format!("{name}.crt is required")))?;
    if !crt.contains("-----BEGIN CERTIFICATE-----") {
        return Err(Error::InvalidConfig(format!("{name}.crt is not a PEM certificate")));
    }
    crate::pki::parse_cert_pem(&crt).map_err(|e| Error::InvalidConfig(format!("{name}.crt: {e}")))?;
    let key = decode_pem(root, path, "key")?;
    match &key {
        Some(k) => {
            crate::pki::parse_key_pem(k).map_err(|e| Error::InvalidConfig(format!("{name}.key: {e}")))?;
        }
        None if needs_key => {
            return Err(Error::InvalidConfig(format!("{name}.key is required on control plane nodes")));
        }
        None => {}
    }
    Ok(CaPem { crt, key })
}

/// Decodes a base64 PEM field; an empty string counts as absent (worker configs carry `key: ""`).
fn decode_pem(root: &Value, path: &[&str], field: &str) -> Result<Option<String>> {
    let mut full: Vec<&str> = path.to_vec();
    full.push(field);
    let Some(encoded) = str_at(root, &full) else {
        return Ok(None);
    };
    if encoded.trim().is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Error::InvalidConfig(format!("{} is not valid base64", full.join("."))))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::InvalidConfig(format!("{} is not PEM text", full.join("."))))
}

/// Parses a Go duration string (`8760h`, `1h30m0s`, `90s`, `250ms`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * factor;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("8760h"), Some(Duration::from_secs(8760 * 3600)));
        assert_eq!(parse_go_duration("1h30m0s"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("h"), None);
        assert_eq!(parse_go_duration("10x"), None);
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        for bad in [&b"\xff\xfe"[..], b"{", b"- a\n- b", b"version: v1alpha2", b"kind: X"] {
            assert!(MachineConfig::parse(bad).is_err());
        }
        let no_v1 = b"apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: a\n";
        let err = MachineConfig::parse(no_v1).expect_err("no v1alpha1");
        assert!(err.to_string().contains("v1alpha1"), "{err}");
    }
}
