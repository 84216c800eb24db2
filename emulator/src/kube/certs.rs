//! Certificates for the Kubernetes API endpoint: the serving certificate signed by the cluster's
//! Kubernetes CA (with the SANs kube-apiserver carries), and client certificates (CN = user,
//! O = group) for tests and tools.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::kube::error::KubeError;

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct IssuedCert {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("IssuedCert").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

fn issuer(ca_cert_pem: &str, ca_key_pem: &str) -> Result<Issuer<'static, KeyPair>, KubeError> {
    let key = crate::pki::parse_key_pem(ca_key_pem).map_err(|e| KubeError::pki("Kubernetes CA key", e))?;
    Issuer::from_ca_cert_pem(ca_cert_pem, key).map_err(|e| KubeError::pki("Kubernetes CA certificate", e))
}

fn leaf(
    params: &CertificateParams,
    issuer: &Issuer<'static, KeyPair>,
    what: &str,
) -> Result<IssuedCert, KubeError> {
    let key = KeyPair::generate().map_err(|e| KubeError::pki(what, e))?;
    let cert = params.signed_by(&key, issuer).map_err(|e| KubeError::pki(what, e))?;
    Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

fn validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
}

/// Issues the API server's serving certificate for `hosts` (IPs or DNS names), adding the names
/// every kube-apiserver certificate has (`kubernetes`, `kubernetes.default`, ..., `localhost`).
///
/// # Errors
/// [`KubeError::Pki`] when the CA does not parse or signing fails.
pub fn issue_server_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    hosts: &[&str],
) -> Result<IssuedCert, KubeError> {
    let issuer = issuer(ca_cert_pem, ca_key_pem)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-apiserver");
    params.distinguished_name = dn;
    let defaults = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ];
    let mut seen = Vec::new();
    for h in hosts.iter().copied().chain(defaults) {
        if seen.contains(&h) {
            continue;
        }
        seen.push(h);
        let san = match h.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => {
                SanType::DnsName(h.try_into().map_err(|e| KubeError::pki(format!("server name {h}"), e))?)
            }
        };
        params.subject_alt_names.push(san);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params);
    leaf(&params, &issuer, "API server certificate")
}

/// Issues a client certificate for `user` in `group` (e.g. `system:masters` for an admin).
///
/// # Errors
/// [`KubeError::Pki`] when the CA does not parse or signing fails.
pub fn issue_client_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    user: &str,
    group: Option<&str>,
) -> Result<IssuedCert, KubeError> {
    let issuer = issuer(ca_cert_pem, ca_key_pem)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(g) = group {
        dn.push(DnType::OrganizationName, g);
    }
    dn.push(DnType::CommonName, user);
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params);
    leaf(&params, &issuer, "client certificate")
}

/// Generates a self-signed Kubernetes CA (ECDSA P-256), for tests and standalone use.
///
/// # Errors
/// [`KubeError::Pki`] if rcgen fails.
pub fn generate_ca(common_name: &str) -> Result<IssuedCert, KubeError> {
    let key = KeyPair::generate().map_err(|e| KubeError::pki("CA key", e))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    validity(&mut params);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(|e| KubeError::pki("CA certificate", e))?;
    Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// The user (CN) and groups (every O) of a DER client certificate.
///
/// # Errors
/// [`KubeError::Pki`] when the certificate does not parse.
pub fn subject_identity(der: &[u8]) -> Result<crate::kube::Identity, KubeError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| KubeError::pki("client certificate", e))?;
    let subject = cert.subject();
    let user = subject.iter_common_name().find_map(|c| c.as_str().ok()).unwrap_or_default().to_owned();
    let groups: Vec<String> =
        subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    Ok(crate::kube::Identity::new(user, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificates_carry_user_and_group() {
        let ca = generate_ca("kubernetes").expect("ca");
        let client =
            issue_client_cert(&ca.cert_pem, &ca.key_pem, "alice", Some("system:masters")).expect("client");
        let der = rustls_pki_types::CertificateDer::from_pem_slice(client.cert_pem.as_bytes());
        use rustls_pki_types::pem::PemObject;
        let id = subject_identity(&der.expect("pem")).expect("identity");
        assert_eq!(id, crate::kube::Identity::new("alice", ["system:masters"]));
        assert!(issue_server_cert(&ca.cert_pem, &ca.key_pem, &["127.0.0.1", "api.example"]).is_ok());
        assert!(!format!("{client:?}").contains("PRIVATE"));
    }
}
