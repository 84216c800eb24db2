//! The Talos machine API of emulated machines, driven by a real tonic client over TLS:
//! maintenance mode, ApplyConfiguration, mTLS and roles, Bootstrap, Kubeconfig, node proxying.

mod common;

use std::io::Read as _;

use common::*;
use ct_emulator::RegionConfig;
use ct_proto::talos::cluster::HealthCheckRequest;
use ct_proto::talos::cluster::cluster_service_client::ClusterServiceClient;
use ct_proto::talos::machine::{ApplyConfigurationRequest, BootstrapRequest, EtcdMemberListRequest};
use tonic::Code;

fn apply(config: &str, mode: i32, dry_run: bool) -> ApplyConfigurationRequest {
    ApplyConfigurationRequest { data: config.as_bytes().to_vec(), mode, dry_run, try_mode_timeout: None }
}

#[tokio::test]
async fn maintenance_mode_serves_only_its_subset() {
    let r = region(1, 1, fast_config()).await;
    let s = Secrets::generate("c1");
    let addr = r.addr("m1").expect("addr");
    let ch = insecure(addr).await.expect("insecure TLS without a client certificate works");
    let mut c = machine(ch.clone());

    let e = c.version(()).await.expect_err("version is admin-only");
    assert_eq!((e.code(), e.message()), (Code::Unimplemented, "API is not implemented in maintenance mode"));
    let e = c.bootstrap(BootstrapRequest::default()).await.expect_err("bootstrap");
    assert_eq!((e.code(), e.message()), (Code::Unimplemented, "method Bootstrap not implemented"));
    let e =
        ClusterServiceClient::new(ch).health_check(HealthCheckRequest::default()).await.expect_err("health");
    assert_eq!(e.code(), Code::Unimplemented);

    let e = c.apply_configuration(apply("{{{ not yaml", 1, false)).await.expect_err("garbage");
    assert_eq!(e.code(), Code::Unknown, "upstream wraps parse errors in a plain error: {e:?}");
    assert!(e.message().contains("failed to parse config"), "{e:?}");
    let no_endpoint = s.config("controlplane", "", "cp-1", INSTALLER).replace("endpoint: \n", "");
    let e = c.apply_configuration(apply(&no_endpoint, 1, false)).await.expect_err("invalid");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let cfg = s.config("controlplane", &endpoint(1), "cp-1", INSTALLER);
    let e = c.apply_configuration(apply(&cfg, 2, false)).await.expect_err("no-reboot on 1.13");
    assert_eq!(e.code(), Code::Unimplemented);
    assert!(e.message().contains("--mode='no-reboot' is not supported in maintenance mode"), "{e:?}");
    let e =
        c.apply_configuration(to_node(apply(&cfg, 1, false), "127.77.1.9")).await.expect_err("forwarding");
    assert_eq!((e.code(), e.message()), (Code::PermissionDenied, "no request forwarding"));

    let dry = c.apply_configuration(apply(&cfg, 1, true)).await.expect("dry run").into_inner();
    assert!(dry.messages[0].mode_details.contains("maintenance mode and does not have a config yet"));
    assert_eq!(phase(&r, "m1"), "maintenance");
    assert!(
        mtls(addr, &s, "os:admin").await.is_err(),
        "a talosconfig client cannot verify the self-signed certificate"
    );
    r.shutdown().await;
}

#[tokio::test]
async fn apply_installs_then_reboots_into_mtls() {
    let mut config = fast_config();
    config.latencies.install_ms = 100_000; // half a second at this scale: room to observe it
    let r = region(1, 2, config).await;
    let s = Secrets::generate("c2");
    let addr = r.addr("m1").expect("addr");
    let mut c = machine(insecure(addr).await.expect("connect"));
    let cfg = s.config("controlplane", &endpoint(2), "cp-1", "ghcr.io/siderolabs/installer:v1.13.8");
    let reply = c.apply_configuration(apply(&cfg, 1, false)).await.expect("apply").into_inner();
    assert!(reply.messages[0].warnings.is_empty());
    wait_phase(&r, "m1", "installing").await;
    assert!(insecure(addr).await.is_err(), "connections are refused while installing");
    wait_phase(&r, "m1", "running").await;

    let mut admin = admin(&r, "m1", &s).await;
    let v = admin.version(()).await.expect("version over mTLS").into_inner();
    let info = v.messages[0].version.clone().expect("version info");
    assert_eq!(info.tag, "v1.13.8", "the installer image decides the installed version");
    let services = admin.service_list(()).await.expect("services").into_inner().messages[0].services.clone();
    let etcd = services.iter().find(|s| s.id == "etcd").expect("etcd on a control plane");
    assert_eq!(etcd.state, "Preparing");
    assert!(services.iter().any(|s| s.id == "kubelet" && s.health.as_ref().is_some_and(|h| h.healthy)));

    let mut old = machine(insecure(addr).await.expect("TCP and TLS still complete"));
    assert!(old.version(()).await.is_err(), "no client certificate: the mTLS listener rejects the call");
    r.shutdown().await;
}

#[tokio::test]
async fn roles_come_from_the_client_certificate() {
    let r = region(1, 3, fast_config()).await;
    let s = Secrets::generate("c3");
    configure(&r, "m1", &s.config("controlplane", &endpoint(3), "cp-1", INSTALLER)).await;
    let addr = r.addr("m1").expect("addr");

    let mut reader = machine(mtls(addr, &s, "os:reader").await.expect("reader connects"));
    reader.version(()).await.expect("readers may read versions");
    reader.service_list(()).await.expect("and services");
    let e = reader.bootstrap(BootstrapRequest::default()).await.expect_err("reader bootstrap");
    assert_eq!((e.code(), e.message()), (Code::PermissionDenied, "not authorized"));
    let e = reader.apply_configuration(apply("x", 1, true)).await.expect_err("reader apply");
    assert_eq!(e.code(), Code::PermissionDenied);
    let mut etcd_backup = machine(mtls(addr, &s, "os:etcd:backup").await.expect("connects"));
    assert_eq!(etcd_backup.version(()).await.expect_err("not a reader").code(), Code::PermissionDenied);

    let foreign = Secrets::generate("other");
    let (crt, key) = foreign.client("os:admin");
    let outcome = match mtls_with(addr, &s.os_crt, &crt, &key).await {
        Ok(ch) => machine(ch).version(()).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    assert!(outcome.is_err(), "a client certificate from a foreign CA fails the TLS handshake");
    r.shutdown().await;
}

#[tokio::test]
async fn bootstrap_ordering_and_already_exists() {
    let mut config = fast_config();
    config.latencies.boot_ms = 200_000; // one second of "booting" at this time scale
    let r = region(2, 4, config).await;
    let s = Secrets::generate("c4");
    let mut c = machine(insecure(r.addr("m1").expect("addr")).await.expect("connect"));
    c.apply_configuration(apply(&s.config("controlplane", &endpoint(4), "cp-1", INSTALLER), 1, false))
        .await
        .expect("apply");
    wait_phase(&r, "m1", "booting").await;
    let mut cp = admin(&r, "m1", &s).await;
    let e = cp.bootstrap(BootstrapRequest::default()).await.expect_err("too early");
    assert_eq!((e.code(), e.message()), (Code::FailedPrecondition, "bootstrap is not available yet"));
    configure(&r, "m2", &s.config("worker", &endpoint(4), "worker-1", INSTALLER)).await;
    wait_phase(&r, "m1", "running").await;

    let mut worker = admin(&r, "m2", &s).await;
    let e = worker.bootstrap(BootstrapRequest::default()).await.expect_err("worker");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("control plane"), "{e:?}");
    let e = worker.etcd_member_list(EtcdMemberListRequest::default()).await.expect_err("no etcd on workers");
    assert_eq!(e.code(), Code::Unimplemented);

    assert!(!r.region().kube_api_available("c4"));
    cp.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
    let e = cp.bootstrap(BootstrapRequest::default()).await.expect_err("twice");
    assert_eq!((e.code(), e.message()), (Code::AlreadyExists, "etcd data directory is not empty"));
    let members = cp.etcd_member_list(EtcdMemberListRequest::default()).await.expect("members").into_inner();
    let m = &members.messages[0].members;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].hostname, "cp-1");
    assert_eq!(m[0].peer_urls, vec!["https://127.77.4.1:2380".to_owned()]);
    assert!(r.region().kube_api_available("c4"));
    r.shutdown().await;
}

#[tokio::test]
async fn kubeconfig_is_a_tar_gz_with_an_admin_certificate_from_the_cluster_ca() {
    let r = region(2, 5, fast_config()).await;
    let s = Secrets::generate("c5");
    configure(&r, "m1", &s.config("controlplane", &endpoint(5), "cp-1", INSTALLER)).await;
    configure(&r, "m2", &s.config("worker", &endpoint(5), "worker-1", INSTALLER)).await;
    let mut cp = admin(&r, "m1", &s).await;
    let mut stream = cp.kubeconfig(()).await.expect("kubeconfig").into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        bytes.extend(chunk.bytes);
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let mut entries = archive.entries().expect("tar");
    let mut entry = entries.next().expect("one entry").expect("entry");
    assert_eq!(entry.path().expect("path").to_string_lossy(), "kubeconfig");
    let mut yaml = String::new();
    entry.read_to_string(&mut yaml).expect("utf-8");
    assert!(entries.next().is_none(), "exactly one file");

    let doc: serde_norway::Value = serde_norway::from_str(&yaml).expect("kubeconfig YAML");
    let cluster = &doc["clusters"][0]["cluster"];
    assert_eq!(cluster["server"].as_str(), Some(endpoint(5).as_str()));
    let b64 = |v: &serde_norway::Value| {
        use base64::Engine as _;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("string")).expect("b64"),
        )
        .expect("pem")
    };
    assert_eq!(b64(&cluster["certificate-authority-data"]), s.k8s_crt);
    let client_pem = b64(&doc["users"][0]["user"]["client-certificate-data"]);
    let der = ct_emulator::pki::parse_cert_pem(&client_pem).expect("client cert");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
    let ca_der = ct_emulator::pki::parse_cert_pem(&s.k8s_crt).expect("ca");
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("ca x509");
    assert_eq!(cert.issuer(), ca.subject(), "signed by the Kubernetes CA of the config");
    cert.verify_signature(Some(ca.public_key())).expect("the Kubernetes CA signed the admin certificate");
    assert_eq!(ct_emulator::pki::organizations(&der).expect("orgs"), vec!["system:masters".to_owned()]);

    let mut worker = admin(&r, "m2", &s).await;
    let e = worker.kubeconfig(()).await.expect_err("workers have no kubeconfig");
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unimplemented, "kubeconfig is only available on control plane nodes")
    );
    r.shutdown().await;
}

#[tokio::test]
async fn node_metadata_proxies_within_the_region() {
    let r = region(3, 6, fast_config()).await;
    let s = Secrets::generate("c6");
    configure(&r, "m1", &s.config("controlplane", &endpoint(6), "cp-1", INSTALLER)).await;
    configure(
        &r,
        "m2",
        &s.config("worker", &endpoint(6), "worker-1", "ghcr.io/siderolabs/installer:v1.13.7"),
    )
    .await;
    let mut cp = admin(&r, "m1", &s).await;

    let v = cp.version(to_node((), "127.77.6.2")).await.expect("proxied").into_inner();
    assert_eq!(v.messages[0].version.as_ref().map(|v| v.tag.as_str()), Some("v1.13.7"));
    assert!(v.messages[0].metadata.is_none(), "one-to-one proxying adds no metadata");

    let mut req = tonic::Request::new(());
    req.metadata_mut().insert("nodes", "127.77.6.1,127.77.6.2,127.77.6.3".parse().expect("md"));
    let all = cp.version(req).await.expect("one-to-many").into_inner().messages;
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].metadata.as_ref().map(|m| m.hostname.as_str()), Some("127.77.6.2"));
    let failed = all[2].metadata.as_ref().expect("metadata");
    assert!(
        failed.error.contains("unknown authority"),
        "a maintenance node fails the proxy handshake: {failed:?}"
    );

    let e = cp.version(to_node((), "127.77.6.3")).await.expect_err("maintenance target");
    assert_eq!(e.code(), Code::Unavailable);
    let e = cp.version(to_node((), "127.77.6.99")).await.expect_err("unknown target");
    assert_eq!(e.code(), Code::Unavailable);
    let e = cp.kubeconfig(to_node((), "127.77.6.2")).await.expect_err("worker through the proxy");
    assert_eq!(e.code(), Code::Unimplemented);
    r.shutdown().await;
}

#[tokio::test]
async fn apply_modes_on_a_configured_talos_1_13_node() {
    let mut config = fast_config();
    config.latencies.apply_ms = 60_000; // 300 ms: long enough to overlap two applies
    let r = region(1, 7, config).await;
    let s = Secrets::generate("c7");
    let base = s.config("controlplane", &endpoint(7), "cp-1", INSTALLER);
    configure(&r, "m1", &base).await;
    let mut c = admin(&r, "m1", &s).await;

    let renamed = base.replace("hostname: cp-1", "hostname: cp-one");
    let dry = c.apply_configuration(apply(&renamed, 2, true)).await.expect("dry run").into_inner();
    let details = &dry.messages[0].mode_details;
    assert!(
        details.starts_with("Dry run summary:\nApplied configuration without a reboot (skipped in dry-run)."),
        "{details}"
    );
    assert!(details.contains("~ v1alpha1.machine.network.hostname: cp-1 -> cp-one"), "{details}");
    let new_token = renamed.replace("token: abcdef.0123456789abcdef", "token: zzzzzz.0123456789abcdef");
    let dry = c.apply_configuration(apply(&new_token, 3, true)).await.expect("dry run").into_inner();
    let details = &dry.messages[0].mode_details;
    assert!(details.contains("~ v1alpha1.machine.token: (redacted "), "{details}");
    assert!(!details.contains("zzzzzz"), "secrets never appear in a diff: {details}");

    let needs_reboot = base.replace("GREETING: hello", "GREETING: bonjour");
    let e = c.apply_configuration(apply(&needs_reboot, 2, false)).await.expect_err("no-reboot");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("can't be applied in immediate mode"), "{e:?}");
    let e = c.apply_configuration(apply("machine: [", 1, false)).await.expect_err("garbage");
    assert_eq!(e.code(), Code::InvalidArgument);

    let (mut c1, mut c2) = (c.clone(), c.clone());
    let (a, b) = tokio::join!(
        c1.apply_configuration(apply(&renamed, 2, false)),
        c2.apply_configuration(apply(&renamed, 2, false))
    );
    let codes: Vec<Code> = [a, b].into_iter().map(|r| r.map_or_else(|e| e.code(), |_| Code::Ok)).collect();
    assert!(codes.contains(&Code::Ok) && codes.contains(&Code::FailedPrecondition), "{codes:?}");

    let staged = c.apply_configuration(apply(&base, 3, false)).await.expect("staged").into_inner();
    assert_eq!(staged.messages[0].mode, 3);
    let auto = c.apply_configuration(apply(&needs_reboot, 1, false)).await.expect("auto").into_inner();
    assert_eq!(auto.messages[0].mode, 0, "AUTO resolves to REBOOT on 1.13 for a non-live change");
    assert!(auto.messages[0].mode_details.starts_with("Applied configuration with a reboot: "));
    wait_not(&r, "m1", "running").await;
    wait_phase(&r, "m1", "running").await;
    let mut c = admin(&r, "m1", &s).await;
    let check = c.apply_configuration(apply(&needs_reboot, 2, true)).await.expect("dry run").into_inner();
    assert!(check.messages[0].mode_details.ends_with("No changes."), "the rebooted node runs the new config");

    let try_req = ApplyConfigurationRequest {
        try_mode_timeout: Some(prost_types::Duration { seconds: 0, nanos: 200_000_000 }),
        ..apply(&needs_reboot.replace("cp-1", "cp-try"), 4, false)
    };
    let tried = c.apply_configuration(try_req).await.expect("try").into_inner();
    assert!(tried.messages[0].mode_details.contains("will be automatically reverted"));
    eventually("try-mode rollback", 10, || {
        let mut c = c.clone();
        let req = apply(&needs_reboot, 2, true);
        async move {
            let r = c.apply_configuration(req).await.ok()?.into_inner();
            r.messages[0].mode_details.ends_with("No changes.").then_some(())
        }
    })
    .await;
    r.shutdown().await;
}

#[tokio::test]
async fn talos_1_14_drops_reboot_mode_and_auto_never_reboots() {
    let config = RegionConfig { talos_version: "v1.14.0".into(), ..fast_config() };
    let r = region(1, 8, config).await;
    let s = Secrets::generate("c8");
    let base = s.config("controlplane", &endpoint(8), "cp-1", "ghcr.io/siderolabs/installer:v1.14.0");
    let mut m = machine(insecure(r.addr("m1").expect("addr")).await.expect("connect"));
    m.apply_configuration(apply(&base, 2, false)).await.expect("1.14 accepts no-reboot in maintenance");
    wait_phase(&r, "m1", "running").await;
    let mut c = admin(&r, "m1", &s).await;
    let e = c.apply_configuration(apply(&base, 0, false)).await.expect_err("reboot mode");
    assert_eq!(e.code(), Code::Unimplemented);
    let changed = base.replace("GREETING: hello", "GREETING: hallo");
    let auto = c.apply_configuration(apply(&changed, 1, false)).await.expect("auto").into_inner();
    assert_eq!(auto.messages[0].mode, 2, "AUTO always resolves to NO_REBOOT on 1.14");
    assert_eq!(phase(&r, "m1"), "running");
    r.shutdown().await;
}
