//! The client side of AutoMTLS, as Terraform does it: trust exactly the certificate printed in
//! the handshake line, and offer the P-521 client certificate from `PLUGIN_CLIENT_CERT`.
//!
//! Pinning compares DER bytes instead of building a chain: our provider prints an end-entity
//! certificate and a Go provider a CA certificate, and webpki would refuse the latter as a
//! server's leaf. Handshake signatures are still verified, P-521 ones with the `p521` crate
//! (a Go provider's key is P-521 and ring cannot verify it), the others with ring.

use crate::cert::P521Cert;
use p521::ecdsa::signature::Verifier as _;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, CertificateDer, InvalidSignature, ServerName, UnixTime};
use rustls::pki_types::{SignatureVerificationAlgorithm, alg_id};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// ECDSA P-521 with SHA-512, verified in pure Rust.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

static P521_ONLY: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&EcdsaP521Sha512],
    mapping: &[(SignatureScheme::ECDSA_NISTP521_SHA512, &[&EcdsaP521Sha512])],
};

/// Trusts one certificate, byte for byte.
#[derive(Debug)]
struct PinnedServer {
    der: Vec<u8>,
    ring: WebPkiSupportedAlgorithms,
}

impl PinnedServer {
    fn algorithms(&self, scheme: SignatureScheme) -> &WebPkiSupportedAlgorithms {
        if scheme == SignatureScheme::ECDSA_NISTP521_SHA512 { &P521_ONLY } else { &self.ring }
    }
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms(dss.scheme))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms(dss.scheme))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.ring.supported_schemes();
        schemes.push(SignatureScheme::ECDSA_NISTP521_SHA512);
        schemes
    }
}

/// Offers the client certificate when the server accepts P-521 signatures, as Go's TLS client
/// does; a ring-based server does not, and gets no certificate.
#[derive(Debug)]
struct TerraformClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for TerraformClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        sigschemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512).then(|| Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client configuration trusting `server_der` and presenting `client`, speaking HTTP/2.
pub(crate) fn client_config(
    server_der: &[u8],
    client: &P521Cert,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ring = provider.signature_verification_algorithms;
    let certified = CertifiedKey::new(vec![CertificateDer::from(client.der.clone())], client.tls_key());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { der: server_der.to_vec(), ring }))
        .with_client_cert_resolver(Arc::new(TerraformClientCert(Arc::new(certified))));
    // grpc-go servers refuse TLS connections that did not negotiate h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p521_handshake_signatures_verify_with_the_certificate_key() {
        let cert = P521Cert::generate();
        let signer = cert.tls_key().choose_scheme(&[SignatureScheme::ECDSA_NISTP521_SHA512]);
        let signature = signer.map(|s| s.sign(b"transcript")).transpose().ok().flatten().unwrap_or_default();
        let key = cert.public_key_sec1();
        assert!(EcdsaP521Sha512.verify_signature(&key, b"transcript", &signature).is_ok());
        assert!(EcdsaP521Sha512.verify_signature(&key, b"tampered", &signature).is_err());
    }

    #[test]
    fn webpki_parses_the_hand_encoded_certificate() {
        let cert = P521Cert::generate();
        let mut roots = rustls::RootCertStore::empty();
        assert!(roots.add(CertificateDer::from(cert.der)).is_ok());
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn only_the_pinned_certificate_is_trusted() {
        let pinned = P521Cert::generate();
        let other = P521Cert::generate();
        let verifier = PinnedServer {
            der: pinned.der.clone(),
            ring: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        let name = ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
        let check = |der: &[u8]| {
            verifier.verify_server_cert(&CertificateDer::from(der.to_vec()), &[], &name, &[], UnixTime::now())
        };
        assert!(check(&pinned.der).is_ok());
        assert!(check(&other.der).is_err());
        assert!(verifier.supported_verify_schemes().contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }
}
