//! One accepted API connection: the TLS stream, what the handshake established (client
//! certificate roles, maintenance or configured mode) and a kill switch that cuts it when the
//! machine stops serving (reboot, reset, power off).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tonic::transport::server::Connected;

use crate::error::{Error, Result};
use crate::pki::{self, CertPair};

/// What the request handlers learn about the connection a call came on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The machine that accepted the connection (the apid "endpoint").
    pub machine_id: String,
    /// Whether the machine was in maintenance mode at handshake time.
    pub maintenance: bool,
    /// The machine's serving generation at handshake time.
    pub generation: u64,
    /// Subject organizations of the client certificate (Talos roles), empty without one.
    pub organizations: Vec<String>,
}

/// A TLS connection that errors out once its machine stops serving.
pub(crate) struct Conn {
    inner: TlsStream<TcpStream>,
    info: ConnInfo,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Conn {
    pub(crate) fn new(
        inner: TlsStream<TcpStream>,
        info: ConnInfo,
        killed: WaitForCancellationFutureOwned,
    ) -> Self {
        Self { inner, info, killed: Box::pin(killed) }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.killed.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(io::ErrorKind::ConnectionReset, "machine stopped serving")),
            Poll::Pending => Ok(()),
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The maintenance-mode TLS config: self-signed certificate, no client certificate asked.
pub(crate) fn maintenance_tls(machine: &str, cert: &CertPair) -> Result<Arc<ServerConfig>> {
    let (chain, key) = cert.rustls_parts()?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls { machine: machine.to_owned(), source })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|source| Error::Tls { machine: machine.to_owned(), source })?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The configured-mode TLS config: server certificate from the OS CA, client certificates
/// required and verified against the OS CA.
pub(crate) fn configured_tls(machine: &str, cert: &CertPair, os_ca_pem: &str) -> Result<Arc<ServerConfig>> {
    let (chain, key) = cert.rustls_parts()?;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(pki::parse_cert_pem(os_ca_pem)?)
        .map_err(|source| Error::Tls { machine: machine.to_owned(), source })?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| Error::pki("client verifier", e))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls { machine: machine.to_owned(), source })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| Error::Tls { machine: machine.to_owned(), source })?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
