//! The Talos client against a real emulated region started in-process (loopback addresses
//! 127.88.x.y, time scale 0.005): maintenance mode and trust on first use, the first apply of a
//! configuration rendered by the provider, mTLS with talosconfig certificates and roles,
//! bootstrap once, kubeconfig, etcd membership and `node` proxying on three control planes,
//! both upgrade APIs, graceful reset back to maintenance, and retries, deadlines and
//! cancellation under injected faults.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cloudtemple::catalog::Version;
use cloudtemple::talos::client::{
    ApplyResult, Backoff, BootstrapOutcome, ErrorKind, Options, Probe, RebootMode, TalosClient,
    TalosCredentials, UpgradePath, UpgradeSpec, WipeMode, retry, wait_for_configured, wait_for_etcd_healthy,
    wait_for_maintenance, wait_until,
};
use cloudtemple::talos::machine_config::{ClusterInput, ClusterNetwork, Cni, NodeInput, NodeRole, render};
use cloudtemple::talos::talosconfig::{self, TalosconfigInput};
use cloudtemple::talos::version::ApplyMode;
use cloudtemple::talos::{SecretsBundle, Sensitive, kubeconfig};
use ct_emulator::faults::{FaultKind, FaultSpec};
use ct_emulator::timing::Latencies;
use ct_emulator::{RegionConfig, RegionOptions, RunningRegion};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tonic::Code;

/// Starts `n` machines on 127.88.`subnet`.1..n running `talos` in maintenance mode.
async fn region(n: u8, subnet: u8, talos: &str) -> RunningRegion {
    let machines = (1..=n).map(|i| (format!("m{i}"), SocketAddr::from(([127, 88, subnet, i], 0)))).collect();
    start(machines, talos, None).await
}

async fn start(machines: Vec<(String, SocketAddr)>, talos: &str, state_dir: Option<&Path>) -> RunningRegion {
    ct_emulator::start(RegionOptions {
        region: RegionConfig {
            state_dir: state_dir.map(Path::to_path_buf),
            latencies: Latencies { time_scale: 0.005, ..Latencies::default() },
            talos_version: talos.to_owned(),
            ..RegionConfig::default()
        },
        machines,
        admin: None,
    })
    .await
    .expect("region starts")
}

fn addr(r: &RunningRegion, id: &str) -> (IpAddr, u16) {
    let a = r.addr(id).expect("machine address");
    (a.ip(), a.port())
}

fn phase(r: &RunningRegion, id: &str) -> &'static str {
    r.region().machines().into_iter().find(|m| m.id == id).map_or("?", |m| m.phase)
}

fn opts() -> Options {
    Options::with_timeout(Duration::from_secs(30))
}

/// A cluster's secrets and inputs, rendered and credentialed by the provider's own code.
struct Cluster {
    name: &'static str,
    endpoint: String,
    talos: Version,
    secrets: SecretsBundle,
    network: ClusterNetwork,
}

impl Cluster {
    fn new(name: &'static str, endpoint_ip: IpAddr, talos: &str) -> Self {
        Self {
            name,
            endpoint: format!("https://{endpoint_ip}:6443"),
            talos: Version::parse(talos).expect("version"),
            secrets: SecretsBundle::generate(OffsetDateTime::now_utc()).expect("secrets"),
            network: ClusterNetwork {
                pod_cidrs: vec!["10.244.0.0/16".into()],
                service_cidrs: vec!["10.96.0.0/12".into()],
                dns_domain: ClusterNetwork::default_dns_domain(name),
                node_cidr: None,
                cni: Cni::None,
                kube_proxy: true,
            },
        }
    }

    fn config(&self, address: IpAddr, hostname: &str, role: NodeRole) -> Sensitive {
        let cluster = ClusterInput {
            name: self.name,
            endpoint: &self.endpoint,
            kubernetes_version: Version::parse("1.34.1").expect("version"),
            talos_version: self.talos,
            network: &self.network,
        };
        let labels = BTreeMap::new();
        let node = NodeInput {
            address,
            hostname,
            zone: "AZ05",
            install_disk: "/dev/sda",
            role,
            labels: &labels,
            taints: &[],
            installer_repository: None,
        };
        render(&cluster, &node, &self.secrets, &[]).expect("render").yaml
    }

    /// Credentials read back from a talosconfig generated for `role`.
    fn credentials(&self, role: &str) -> TalosCredentials {
        let generated = talosconfig::generate(
            &self.secrets,
            &TalosconfigInput {
                cluster_name: self.name,
                endpoints: &[],
                nodes: &[],
                roles: &[role],
                not_before: OffsetDateTime::now_utc() - time::Duration::minutes(5),
                validity: talosconfig::DEFAULT_VALIDITY,
            },
        )
        .expect("talosconfig");
        // The parser wants endpoints; a talosconfig for the test carries one.
        let yaml = generated.yaml.expose().replace("endpoints: []", "endpoints: [127.0.0.1]");
        TalosCredentials::from_talosconfig(&talosconfig::parse(&yaml).expect("parse talosconfig"))
    }
}

/// Applies `config` in maintenance mode and waits until the node answers mTLS.
async fn install(r: &RunningRegion, id: &str, config: &Sensitive, admin: &TalosCredentials) -> TalosClient {
    let (ip, port) = addr(r, id);
    let maintenance = TalosClient::maintenance(ip, port).expect("client");
    let applied =
        maintenance.apply_configuration(config, ApplyMode::Auto, false, &opts()).await.expect("apply");
    assert!(applied.warnings.iter().all(|w| !w.contains("BEGIN")), "warnings never echo keys");
    let (client, version) = wait_for_configured(ip, port, admin, &opts()).await.expect("configured");
    assert!(version.tag.starts_with('v'), "{version:?}");
    client
}

async fn bootstrap(client: &TalosClient) -> BootstrapOutcome {
    retry(&opts(), &Backoff::default(), |o| {
        let c = client.clone();
        async move { c.bootstrap(&o).await }
    })
    .await
    .expect("bootstrap")
}

#[tokio::test]
async fn maintenance_mode_detection_trust_on_first_use_and_rejected_configs() {
    let r = region(1, 1, "v1.13.9").await;
    let (ip, port) = addr(&r, "m1");
    let client = TalosClient::maintenance(ip, port).expect("client");
    assert_eq!(client.server_fingerprint(), None, "nothing seen before the first call");

    let e = client.version(&opts()).await.expect_err("maintenance mode has no Version");
    assert!(e.is_maintenance_mode() && e.is_unimplemented() && !e.is_transient(), "{e}");
    assert_eq!(e.node, format!("{ip}:{port}"));
    let fingerprint = client.server_fingerprint().expect("fingerprint recorded");
    assert_eq!(fingerprint.len(), 64);
    client.version(&opts()).await.expect_err("still maintenance");
    assert_eq!(client.server_fingerprint(), Some(fingerprint), "the same certificate again");

    let e = client.bootstrap(&opts()).await.expect_err("no bootstrap in maintenance mode");
    assert_eq!(e.code(), Some(Code::Unimplemented));

    // A config the node rejects: InvalidArgument, never retried, and the error does not
    // quote the configuration.
    let calls = AtomicU32::new(0);
    let bad = Sensitive::new("version: v1alpha1\nmachine:\n  type: controlplane\n  token: SECRET-TOKEN\n");
    let e = retry(&opts(), &Backoff::default(), |o| {
        calls.fetch_add(1, Ordering::SeqCst);
        let (c, bad) = (client.clone(), bad.clone());
        async move { c.apply_configuration(&bad, ApplyMode::Auto, false, &o).await }
    })
    .await
    .expect_err("invalid config");
    assert_eq!(e.code(), Some(Code::InvalidArgument), "{e}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "InvalidArgument is not retried");
    assert!(!e.to_string().contains("SECRET-TOKEN"), "{e}");

    let cluster = Cluster::new("tofu", ip, "1.13.9");
    let config = cluster.config(ip, "cp-1", NodeRole::ControlPlane);
    let e = client.apply_configuration(&config, ApplyMode::Staged, false, &opts()).await.expect_err("staged");
    assert_eq!(e.code(), Some(Code::Unimplemented), "{e}");
    let ApplyResult { mode_details, .. } =
        client.apply_configuration(&config, ApplyMode::Auto, true, &opts()).await.expect("dry run");
    assert!(mode_details.contains("Dry run"), "{mode_details}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(phase(&r, "m1"), "maintenance", "a dry run changes nothing");

    // mTLS against a node that still presents its self-signed certificate: a TLS error,
    // permanent for a single call.
    let admin = TalosClient::connect(ip, port, &cluster.credentials("os:admin")).expect("client");
    let e = admin.version(&opts()).await.expect_err("maintenance certificate is not from the OS CA");
    assert!(matches!(e.kind, ErrorKind::Tls(_)) && !e.is_transient(), "{e}");
    r.shutdown().await;
}

#[tokio::test]
async fn dev_cluster_install_bootstrap_roles_kubeconfig_and_lifecycle_upgrade() {
    let r = region(1, 2, "v1.13.9").await;
    let (ip, port) = addr(&r, "m1");
    let cluster = Cluster::new("dev", ip, "1.13.9");
    let admin_creds = cluster.credentials("os:admin");
    let admin = install(&r, "m1", &cluster.config(ip, "cp-1", NodeRole::ControlPlane), &admin_creds).await;
    assert_eq!(admin.version(&opts()).await.expect("version").tag, "v1.13.9");
    assert_eq!(admin.server_fingerprint(), None);
    // A client without certificate: the configured node rejects it (after the TLS 1.3
    // handshake), and saying so at once beats retrying until the deadline.
    let e =
        TalosClient::maintenance(ip, port).expect("client").version(&opts()).await.expect_err("mTLS only");
    assert!(
        matches!(&e.kind, ErrorKind::Tls(m) if m.contains("CertificateRequired")) && !e.is_transient(),
        "{e}"
    );

    assert_eq!(bootstrap(&admin).await, BootstrapOutcome::Bootstrapped);
    assert_eq!(bootstrap(&admin).await, BootstrapOutcome::AlreadyDone, "AlreadyExists is success");

    let kubeconfig = admin.kubeconfig(&opts()).await.expect("kubeconfig");
    let parsed = kubeconfig::parse(kubeconfig.expose()).expect("kubeconfig parses");
    assert_eq!(parsed.server, cluster.endpoint);
    assert!(!format!("{kubeconfig:?}").contains("BEGIN"), "kubeconfig never prints");

    let services = admin.service_list(&opts()).await.expect("services");
    for id in ["apid", "etcd", "kubelet"] {
        assert!(services.iter().any(|s| s.id == id), "{id} in {services:?}");
    }
    let members = wait_for_etcd_healthy(&admin, 1, &opts()).await.expect("etcd");
    assert_eq!(members[0].hostname, "cp-1");
    assert_eq!(members[0].peer_urls, vec![format!("https://{ip}:2380")]);
    let progress = admin.health_check(&[ip], &[], Duration::from_secs(10), &opts()).await.expect("healthy");
    assert!(progress.iter().any(|l| l.contains("etcd to be healthy: OK")), "{progress:?}");

    // Roles: a reader may read, not act.
    let reader = TalosClient::connect(ip, port, &cluster.credentials("os:reader")).expect("reader");
    assert_eq!(reader.version(&opts()).await.expect("reader reads").tag, "v1.13.9");
    for e in [
        reader.bootstrap(&opts()).await.expect_err("reader"),
        reader.kubeconfig(&opts()).await.map(|_| ()).expect_err("reader"),
    ] {
        assert!(e.is_permission_denied() && !e.is_transient(), "{e}");
    }
    // Another cluster's certificate: rejected in the handshake, permanently.
    let stranger = Cluster::new("other", ip, "1.13.9").credentials("os:admin");
    let e =
        TalosClient::connect(ip, port, &stranger).expect("client").version(&opts()).await.expect_err("CA");
    assert!(matches!(e.kind, ErrorKind::Tls(_)) && !e.is_transient(), "{e}");
    let short = Options::with_timeout(Duration::from_millis(600));
    let e = wait_for_configured(ip, port, &stranger, &short).await.expect_err("never configured for us");
    assert!(e.is_timeout() && e.to_string().contains("TLS"), "{e}");

    // Talos 1.13 has the LifecycleService: install, then reboot into the new release.
    let spec = UpgradeSpec {
        image: "ghcr.io/siderolabs/installer:v1.14.0".into(),
        stage: false,
        force: false,
        preserve: false,
        reboot_mode: RebootMode::Powercycle,
    };
    let outcome = admin.upgrade(&spec, &opts()).await.expect("upgrade");
    assert_eq!(outcome.path, UpgradePath::Lifecycle);
    assert!(outcome.rebooting && outcome.progress.iter().any(|l| l.contains("v1.14.0")), "{outcome:?}");
    let tag = wait_until("wait for upgrade", "m1", &opts(), &Backoff::POLL, |o| {
        let c = admin.clone();
        async move {
            let v = c.version(&o).await?;
            Ok(if v.tag == "v1.14.0" { Probe::Ready(v.tag) } else { Probe::NotYet(v.tag) })
        }
    })
    .await
    .expect("runs the new release");
    assert_eq!(tag, "v1.14.0");
    assert!(
        events_of(&r, "m1").iter().any(|e| e == "reboot requested (mode powercycle)"),
        "the reboot that follows the install uses the requested mode: {:?}",
        events_of(&r, "m1")
    );
    assert_eq!(bootstrap(&admin).await, BootstrapOutcome::AlreadyDone, "etcd data survives the upgrade");

    // Non-graceful reset (a single member cannot leave etcd) back to maintenance.
    admin.reset(false, true, WipeMode::All, &opts()).await.expect("reset");
    let back = wait_for_maintenance(ip, port, &opts()).await.expect("maintenance again");
    assert!(back.server_fingerprint().is_some());
    r.shutdown().await;
}

#[tokio::test]
async fn three_control_planes_etcd_proxying_legacy_upgrade_and_graceful_reset() {
    let r = region(3, 3, "v1.12.4").await;
    let ips: Vec<(IpAddr, u16)> = ["m1", "m2", "m3"].iter().map(|id| addr(&r, id)).collect();
    let cluster = Cluster::new("prod", ips[0].0, "1.12.4");
    let admin_creds = cluster.credentials("os:admin");

    // m3's first maintenance client: it pins the certificate m3 presents now.
    let first = TalosClient::maintenance(ips[2].0, ips[2].1).expect("client");
    first.version(&opts()).await.expect_err("maintenance");
    let first_fingerprint = first.server_fingerprint().expect("pinned");

    let configs: Vec<Sensitive> =
        (0..3).map(|i| cluster.config(ips[i].0, &format!("cp-{}", i + 1), NodeRole::ControlPlane)).collect();
    let (cp1, cp2, cp3) = tokio::join!(
        install(&r, "m1", &configs[0], &admin_creds),
        install(&r, "m2", &configs[1], &admin_creds),
        install(&r, "m3", &configs[2], &admin_creds),
    );
    assert_eq!(bootstrap(&cp1).await, BootstrapOutcome::Bootstrapped);
    let members = wait_for_etcd_healthy(&cp1, 3, &opts()).await.expect("three members");
    let mut names: Vec<&str> = members.iter().map(|m| m.hostname.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["cp-1", "cp-2", "cp-3"]);
    // Only one bootstrap per cluster: the others report AlreadyExists as done.
    assert_eq!(bootstrap(&cp2).await, BootstrapOutcome::AlreadyDone);

    // `node` targeting: m1 proxies to m3.
    let via = cp1.for_node(ips[2].0);
    assert_eq!(via.target(), ips[2].0.to_string());
    assert_eq!(via.version(&opts()).await.expect("proxied").tag, "v1.12.4");
    assert_eq!(via.etcd_member_list(&opts()).await.expect("proxied").len(), 3);
    let leader = cp1.etcd_forfeit_leadership(&opts()).await.expect("forfeit");
    assert_eq!(leader.len(), 16, "{leader}");

    // Talos 1.12 has no LifecycleService: the deprecated MachineService.Upgrade is used.
    let spec = UpgradeSpec {
        image: "ghcr.io/siderolabs/installer:v1.13.9".into(),
        stage: false,
        force: false,
        preserve: true,
        reboot_mode: RebootMode::Powercycle,
    };
    let outcome = cp2.upgrade(&spec, &opts()).await.expect("upgrade");
    assert_eq!(outcome.path, UpgradePath::Legacy);
    let tag = wait_until("wait for upgrade", "m2", &opts(), &Backoff::POLL, |o| {
        let c = cp2.clone();
        async move {
            let v = c.version(&o).await?;
            Ok(if v.tag == "v1.13.9" { Probe::Ready(v.tag) } else { Probe::NotYet(v.tag) })
        }
    })
    .await
    .expect("upgraded");
    assert_eq!(tag, "v1.13.9");
    assert!(
        events_of(&r, "m2").iter().any(|e| e.contains("(reboot mode powercycle)")),
        "the deprecated API carries the reboot mode: {:?}",
        events_of(&r, "m2")
    );
    wait_for_etcd_healthy(&cp1, 3, &opts()).await.expect("m2 back in etcd");

    // Graceful reset: m3 leaves etcd, wipes, and comes back in maintenance mode with a new
    // self-signed certificate, which the old pinned client refuses.
    cp3.reset(true, true, WipeMode::All, &opts()).await.expect("reset");
    let back = wait_for_maintenance(ips[2].0, ips[2].1, &opts()).await.expect("maintenance");
    let new_fingerprint = back.server_fingerprint().expect("fingerprint");
    assert_ne!(new_fingerprint, first_fingerprint, "a wiped node has a new maintenance certificate");
    let e = first.version(&opts()).await.expect_err("pinned certificate changed");
    assert!(matches!(&e.kind, ErrorKind::Tls(m) if m.contains("changed")) && !e.is_transient(), "{e}");
    let members = wait_for_etcd_healthy(&cp1, 2, &opts()).await.expect("two members");
    assert!(members.iter().all(|m| m.hostname != "cp-3"), "{members:?}");
    // The health check still expecting m3 fails on the node, which says why, before our own
    // deadline (the node's wait is cut short of it).
    let all: Vec<IpAddr> = ips.iter().map(|(ip, _)| *ip).collect();
    let short = Options::with_timeout(Duration::from_secs(2));
    let e = cp1.health_check(&all, &[], Duration::from_secs(60), &short).await.expect_err("m3 is gone");
    assert!(!e.is_timeout() && !e.is_transient(), "{e}");
    assert!(e.message().is_some_and(|m| m.contains("etcd members")), "{e}");
    r.shutdown().await;
}

fn fault(kind: FaultKind, api: &str) -> FaultSpec {
    FaultSpec { machine: "m1".into(), api: api.into(), kind }
}

#[tokio::test]
async fn retries_deadlines_and_cancellation_under_faults() {
    let r = region(1, 4, "v1.13.9").await;
    let (ip, port) = addr(&r, "m1");
    let client = TalosClient::maintenance(ip, port).expect("client");
    let fast =
        Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(80), ..Backoff::default() };

    // Unavailable on every Version call: retried until the fault is cleared, then the
    // maintenance answer (permanent) ends the loop.
    let id = r.region().add_fault(fault(FaultKind::ErrorRate { rate: 1.0 }, "Version")).expect("fault");
    let region = r.region().clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        region.clear_faults(Some(id));
    });
    let attempts = Arc::new(AtomicU32::new(0));
    let e = retry(&opts(), &fast, |o| {
        attempts.fetch_add(1, Ordering::SeqCst);
        let c = client.clone();
        async move { c.version(&o).await }
    })
    .await
    .expect_err("maintenance");
    clear.await.expect("cleared");
    assert!(e.is_maintenance_mode(), "{e}");
    assert!(attempts.load(Ordering::SeqCst) > 2, "Unavailable was retried");

    // A retry loop bounded by its deadline reports the last transient error.
    r.region().add_fault(fault(FaultKind::ErrorRate { rate: 1.0 }, "Version")).expect("fault");
    let started = Instant::now();
    let e = retry(&Options::with_timeout(Duration::from_millis(300)), &fast, |o| {
        let c = client.clone();
        async move { c.version(&o).await }
    })
    .await
    .expect_err("deadline");
    assert!(e.is_timeout() && e.to_string().contains("Unavailable"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    r.region().clear_faults(None);

    // One slow call: bounded by its own deadline, and stopped at once when cancelled.
    r.region().add_fault(fault(FaultKind::Delay { ms: 10_000 }, "Version")).expect("fault");
    let started = Instant::now();
    let e = client.version(&Options::with_timeout(Duration::from_millis(200))).await.expect_err("slow");
    assert!(e.is_timeout() && e.is_transient(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let token = CancellationToken::new();
    let slow = Options::new(Duration::from_secs(60), token.clone());
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        token.cancel();
        Instant::now()
    });
    let e = client.version(&slow).await.expect_err("cancelled");
    let returned = Instant::now();
    assert!(e.is_cancelled() && !e.is_transient(), "{e}");
    assert!(returned.duration_since(canceller.await.expect("cancelled")) < Duration::from_millis(250));
    r.region().clear_faults(None);

    // A machine that is down: connections refused (transient), and a retry loop that only
    // cancellation ends.
    r.region().add_fault(fault(FaultKind::Down, "*")).expect("fault");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = client.version(&opts()).await.expect_err("down");
    assert!(matches!(e.kind, ErrorKind::Connection(_)) && e.is_transient(), "{e}");
    let token = CancellationToken::new();
    let long = Options::new(Duration::from_secs(60), token.clone());
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel();
        Instant::now()
    });
    let attempts = Arc::new(AtomicU32::new(0));
    let e = retry(&long, &fast, |o| {
        attempts.fetch_add(1, Ordering::SeqCst);
        let c = client.clone();
        async move { c.version(&o).await }
    })
    .await
    .expect_err("cancelled");
    let returned = Instant::now();
    assert!(e.is_cancelled(), "{e}");
    assert!(attempts.load(Ordering::SeqCst) > 1, "refused connections were retried");
    assert!(returned.duration_since(canceller.await.expect("cancelled")) < Duration::from_millis(250));
    let cancelled_before = Options::new(Duration::from_secs(60), CancellationToken::new());
    cancelled_before.cancel().cancel();
    let e = client.version(&cancelled_before).await.expect_err("cancelled before the call");
    assert!(e.is_cancelled());
    r.shutdown().await;
}

#[tokio::test]
async fn a_client_outlives_a_restart_of_the_region() {
    let state = tempfile::tempdir().expect("state dir");
    let machines = vec![("m1".to_owned(), SocketAddr::from(([127, 88, 5, 1], 0)))];
    let r = start(machines, "v1.13.9", Some(state.path())).await;
    let (ip, _) = addr(&r, "m1");
    let cluster = Cluster::new("restart", ip, "1.13.9");
    let admin_creds = cluster.credentials("os:admin");
    let admin = install(&r, "m1", &cluster.config(ip, "cp-1", NodeRole::ControlPlane), &admin_creds).await;
    assert_eq!(bootstrap(&admin).await, BootstrapOutcome::Bootstrapped);

    // The region goes away: the same client fails with transient connection errors...
    let machines = r.machines().to_vec();
    r.shutdown().await;
    let e = admin.version(&opts()).await.expect_err("region stopped");
    assert!(e.is_transient(), "{e}");
    // ...and a retry loop running across the restart reconnects once it is back.
    let retried = tokio::spawn({
        let admin = admin.clone();
        async move {
            retry(&opts(), &Backoff::default(), |o| {
                let c = admin.clone();
                async move { c.etcd_member_list(&o).await }
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = start(machines, "v1.13.9", Some(state.path())).await;
    let members = retried.await.expect("task").expect("etcd answers after the restart");
    assert_eq!(members.len(), 1);
    assert_eq!(bootstrap(&admin).await, BootstrapOutcome::AlreadyDone, "state survived: no second bootstrap");
    r.shutdown().await;
}

/// The emulator's event log of one machine.
fn events_of(r: &ct_emulator::RunningRegion, id: &str) -> Vec<String> {
    r.region().machines().into_iter().find(|m| m.id == id).map(|m| m.events).unwrap_or_default()
}
