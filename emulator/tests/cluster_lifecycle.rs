//! Cluster-level behaviour through the Talos API: etcd membership across three control planes,
//! quorum loss taking the Kubernetes API down, health checks, upgrades (both services), resets.

mod common;

use common::*;
use ct_emulator::faults::{FaultKind, FaultSpec};
use ct_emulator::region::RegionEvent;
use ct_proto::talos::cluster::cluster_service_client::ClusterServiceClient;
use ct_proto::talos::cluster::{ClusterInfo, HealthCheckRequest};
use ct_proto::talos::machine::lifecycle_service_client::LifecycleServiceClient;
use ct_proto::talos::machine::lifecycle_service_install_progress::Response as Progress;
use ct_proto::talos::machine::{
    BootstrapRequest, EtcdLeaveClusterRequest, EtcdMemberListRequest, EtcdRemoveMemberByIdRequest,
    InstallArtifactsSource, LifecycleServiceUpgradeRequest, RebootRequest, ResetPartitionSpec, ResetRequest,
    UpgradeRequest,
};
use tonic::Code;

fn down(machine: &str) -> FaultSpec {
    FaultSpec { machine: machine.into(), api: "*".into(), kind: FaultKind::Down }
}

/// Configures `cps` control planes (m1..) in parallel, bootstraps m1 and waits for every member.
async fn three_cp_cluster(r: &ct_emulator::RunningRegion, s: &Secrets, subnet: u8) {
    let configs: Vec<String> =
        (1..=3).map(|i| s.config("controlplane", &endpoint(subnet), &format!("cp-{i}"), INSTALLER)).collect();
    tokio::join!(
        configure(r, "m1", &configs[0]),
        configure(r, "m2", &configs[1]),
        configure(r, "m3", &configs[2])
    );
    admin(r, "m1", s).await.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
    eventually("three etcd members", 20, || async {
        let mut c = admin(r, "m1", s).await;
        let m = c.etcd_member_list(EtcdMemberListRequest::default()).await.ok()?.into_inner();
        (m.messages[0].members.len() == 3).then_some(())
    })
    .await;
}

async fn members(
    r: &ct_emulator::RunningRegion,
    s: &Secrets,
    id: &str,
) -> Result<Vec<(u64, String)>, tonic::Status> {
    let reply = admin(r, id, s).await.etcd_member_list(EtcdMemberListRequest::default()).await?.into_inner();
    Ok(reply.messages[0].members.iter().map(|m| (m.id, m.hostname.clone())).collect())
}

#[tokio::test]
async fn etcd_membership_quorum_and_health() {
    let r = region(3, 20, fast_config()).await;
    let s = Secrets::generate("c20");
    let mut events = r.region().subscribe();
    three_cp_cluster(&r, &s, 20).await;
    assert!(r.region().kube_api_available("c20"));

    let mut health =
        ClusterServiceClient::new(mtls(r.addr("m2").expect("addr"), &s, "os:reader").await.expect("reader"));
    let req = HealthCheckRequest {
        wait_timeout: Some(prost_types::Duration { seconds: 10, nanos: 0 }),
        cluster_info: Some(ClusterInfo {
            control_plane_nodes: vec!["127.77.20.1".into(), "127.77.20.2".into(), "127.77.20.3".into()],
            ..ClusterInfo::default()
        }),
    };
    let mut stream = health.health_check(req.clone()).await.expect("health").into_inner();
    let mut lines = Vec::new();
    while let Some(p) = stream.message().await.expect("healthy cluster streams no error") {
        lines.push(p.message);
    }
    assert!(lines.contains(&"waiting for etcd to be healthy: OK".to_owned()), "{lines:?}");
    assert!(lines.last().is_some_and(|l| l.ends_with(": OK")), "{lines:?}");

    r.region().add_fault(down("m2")).expect("fault");
    let lost = r.region().add_fault(down("m3")).expect("fault");
    assert!(!r.region().kube_api_available("c20"), "two of three members down: no quorum");
    let e = members(&r, &s, "m1").await.expect_err("no leader");
    assert_eq!((e.code(), e.message()), (Code::Unavailable, "etcdserver: no leader"));
    let quick = HealthCheckRequest {
        wait_timeout: Some(prost_types::Duration { seconds: 0, nanos: 300_000_000 }),
        ..req
    };
    let mut c1 =
        ClusterServiceClient::new(mtls(r.addr("m1").expect("addr"), &s, "os:admin").await.expect("admin"));
    let mut stream = c1.health_check(quick).await.expect("health").into_inner();
    let end = loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(
        end.is_some_and(|e| e.message().contains("etcd")),
        "an unhealthy cluster ends the stream with an error"
    );
    let saw_loss = std::iter::from_fn(|| events.try_recv().ok())
        .any(|e| matches!(e, RegionEvent::Cluster { kube_api_available: false, .. }));
    assert!(saw_loss, "the Kubernetes half is told the API went away");

    r.region().clear_faults(Some(lost));
    let leader = admin(&r, "m1", &s)
        .await
        .etcd_forfeit_leadership(ct_proto::talos::machine::EtcdForfeitLeadershipRequest {})
        .await
        .expect("forfeit")
        .into_inner();
    assert_eq!(leader.messages[0].member.len(), 16, "the new leader's member id, in hex");
    assert!(r.region().kube_api_available("c20"), "one member down of three keeps quorum");
    let before = members(&r, &s, "m1").await.expect("members");
    let m2 = before.iter().find(|(_, h)| h == "cp-2").expect("cp-2").0;
    let mut c = admin(&r, "m1", &s).await;
    let e =
        c.etcd_remove_member_by_id(EtcdRemoveMemberByIdRequest { member_id: 42 }).await.expect_err("unknown");
    assert_eq!(e.code(), Code::NotFound);
    c.etcd_remove_member_by_id(EtcdRemoveMemberByIdRequest { member_id: m2 })
        .await
        .expect("a down member is removable");
    assert_eq!(members(&r, &s, "m1").await.expect("members").len(), 2);
    r.region().clear_faults(None);

    let mut c3 = admin(&r, "m3", &s).await;
    c3.etcd_leave_cluster(EtcdLeaveClusterRequest {}).await.expect("leave with quorum kept");
    let e = c.etcd_leave_cluster(EtcdLeaveClusterRequest {}).await.expect_err("last member");
    assert_eq!(e.code(), Code::Unknown);
    assert!(e.message().contains("not enough started members"), "{e:?}");
    assert_eq!(members(&r, &s, "m1").await.expect("members").len(), 1);
    r.shutdown().await;
}

#[tokio::test]
async fn upgrades_change_the_version_and_keep_etcd_safe() {
    let r = region(3, 21, fast_config()).await;
    let s = Secrets::generate("c21");
    three_cp_cluster(&r, &s, 21).await;
    let tag = |r: &ct_emulator::RunningRegion, id: &str| {
        r.region().machines().into_iter().find(|m| m.id == id).map(|m| m.talos_version).unwrap_or_default()
    };

    r.region().add_fault(down("m3")).expect("fault");
    let mut c1 = admin(&r, "m1", &s).await;
    let image = "ghcr.io/siderolabs/installer:v1.14.0".to_owned();
    let e =
        c1.upgrade(UpgradeRequest { image: image.clone(), ..Default::default() }).await.expect_err("unsafe");
    assert!(e.message().contains("error validating etcd for upgrade"), "{e:?}");
    r.region().clear_faults(None);

    let e = c1
        .upgrade(UpgradeRequest { image: "installer:latest".into(), ..Default::default() })
        .await
        .expect_err("bad tag");
    assert_eq!(e.code(), Code::Unknown);
    let ack = admin(&r, "m2", &s)
        .await
        .upgrade(UpgradeRequest { image: image.clone(), ..Default::default() })
        .await
        .expect("upgrade");
    assert_eq!(ack.into_inner().messages[0].ack, "Upgrade request received");
    wait_not(&r, "m2", "running").await;
    wait_phase(&r, "m2", "running").await;
    let v = admin(&r, "m2", &s).await.version(()).await.expect("version").into_inner();
    assert_eq!(v.messages[0].version.as_ref().map(|v| v.tag.as_str()), Some("v1.14.0"));

    let mut lc =
        LifecycleServiceClient::new(mtls(r.addr("m1").expect("addr"), &s, "os:admin").await.expect("mtls"));
    let req = LifecycleServiceUpgradeRequest {
        containerd: None,
        source: Some(InstallArtifactsSource { image_name: image.clone() }),
    };
    let mut stream = lc.upgrade(req.clone()).await.expect("lifecycle upgrade").into_inner();
    let mut progress = Vec::new();
    while let Some(m) = stream.message().await.expect("progress") {
        progress.extend(m.progress.and_then(|p| p.response));
    }
    assert!(matches!(progress.last(), Some(Progress::ExitCode(0))), "{progress:?}");
    assert!(progress.iter().any(|p| matches!(p, Progress::Message(m) if m.contains("v1.14.0"))));
    assert_eq!(tag(&r, "m1"), "v1.13.9", "the new version only runs after a reboot");
    let mut reader =
        LifecycleServiceClient::new(mtls(r.addr("m1").expect("addr"), &s, "os:reader").await.expect("mtls"));
    assert_eq!(reader.upgrade(req).await.expect_err("admin only").code(), Code::PermissionDenied);
    c1.reboot(RebootRequest::default()).await.expect("reboot");
    wait_not(&r, "m1", "running").await;
    wait_phase(&r, "m1", "running").await;
    assert_eq!(tag(&r, "m1"), "v1.14.0");
    r.shutdown().await;
}

#[tokio::test]
async fn resets_leave_etcd_and_wipe_back_to_maintenance() {
    let r = region(3, 22, fast_config()).await;
    let s = Secrets::generate("c22");
    let first_cert = server_cert(r.addr("m3").expect("addr")).await;
    three_cp_cluster(&r, &s, 22).await;

    let graceful = ResetRequest { graceful: true, reboot: true, ..Default::default() };
    admin(&r, "m3", &s).await.reset(graceful.clone()).await.expect("reset");
    wait_phase(&r, "m3", "maintenance").await;
    let names: Vec<String> =
        members(&r, &s, "m1").await.expect("members").into_iter().map(|(_, h)| h).collect();
    assert!(!names.contains(&"cp-3".to_owned()), "a graceful reset leaves etcd first: {names:?}");
    let new_cert = server_cert(r.addr("m3").expect("addr")).await;
    assert_ne!(first_cert, new_cert, "a wiped machine comes back with a new self-signed certificate");
    let mut m3 = machine(insecure(r.addr("m3").expect("addr")).await.expect("maintenance again"));
    assert_eq!(m3.version(()).await.expect_err("maintenance").code(), Code::Unimplemented);

    let ephemeral_only = ResetRequest {
        graceful: false,
        reboot: true,
        system_partitions_to_wipe: vec![ResetPartitionSpec { label: "EPHEMERAL".into(), wipe: true }],
        ..Default::default()
    };
    admin(&r, "m2", &s).await.reset(ephemeral_only).await.expect("partial reset");
    wait_not(&r, "m2", "running").await;
    wait_phase(&r, "m2", "running").await;
    admin(&r, "m2", &s).await.version(()).await.expect("STATE kept: still configured, same CA");
    let bad = ResetRequest {
        system_partitions_to_wipe: vec![ResetPartitionSpec { label: "NOPE".into(), wipe: true }],
        ..Default::default()
    };
    assert_eq!(admin(&r, "m1", &s).await.reset(bad).await.expect_err("unknown label").code(), Code::Unknown);
    r.shutdown().await;
}

#[tokio::test]
async fn a_lone_control_plane_cannot_leave_etcd_gracefully_but_can_be_halted() {
    let r = region(1, 23, fast_config()).await;
    let s = Secrets::generate("c23");
    configure(&r, "m1", &s.config("controlplane", &endpoint(23), "cp-1", INSTALLER)).await;
    let mut c = admin(&r, "m1", &s).await;
    c.bootstrap(BootstrapRequest::default()).await.expect("bootstrap");
    c.reset(ResetRequest { graceful: true, reboot: true, ..Default::default() })
        .await
        .expect("the RPC itself succeeds");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(phase(&r, "m1"), "running", "the reset sequence failed at leaving etcd");
    let info = r.region().machines().into_iter().find(|m| m.id == "m1").expect("m1");
    assert!(info.events.iter().any(|e| e.contains("reset failed")), "{:?}", info.events);

    c.reset(ResetRequest { graceful: false, reboot: false, ..Default::default() }).await.expect("hard reset");
    wait_phase(&r, "m1", "halted").await;
    assert!(insecure(r.addr("m1").expect("addr")).await.is_err(), "a halted machine refuses connections");
    let admin_addr = r.admin_addr().expect("admin");
    ct_emulator::admin::call(admin_addr, "POST", "/v1/machines/m1/power-on", None).await.expect("power on");
    wait_phase(&r, "m1", "maintenance").await;
    assert!(!r.region().kube_api_available("c23"));
    r.shutdown().await;
}
