//! Certificates of the emulated machines: loading the CAs found in machine configs (Talos writes
//! PKCS#8, SEC1 and PKCS#1 keys under various PEM labels), issuing server, client and
//! self-signed certificates, and reading Talos roles from a client certificate.

use std::net::IpAddr;
use std::time::Duration;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A PEM certificate with its PEM private key.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertPair {
    /// PEM certificate.
    pub cert_pem: String,
    /// PEM private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for CertPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never print it.
        f.debug_struct("CertPair").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl CertPair {
    /// The certificate chain and key as rustls wants them.
    pub(crate) fn rustls_parts(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let cert = parse_cert_pem(&self.cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| Error::pki("server key", e))?;
        Ok((vec![cert], key))
    }
}

/// What to put in a leaf certificate.
#[derive(Debug, Clone, Default)]
pub struct LeafSpec {
    /// Subject common name.
    pub common_name: String,
    /// Subject organizations (Talos roles, Kubernetes groups).
    pub organizations: Vec<String>,
    /// IP subject alternative names.
    pub ips: Vec<IpAddr>,
    /// DNS subject alternative names.
    pub dns: Vec<String>,
    /// Usable for TLS servers.
    pub server: bool,
    /// Usable for TLS clients.
    pub client: bool,
    /// Validity from now (an hour of back-dating is added for clock skew).
    pub lifetime: Duration,
}

/// A certificate authority able to sign leaves.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    /// Loads a CA from its PEM certificate and PEM key.
    ///
    /// # Errors
    /// [`Error::Pki`] when either does not parse or the key type is not supported.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let key = parse_key_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| Error::pki("CA certificate", e))?;
        Ok(Self { issuer })
    }

    /// Generates a new self-signed CA (ECDSA P-256), returning it with its PEM pair.
    ///
    /// # Errors
    /// [`Error::Pki`] if rcgen fails.
    pub fn generate(common_name: &str, organization: &str) -> Result<(Self, CertPair)> {
        let key = KeyPair::generate().map_err(|e| Error::pki("CA key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name, &[organization.to_owned()]);
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        set_validity(&mut params, Duration::from_secs(10 * 365 * 24 * 3600));
        let cert = params.self_signed(&key).map_err(|e| Error::pki("CA certificate", e))?;
        let pair = CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() };
        Ok((Self { issuer: Issuer::new(params, key) }, pair))
    }

    /// Issues a leaf certificate with a fresh ECDSA P-256 key.
    ///
    /// # Errors
    /// [`Error::Pki`] if rcgen fails.
    pub fn issue(&self, spec: &LeafSpec) -> Result<CertPair> {
        let key = KeyPair::generate().map_err(|e| Error::pki("leaf key", e))?;
        let params = leaf_params(spec);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| Error::pki(format!("certificate for {}", spec.common_name), e))?;
        Ok(CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

/// Issues a self-signed leaf (the maintenance-mode certificate of a machine).
///
/// # Errors
/// [`Error::Pki`] if rcgen fails.
pub fn self_signed(spec: &LeafSpec) -> Result<CertPair> {
    let key = KeyPair::generate().map_err(|e| Error::pki("self-signed key", e))?;
    let cert = leaf_params(spec).self_signed(&key).map_err(|e| Error::pki("self-signed certificate", e))?;
    Ok(CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

fn leaf_params(spec: &LeafSpec) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(&spec.common_name, &spec.organizations);
    params.subject_alt_names = spec
        .ips
        .iter()
        .map(|ip| SanType::IpAddress(*ip))
        .chain(spec.dns.iter().filter_map(|d| d.clone().try_into().ok().map(SanType::DnsName)))
        .collect();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if spec.server {
        params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client {
        params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.serial_number = Some(SerialNumber::from_slice(&(crate::ids::random_u64() >> 1).to_be_bytes()));
    set_validity(&mut params, spec.lifetime);
    params
}

fn dn(common_name: &str, organizations: &[String]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in organizations {
        dn.push(DnType::OrganizationName, o.as_str());
    }
    if !common_name.is_empty() {
        dn.push(DnType::CommonName, common_name);
    }
    dn
}

fn set_validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    let life = time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(365));
    params.not_after = now.checked_add(life).unwrap_or(now + time::Duration::days(365));
}

/// Parses the first certificate of a PEM text.
///
/// # Errors
/// [`Error::Pki`] when there is no certificate or it is not valid X.509.
pub fn parse_cert_pem(pem: &str) -> Result<CertificateDer<'static>> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| Error::pki("certificate", e))?;
    x509_parser::parse_x509_certificate(&der).map_err(|e| Error::pki("certificate", e))?;
    Ok(der)
}

/// Parses a private key in any PEM form Talos writes (PKCS#8 under any label, SEC1 `EC PRIVATE
/// KEY`, PKCS#1 `RSA PRIVATE KEY`), converting to PKCS#8 because ring only loads that.
///
/// # Errors
/// [`Error::Pki`] when no supported key is found.
pub fn parse_key_pem(pem: &str) -> Result<KeyPair> {
    let (label, der) = pem_block(pem).ok_or_else(|| Error::pki("private key", "no PEM block found"))?;
    if let Ok(k) = KeyPair::try_from(der.as_slice()) {
        return Ok(k);
    }
    let candidates: Vec<Vec<u8>> = if label.contains("RSA") {
        vec![pkcs8_wrap(&RSA_ALG_ID, &der)]
    } else {
        vec![pkcs8_wrap(&EC_P256_ALG_ID, &der), pkcs8_wrap(&EC_P384_ALG_ID, &der)]
    };
    candidates
        .iter()
        .find_map(|c| KeyPair::try_from(c.as_slice()).ok())
        .ok_or_else(|| Error::pki("private key", format!("unsupported key in PEM block {label:?}")))
}

/// Reads the first PEM block whatever its label (Talos uses `ED25519 PRIVATE KEY`, which generic
/// parsers reject).
fn pem_block(pem: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end = rest.find("-----END ")?;
    let body: String = rest.get(body_start..end)?.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    Some((label, der))
}

// DER AlgorithmIdentifier contents (OIDs only, without the outer SEQUENCE).
const RSA_ALG_ID: [u8; 13] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
const EC_P256_ALG_ID: [u8; 19] = [
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07,
];
const EC_P384_ALG_ID: [u8; 16] =
    [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

fn pkcs8_wrap(alg_id: &[u8], key: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(tlv(0x30, alg_id));
    body.extend(tlv(0x04, key));
    tlv(0x30, &body)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The subject organizations of a DER certificate (where Talos carries roles).
///
/// # Errors
/// [`Error::Pki`] when the certificate does not parse.
pub fn organizations(der: &[u8]) -> Result<Vec<String>> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| Error::pki("client certificate", e))?;
    Ok(cert.subject().iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_reads_roles() {
        let (ca, pair) = Ca::generate("talos", "talos").expect("ca");
        let reloaded = Ca::from_pem(&pair.cert_pem, &pair.key_pem).expect("reload");
        let leaf = reloaded
            .issue(&LeafSpec {
                common_name: "client".into(),
                organizations: vec!["os:admin".into()],
                client: true,
                lifetime: Duration::from_secs(3600),
                ..LeafSpec::default()
            })
            .expect("leaf");
        let der = parse_cert_pem(&leaf.cert_pem).expect("der");
        assert_eq!(organizations(&der).expect("orgs"), vec!["os:admin".to_owned()]);
        assert!(format!("{ca:?}{leaf:?}").contains("CertPair"));
        assert!(!format!("{leaf:?}").contains("PRIVATE"));
    }

    #[test]
    fn reads_sec1_keys_and_rejects_garbage() {
        // A SEC1 key: unwrap the PKCS#8 rcgen makes (its OCTET STRING holds the SEC1 body).
        let key = KeyPair::generate().expect("key");
        let der = key.serialize_der();
        let sec1 = pkcs8_inner(&der);
        use base64::Engine as _;
        let pem = format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(sec1)
        );
        assert!(parse_key_pem(&pem).is_ok());
        assert!(parse_key_pem("-----BEGIN X-----\nAAAA\n-----END X-----").is_err());
        assert!(parse_key_pem("nothing").is_err());
    }

    /// The OCTET STRING body of a PKCS#8 structure (the SEC1 key for ECDSA).
    fn pkcs8_inner(der: &[u8]) -> &[u8] {
        // Reads one TLV header, returning (header length, content length).
        fn header(b: &[u8]) -> (usize, usize) {
            if b[1] & 0x80 == 0 {
                (2, b[1] as usize)
            } else {
                let n = (b[1] & 0x7f) as usize;
                (2 + n, b[2..2 + n].iter().fold(0, |acc, x| acc * 256 + *x as usize))
            }
        }
        let (outer, _) = header(der);
        let mut pos = outer;
        for _ in 0..2 {
            let (h, l) = header(&der[pos..]);
            pos += h + l;
        }
        let (h, l) = header(&der[pos..]);
        &der[pos + h..pos + h + l]
    }
}
