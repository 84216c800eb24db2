//! AutoMTLS: the self-signed server certificate Terraform pins from the handshake line.
//!
//! Terraform generates an ECDSA P-521 client certificate and passes it in `PLUGIN_CLIENT_CERT`;
//! it trusts exactly the certificate we print. rustls on *ring* cannot verify P-521
//! signatures, so the Go client finds no acceptable certificate to present and sends none:
//! client authentication is therefore optional (reference §4). The server side is still
//! verified by Terraform, which pins our certificate.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// A freshly generated server certificate.
#[derive(Debug)]
pub(crate) struct ServerCert {
    /// PEM certificate.
    pub(crate) cert_pem: String,
    /// PEM private key.
    pub(crate) key_pem: String,
    /// DER certificate, printed in the handshake line.
    pub(crate) der: Vec<u8>,
}

/// Generates the certificate: self-signed, CN/SAN `localhost`, server and client auth, valid
/// long enough to never matter.
///
/// It is an end-entity certificate (not a CA): Go's verifier trusts it because the exact
/// certificate is in its root pool, and rustls-based clients (our own tests) reject a CA
/// certificate presented as a server's leaf.
pub(crate) fn generate() -> Result<ServerCert, rcgen::Error> {
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    dn.push(DnType::OrganizationName, "HashiCorp");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages =
        vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::days(365 * 30);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok(ServerCert { cert_pem: cert.pem(), key_pem: key.serialize_pem(), der: cert.der().to_vec() })
}

/// The tonic TLS configuration for a server certificate and Terraform's client certificate.
pub(crate) fn server_config(cert: &ServerCert, client_cert_pem: &str) -> ServerTlsConfig {
    ServerTlsConfig::new()
        .identity(Identity::from_pem(&cert.cert_pem, &cert.key_pem))
        .client_ca_root(Certificate::from_pem(client_cert_pem))
        .client_auth_optional(true)
}
