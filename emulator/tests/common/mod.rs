//! Test helpers: Talos-like secrets made with rcgen, machine configs, clients (insecure for
//! maintenance mode, mTLS with a role for configured nodes) and polling.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ct_emulator::timing::Latencies;
use ct_emulator::{RegionConfig, RegionOptions, RunningRegion};
use ct_proto::talos::machine::machine_service_client::MachineServiceClient;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A cluster's secrets: OS CA (Ed25519, as Talos makes it) and Kubernetes CA (ECDSA).
pub struct Secrets {
    pub os_crt: String,
    pub os_key: String,
    pub k8s_crt: String,
    pub k8s_key: String,
    pub id: String,
}

fn ca(cn: &str, key: &KeyPair) -> String {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, cn);
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    params.self_signed(key).expect("CA").pem()
}

impl Secrets {
    pub fn generate(id: &str) -> Self {
        let os = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519");
        let k8s = KeyPair::generate().expect("ecdsa");
        Self {
            os_crt: ca("talos", &os),
            os_key: os.serialize_pem(),
            k8s_crt: ca("kubernetes", &k8s),
            k8s_key: k8s.serialize_pem(),
            id: id.to_owned(),
        }
    }

    /// A talosconfig-style client certificate with the given role in its Organization.
    pub fn client(&self, role: &str) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let issuer = Issuer::from_ca_cert_pem(&self.os_crt, KeyPair::from_pem(&self.os_key).expect("os key"))
            .expect("issuer");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, role);
        params.distinguished_name = dn;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer).expect("client cert");
        (cert.pem(), key.serialize_pem())
    }

    /// A v1alpha1 machine config (`controlplane` or `worker`) plus a HostnameConfig document.
    pub fn config(&self, kind: &str, endpoint: &str, hostname: &str, installer: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let (os_key, k8s_key) = if kind == "controlplane" {
            (b64(&self.os_key), b64(&self.k8s_key))
        } else {
            (String::new(), String::new())
        };
        format!(
            "version: v1alpha1\ndebug: false\npersist: true\nmachine:\n  type: {kind}\n  token: abcdef.0123456789abcdef\n  ca:\n    crt: {}\n    key: \"{os_key}\"\n  certSANs: []\n  network:\n    hostname: {hostname}\n  install:\n    disk: /dev/sda\n    image: {installer}\n  env:\n    GREETING: hello\ncluster:\n  id: {}\n  secret: c2VjcmV0\n  controlPlane:\n    endpoint: {endpoint}\n  clusterName: demo\n  network:\n    dnsDomain: cluster.local\n    podSubnets: [10.244.0.0/16]\n    serviceSubnets: [10.96.0.0/12]\n  token: abcdef.abcdefabcdefabcd\n  ca:\n    crt: {}\n    key: \"{k8s_key}\"\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n",
            b64(&self.os_crt),
            self.id,
            b64(&self.k8s_crt),
        )
    }
}

pub const INSTALLER: &str = "ghcr.io/siderolabs/installer:v1.13.9";

/// Latencies short enough for tests but long enough to observe each phase.
pub fn latencies() -> Latencies {
    Latencies { time_scale: 0.005, ..Latencies::default() }
}

pub fn fast_config() -> RegionConfig {
    RegionConfig { latencies: latencies(), ..RegionConfig::default() }
}

/// Starts a region of `n` machines on 127.77.`subnet`.1..n, port 0, with an admin endpoint.
pub async fn region(n: u8, subnet: u8, config: RegionConfig) -> RunningRegion {
    let machines = (1..=n).map(|i| (format!("m{i}"), SocketAddr::from(([127, 77, subnet, i], 0)))).collect();
    ct_emulator::start(RegionOptions {
        region: config,
        machines,
        admin: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    })
    .await
    .expect("region starts")
}

#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

fn insecure_tls() -> Arc<rustls::ClientConfig> {
    let mut c =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything))
            .with_no_client_auth();
    c.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(c)
}

/// A channel that skips server verification and presents no client certificate
/// (`talosctl --insecure`).
pub async fn insecure(addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .connect_with_connector(tower::service_fn(move |_: tonic::codegen::http::Uri| async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let tls = tokio_rustls::TlsConnector::from(insecure_tls())
                .connect(ServerName::IpAddress(addr.ip().into()), tcp)
                .await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }))
        .await
}

/// The certificate a machine presents (read with an insecure handshake).
pub async fn server_cert(addr: SocketAddr) -> Vec<u8> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let tls = tokio_rustls::TlsConnector::from(insecure_tls())
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("handshake");
    tls.get_ref().1.peer_certificates().expect("certs")[0].to_vec()
}

/// An mTLS channel authenticated with the given role, verifying the server against the OS CA.
pub async fn mtls(addr: SocketAddr, s: &Secrets, role: &str) -> Result<Channel, tonic::transport::Error> {
    let (crt, key) = s.client(role);
    mtls_with(addr, &s.os_crt, &crt, &key).await
}

pub async fn mtls_with(
    addr: SocketAddr,
    ca: &str,
    crt: &str,
    key: &str,
) -> Result<Channel, tonic::transport::Error> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .identity(Identity::from_pem(crt, key))
        .domain_name(addr.ip().to_string());
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
}

pub fn machine(ch: Channel) -> MachineServiceClient<Channel> {
    MachineServiceClient::new(ch)
}

/// An admin client of a configured machine.
pub async fn admin(r: &RunningRegion, id: &str, s: &Secrets) -> MachineServiceClient<Channel> {
    machine(mtls(r.addr(id).expect("addr"), s, "os:admin").await.expect("mTLS connect"))
}

/// Polls `f` until it returns `Some`, panicking after `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn phase(r: &RunningRegion, id: &str) -> &'static str {
    r.region().machines().into_iter().find(|m| m.id == id).map_or("?", |m| m.phase)
}

/// Waits until a machine reaches a phase.
pub async fn wait_phase(r: &RunningRegion, id: &str, want: &str) {
    eventually(&format!("{id} {want}"), 20, || async { (phase(r, id) == want).then_some(()) }).await;
}

/// Waits until a machine leaves a phase (a reboot or reset started).
pub async fn wait_not(r: &RunningRegion, id: &str, not: &str) {
    eventually(&format!("{id} leaving {not}"), 20, || async { (phase(r, id) != not).then_some(()) }).await;
}

/// Applies a config in maintenance mode and waits until the machine runs configured.
pub async fn configure(r: &RunningRegion, id: &str, config: &str) {
    let addr = r.addr(id).expect("addr");
    let mut c = machine(insecure(addr).await.expect("insecure connect"));
    c.apply_configuration(ct_proto::talos::machine::ApplyConfigurationRequest {
        data: config.as_bytes().to_vec(),
        mode: 1,
        ..Default::default()
    })
    .await
    .expect("apply in maintenance");
    wait_phase(r, id, "running").await;
}

/// A request carrying `node` metadata.
pub fn to_node<T>(msg: T, node: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert("node", node.parse().expect("metadata"));
    req
}

pub fn endpoint(subnet: u8) -> String {
    format!("https://127.77.{subnet}.1:6443")
}

impl Secrets {
    /// A machine config whose kubelet carries a zone label and runs Kubernetes `k8s`
    /// (`v1.32.3`), with the API server at the same version on control planes.
    pub fn k8s_config(&self, kind: &str, endpoint: &str, hostname: &str, zone: &str, k8s: &str) -> String {
        self.config(kind, endpoint, hostname, INSTALLER)
            .replacen(
                "machine:\n",
                &format!(
                    "machine:\n  nodeLabels:\n    topology.kubernetes.io/zone: {zone}\n  kubelet:\n    image: ghcr.io/siderolabs/kubelet:{k8s}\n"
                ),
                1,
            )
            .replacen(
                "cluster:\n",
                &format!("cluster:\n  apiServer:\n    image: registry.k8s.io/kube-apiserver:{k8s}\n"),
                1,
            )
    }
}

/// The admin kubeconfig a control plane streams through the Kubeconfig RPC (a .tar.gz).
pub async fn fetch_kubeconfig(r: &RunningRegion, id: &str, s: &Secrets) -> String {
    use std::io::Read as _;
    let mut stream = admin(r, id, s).await.kubeconfig(()).await.expect("kubeconfig").into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        bytes.extend(chunk.bytes);
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let mut entry = archive.entries().expect("tar").next().expect("one entry").expect("entry");
    let mut yaml = String::new();
    entry.read_to_string(&mut yaml).expect("utf-8");
    yaml
}
