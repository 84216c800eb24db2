//! The region around the machines: state that survives a restart, injected faults (at start and
//! at run time through the admin endpoint) and the CLI talking to that endpoint.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use ct_emulator::faults::{FaultKind, FaultSpec};
use ct_emulator::{RegionConfig, RegionOptions};
use ct_proto::talos::machine::{BootstrapRequest, EtcdMemberListRequest, RebootRequest};
use tonic::Code;

#[tokio::test]
async fn a_restart_keeps_machines_certificates_and_etcd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RegionConfig { state_dir: Some(dir.path().to_owned()), ..fast_config() };
    let machines: Vec<(String, SocketAddr)> =
        (1..=2).map(|i| (format!("m{i}"), SocketAddr::from(([127, 77, 30, i], 0)))).collect();
    let options = RegionOptions { region: config, machines, admin: None };
    let r = ct_emulator::start(options.clone()).await.expect("start");
    let s = Secrets::generate("c30");
    configure(&r, "m1", &s.config("controlplane", &endpoint(30), "cp-1", INSTALLER)).await;
    admin(&r, "m1", &s).await.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
    let members =
        admin(&r, "m1", &s).await.etcd_member_list(EtcdMemberListRequest::default()).await.expect("members");
    let maintenance_cert = server_cert(r.addr("m2").expect("addr")).await;
    let configured_cert = server_cert(r.addr("m1").expect("addr")).await;
    r.shutdown().await;
    let state_file = dir.path().join("region.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state_file).expect("state file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the state holds CA keys: owner-only");
    }

    let r = ct_emulator::start(options).await.expect("restart");
    assert_eq!(phase(&r, "m1"), "running");
    assert_eq!(phase(&r, "m2"), "maintenance");
    assert_eq!(server_cert(r.addr("m2").expect("addr")).await, maintenance_cert);
    assert_eq!(server_cert(r.addr("m1").expect("addr")).await, configured_cert);
    let mut c = admin(&r, "m1", &s).await;
    let again = c.etcd_member_list(EtcdMemberListRequest::default()).await.expect("members after restart");
    assert_eq!(again.into_inner().messages, members.into_inner().messages);
    let e = c.bootstrap(BootstrapRequest::default()).await.expect_err("etcd data survived");
    assert_eq!(e.code(), Code::AlreadyExists);
    assert!(r.region().kube_api_available("c30"));
    r.shutdown().await;

    std::fs::write(dir.path().join("region.json"), b"{ not json").expect("corrupt");
    let err =
        ct_emulator::Region::open(RegionConfig { state_dir: Some(dir.path().to_owned()), ..fast_config() })
            .expect_err("corrupt state is reported");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[tokio::test]
async fn faults_delay_fail_refuse_partition_and_hang() {
    let r = region(2, 31, fast_config()).await;
    let s = Secrets::generate("c31");
    configure(&r, "m1", &s.config("controlplane", &endpoint(31), "cp-1", INSTALLER)).await;
    let reg = r.region();
    let mut c = admin(&r, "m1", &s).await;

    let id = reg
        .add_fault(FaultSpec {
            machine: "m1".into(),
            api: "Version".into(),
            kind: FaultKind::Delay { ms: 300 },
        })
        .expect("delay");
    let t = Instant::now();
    c.version(()).await.expect("slow but fine");
    assert!(t.elapsed() >= Duration::from_millis(300));
    reg.clear_faults(Some(id));

    let id = reg
        .add_fault(FaultSpec {
            machine: "127.77.31.1".into(),
            api: "*".into(),
            kind: FaultKind::ErrorRate { rate: 1.0 },
        })
        .expect("errors");
    assert_eq!(c.version(()).await.expect_err("injected").code(), Code::Unavailable);
    reg.clear_faults(Some(id));
    c.version(()).await.expect("recovered");
    assert!(
        reg.add_fault(FaultSpec {
            machine: "m1".into(),
            api: "*".into(),
            kind: FaultKind::ErrorRate { rate: 3.0 }
        })
        .is_err()
    );

    let id = reg
        .add_fault(FaultSpec { machine: "m2".into(), api: "*".into(), kind: FaultKind::Down })
        .expect("down");
    let refused = tokio::net::TcpStream::connect(r.addr("m2").expect("addr")).await;
    assert!(refused.is_err(), "a machine that is down refuses connections");
    reg.clear_faults(Some(id));
    eventually("m2 listens again", 5, || async {
        tokio::net::TcpStream::connect(r.addr("m2").expect("addr")).await.ok()
    })
    .await;

    let id = reg
        .add_fault(FaultSpec { machine: "m2".into(), api: "*".into(), kind: FaultKind::Partitioned })
        .expect("partition");
    let hung = tokio::time::timeout(Duration::from_millis(300), insecure(r.addr("m2").expect("addr"))).await;
    assert!(hung.is_err(), "a partitioned machine never finishes the handshake");
    reg.clear_faults(Some(id));

    reg.add_fault(FaultSpec { machine: "m1".into(), api: "*".into(), kind: FaultKind::RebootHang })
        .expect("hang");
    c.reboot(RebootRequest::default()).await.expect("reboot");
    wait_phase(&r, "m1", "rebooting").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(phase(&r, "m1"), "rebooting", "the reboot never finishes while the fault holds");
    reg.clear_faults(None);
    wait_phase(&r, "m1", "running").await;

    let mut c = admin(&r, "m1", &s).await;
    c.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
    reg.add_fault(FaultSpec { machine: "m1".into(), api: "*".into(), kind: FaultKind::EtcdMemberLost })
        .expect("lost");
    let services = c.service_list(()).await.expect("services").into_inner().messages[0].services.clone();
    let etcd = services.iter().find(|s| s.id == "etcd").expect("etcd");
    assert_eq!(etcd.state, "Failed");
    assert!(!reg.kube_api_available("c31"), "the only member is lost: no quorum, no Kubernetes API");
    r.shutdown().await;
}

#[tokio::test]
async fn start_faults_admin_endpoint_and_cli() {
    let mut config = fast_config();
    config.faults.push(
        ct_emulator::cli::parse_fault("machine=m1,api=ApplyConfiguration,kind=error-rate,rate=1")
            .expect("spec"),
    );
    let r = region(1, 32, config).await;
    let admin_addr = r.admin_addr().expect("admin");
    let mut c = machine(insecure(r.addr("m1").expect("addr")).await.expect("connect"));
    let req =
        ct_proto::talos::machine::ApplyConfigurationRequest { data: b"x".to_vec(), ..Default::default() };
    assert_eq!(c.apply_configuration(req).await.expect_err("start fault").code(), Code::Unavailable);

    let faults = ct_emulator::admin::call(admin_addr, "GET", "/v1/faults", None).await.expect("list");
    assert_eq!(faults.as_array().map(Vec::len), Some(1));
    let added = ct_emulator::admin::call(
        admin_addr,
        "POST",
        "/v1/faults",
        Some(r#"{"machine":"m1","kind":"delay","ms":5}"#),
    )
    .await
    .expect("add");
    assert!(added["id"].as_u64().is_some());
    let bad =
        ct_emulator::admin::call(admin_addr, "POST", "/v1/faults", Some(r#"{"machine":"m1","kind":"melt"}"#))
            .await;
    assert!(bad.is_err_and(|e| e.to_string().contains("HTTP 400")));
    assert!(ct_emulator::admin::call(admin_addr, "GET", "/v1/nope", None).await.is_err());
    let machines = ct_emulator::admin::call(admin_addr, "GET", "/v1/machines", None).await.expect("machines");
    assert_eq!(machines[0]["phase"].as_str(), Some("maintenance"));

    let cli = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let admin_flag = admin_addr.to_string();
    ct_emulator::cli::run(cli(&[
        "fault",
        "add",
        "--admin",
        &admin_flag,
        "--machine",
        "*",
        "--kind",
        "reboot-hang",
    ]))
    .await
    .expect("cli add");
    assert_eq!(r.region().faults().len(), 3);
    ct_emulator::cli::run(cli(&["fault", "clear", "--admin", &admin_flag])).await.expect("cli clear");
    assert!(r.region().faults().is_empty());
    assert!(
        ct_emulator::cli::run(cli(&["fault", "add", "--admin", &admin_flag, "--kind", "down"]))
            .await
            .is_err()
    );
    assert!(ct_emulator::cli::run(cli(&["region", "--machines", "0"])).await.is_err());
    assert!(ct_emulator::cli::run(cli(&["bogus"])).await.is_err());
    r.shutdown().await;
}
