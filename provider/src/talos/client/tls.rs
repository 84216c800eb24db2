//! TLS for the two ways of talking to a node, both over *ring*:
//! - maintenance mode: the node serves a self-signed certificate and asks for no client
//!   certificate, so nothing can be verified; the client trusts the first certificate it sees
//!   (its SHA-256 fingerprint is recorded, logged at debug and exposed) and refuses a different
//!   one on later connections of the same client;
//! - configured mode: mutual TLS, the server certificate verified against the cluster's OS CA
//!   (Ed25519, which rustls/webpki on *ring* verify) for the node's IP address (a SAN of every
//!   Talos API certificate), and a client certificate signed by the same CA whose Organization
//!   carries the Talos role.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer, ServerName,
    UnixTime,
};
use sha2::{Digest as _, Sha256};

use super::error::ErrorKind;
use crate::talos::pem;
use crate::talos::sensitive::Sensitive;

/// What an mTLS connection needs: the cluster's OS CA and a client certificate signed by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalosCredentials {
    /// The OS CA certificate (PEM) the nodes' API certificates are signed by.
    pub ca_pem: String,
    /// The client certificate (PEM); its Organization holds the role (`os:admin`...).
    pub cert_pem: String,
    /// The client private key (PEM: `ED25519 PRIVATE KEY`, `EC PRIVATE KEY`, `PRIVATE KEY`).
    pub key_pem: Sensitive,
}

impl TalosCredentials {
    /// The credentials of a parsed talosconfig.
    pub fn from_talosconfig(config: &crate::talos::talosconfig::TalosClientConfig) -> Self {
        Self {
            ca_pem: config.ca_pem.clone(),
            cert_pem: config.client_cert_pem.clone(),
            key_pem: config.client_key_pem.clone(),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn finish(mut config: ClientConfig) -> Arc<ClientConfig> {
    // gRPC runs over HTTP/2 only.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// The mTLS client configuration for `credentials`.
pub(crate) fn mtls_config(credentials: &TalosCredentials) -> Result<Arc<ClientConfig>, ErrorKind> {
    let bad = |what: &str| ErrorKind::Credentials(what.to_owned());
    let mut roots = rustls::RootCertStore::empty();
    let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(credentials.ca_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("the OS CA is not PEM certificates"))?;
    if cas.is_empty() {
        return Err(bad("the OS CA holds no certificate"));
    }
    for ca in cas {
        roots.add(ca).map_err(|e| ErrorKind::Credentials(format!("the OS CA is not usable: {e}")))?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(credentials.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("the client certificate is not PEM"))?;
    if chain.is_empty() {
        return Err(bad("the client certificate PEM holds no certificate"));
    }
    let key = private_key(&credentials.key_pem)?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ErrorKind::Credentials(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ErrorKind::Credentials(format!("client certificate and key: {e}")))?;
    Ok(finish(config))
}

/// The client key in the DER form rustls takes. Talos labels Ed25519 PKCS#8 keys
/// `ED25519 PRIVATE KEY`, which generic PEM readers do not know.
fn private_key(key_pem: &Sensitive) -> Result<PrivateKeyDer<'static>, ErrorKind> {
    let block = pem::decode(key_pem.expose())
        .map_err(|e| ErrorKind::Credentials(format!("the client key is not PEM: {e}")))?;
    Ok(match block.label.as_str() {
        "ED25519 PRIVATE KEY" | "PRIVATE KEY" => PrivatePkcs8KeyDer::from(block.der).into(),
        "EC PRIVATE KEY" => PrivateSec1KeyDer::from(block.der).into(),
        "RSA PRIVATE KEY" => PrivatePkcs1KeyDer::from(block.der).into(),
        other => return Err(ErrorKind::Credentials(format!("unsupported client key PEM type `{other}`"))),
    })
}

/// The SHA-256 fingerprint of the certificate a maintenance-mode node presented.
#[derive(Debug, Default)]
pub(crate) struct Pin(Mutex<Option<[u8; 32]>>);

impl Pin {
    /// The recorded fingerprint, lowercase hex.
    pub(crate) fn fingerprint(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).map(hex)
    }
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Trust on first use: accepts any certificate the first time, then only that one.
#[derive(Debug)]
struct TrustOnFirstUse {
    node: IpAddr,
    pin: Arc<Pin>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for TrustOnFirstUse {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        let mut pinned = self.pin.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *pinned {
            None => {
                tracing::debug!(node = %self.node, fingerprint = %hex(seen), "maintenance-mode certificate trusted on first use");
                *pinned = Some(seen);
                Ok(ServerCertVerified::assertion())
            }
            Some(p) if p == seen => Ok(ServerCertVerified::assertion()),
            Some(p) => Err(rustls::Error::General(format!(
                "the node's maintenance-mode certificate changed (first seen sha256 {}, now {}): connect again \
                 to trust the new one",
                hex(p),
                hex(seen)
            ))),
        }
    }

    // The handshake signatures are still checked: they prove the peer holds the pinned key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The maintenance-mode client configuration: no client certificate, the server certificate
/// pinned on first use into `pin`.
pub(crate) fn maintenance_config(node: IpAddr, pin: Arc<Pin>) -> Result<Arc<ClientConfig>, ErrorKind> {
    let provider = provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ErrorKind::Credentials(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(TrustOnFirstUse { node, pin, provider }))
        .with_no_client_auth();
    Ok(finish(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_errors_never_echo_the_key() {
        let creds = TalosCredentials {
            ca_pem: "not a certificate".into(),
            cert_pem: String::new(),
            key_pem: Sensitive::new("SECRET-KEY-TEXT"),
        };
        let e = mtls_config(&creds).expect_err("no CA");
        assert!(matches!(e, ErrorKind::Credentials(_)));
        let e = private_key(&Sensitive::new(
            "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
        ))
        .expect_err("dsa");
        assert!(e.to_string().contains("DSA PRIVATE KEY"));
        let e = private_key(&Sensitive::new("SECRET-KEY-TEXT")).expect_err("not pem");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
