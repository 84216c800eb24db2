//! The four certificate authorities of a Talos cluster and the client certificates they issue.
//!
//! Facts from siderolabs/talos `pkg/machinery/config/generate/secrets/ca.go` and
//! siderolabs/crypto `x509`:
//! - etcd CA: ECDSA P-256, subject `O=etcd`; Kubernetes CA: ECDSA P-256, `O=kubernetes`;
//!   aggregator (front-proxy) CA: ECDSA P-256, `CN=front-proxy`; Talos API (OS) CA: Ed25519,
//!   `O=talos`;
//! - every CA is self-signed, valid `CAValidityTime` = 87600h (10 years) from generation, with
//!   critical key usage digitalSignature + keyCertSign, extended key usage serverAuth +
//!   clientAuth, critical basic constraints `CA:TRUE`, a subject key identifier, and a random
//!   128-bit serial;
//! - client certificates get key usage digitalSignature and extended key usage clientAuth, and
//!   a key of the CA's own algorithm (`NewKeyPair` picks Ed25519 under an Ed25519 CA, P-256
//!   under an ECDSA CA).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom as _, SystemRandom};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer as _, X509Certificate};

use super::error::PkiError;
use super::keys::{KeyAlgorithm, PrivateKey};
use super::pem;

/// Validity of a generated CA: Talos's `CAValidityTime`, 87600 hours.
pub const CA_VALIDITY: Duration = Duration::hours(87_600);

/// Which of the cluster's certificate authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKind {
    /// Signs etcd peer and client certificates.
    Etcd,
    /// The Kubernetes cluster CA (API server, kubelets, admin kubeconfig).
    Kubernetes,
    /// The front-proxy CA for API aggregation.
    Aggregator,
    /// The Talos API CA: apid/trustd and talosctl client certificates.
    Os,
}

impl CaKind {
    /// The key algorithm Talos generates for this CA.
    pub const fn algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Os => KeyAlgorithm::Ed25519,
            Self::Etcd | Self::Kubernetes | Self::Aggregator => KeyAlgorithm::EcdsaP256,
        }
    }

    fn subject(self) -> DistinguishedName {
        let mut name = DistinguishedName::new();
        match self {
            Self::Etcd => name.push(DnType::OrganizationName, "etcd"),
            Self::Kubernetes => name.push(DnType::OrganizationName, "kubernetes"),
            Self::Aggregator => name.push(DnType::CommonName, "front-proxy"),
            Self::Os => name.push(DnType::OrganizationName, "talos"),
        }
        name
    }
}

/// A CA certificate with its key. `Debug` omits the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateAuthority {
    cert_pem: String,
    cert_der: Vec<u8>,
    key: PrivateKey,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("algorithm", &self.key.algorithm())
            .finish_non_exhaustive()
    }
}

/// What to put in a client certificate issued by a [`CertificateAuthority`].
#[derive(Debug, Clone)]
pub struct ClientCertificateSpec<'a> {
    /// Subject common name, if any.
    pub common_name: Option<&'a str>,
    /// Subject organizations (Talos roles such as `os:admin`, or Kubernetes groups).
    pub organizations: &'a [&'a str],
    /// Start of validity (second precision).
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Serial number; the top bit is cleared so it encodes as a positive 16-byte integer.
    pub serial: [u8; 16],
}

impl CertificateAuthority {
    /// Generates a self-signed CA of `kind` valid from `not_before` for [`CA_VALIDITY`].
    pub fn generate(kind: CaKind, not_before: OffsetDateTime) -> Result<Self, PkiError> {
        let key = PrivateKey::generate(kind.algorithm())?;
        let signing_key = key.signing_key()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = kind.subject();
        params.not_before = truncate_to_second(not_before);
        params.not_after = params.not_before + CA_VALIDITY;
        params.serial_number = Some(SerialNumber::from_slice(&positive(random_serial()?)));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.self_signed(&signing_key).map_err(|e| PkiError::Sign(e.to_string()))?;
        Ok(Self { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key })
    }

    /// Loads a CA from PEM text, checking that the certificate is a CA and matches the key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let block = pem::decode(cert_pem).map_err(PkiError::Pem)?;
        if block.label != "CERTIFICATE" {
            return Err(PkiError::Invalid(format!("PEM type is `{}`, expected `CERTIFICATE`", block.label)));
        }
        let key = PrivateKey::from_pem(key_pem)?;
        let cert = parse(&block.der)?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(PkiError::Invalid("is not a CA (basic constraints CA:TRUE missing)".into()));
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw()?.as_slice() {
            return Err(PkiError::Invalid("does not match its private key".into()));
        }
        Ok(Self { cert_pem: pem::encode("CERTIFICATE", &block.der), cert_der: block.der, key })
    }

    /// The CA certificate as PEM text (public).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// End of the CA certificate's validity.
    pub fn not_after(&self) -> Result<OffsetDateTime, PkiError> {
        Ok(parse(&self.cert_der)?.validity().not_after.to_datetime())
    }

    /// Issues a client certificate for `subject_key` (whose public half goes in the certificate).
    pub fn issue_client_certificate(
        &self,
        spec: &ClientCertificateSpec<'_>,
        subject_key: &PrivateKey,
    ) -> Result<String, PkiError> {
        if spec.not_after <= spec.not_before {
            return Err(PkiError::Validity("not_after must be later than not_before".into()));
        }
        let signing_key = self.key.signing_key()?;
        let issuer = Issuer::from_ca_cert_der(&self.cert_der.as_slice().into(), signing_key)
            .map_err(|e| PkiError::Parse(e.to_string()))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        for org in spec.organizations {
            name.push(DnType::OrganizationName, *org);
        }
        if let Some(cn) = spec.common_name {
            name.push(DnType::CommonName, cn);
        }
        params.distinguished_name = name;
        params.not_before = truncate_to_second(spec.not_before);
        params.not_after = truncate_to_second(spec.not_after);
        params.serial_number = Some(SerialNumber::from_slice(&positive(spec.serial)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let public = subject_key.signing_key()?;
        let cert = params.signed_by(&public, &issuer).map_err(|e| PkiError::Sign(e.to_string()))?;
        Ok(cert.pem())
    }

    /// Whether `cert_der` carries a valid signature by this CA.
    pub fn signed(&self, cert_der: &[u8]) -> bool {
        let (Ok(ca), Ok(cert)) = (parse(&self.cert_der), parse(cert_der)) else {
            return false;
        };
        cert.verify_signature(Some(ca.public_key())).is_ok()
    }
}

/// Parses DER as an X.509 certificate, rejecting trailing data.
pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(PkiError::Parse("trailing data after the certificate".into())),
        Err(e) => Err(PkiError::Parse(e.to_string())),
    }
}

/// 16 random bytes from the system CSPRNG.
pub(crate) fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    SystemRandom::new().fill(&mut serial).map_err(|_| PkiError::Random)?;
    Ok(serial)
}

/// Clears the top bit (a DER INTEGER serial must be positive) and avoids an all-zero serial.
fn positive(mut serial: [u8; 16]) -> [u8; 16] {
    serial[0] &= 0x7f;
    if serial.iter().all(|&b| b == 0) {
        serial[15] = 1;
    }
    serial
}

/// X.509 times have second precision; truncating first keeps certificates and the inputs they
/// are compared with equal.
pub(crate) fn truncate_to_second(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}
