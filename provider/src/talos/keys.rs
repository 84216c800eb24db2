//! Private keys in the exact encodings Talos writes, converted to and from the PKCS#8 form that
//! *ring* and rcgen sign with.
//!
//! Talos (siderolabs/crypto `x509/key.go`) stores:
//! - ECDSA P-256 keys as SEC1 (`EC PRIVATE KEY`, with the curve parameters and public key);
//! - Ed25519 keys as PKCS#8 v1 under the non-standard label `ED25519 PRIVATE KEY`;
//! - RSA keys as PKCS#1 (`RSA PRIVATE KEY`);
//! - and accepts generic PKCS#8 (`PRIVATE KEY`) for any of them.
//!
//! *ring* generates PKCS#8 (v2 for Ed25519, without curve parameters for ECDSA) and only parses
//! PKCS#8, so the few fixed DER layouts involved are converted here with a minimal DER reader.
//! Imported keys keep their original label and bytes so an imported secrets.yaml round-trips
//! unchanged; generated keys use Talos's own encodings.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};

use super::error::{KeyError, PkiError};
use super::pem;
use super::sensitive::Sensitive;

/// The key algorithms that appear in Talos secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519: the Talos API (OS) CA and its client certificates.
    Ed25519,
    /// ECDSA on NIST P-256: etcd, Kubernetes and aggregator CAs, service-account key before the
    /// Talos 1.7 contract, Kubernetes client certificates.
    EcdsaP256,
    /// RSA: the service-account key `talosctl` generates from the 1.7 contract on. Stored and
    /// validated only; this provider never signs with it.
    Rsa,
}

/// A private key as stored in a Talos file. `Debug` shows only the algorithm.
#[derive(Clone)]
pub struct PrivateKey {
    algorithm: KeyAlgorithm,
    label: String,
    der: Vec<u8>,
    /// PKCS#8 accepted by *ring*; empty for RSA (never used for signing).
    pkcs8: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.der == other.der
    }
}
impl Eq for PrivateKey {}

const EC_LABEL: &str = "EC PRIVATE KEY";
const ED25519_LABEL: &str = "ED25519 PRIVATE KEY";
const RSA_LABEL: &str = "RSA PRIVATE KEY";
const PKCS8_LABEL: &str = "PRIVATE KEY";

impl PrivateKey {
    /// Generates a fresh key with the system CSPRNG, encoded as Talos encodes it.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        let rng = SystemRandom::new();
        match algorithm {
            KeyAlgorithm::Ed25519 => {
                let doc = signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| PkiError::Random)?;
                let seed = ed25519_seed(doc.as_ref())?;
                Ok(Self::ed25519_from_seed(&seed))
            }
            KeyAlgorithm::EcdsaP256 => {
                let doc =
                    signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                        .map_err(|_| PkiError::Random)?;
                let (d, point) = ec_parts_from_pkcs8(doc.as_ref())?;
                let sec1 = sec1_encode(d, point);
                let pkcs8 = pkcs8_from_sec1(&sec1)?;
                Ok(Self { algorithm, label: EC_LABEL.to_owned(), der: sec1, pkcs8 })
            }
            // *ring* cannot generate RSA keys; see the service-account note in `secrets`.
            KeyAlgorithm::Rsa => Err(KeyError::UnsupportedAlgorithm("generating RSA keys").into()),
        }
    }

    /// The Ed25519 key with this 32-byte seed (RFC 8032), in Talos's encoding. Used to derive
    /// client keys deterministically.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03]);
        der.extend_from_slice(OID_ED25519);
        der.extend_from_slice(&[0x04, 0x22, 0x04, 0x20]);
        der.extend_from_slice(seed);
        Self { algorithm: KeyAlgorithm::Ed25519, label: ED25519_LABEL.to_owned(), pkcs8: der.clone(), der }
    }

    /// Parses a key in any of the encodings Talos reads (see the module docs).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::decode(text)?;
        let (algorithm, pkcs8) = match block.label.as_str() {
            EC_LABEL => (KeyAlgorithm::EcdsaP256, pkcs8_from_sec1(&block.der)?),
            RSA_LABEL => {
                signature::RsaKeyPair::from_der(&block.der).map_err(|e| KeyError::Rejected(e.to_string()))?;
                (KeyAlgorithm::Rsa, Vec::new())
            }
            ED25519_LABEL | PKCS8_LABEL => pkcs8_kind(&block.der)?,
            other => return Err(KeyError::UnsupportedLabel(other.to_owned())),
        };
        let key = Self { algorithm, label: block.label, der: block.der, pkcs8 };
        // Let *ring* check the key is internally consistent before anything relies on it.
        key.public_key_raw()?;
        Ok(key)
    }

    /// The key as PEM text, with the label and bytes it was generated or imported with.
    pub fn to_pem(&self) -> Sensitive {
        Sensitive::new(pem::encode(&self.label, &self.der))
    }

    /// The key algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The raw public key, as it appears in a certificate's `subjectPublicKey` bit string.
    pub fn public_key_raw(&self) -> Result<Vec<u8>, KeyError> {
        match self.algorithm {
            KeyAlgorithm::Rsa => {
                let pair = match self.label.as_str() {
                    RSA_LABEL => signature::RsaKeyPair::from_der(&self.der),
                    _ => signature::RsaKeyPair::from_pkcs8(&self.der),
                }
                .map_err(|e| KeyError::Rejected(e.to_string()))?;
                Ok(pair.public_key().as_ref().to_vec())
            }
            _ => Ok(self.signing_key()?.public_key_raw().to_vec()),
        }
    }

    /// An rcgen key pair for signing certificates with this key (Ed25519 and ECDSA only).
    pub fn signing_key(&self) -> Result<rcgen::KeyPair, KeyError> {
        if self.algorithm == KeyAlgorithm::Rsa {
            return Err(KeyError::UnsupportedAlgorithm("signing with an RSA key"));
        }
        rcgen::KeyPair::try_from(self.pkcs8.as_slice()).map_err(|e| KeyError::Rejected(e.to_string()))
    }

    /// The secret DER bytes, for deriving other keys from this one (never printed).
    pub(crate) fn secret_der(&self) -> &[u8] {
        &self.der
    }
}

// Object identifiers, DER content bytes only.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;
const CONTEXT_1: u8 = 0xa1;

/// Splits one DER element off `input`: (tag, contents, rest). Definite lengths up to 2^32.
fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Reads one element that must carry `tag`.
fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    format: &'static str,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), KeyError> {
    match read(input) {
        Some((found, contents, rest)) if found == tag => Ok((contents, rest)),
        _ => Err(KeyError::Malformed { format, reason: what }),
    }
}

/// Encodes one DER element.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// The parts of a PKCS#8 `PrivateKeyInfo`: algorithm OID, parameters OID if any, and the
/// privateKey contents.
type Pkcs8Fields<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

fn pkcs8_fields(der: &[u8]) -> Result<Pkcs8Fields<'_>, KeyError> {
    const F: &str = "PKCS#8";
    let (info, _) = expect(der, SEQUENCE, F, "not a SEQUENCE")?;
    let (_version, rest) = expect(info, INTEGER, F, "missing version")?;
    let (alg_id, rest) = expect(rest, SEQUENCE, F, "missing algorithm identifier")?;
    let (oid, params) = expect(alg_id, OID, F, "missing algorithm OID")?;
    let params_oid = read(params).and_then(|(tag, contents, _)| (tag == OID).then_some(contents));
    let (private_key, _) = expect(rest, OCTET_STRING, F, "missing private key")?;
    Ok((oid, params_oid, private_key))
}

/// Which algorithm a PKCS#8 document holds, and the PKCS#8 *ring* should load.
fn pkcs8_kind(der: &[u8]) -> Result<(KeyAlgorithm, Vec<u8>), KeyError> {
    let (oid, params, private_key) = pkcs8_fields(der)?;
    match oid {
        OID_ED25519 => Ok((KeyAlgorithm::Ed25519, der.to_vec())),
        OID_EC_PUBLIC_KEY if params == Some(OID_P256) => {
            // Normalise through SEC1 so the public key is present, as *ring* requires.
            let (d, point) = ec_parts(private_key)?;
            Ok((KeyAlgorithm::EcdsaP256, pkcs8_from_sec1(&sec1_encode(d, point))?))
        }
        OID_EC_PUBLIC_KEY => Err(KeyError::UnsupportedAlgorithm("ECDSA on a curve other than P-256")),
        OID_RSA => Ok((KeyAlgorithm::Rsa, Vec::new())),
        _ => Err(KeyError::UnsupportedAlgorithm("unknown PKCS#8 algorithm")),
    }
}

/// The 32-byte seed of an Ed25519 PKCS#8 document (v1 or v2).
fn ed25519_seed(der: &[u8]) -> Result<[u8; 32], KeyError> {
    let (oid, _, private_key) = pkcs8_fields(der)?;
    if oid != OID_ED25519 {
        return Err(KeyError::UnsupportedAlgorithm("expected an Ed25519 key"));
    }
    let (seed, _) = expect(private_key, OCTET_STRING, "PKCS#8", "missing Ed25519 seed")?;
    seed.try_into()
        .map_err(|_| KeyError::Malformed { format: "PKCS#8", reason: "Ed25519 seed is not 32 bytes" })
}

/// (private scalar, uncompressed public point) of an EC PKCS#8 document.
fn ec_parts_from_pkcs8(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let (_, _, private_key) = pkcs8_fields(der)?;
    ec_parts(private_key)
}

/// (private scalar, uncompressed public point) of a SEC1 `ECPrivateKey` on P-256.
fn ec_parts(sec1: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    const F: &str = "SEC1";
    let (body, _) = expect(sec1, SEQUENCE, F, "not a SEQUENCE")?;
    let (_version, rest) = expect(body, INTEGER, F, "missing version")?;
    let (d, mut rest) = expect(rest, OCTET_STRING, F, "missing private key")?;
    if d.len() != 32 {
        return Err(KeyError::UnsupportedAlgorithm("ECDSA on a curve other than P-256"));
    }
    let mut point = None;
    while let Some((tag, contents, next)) = read(rest) {
        match tag {
            CONTEXT_0 => {
                let (oid, _) = expect(contents, OID, F, "bad curve parameters")?;
                if oid != OID_P256 {
                    return Err(KeyError::UnsupportedAlgorithm("ECDSA on a curve other than P-256"));
                }
            }
            CONTEXT_1 => {
                let (bits, _) = expect(contents, BIT_STRING, F, "bad public key")?;
                match bits.split_first() {
                    Some((0, key)) if key.len() == 65 && key[0] == 0x04 => point = Some(key),
                    _ => {
                        return Err(KeyError::Malformed {
                            format: F,
                            reason: "public key is not an uncompressed P-256 point",
                        });
                    }
                }
            }
            _ => return Err(KeyError::Malformed { format: F, reason: "unexpected field" }),
        }
        rest = next;
    }
    // *ring* cannot recompute the public point, and Go's encoder always writes it.
    let point = point.ok_or(KeyError::Malformed { format: F, reason: "public key is missing" })?;
    Ok((d, point))
}

/// SEC1 `ECPrivateKey` with curve parameters and public key, as Go's `MarshalECPrivateKey`.
fn sec1_encode(d: &[u8], point: &[u8]) -> Vec<u8> {
    let mut body = tlv(INTEGER, &[1]);
    body.extend(tlv(OCTET_STRING, d));
    body.extend(tlv(CONTEXT_0, &tlv(OID, OID_P256)));
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    body.extend(tlv(CONTEXT_1, &tlv(BIT_STRING, &bits)));
    tlv(SEQUENCE, &body)
}

/// Wraps a P-256 SEC1 key into the PKCS#8 layout *ring* parses.
fn pkcs8_from_sec1(sec1: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (d, point) = ec_parts(sec1)?;
    let mut inner = tlv(INTEGER, &[1]);
    inner.extend(tlv(OCTET_STRING, d));
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    inner.extend(tlv(CONTEXT_1, &tlv(BIT_STRING, &bits)));
    let mut alg = tlv(OID, OID_EC_PUBLIC_KEY);
    alg.extend(tlv(OID, OID_P256));
    let mut info = tlv(INTEGER, &[0]);
    info.extend(tlv(SEQUENCE, &alg));
    info.extend(tlv(OCTET_STRING, &tlv(SEQUENCE, &inner)));
    Ok(tlv(SEQUENCE, &info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_use_talos_encodings_and_reload() {
        let ec = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ec_pem = ec.to_pem();
        assert!(ec_pem.expose().starts_with("-----BEGIN EC PRIVATE KEY-----"));
        // Go's SEC1 layout for P-256 is exactly 121 bytes.
        assert_eq!(pem::decode(ec_pem.expose()).unwrap().der.len(), 121);
        let reloaded = PrivateKey::from_pem(ec_pem.expose()).unwrap();
        assert_eq!(reloaded, ec);
        assert_eq!(reloaded.public_key_raw().unwrap(), ec.public_key_raw().unwrap());

        let ed = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let ed_pem = ed.to_pem();
        assert!(ed_pem.expose().starts_with("-----BEGIN ED25519 PRIVATE KEY-----"));
        assert_eq!(pem::decode(ed_pem.expose()).unwrap().der.len(), 48);
        assert_eq!(PrivateKey::from_pem(ed_pem.expose()).unwrap(), ed);
        assert!(ed.signing_key().is_ok());
    }

    #[test]
    fn openssl_style_pkcs8_is_accepted() {
        // A PKCS#8 P-256 key as `openssl genpkey` writes it (generated for this test).
        let sec1 = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pkcs8 = pkcs8_from_sec1(&sec1.der).unwrap();
        let key = PrivateKey::from_pem(&pem::encode("PRIVATE KEY", &pkcs8)).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
        assert_eq!(key.public_key_raw().unwrap(), sec1.public_key_raw().unwrap());
        // ...and it keeps its own encoding when written back.
        assert!(key.to_pem().expose().starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn ed25519_from_seed_is_deterministic() {
        let a = PrivateKey::ed25519_from_seed(&[7; 32]);
        let b = PrivateKey::ed25519_from_seed(&[7; 32]);
        assert_eq!(a.to_pem(), b.to_pem());
        assert_eq!(a.public_key_raw().unwrap(), b.public_key_raw().unwrap());
        assert_ne!(
            a.public_key_raw().unwrap(),
            PrivateKey::ed25519_from_seed(&[8; 32]).public_key_raw().unwrap()
        );
    }

    #[test]
    fn bad_keys_are_rejected_with_reasons() {
        let err = PrivateKey::from_pem(&pem::encode("DSA PRIVATE KEY", &[0x30, 0x00])).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedLabel(_)));
        let err = PrivateKey::from_pem(&pem::encode("EC PRIVATE KEY", &[0x30, 0x00])).unwrap_err();
        assert!(matches!(err, KeyError::Malformed { format: "SEC1", .. }), "{err:?}");
        let err = PrivateKey::from_pem(&pem::encode("RSA PRIVATE KEY", &[0x30, 0x00])).unwrap_err();
        assert!(matches!(err, KeyError::Rejected(_)));
        // A SEC1 key whose public point does not match its scalar.
        let a = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let b = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let (d, _) = ec_parts(&a.der).unwrap();
        let (_, point) = ec_parts(&b.der).unwrap();
        let mixed = pem::encode("EC PRIVATE KEY", &sec1_encode(d, point));
        assert!(matches!(PrivateKey::from_pem(&mixed), Err(KeyError::Rejected(_))));
    }

    #[test]
    fn debug_hides_key_material() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "PrivateKey { algorithm: EcdsaP256, .. }");
    }

    #[test]
    fn der_length_encoding() {
        assert_eq!(tlv(0x04, &[0; 3])[..2], [0x04, 0x03]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        let encoded = tlv(0x04, &[9; 300]);
        let (tag, contents, rest) = read(&encoded).unwrap();
        assert_eq!((tag, contents.len(), rest.len()), (0x04, 300, 0));
        assert!(read(&[0x04, 0x05, 0x00]).is_none());
    }
}
