//! talosconfig and kubeconfig: certificate chains and fields, byte stability, parsing back.

use time::Duration;

use super::{NOW, OPENSSL_SECRETS, bundle, with_cert};
use crate::talos::SecretsBundle;
use crate::talos::kubeconfig::{self, KubeCredentials, KubeconfigInput};
use crate::talos::pem;
use crate::talos::pki::CaKind;
use crate::talos::talosconfig::{self, ADMIN_ROLE, DEFAULT_VALIDITY, TalosconfigInput};

fn endpoints() -> Vec<String> {
    vec!["10.20.0.21".into(), "10.20.0.22".into(), "10.20.0.23".into()]
}

fn talos_input(endpoints: &[String]) -> TalosconfigInput<'_> {
    TalosconfigInput {
        cluster_name: "prod1",
        endpoints,
        nodes: endpoints,
        roles: &[ADMIN_ROLE],
        not_before: NOW,
        validity: DEFAULT_VALIDITY,
    }
}

fn assert_client_cert(cert_pem: &str, ca_kind: CaKind, orgs: &[&str], cn: Option<&str>, validity: Duration) {
    let ca_pem = bundle().ca(ca_kind).cert_pem();
    with_cert(ca_pem, |ca| {
        with_cert(cert_pem, |cert| {
            assert!(cert.verify_signature(Some(ca.public_key())).is_ok(), "signed by the {ca_kind:?} CA");
            assert_eq!(cert.issuer(), ca.subject());
            let o: Vec<_> = cert.subject().iter_organization().map(|a| a.as_str().unwrap()).collect();
            let c: Vec<_> = cert.subject().iter_common_name().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(o, orgs);
            assert_eq!(c, cn.into_iter().collect::<Vec<_>>());
            assert_eq!(cert.validity().not_before.to_datetime(), NOW);
            assert_eq!(cert.validity().not_after.to_datetime(), NOW + validity);
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.client_auth && !eku.server_auth);
            assert!(cert.key_usage().unwrap().unwrap().value.digital_signature());
            assert!(!cert.is_ca());
        });
    });
}

#[test]
fn talosconfig_is_signed_by_the_os_ca_and_byte_stable() {
    let eps = endpoints();
    let a = talosconfig::generate(bundle(), &talos_input(&eps)).unwrap();
    let b = talosconfig::generate(bundle(), &talos_input(&eps)).unwrap();
    assert_eq!(a, b, "same bundle and inputs, same bytes");
    assert_client_cert(&a.client_cert_pem, CaKind::Os, &[ADMIN_ROLE], None, DEFAULT_VALIDITY);
    assert!(a.client_key_pem.expose().starts_with("-----BEGIN ED25519 PRIVATE KEY-----"));

    let parsed = talosconfig::parse(a.yaml.expose()).unwrap();
    assert_eq!(parsed.context, "prod1");
    assert_eq!(parsed.endpoints, eps);
    assert_eq!(parsed.nodes, eps);
    assert_eq!(parsed.ca_pem, bundle().ca(CaKind::Os).cert_pem());
    assert_eq!(parsed.client_cert_pem, a.client_cert_pem);
    assert_eq!(parsed.client_key_pem, a.client_key_pem);

    // Another not_before is another certificate and key.
    let mut later = talos_input(&eps);
    later.not_before = NOW + Duration::days(1);
    let c = talosconfig::generate(bundle(), &later).unwrap();
    assert_ne!(c.client_cert_pem, a.client_cert_pem);
    assert_ne!(c.client_key_pem, a.client_key_pem);
}

#[test]
fn talosconfig_endpoints_move_and_credentials_stay() {
    let eps = endpoints();
    let a = talosconfig::generate(bundle(), &talos_input(&eps)).unwrap();
    let moved = vec!["10.20.0.21".to_string(), "10.20.0.24".into(), "10.20.0.23".into()];
    let b = talosconfig::with_endpoints(a.yaml.expose(), &moved, &moved[..1]).unwrap();
    let parsed = talosconfig::parse(b.expose()).unwrap();
    assert_eq!(parsed.endpoints, moved);
    assert_eq!(parsed.nodes, moved[..1]);
    assert_eq!(parsed.client_cert_pem, a.client_cert_pem);
    assert_eq!(parsed.client_key_pem, a.client_key_pem);
    // The same endpoints give the same bytes back.
    let same = talosconfig::with_endpoints(a.yaml.expose(), &eps, &eps).unwrap();
    assert_eq!(same.expose(), a.yaml.expose());
}

#[test]
fn talosconfig_from_an_imported_bundle() {
    let imported = SecretsBundle::from_yaml(OPENSSL_SECRETS).unwrap();
    let eps = endpoints();
    let config = talosconfig::generate(&imported, &talos_input(&eps)).unwrap();
    let ca_pem = imported.ca(CaKind::Os).cert_pem().to_owned();
    with_cert(&ca_pem, |ca| {
        with_cert(&config.client_cert_pem, |cert| {
            assert!(cert.verify_signature(Some(ca.public_key())).is_ok());
        });
    });
}

#[test]
fn talosconfig_parser_reports_problems() {
    let err = talosconfig::parse("context: a\ncontexts: {}\n").unwrap_err();
    assert_eq!(err.to_string(), "talosconfig: context `a` is not in `contexts`");
    let err =
        talosconfig::parse("context: a\ncontexts:\n  a: {endpoints: [x], ca: '!!', crt: '', key: ''}\n")
            .unwrap_err();
    assert!(err.to_string().contains("contexts.a.ca"), "{err}");
    assert!(talosconfig::parse("[").is_err());
}

fn kube_input() -> KubeconfigInput<'static> {
    KubeconfigInput {
        cluster_name: "prod1",
        server: "https://10.20.0.20:6443",
        not_before: NOW,
        validity: Duration::days(365),
    }
}

#[test]
fn kubeconfig_is_admin_and_parses_back() {
    let yaml = kubeconfig::generate(bundle(), &kube_input(), None).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(yaml.expose()).unwrap();
    assert_eq!(doc["current-context"].as_str(), Some("admin@prod1"));
    assert_eq!(doc["contexts"][0]["context"]["cluster"].as_str(), Some("prod1"));
    assert_eq!(doc["contexts"][0]["context"]["namespace"].as_str(), Some("default"));

    let parsed = kubeconfig::parse(yaml.expose()).unwrap();
    assert_eq!(parsed.server, "https://10.20.0.20:6443");
    assert_eq!(parsed.ca_pem.as_deref(), Some(bundle().ca(CaKind::Kubernetes).cert_pem()));
    assert!(!parsed.insecure_skip_tls_verify);
    let KubeCredentials::ClientCertificate { cert_pem, key_pem } = &parsed.credentials else {
        panic!("client cert expected")
    };
    assert_client_cert(cert_pem, CaKind::Kubernetes, &["system:masters"], Some("admin"), Duration::days(365));
    assert!(key_pem.expose().starts_with("-----BEGIN EC PRIVATE KEY-----"));
}

#[test]
fn kubeconfig_is_reused_while_it_matches() {
    let first = kubeconfig::generate(bundle(), &kube_input(), None).unwrap();
    let again = kubeconfig::generate(bundle(), &kube_input(), Some(first.expose())).unwrap();
    assert_eq!(again, first, "stable across plans when the previous value is passed");

    let mut other_server = kube_input();
    other_server.server = "https://10.20.0.30:6443";
    let moved = kubeconfig::generate(bundle(), &other_server, Some(first.expose())).unwrap();
    assert_ne!(moved, first);
    assert_eq!(kubeconfig::parse(moved.expose()).unwrap().server, "https://10.20.0.30:6443");

    let mut longer = kube_input();
    longer.validity = Duration::days(730);
    assert_ne!(kubeconfig::generate(bundle(), &longer, Some(first.expose())).unwrap(), first);

    // A kubeconfig of another cluster's CA is never reused.
    let other = SecretsBundle::from_yaml(OPENSSL_SECRETS).unwrap();
    let foreign = kubeconfig::generate(&other, &kube_input(), None).unwrap();
    assert_ne!(kubeconfig::generate(bundle(), &kube_input(), Some(foreign.expose())).unwrap(), foreign);
    assert_ne!(kubeconfig::generate(bundle(), &kube_input(), Some("garbage")).unwrap().expose(), "garbage");
}

#[test]
fn kubeconfig_parser_handles_tokens_and_reports_gaps() {
    let token = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://k:6443\n    insecure-skip-tls-verify: true\n\
                 contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: abc}\n";
    let parsed = kubeconfig::parse(token).unwrap();
    assert!(parsed.insecure_skip_tls_verify && parsed.ca_pem.is_none());
    assert_eq!(parsed.credentials, KubeCredentials::Token(crate::talos::Sensitive::new("abc")));
    assert!(!format!("{parsed:?}").contains("abc"), "token must not print");

    let exec = token.replace("{token: abc}", "{exec: {command: aws}}");
    assert!(kubeconfig::parse(&exec).unwrap_err().to_string().contains("exec"));
    let missing = token.replace("current-context: x", "current-context: y");
    assert_eq!(
        kubeconfig::parse(&missing).unwrap_err().to_string(),
        "kubeconfig: current-context `y` is not in `contexts`"
    );
}

#[test]
fn client_configs_never_print_keys() {
    let eps = endpoints();
    let config = talosconfig::generate(bundle(), &talos_input(&eps)).unwrap();
    let shown = format!("{config:?} {:?}", talosconfig::parse(config.yaml.expose()).unwrap());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(!shown.contains(&pem::to_field(config.client_key_pem.expose())));
    let kube = kubeconfig::generate(bundle(), &kube_input(), None).unwrap();
    let shown = format!("{kube:?} {:?}", kubeconfig::parse(kube.expose()).unwrap());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}
