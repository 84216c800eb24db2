//! The Kubeconfig RPC payload: a fresh admin kubeconfig (client certificate `CN=admin,
//! O=system:masters` signed by the Kubernetes CA of the config) packed as a .tar.gz holding one
//! file named `kubeconfig`, as upstream streams it.

use std::io::Write as _;

use base64::Engine as _;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::config::MachineConfig;
use crate::error::{Error, Result};
use crate::pki::{Ca, LeafSpec};

/// Renders the admin kubeconfig YAML for a control plane configuration.
///
/// # Errors
/// [`Error::Pki`] when the Kubernetes CA key is missing or unusable.
pub fn admin_kubeconfig(cfg: &MachineConfig) -> Result<String> {
    let key =
        cfg.k8s_ca.key.as_deref().ok_or_else(|| Error::pki("Kubernetes CA", "cluster.ca.key is empty"))?;
    let ca = Ca::from_pem(&cfg.k8s_ca.crt, key)?;
    let client = ca.issue(&LeafSpec {
        common_name: "admin".into(),
        organizations: vec!["system:masters".into()],
        client: true,
        lifetime: cfg.admin_cert_lifetime,
        ..LeafSpec::default()
    })?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let name = &cfg.cluster_name;
    let user = format!("admin@{name}");
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": {
            "server": cfg.endpoint,
            "certificate-authority-data": b64(&cfg.k8s_ca.crt),
        }}],
        "users": [{ "name": user, "user": {
            "client-certificate-data": b64(&client.cert_pem),
            "client-key-data": b64(&client.key_pem),
        }}],
        "contexts": [{ "name": user, "context": { "cluster": name, "namespace": "default", "user": user } }],
        "current-context": user,
    });
    serde_norway::to_string(&doc).map_err(|e| Error::pki("kubeconfig", e))
}

/// Packs a kubeconfig as the .tar.gz the RPC streams.
///
/// # Errors
/// [`Error::Pki`] if compression fails (it writes to memory, so it does not in practice).
pub fn tar_gz(kubeconfig: &str) -> Result<Vec<u8>> {
    let pack = || -> std::io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        let mut header = tar::Header::new_gnu();
        header.set_size(kubeconfig.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(crate::timing::now_ms() / 1000);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, "kubeconfig", kubeconfig.as_bytes())?;
        let mut gz = builder.into_inner()?;
        gz.flush()?;
        gz.finish()
    };
    pack().map_err(|e| Error::pki("kubeconfig archive", e))
}
