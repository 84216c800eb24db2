//! Provider process startup, measured the way Terraform drives a provider: spawn it with
//! Terraform's environment (magic cookie, protocol versions, port range, a P-521
//! `PLUGIN_CLIENT_CERT` so AutoMTLS is on), read the handshake line, connect over TLS pinning the
//! printed certificate, call `GetProviderSchema`, read the peak RSS, call
//! `GRPCController.Shutdown` and wait for the process to exit.

use crate::cert::P521Cert;
use crate::error::BenchError;
use crate::rusage::ChildCpu;
use crate::tls;
use base64::Engine as _;
use ct_proto::plugin::Empty;
use ct_proto::plugin::grpc_controller_client::GrpcControllerClient;
use ct_proto::tfplugin6::diagnostic::Severity;
use ct_proto::tfplugin6::get_provider_schema;
use ct_proto::tfplugin6::provider_client::ProviderClient;
use hyper_util::rt::TokioIo;
use prost::Message as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, BufReader};
use tokio::process::Command;

/// go-plugin's magic cookie for Terraform providers.
const MAGIC_COOKIE: (&str, &str) =
    ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2");
/// How long one start-to-exit cycle may take before it counts as hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the provider listens, from the handshake line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Address {
    Tcp(String),
    Unix(PathBuf),
}

/// The parsed handshake line `CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVERCERT`.
#[derive(Debug, PartialEq, Eq)]
struct Handshake {
    app_protocol: u32,
    address: Address,
    server_cert: Vec<u8>,
}

fn parse_handshake(line: &str) -> Result<Handshake, String> {
    let fields: Vec<&str> = line.trim_end().splitn(6, '|').collect();
    let [core, app, network, address, protocol, cert] = fields[..] else {
        return Err(format!("handshake line {line:?} does not have 6 fields"));
    };
    if core != "1" || protocol != "grpc" {
        return Err(format!("unexpected core protocol or transport in {line:?}"));
    }
    let app_protocol = app.parse().map_err(|_| format!("bad protocol version in {line:?}"))?;
    let address = match network {
        "tcp" => Address::Tcp(address.to_string()),
        "unix" => Address::Unix(PathBuf::from(address)),
        other => return Err(format!("unknown network {other:?}")),
    };
    // Go prints base64 without padding (RawStdEncoding); accept padding too.
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(cert.trim_end_matches('='))
        .map_err(|e| format!("server certificate is not base64: {e}"))?;
    if server_cert.is_empty() {
        return Err("no server certificate: AutoMTLS is off".to_string());
    }
    Ok(Handshake { app_protocol, address, server_cert })
}

/// One start-to-exit cycle of a provider.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// Spawn to handshake line read, seconds.
    pub(crate) handshake: f64,
    /// Spawn to `GetProviderSchema` response decoded, seconds.
    pub(crate) schema: f64,
    /// Spawn to process reaped after `Shutdown`, seconds.
    pub(crate) total: f64,
    /// User plus system CPU time of the process, seconds.
    pub(crate) cpu: f64,
    /// `VmHWM` just before `Shutdown`, KiB.
    pub(crate) hwm_kib: u64,
}

/// What the provider's schema holds (the same on every run).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SchemaFacts {
    /// Resource types.
    pub(crate) resources: usize,
    /// Data source types.
    pub(crate) data_sources: usize,
    /// Encoded size of the response (fields our proto knows), bytes.
    pub(crate) bytes: usize,
    /// Negotiated plugin protocol.
    pub(crate) protocol: u32,
    /// `tcp` or `unix`.
    pub(crate) network: &'static str,
}

/// Terraform's side of a provider start: the environment it sets and its client certificate.
#[derive(Debug)]
pub(crate) struct Launcher {
    client: P521Cert,
    client_pem: String,
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

fn file_name(binary: &Path) -> String {
    binary.file_name().map_or_else(|| binary.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn connect(
    binary: &str,
    handshake: &Handshake,
    tls: Arc<rustls::ClientConfig>,
) -> Result<tonic::transport::Channel, BenchError> {
    let address = handshake.address.clone();
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        let (address, tls) = (address.clone(), Arc::clone(&tls));
        async move {
            let stream: Box<dyn Io> = match address {
                Address::Tcp(a) => {
                    let tcp = tokio::net::TcpStream::connect(a).await?;
                    // Go's net package sets TCP_NODELAY; without it h2 frames wait on Nagle.
                    tcp.set_nodelay(true)?;
                    Box::new(tcp)
                }
                Address::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
            };
            let name = rustls::pki_types::ServerName::try_from("localhost")
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(tls).connect(name, stream).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .map_err(|source| BenchError::Connect {
            binary: binary.to_string(),
            address: format!("{:?}", handshake.address),
            source,
        })
}

impl Launcher {
    /// A launcher with a fresh client certificate, generated once as Terraform does per run.
    pub(crate) fn new() -> Self {
        let client = P521Cert::generate();
        let client_pem = client.pem();
        Self { client, client_pem }
    }

    fn command(&self, binary: &Path, unix_socket_dir: Option<&Path>) -> Command {
        let mut cmd = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            let key_str = key.to_string_lossy();
            if key_str.starts_with("TF_") || key_str.starts_with("PLUGIN_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env(MAGIC_COOKIE.0, MAGIC_COOKIE.1)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", &self.client_pem)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(dir) = unix_socket_dir {
            cmd.env("PLUGIN_UNIX_SOCKET_DIR", dir);
        }
        cmd
    }

    /// One cycle; the process is killed if it hangs.
    pub(crate) async fn run_once(&self, subject: &Subject) -> Result<(Sample, SchemaFacts), BenchError> {
        let name = file_name(&subject.binary);
        let cpu_before = ChildCpu::now()?;
        let start = Instant::now();
        let mut child = self
            .command(&subject.binary, subject.unix_socket_dir.as_deref())
            .spawn()
            .map_err(BenchError::io(format!("spawning {name}")))?;
        let outcome = tokio::time::timeout(RUN_TIMEOUT, self.drive(&name, &mut child, start)).await;
        let (mut sample, facts) = match outcome {
            Ok(result) => result?,
            Err(_) => {
                let _ = child.kill().await;
                return Err(BenchError::Protocol {
                    binary: name,
                    message: format!("no exit within {RUN_TIMEOUT:?}"),
                });
            }
        };
        sample.cpu = ChildCpu::now()?.cpu_since(cpu_before);
        Ok((sample, facts))
    }

    async fn drive(
        &self,
        name: &str,
        child: &mut tokio::process::Child,
        start: Instant,
    ) -> Result<(Sample, SchemaFacts), BenchError> {
        let protocol = |message: String| BenchError::Protocol { binary: name.to_string(), message };
        let stdout = child.stdout.take().ok_or_else(|| protocol("no stdout pipe".to_string()))?;
        // Kept open until the process exits: a Go plugin must not see its stdout closed.
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).await.map_err(BenchError::io(format!("reading {name}'s handshake")))?;
        let handshake_at = start.elapsed();
        let handshake = parse_handshake(&line).map_err(protocol)?;
        let pid = child.id().ok_or_else(|| protocol("exited right after its handshake".to_string()))?;

        let tls = tls::client_config(&handshake.server_cert, &self.client)
            .map_err(|e| protocol(format!("TLS configuration: {e}")))?;
        let channel = connect(name, &handshake, tls).await?;
        let grpc = |call| {
            move |status| BenchError::Grpc { binary: name.to_string(), call, status: Box::new(status) }
        };
        let schema = ProviderClient::new(channel.clone())
            .max_decoding_message_size(64 << 20)
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .map_err(grpc("GetProviderSchema"))?
            .into_inner();
        let schema_at = start.elapsed();
        let hwm_kib = vm_hwm_kib(pid).unwrap_or_default();
        if let Some(d) = schema.diagnostics.iter().find(|d| d.severity == Severity::Error as i32) {
            return Err(protocol(format!("GetProviderSchema returned an error: {}", d.summary)));
        }
        let facts = SchemaFacts {
            resources: schema.resource_schemas.len(),
            data_sources: schema.data_source_schemas.len(),
            bytes: schema.encoded_len(),
            protocol: handshake.app_protocol,
            network: if matches!(handshake.address, Address::Tcp(_)) { "tcp" } else { "unix" },
        };
        // go-plugin's Shutdown stops the server before answering, so the call may fail with a
        // closed connection, as it does for Terraform, which ignores it too.
        let _ = GrpcControllerClient::new(channel).shutdown(Empty {}).await;
        let status = child.wait().await.map_err(BenchError::io(format!("waiting for {name}")))?;
        let total_at = start.elapsed();
        drop(stdout);
        if !status.success() {
            return Err(protocol(format!("exited with {status} after Shutdown")));
        }
        let sample = Sample {
            handshake: handshake_at.as_secs_f64(),
            schema: schema_at.as_secs_f64(),
            total: total_at.as_secs_f64(),
            cpu: 0.0,
            hwm_kib,
        };
        Ok((sample, facts))
    }
}

/// Spawning and reaping a trivial process: the floor under any provider start.
pub(crate) async fn trivial_process(binary: &Path) -> Result<Sample, BenchError> {
    let cpu_before = ChildCpu::now()?;
    let start = Instant::now();
    let status = Command::new(binary)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(BenchError::io(format!("running {}", binary.display())))?;
    let total = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(BenchError::Setup(format!("{} exited with {status}", binary.display())));
    }
    let cpu = ChildCpu::now()?.cpu_since(cpu_before);
    Ok(Sample { handshake: total, schema: total, total, cpu, hwm_kib: 0 })
}

/// A binary to start, and how.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    /// How the report names it.
    pub(crate) label: String,
    /// The provider executable.
    pub(crate) binary: PathBuf,
    /// Set `PLUGIN_UNIX_SOCKET_DIR` (Terraform does not; a control for the TCP transport).
    pub(crate) unix_socket_dir: Option<PathBuf>,
}

/// The runs of one binary.
#[derive(Clone, Debug)]
pub(crate) struct StartupResult {
    /// How the report names it.
    pub(crate) label: String,
    /// One per measured run.
    pub(crate) samples: Vec<Sample>,
    /// Its schema and transport.
    pub(crate) facts: SchemaFacts,
}

/// Runs every binary `warmup + runs` times, round-robin so that load on the shared machine
/// spreads evenly, and the trivial process as many times; warm-up runs are not recorded.
pub(crate) fn measure(
    subjects: &[Subject],
    trivial: &Path,
    runs: usize,
    warmup: usize,
    progress: &dyn Fn(&str),
) -> Result<(Vec<StartupResult>, Vec<Sample>), BenchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("starting the tokio runtime"))?;
    let launcher = Launcher::new();
    let mut results: Vec<StartupResult> = subjects
        .iter()
        .map(|s| StartupResult { label: s.label.clone(), samples: Vec::new(), facts: SchemaFacts::default() })
        .collect();
    let mut floor = Vec::new();
    for round in 0..warmup + runs {
        if round % 10 == 0 {
            progress(&format!("startup: round {}/{}", round + 1, warmup + runs));
        }
        for (subject, result) in subjects.iter().zip(&mut results) {
            let (sample, facts) = rt.block_on(launcher.run_once(subject))?;
            if round >= warmup {
                result.samples.push(sample);
                result.facts = facts;
            }
        }
        let sample = rt.block_on(trivial_process(trivial))?;
        if round >= warmup {
            floor.push(sample);
        }
    }
    Ok((results, floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_unix_handshakes() {
        let tcp = parse_handshake("1|6|tcp|127.0.0.1:10000|grpc|AQID\n");
        assert_eq!(
            tcp,
            Ok(Handshake {
                app_protocol: 6,
                address: Address::Tcp("127.0.0.1:10000".into()),
                server_cert: vec![1, 2, 3]
            })
        );
        let unix = parse_handshake("1|6|unix|/tmp/plugin1|grpc|AQI=").map(|h| h.address);
        assert_eq!(unix, Ok(Address::Unix("/tmp/plugin1".into())));
    }

    #[test]
    fn rejects_handshakes_without_tls_or_with_garbage() {
        assert!(parse_handshake("1|6|unix|/tmp/p|grpc|\n").is_err());
        assert!(parse_handshake("1|6|unix|/tmp/p|netrpc|AQID").is_err());
        assert!(parse_handshake("This binary is a plugin.").is_err());
    }
}
