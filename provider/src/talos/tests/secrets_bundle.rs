//! Secrets bundle: generation rules, secrets.yaml round trip, imports, validation errors, and
//! no key material in Debug output or errors.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use x509_parser::extensions::ParsedExtension;

use super::{NOW, OPENSSL_SECRETS, bundle, with_cert};
use crate::talos::error::SecretsError;
use crate::talos::keys::KeyAlgorithm;
use crate::talos::pki::{CA_VALIDITY, CaKind};
use crate::talos::secrets::{EncryptionSecret, is_token};
use crate::talos::{SecretsBundle, pem};

#[test]
fn generated_bundle_follows_talos_rules() {
    let b = bundle();
    assert_eq!(URL_SAFE.decode(b.cluster_id()).unwrap().len(), 32);
    assert_eq!(STANDARD.decode(b.cluster_secret().expose()).unwrap().len(), 32);
    assert!(is_token(b.bootstrap_token().expose()), "bootstrap token shape");
    assert!(is_token(b.trustd_token().expose()), "trustd token shape");
    let EncryptionSecret::Secretbox(secretbox) = b.encryption() else { panic!("secretbox expected") };
    assert_eq!(STANDARD.decode(secretbox.expose()).unwrap().len(), 32);
    assert_eq!(b.service_account_key().algorithm(), KeyAlgorithm::EcdsaP256);
    assert!(b.service_account_key().to_pem().expose().starts_with("-----BEGIN EC PRIVATE KEY-----"));

    for (kind, organization, common_name) in [
        (CaKind::Etcd, Some("etcd"), None),
        (CaKind::Kubernetes, Some("kubernetes"), None),
        (CaKind::Aggregator, None, Some("front-proxy")),
        (CaKind::Os, Some("talos"), None),
    ] {
        let ca = b.ca(kind);
        assert_eq!(ca.key().algorithm(), kind.algorithm());
        with_cert(ca.cert_pem(), |cert| {
            assert_eq!(cert.subject(), cert.issuer(), "{kind:?} is self-signed");
            assert!(cert.verify_signature(None).is_ok(), "{kind:?} self-signature");
            let orgs: Vec<_> = cert.subject().iter_organization().map(|a| a.as_str().unwrap()).collect();
            let cns: Vec<_> = cert.subject().iter_common_name().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(orgs, organization.into_iter().collect::<Vec<_>>());
            assert_eq!(cns, common_name.into_iter().collect::<Vec<_>>());
            assert_eq!(cert.validity().not_before.to_datetime(), NOW);
            assert_eq!(cert.validity().not_after.to_datetime(), NOW + CA_VALIDITY);
            let bc = cert.basic_constraints().unwrap().unwrap();
            assert!(bc.critical && bc.value.ca);
            let ku = cert.key_usage().unwrap().unwrap();
            assert!(ku.critical && ku.value.digital_signature() && ku.value.key_cert_sign());
            let eku = cert.extended_key_usage().unwrap().unwrap();
            assert!(eku.value.server_auth && eku.value.client_auth);
            assert!(
                cert.extensions()
                    .iter()
                    .any(|e| matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(_)))
            );
            assert_eq!(cert.raw_serial().len(), 16, "128-bit serial");
        });
    }
}

#[test]
fn tokens_differ_between_bundles() {
    let other = SecretsBundle::generate(NOW).unwrap();
    assert_ne!(other.bootstrap_token(), bundle().bootstrap_token());
    assert_ne!(other.ca(CaKind::Os).cert_pem(), bundle().ca(CaKind::Os).cert_pem());
}

#[test]
fn secrets_yaml_round_trips_byte_for_byte() {
    let yaml = bundle().to_yaml();
    let text = yaml.expose();
    for key in [
        "cluster:",
        "  id:",
        "bootstraptoken:",
        "secretboxencryptionsecret:",
        "trustdinfo:",
        "k8saggregator:",
        "k8sserviceaccount:",
        "os:",
    ] {
        assert!(text.contains(key), "missing `{key}`");
    }
    assert!(!text.contains("aescbcencryptionsecret"));
    let back = SecretsBundle::from_yaml(text).unwrap();
    assert_eq!(&back, bundle());
    assert_eq!(back.to_yaml(), yaml, "same bundle, same bytes");
}

#[test]
fn openssl_made_talos_file_imports_and_round_trips() {
    let imported = SecretsBundle::from_yaml(OPENSSL_SECRETS).unwrap();
    assert_eq!(imported.service_account_key().algorithm(), KeyAlgorithm::Rsa);
    assert_eq!(imported.ca(CaKind::Os).key().algorithm(), KeyAlgorithm::Ed25519);
    assert!(
        imported.ca(CaKind::Os).key().to_pem().expose().starts_with("-----BEGIN ED25519 PRIVATE KEY-----")
    );
    // Every field is written back exactly as it was read.
    let again = SecretsBundle::from_yaml(imported.to_yaml().expose()).unwrap();
    assert_eq!(again, imported);
    let original: serde_norway::Value = serde_norway::from_str(OPENSSL_SECRETS).unwrap();
    let written: serde_norway::Value = serde_norway::from_str(imported.to_yaml().expose()).unwrap();
    assert_eq!(original, written);
}

fn replace_field(path: &[&str], value: &str) -> String {
    let mut doc: serde_norway::Value = serde_norway::from_str(bundle().to_yaml().expose()).unwrap();
    let mut node = &mut doc;
    for key in &path[..path.len() - 1] {
        node = node.get_mut(*key).unwrap();
    }
    node.as_mapping_mut().unwrap().insert(path[path.len() - 1].into(), value.into());
    serde_norway::to_string(&doc).unwrap()
}

#[test]
fn invalid_files_name_the_field() {
    let err =
        SecretsBundle::from_yaml(&replace_field(&["secrets", "bootstraptoken"], "ABC.def")).unwrap_err();
    assert!(matches!(err, SecretsError::Field { path: "secrets.bootstraptoken", .. }), "{err}");

    let err = SecretsBundle::from_yaml(&replace_field(&["secrets", "secretboxencryptionsecret"], "c2hvcnQ="))
        .unwrap_err();
    assert!(matches!(err, SecretsError::Field { path: "secrets.secretboxencryptionsecret", .. }), "{err}");

    let both = replace_field(&["secrets", "aescbcencryptionsecret"], &STANDARD.encode([1u8; 32]));
    assert!(SecretsBundle::from_yaml(&both).unwrap_err().to_string().contains("only one of"));

    // The OS certificate with the etcd key: a key mismatch on `certs.os`.
    let etcd_key = pem::to_field(bundle().ca(CaKind::Etcd).key().to_pem().expose());
    let err = SecretsBundle::from_yaml(&replace_field(&["certs", "os", "key"], &etcd_key)).unwrap_err();
    assert_eq!(err.to_string(), "secrets.yaml field `certs.os`: certificate does not match its private key");

    let err = SecretsBundle::from_yaml(&replace_field(&["certs", "k8s", "crt"], "not base64!")).unwrap_err();
    assert!(matches!(err, SecretsError::Field { path: "certs.k8s", .. }), "{err}");

    // A leaf certificate where a CA is required.
    let not_ca = with_not_ca_cert();
    let err = SecretsBundle::from_yaml(&replace_field(&["certs", "os", "crt"], &pem::to_field(&not_ca)))
        .unwrap_err();
    assert!(err.to_string().contains("is not a CA"), "{err}");
}

/// A client certificate (not a CA) whose key is the OS CA key, so only the CA check fails.
fn with_not_ca_cert() -> String {
    let ca = bundle().ca(CaKind::Os);
    let spec = crate::talos::pki::ClientCertificateSpec {
        common_name: None,
        organizations: &["x"],
        not_before: NOW,
        not_after: NOW + time::Duration::days(1),
        serial: [1; 16],
    };
    ca.issue_client_certificate(&spec, ca.key()).unwrap()
}

#[test]
fn no_key_material_in_debug_or_errors() {
    let b = bundle();
    let shown = format!("{b:?} {:?} {:?}", b.ca(CaKind::Os), b.service_account_key());
    let secrets = [
        b.cluster_secret().expose().to_owned(),
        b.bootstrap_token().expose().to_owned(),
        b.trustd_token().expose().to_owned(),
        pem::to_field(b.ca(CaKind::Os).key().to_pem().expose()),
    ];
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "Debug leaked a secret: {shown}");
    }
    assert!(!shown.contains("PRIVATE KEY"));
    // A key field of the wrong type: the parser error must not quote it.
    let yaml = bundle().to_yaml();
    let key_field = pem::to_field(b.ca(CaKind::Etcd).key().to_pem().expose());
    let broken = yaml
        .expose()
        .replacen("certs:\n", "certs:\n  extra: [\n", 1)
        .replace(&key_field, &format!("[{key_field}"));
    let err = SecretsBundle::from_yaml(&broken).unwrap_err().to_string();
    assert!(!err.contains(&key_field[..40]), "error echoed key material: {err}");
    let typed = yaml.expose().replace(&format!("key: {key_field}"), &format!("key: {{k: {key_field}}}"));
    let err = SecretsBundle::from_yaml(&typed).unwrap_err().to_string();
    assert!(!err.contains(&key_field[..40]), "error echoed key material: {err}");
}
