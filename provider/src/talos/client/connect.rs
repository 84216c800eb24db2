//! [`TalosClient`]: a gRPC channel to one node's API (apid, port 50000) in maintenance mode or
//! with mTLS, an optional `node` target that the endpoint proxies calls to, and the plumbing
//! every RPC goes through (target metadata, deadline, cancellation, error classification).
//!
//! Channels connect lazily and reconnect on the next call after a failure, which is what a
//! node that reboots needs: a refused or reset connection surfaces as a transient
//! [`TalosError`] and the next attempt dials again. The TCP connect and TLS handshake run in
//! the client's own connector so that their failures are told apart (refused, timed out,
//! certificate rejected).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ct_proto::talos::cluster::cluster_service_client::ClusterServiceClient;
use ct_proto::talos::common::Metadata;
use ct_proto::talos::machine::lifecycle_service_client::LifecycleServiceClient;
use ct_proto::talos::machine::machine_service_client::MachineServiceClient;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

use super::error::{CONNECT_MARK, ErrorKind, TLS_MARK, TalosError, is_deadline, tls_rejection};
use super::options::Options;
use super::tls::{self, Pin, TalosCredentials};

/// The Talos API port (apid).
pub const DEFAULT_PORT: u16 = 50_000;

/// Longest TCP connect or TLS handshake; a node that does not answer within this is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No client certificate; the node's self-signed certificate is trusted on first use.
    Maintenance,
    /// Mutual TLS with the cluster's OS CA.
    Mtls,
}

/// A client of one node's Talos API. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct TalosClient {
    endpoint: SocketAddr,
    node: Option<IpAddr>,
    mode: Mode,
    channel: Channel,
    pin: Option<Arc<Pin>>,
}

impl fmt::Debug for TalosClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TalosClient")
            .field("endpoint", &self.endpoint)
            .field("node", &self.node)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why the connector could not give the channel a connection. Its text reaches the caller
/// as the message of an `Unavailable` status, and its prefix tells the kind apart.
#[derive(Debug)]
struct ConnectFailure(String);

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectFailure {}

async fn dial(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>, ConnectFailure> {
    let refused = |detail: String| ConnectFailure(format!("{CONNECT_MARK} at {addr}: {detail}"));
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| refused(format!("no answer within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| refused(e.to_string()))?;
    // Small request/response frames: do not wait to coalesce them.
    let _ = tcp.set_nodelay(true);
    let name = ServerName::IpAddress(addr.ip().into());
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| refused(format!("TLS handshake not finished within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| match tls_rejection(&e) {
            Some(reason) => ConnectFailure(format!("{TLS_MARK} by {addr}: {reason}")),
            None => refused(format!("TLS handshake failed: {e}")),
        })?;
    Ok(TokioIo::new(stream))
}

fn lazy_channel(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Result<Channel, ErrorKind> {
    // Plain `http` here: TLS is done by `dial`, tonic only sees the encrypted stream.
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| ErrorKind::Connection(format!("invalid address {addr}: {e}")))?
        // Detects a connection to a node that vanished (powered off, partitioned) while idle
        // calls wait on it.
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10));
    let connector = tower::service_fn(move |_: Uri| dial(addr, config.clone()));
    Ok(endpoint.connect_with_connector_lazy(connector))
}

impl TalosClient {
    /// A client of a node in maintenance mode (no configuration yet): no client certificate,
    /// and the node's self-signed certificate trusted on first use. Must be called within a
    /// Tokio runtime; the connection is made by the first call.
    ///
    /// # Errors
    /// Only if the TLS configuration cannot be built.
    pub fn maintenance(addr: IpAddr, port: u16) -> Result<Self, TalosError> {
        let endpoint = SocketAddr::new(addr, port);
        let pin = Arc::new(Pin::default());
        let channel = tls::maintenance_config(addr, pin.clone())
            .and_then(|config| lazy_channel(endpoint, config))
            .map_err(|kind| TalosError::new("connect", endpoint.to_string(), kind))?;
        Ok(Self { endpoint, node: None, mode: Mode::Maintenance, channel, pin: Some(pin) })
    }

    /// A client of a configured node: mutual TLS, the node's certificate verified against the
    /// OS CA for the name `addr` (Talos API certificates carry the node's IPs as SANs). Must be
    /// called within a Tokio runtime; the connection is made by the first call.
    ///
    /// # Errors
    /// [`ErrorKind::Credentials`] when the CA, certificate or key cannot be loaded.
    pub fn connect(addr: IpAddr, port: u16, credentials: &TalosCredentials) -> Result<Self, TalosError> {
        let endpoint = SocketAddr::new(addr, port);
        let channel = tls::mtls_config(credentials)
            .and_then(|config| lazy_channel(endpoint, config))
            .map_err(|kind| TalosError::new("connect", endpoint.to_string(), kind))?;
        Ok(Self { endpoint, node: None, mode: Mode::Mtls, channel, pin: None })
    }

    /// The same connection, with calls targeted at `node` (gRPC metadata `node`): the endpoint
    /// proxies them, as `talosctl -e endpoint -n node` does.
    #[must_use]
    pub fn for_node(&self, node: IpAddr) -> Self {
        Self { node: Some(node), ..self.clone() }
    }

    /// The address the client connects to.
    pub fn endpoint(&self) -> SocketAddr {
        self.endpoint
    }

    /// The node calls are targeted at, when not the endpoint itself.
    pub fn node(&self) -> Option<IpAddr> {
        self.node
    }

    /// How the client authenticates.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The node a call reaches, as errors name it: the target, else the endpoint.
    pub fn target(&self) -> String {
        self.node.map_or_else(|| self.endpoint.to_string(), |n| n.to_string())
    }

    /// Maintenance mode: the SHA-256 fingerprint (lowercase hex) of the certificate the node
    /// presented on first use, once a call connected. `None` for mTLS clients.
    pub fn server_fingerprint(&self) -> Option<String> {
        self.pin.as_ref().and_then(|p| p.fingerprint())
    }

    pub(crate) fn machine_api(&self) -> MachineServiceClient<Channel> {
        MachineServiceClient::new(self.channel.clone())
    }

    pub(crate) fn lifecycle_api(&self) -> LifecycleServiceClient<Channel> {
        LifecycleServiceClient::new(self.channel.clone())
    }

    pub(crate) fn cluster_api(&self) -> ClusterServiceClient<Channel> {
        ClusterServiceClient::new(self.channel.clone())
    }

    /// A request carrying the target and the time left (`grpc-timeout`, so the node stops
    /// working on a call nobody waits for anymore).
    pub(crate) fn request<M>(&self, message: M, opts: &Options) -> tonic::Request<M> {
        let mut request = tonic::Request::new(message);
        if let Some(node) = self.node
            && let Ok(value) = node.to_string().parse()
        {
            request.metadata_mut().insert("node", value);
        }
        let remaining = opts.remaining();
        if !remaining.is_zero() {
            request.set_timeout(remaining);
        }
        request
    }

    /// An error of `rpc` on this client's target.
    pub(crate) fn error(&self, rpc: &'static str, kind: ErrorKind) -> TalosError {
        TalosError::new(rpc, self.target(), kind)
    }

    /// Runs one call (including reading its stream) within the deadline, stopping at once
    /// when cancelled.
    pub(crate) async fn run<T>(
        &self,
        rpc: &'static str,
        opts: &Options,
        call: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, TalosError> {
        if opts.is_cancelled() {
            return Err(self.error(rpc, ErrorKind::Cancelled));
        }
        let remaining = opts.remaining();
        let timed_out = || self.error(rpc, ErrorKind::Timeout { after: opts.timeout(), last: None });
        if remaining.is_zero() {
            return Err(timed_out());
        }
        tokio::select! {
            biased;
            () = opts.cancel().cancelled() => Err(self.error(rpc, ErrorKind::Cancelled)),
            result = tokio::time::timeout(remaining, call) => match result {
                Err(_) => Err(timed_out()),
                // tonic's client enforces the `grpc-timeout` we send, racing our own timer.
                Ok(Err(status)) if is_deadline(&status) => Err(timed_out()),
                Ok(Err(status)) => Err(TalosError::from_status(rpc, self.target(), &status)),
                Ok(Ok(value)) => Ok(value),
            },
        }
    }
}

/// Reply messages that carry `common.Metadata` (set by apid when it proxies).
pub(crate) trait WithMetadata {
    fn metadata(&self) -> Option<&Metadata>;
}

macro_rules! with_metadata {
    ($($t:ty),* $(,)?) => {
        $(impl WithMetadata for $t {
            fn metadata(&self) -> Option<&Metadata> {
                self.metadata.as_ref()
            }
        })*
    };
}

with_metadata!(
    ct_proto::talos::machine::Version,
    ct_proto::talos::machine::ApplyConfiguration,
    ct_proto::talos::machine::Bootstrap,
    ct_proto::talos::machine::ServiceList,
    ct_proto::talos::machine::Reboot,
    ct_proto::talos::machine::Reset,
    ct_proto::talos::machine::Upgrade,
    ct_proto::talos::machine::EtcdMembers,
    ct_proto::talos::machine::EtcdRemoveMemberById,
    ct_proto::talos::machine::EtcdLeaveCluster,
    ct_proto::talos::machine::EtcdForfeitLeadership,
    ct_proto::talos::common::Data,
);

impl TalosClient {
    /// Fails with the first per-node error carried in reply metadata.
    pub(crate) fn check<M: WithMetadata>(&self, rpc: &'static str, messages: &[M]) -> Result<(), TalosError> {
        for meta in messages.iter().filter_map(WithMetadata::metadata) {
            if !meta.error.is_empty() {
                let code = meta.status.as_ref().map_or(Code::Unknown, |s| Code::from_i32(s.code));
                return Err(TalosError::from_status(
                    rpc,
                    self.target(),
                    &Status::new(code, meta.error.clone()),
                ));
            }
        }
        Ok(())
    }

    /// The single message of a one-node reply.
    pub(crate) fn first<M: WithMetadata>(
        &self,
        rpc: &'static str,
        messages: Vec<M>,
    ) -> Result<M, TalosError> {
        self.check(rpc, &messages)?;
        messages
            .into_iter()
            .next()
            .ok_or_else(|| self.error(rpc, ErrorKind::Reply("the reply holds no message".into())))
    }
}
