//! Terraform's side of AutoMTLS: an ECDSA P-521 self-signed CA certificate like the one
//! go-plugin's `mtls.go` generates (CN and SAN `localhost`, O `HashiCorp`, client and server
//! EKU, about 30 years of validity), and the key that signs the TLS handshake with it.
//!
//! rcgen and rustls run on *ring* here, and ring has no P-521, so the certificate is encoded
//! by hand (a handful of fixed DER structures) and signed with the pure-Rust `p521` crate.

use base64::Engine as _;
use p521::ecdsa::signature::Signer as _;
use p521::ecdsa::{Signature, SigningKey};
use p521::elliptic_curve::rand_core::{OsRng, RngCore};
use rustls::SignatureScheme;
use rustls::sign::{Signer, SigningKey as TlsSigningKey};
use std::sync::Arc;

/// DER of the OIDs used below (tag and length included).
mod oid {
    pub(super) const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub(super) const SECP521R1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
    pub(super) const ECDSA_SHA512: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
    pub(super) const COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    pub(super) const ORGANIZATION: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
    pub(super) const KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0f];
    pub(super) const EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x25];
    pub(super) const BASIC_CONSTRAINTS: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x13];
    pub(super) const SUBJECT_ALT_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
    pub(super) const SERVER_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    pub(super) const CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
}

/// One DER element: tag, definite length, content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or_default());
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or_default());
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed element from its already-encoded parts.
fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(0x30, parts)
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
        Some(first) => &magnitude[first..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

/// A BIT STRING whose bits fill whole bytes.
fn bit_string(bytes: &[u8]) -> Vec<u8> {
    constructed(0x03, &[&[0], bytes])
}

/// UTCTime before 2050, GeneralizedTime after, as RFC 5280 requires.
fn x509_time(at: time::OffsetDateTime) -> Vec<u8> {
    let (y, mo, d) = (at.year(), u8::from(at.month()), at.day());
    let (h, mi, s) = (at.hour(), at.minute(), at.second());
    if y < 2050 {
        tlv(0x17, format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes())
    } else {
        tlv(0x18, format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes())
    }
}

fn name() -> Vec<u8> {
    let attribute =
        |oid: &[u8], value: &str| constructed(0x31, &[&sequence(&[oid, &tlv(0x13, value.as_bytes())])]);
    sequence(&[&attribute(oid::ORGANIZATION, "HashiCorp"), &attribute(oid::COMMON_NAME, "localhost")])
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let octets = tlv(0x04, value);
    if critical { sequence(&[oid, &[0x01, 0x01, 0xff], &octets]) } else { sequence(&[oid, &octets]) }
}

/// A self-signed P-521 certificate and its key, as Terraform generates for each run.
#[derive(Clone)]
pub(crate) struct P521Cert {
    /// The certificate, DER.
    pub(crate) der: Vec<u8>,
    key: SigningKey,
}

impl std::fmt::Debug for P521Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P521Cert").field("der_len", &self.der.len()).finish_non_exhaustive()
    }
}

impl P521Cert {
    /// Generates a fresh key and certificate.
    pub(crate) fn generate() -> Self {
        let key = SigningKey::random(&mut OsRng);
        let point = p521::ecdsa::VerifyingKey::from(&key).to_encoded_point(false);
        let spki =
            sequence(&[&sequence(&[oid::EC_PUBLIC_KEY, oid::SECP521R1]), &bit_string(point.as_bytes())]);
        let mut serial = [0u8; 16];
        OsRng.fill_bytes(&mut serial);
        serial[0] = (serial[0] & 0x7f) | 0x01;
        let now = time::OffsetDateTime::now_utc();
        let validity = sequence(&[
            &x509_time(now - time::Duration::seconds(30)),
            &x509_time(now + time::Duration::hours(262_980)),
        ]);
        // digitalSignature, keyEncipherment, keyAgreement, keyCertSign: bits 0, 2, 4, 5.
        let key_usage = [0x03, 0x02, 0x02, 0xac];
        let eku = sequence(&[oid::CLIENT_AUTH, oid::SERVER_AUTH]);
        let basic_constraints = sequence(&[&[0x01, 0x01, 0xff]]);
        let san = sequence(&[&tlv(0x82, b"localhost")]);
        let extensions = constructed(
            0xa3,
            &[&sequence(&[
                &extension(oid::KEY_USAGE, true, &key_usage),
                &extension(oid::EXT_KEY_USAGE, false, &eku),
                &extension(oid::BASIC_CONSTRAINTS, true, &basic_constraints),
                &extension(oid::SUBJECT_ALT_NAME, false, &san),
            ])],
        );
        let algorithm = sequence(&[oid::ECDSA_SHA512]);
        let tbs = sequence(&[
            &[0xa0, 0x03, 0x02, 0x01, 0x02],
            &unsigned_integer(&serial),
            &algorithm,
            &name(),
            &validity,
            &name(),
            &spki,
            &extensions,
        ]);
        let signature: Signature = key.sign(&tbs);
        let der = sequence(&[&tbs, &algorithm, &bit_string(signature.to_der().as_bytes())]);
        Self { der, key }
    }

    /// The certificate as PEM, the form of `PLUGIN_CLIENT_CERT`.
    pub(crate) fn pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The public key as an uncompressed SEC1 point, the form webpki hands to verifiers.
    #[cfg(test)]
    pub(crate) fn public_key_sec1(&self) -> Vec<u8> {
        p521::ecdsa::VerifyingKey::from(&self.key).to_encoded_point(false).as_bytes().to_vec()
    }

    /// The key as a rustls signing key for the client side of the TLS handshake.
    pub(crate) fn tls_key(&self) -> Arc<dyn TlsSigningKey> {
        Arc::new(P521TlsKey(self.key.clone()))
    }
}

/// Signs TLS handshakes with `ecdsa_secp521r1_sha512`, and only when the peer offers it: with a
/// ring-based server (ours) there is then no certificate to send, exactly as for Terraform.
#[derive(Clone)]
struct P521TlsKey(SigningKey);

impl std::fmt::Debug for P521TlsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P521TlsKey")
    }
}

impl TlsSigningKey for P521TlsKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
            .then(|| Box::new(self.clone()) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::ECDSA
    }
}

impl Signer for P521TlsKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let signature: Signature = self.0.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP521_SHA512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_and_long_forms() {
        assert_eq!(tlv(0x04, &[7; 3])[..2], [0x04, 3]);
        assert_eq!(tlv(0x04, &[7; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[7; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn integers_are_minimal_and_non_negative() {
        assert_eq!(unsigned_integer(&[0, 0, 5]), [0x02, 1, 5]);
        assert_eq!(unsigned_integer(&[0x80]), [0x02, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0]), [0x02, 1, 0]);
    }

    #[test]
    fn times_switch_to_generalized_time_in_2050() {
        let early = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let late = time::macros::datetime!(2056-01-02 03:04:05 UTC);
        assert_eq!(x509_time(early), tlv(0x17, b"260102030405Z"));
        assert_eq!(x509_time(late), tlv(0x18, b"20560102030405Z"));
    }

    #[test]
    fn pem_wraps_the_der() {
        let cert = P521Cert::generate();
        let pem = cert.pem();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(body).ok(), Some(cert.der));
    }

    #[test]
    fn the_key_signs_only_when_p521_is_offered() {
        let key = P521Cert::generate().tls_key();
        assert!(key.choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256]).is_none());
        let signer = key.choose_scheme(&[SignatureScheme::ECDSA_NISTP521_SHA512]);
        assert_eq!(signer.map(|s| s.scheme()), Some(SignatureScheme::ECDSA_NISTP521_SHA512));
    }
}
