//! Serving a provider the way go-plugin expects.
//!
//! - [`serve`] / [`main`]: check the magic cookie, negotiate protocol 6, listen on 127.0.0.1 in
//!   `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT` (or a unix socket in `PLUGIN_UNIX_SOCKET_DIR`), set up
//!   AutoMTLS, print the one handshake line, ignore SIGINT and serve until
//!   `GRPCController.Shutdown`.
//! - `--debug`: serve on a unix socket without TLS and print a `TF_REATTACH_PROVIDERS` value,
//!   for attaching a debugger or running the provider in-process.
//! - `grpc` and `convert`: the protocol edge, the only code touching `tfplugin6` types.
//! - `goplugin`: health, controller, broker and stdio services. `tls`: the AutoMTLS certificate.

mod convert;
mod goplugin;
mod grpc;
mod tls;

use crate::provider::Provider;
use ct_proto::{grpc_health_v1 as health, plugin, tfplugin6};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

/// go-plugin's magic cookie for Terraform providers; its absence means a human ran the binary.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The plugin protocol this server speaks; the handshake line and the registry manifest derive
/// from this one constant.
pub const PROTOCOL_VERSION: u32 = 6;
/// go-plugin's own core protocol version (first field of the handshake line).
const CORE_PROTOCOL_VERSION: u32 = 1;
/// Largest message accepted or sent; Terraform allows 64 MiB for schemas.
const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Started by hand instead of by Terraform.
    #[error(
        "this binary is a Terraform provider plugin: Terraform starts it, it is not meant to be run directly.\n\
         Install it with a provider_installation block (see the README), or run it with --debug to attach it \
         to Terraform through TF_REATTACH_PROVIDERS"
    )]
    NotStartedByTerraform,
    /// Terraform does not speak protocol 6.
    #[error(
        "Terraform offered plugin protocol versions {offered:?}, but this provider speaks only protocol 6 \
         (Terraform 1.0 or newer)"
    )]
    ProtocolMismatch {
        /// What Terraform offered.
        offered: String,
    },
    /// No port could be bound.
    #[error("could not listen on 127.0.0.1 in ports {min}..={max}: {source}")]
    Listen {
        /// Lowest port tried.
        min: u16,
        /// Highest port tried.
        max: u16,
        /// Last bind error.
        #[source]
        source: std::io::Error,
    },
    /// Socket or stdout I/O failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate could not be generated.
    #[error("generating the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Registry address, e.g. `registry.terraform.io/cloud-temple/cloudtemple` (debug mode
    /// prints it in `TF_REATTACH_PROVIDERS`).
    pub address: String,
    /// Debug mode: unix socket, no TLS, reattach instructions on stdout, SIGINT stops it.
    pub debug: bool,
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    fn network(&self) -> &'static str {
        match self {
            Listener::Tcp(_) => "tcp",
            Listener::Unix(..) => "unix",
        }
    }

    fn address(&self) -> Result<String, ServeError> {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .map_err(|source| ServeError::Io { context: "reading the listen address", source }),
            Listener::Unix(_, path) => Ok(path.display().to_string()),
        }
    }
}

/// What go-plugin tells a plugin through its environment, read once at start so the rest of the
/// server is testable without touching the process environment.
#[derive(Clone, Debug, Default)]
pub struct PluginEnv {
    /// `TF_PLUGIN_MAGIC_COOKIE`.
    pub magic_cookie: Option<String>,
    /// `PLUGIN_PROTOCOL_VERSIONS` (comma-separated).
    pub protocol_versions: Option<String>,
    /// `PLUGIN_MIN_PORT` (default 10000).
    pub min_port: Option<u16>,
    /// `PLUGIN_MAX_PORT` (default 25000).
    pub max_port: Option<u16>,
    /// `PLUGIN_CLIENT_CERT`: Terraform's PEM client certificate; AutoMTLS is on when set.
    pub client_cert: Option<String>,
    /// `PLUGIN_UNIX_SOCKET_DIR`: serve on a unix socket in this directory instead of TCP.
    pub unix_socket_dir: Option<PathBuf>,
}

impl PluginEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            magic_cookie: var(MAGIC_COOKIE_KEY),
            protocol_versions: var("PLUGIN_PROTOCOL_VERSIONS"),
            min_port: var("PLUGIN_MIN_PORT").and_then(|v| v.parse().ok()),
            max_port: var("PLUGIN_MAX_PORT").and_then(|v| v.parse().ok()),
            client_cert: var("PLUGIN_CLIENT_CERT"),
            unix_socket_dir: var("PLUGIN_UNIX_SOCKET_DIR").map(PathBuf::from),
        }
    }

    /// The environment Terraform gives a plugin it starts (for tests): cookie and protocol 6.
    pub fn as_terraform_sets_it() -> Self {
        Self {
            magic_cookie: Some(MAGIC_COOKIE_VALUE.to_string()),
            protocol_versions: Some("5,6".to_string()),
            ..Self::default()
        }
    }

    fn port_range(&self) -> (u16, u16) {
        let (min, max) = (self.min_port.unwrap_or(10000), self.max_port.unwrap_or(25000));
        if min <= max { (min, max) } else { (max, min) }
    }

    /// Checks that Terraform started us and speaks our protocol.
    pub fn check(&self) -> Result<(), ServeError> {
        if self.magic_cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(ServeError::NotStartedByTerraform);
        }
        if let Some(offered) = &self.protocol_versions {
            let ours = PROTOCOL_VERSION.to_string();
            if !offered.split(',').any(|v| v.trim() == ours) {
                return Err(ServeError::ProtocolMismatch { offered: offered.clone() });
            }
        }
        Ok(())
    }
}

async fn listen_tcp(env: &PluginEnv) -> Result<Listener, ServeError> {
    let (min, max) = env.port_range();
    let span = u32::from(max - min) + 1;
    // Start at a pid-derived offset: Terraform starts several providers at once, and walking
    // the range from the bottom would make them race for the same ports.
    let offset = std::process::id() % span;
    let mut last = std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "empty port range");
    for i in 0..span {
        let port = min + u16::try_from((offset + i) % span).unwrap_or(0);
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Ok(Listener::Tcp(l)),
            Err(e) => last = e,
        }
    }
    Err(ServeError::Listen { min, max, source: last })
}

fn listen_unix(dir: Option<PathBuf>) -> Result<Listener, ServeError> {
    let dir = dir.unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("tfplugin-{}-{}.sock", std::process::id(), unique_suffix()));
    let listener = UnixListener::bind(&path)
        .map_err(|source| ServeError::Io { context: "binding the unix socket", source })?;
    Ok(Listener::Unix(listener, path))
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn print_stdout(line: &str) -> Result<(), ServeError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| ServeError::Io { context: "writing the handshake", source })
}

/// Go-plugin servers ignore SIGINT: Ctrl-C in Terraform reaches the whole process group, and
/// Terraform itself cancels work through `StopProvider` and ends us through `Shutdown`.
fn ignore_sigint() -> Result<(), ServeError> {
    let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|source| ServeError::Io { context: "installing the SIGINT handler", source })?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::debug!("ignoring SIGINT; Terraform stops operations with StopProvider");
        }
    });
    Ok(())
}

/// A server that is listening and ready to announce itself, not yet serving.
pub struct Bound {
    announcement: String,
    router: tonic::transport::server::Router,
    listener: Listener,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("announcement", &self.announcement).finish_non_exhaustive()
    }
}

impl Bound {
    /// What to print on stdout: the go-plugin handshake line, or the reattach instructions in
    /// debug mode.
    pub fn announcement(&self) -> &str {
        &self.announcement
    }

    /// A token that, once cancelled, shuts the server down (as `GRPCController.Shutdown` does).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until shutdown.
    pub async fn serve(self) -> Result<(), ServeError> {
        let stop = self.shutdown.cancelled_owned();
        let result = match self.listener {
            Listener::Tcp(l) => {
                // Without TCP_NODELAY every small gRPC reply waits ~40 ms on Nagle's algorithm and
                // delayed ACKs (Go servers set it by default); each plan makes hundreds of calls.
                let incoming = TcpListenerStream::new(l).map(|conn| {
                    conn.inspect(|stream| {
                        let _ = stream.set_nodelay(true);
                    })
                });
                self.router.serve_with_incoming_shutdown(incoming, stop).await
            }
            Listener::Unix(l, path) => {
                let r = self.router.serve_with_incoming_shutdown(UnixListenerStream::new(l), stop).await;
                let _ = std::fs::remove_file(path);
                r
            }
        };
        result.map_err(ServeError::from)
    }
}

/// Sets up everything up to the handshake: checks the environment (unless in debug mode),
/// listens, generates the AutoMTLS certificate and builds the gRPC services.
pub async fn bind(
    provider: Arc<dyn Provider>,
    options: &ServeOptions,
    env: &PluginEnv,
) -> Result<Bound, ServeError> {
    let shutdown = CancellationToken::new();
    let mut builder = Server::builder();
    let listener = if options.debug {
        listen_unix(env.unix_socket_dir.clone())?
    } else {
        env.check()?;
        match &env.unix_socket_dir {
            Some(dir) => listen_unix(Some(dir.clone()))?,
            None => listen_tcp(env).await?,
        }
    };

    let mut cert_field = String::new();
    if let Some(client_cert) = env.client_cert.as_deref().filter(|_| !options.debug) {
        use base64::Engine as _;
        let cert = tls::generate()?;
        cert_field = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&cert.der);
        builder = builder.tls_config(tls::server_config(&cert, client_cert))?;
    }

    let service = Arc::new(grpc::ProviderService::new(provider));
    let goplugin = goplugin::GoPlugin { shutdown: shutdown.clone() };
    let router = builder
        .add_service(
            tfplugin6::provider_server::ProviderServer::from_arc(service)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(health::health_server::HealthServer::new(goplugin.clone()))
        .add_service(plugin::grpc_controller_server::GrpcControllerServer::new(goplugin.clone()))
        .add_service(plugin::grpc_broker_server::GrpcBrokerServer::new(goplugin.clone()))
        .add_service(plugin::grpc_stdio_server::GrpcStdioServer::new(goplugin));

    let network = listener.network();
    let address = listener.address()?;
    let announcement = if options.debug {
        reattach_instructions(&options.address, network, &address)
    } else {
        format!("{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{network}|{address}|grpc|{cert_field}")
    };
    tracing::debug!(network, address = %address, "plugin server listening");
    Ok(Bound { announcement, router, listener, shutdown })
}

/// Serves `provider` until Terraform shuts it down (or, in debug mode, until Ctrl-C): binds,
/// prints the announcement on stdout, and serves.
pub async fn serve(provider: Arc<dyn Provider>, options: ServeOptions) -> Result<(), ServeError> {
    let env = PluginEnv::from_process();
    if !options.debug && env.check().is_ok() {
        ignore_sigint()?;
    }
    let bound = bind(provider, &options, &env).await?;
    if options.debug {
        let token = bound.shutdown_token();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            token.cancel();
        });
    }
    print_stdout(bound.announcement())?;
    bound.serve().await
}

/// The text printed in debug mode: a ready-to-export `TF_REATTACH_PROVIDERS` value.
pub fn reattach_instructions(provider_address: &str, network: &str, address: &str) -> String {
    let value = serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            // Terraform 1.0.3 honours the negotiated protocol version only in test mode.
            "Test": true,
            "Addr": { "Network": network, "String": address },
        }
    });
    format!(
        "Provider started in debug mode. To attach Terraform, run in another shell:\n\n\
         \texport TF_REATTACH_PROVIDERS='{value}'\n\n\
         Press Ctrl-C to stop the provider."
    )
}

/// Entry point for a provider binary: parses `--debug`, sets up logging, runs [`serve`] on a
/// multi-threaded runtime, and turns errors into a message on stderr and exit code 1.
pub fn main(address: &str, provider: Arc<dyn Provider>) -> std::process::ExitCode {
    let mut debug = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--debug" | "-debug" => debug = true,
            "--version" | "-version" => {
                let _ = print_stdout(&format!("{} {}", provider.name(), env!("CARGO_PKG_VERSION")));
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                let _ =
                    writeln!(std::io::stderr(), "unknown argument {other:?}; usage: [--debug] [--version]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    crate::log::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let options = ServeOptions { address: address.to_string(), debug };
    match runtime.block_on(serve(provider, options)) {
        Ok(()) => {
            // Background work (a cancelled apply's cleanup) must not keep the process alive
            // past go-plugin's 2-second kill window.
            runtime.shutdown_timeout(std::time::Duration::from_millis(500));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
