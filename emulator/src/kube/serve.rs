//! Serving the API over HTTPS: the serving certificate, optional client certificates verified
//! against the cluster CA (a foreign certificate fails the handshake; no certificate means an
//! anonymous request, answered 401), HTTP/2 or HTTP/1.1 by ALPN, and the controllers alongside.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::kube::certs::subject_identity;
use crate::kube::error::KubeError;
use crate::kube::server::ApiServer;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn tls_config(server: &ApiServer) -> Result<rustls::ServerConfig, KubeError> {
    let cfg = &server.shared.config;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cfg.server_cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| KubeError::pki("serving certificate", e))?;
    let key = PrivateKeyDer::from_pem_slice(cfg.server_key_pem.as_bytes())
        .map_err(|e| KubeError::pki("serving key", e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| KubeError::Tls(e.to_string()))?;
    let builder = if cfg.cluster_ca_pem.trim().is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(cfg.cluster_ca_pem.as_bytes()) {
            roots
                .add(cert.map_err(|e| KubeError::pki("cluster CA", e))?)
                .map_err(|e| KubeError::pki("cluster CA", e))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| KubeError::Tls(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| KubeError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl ApiServer {
    /// Serves HTTPS on `listener` and runs the controllers, until `shutdown` resolves (open
    /// connections, watches included, are then closed).
    ///
    /// # Errors
    /// [`KubeError::Pki`]/[`KubeError::Tls`] when the certificates are unusable,
    /// [`KubeError::Listener`] when accepting fails.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), KubeError> {
        let acceptor = TlsAcceptor::from(Arc::new(tls_config(&self)?));
        let router = self.router();
        let mut connections = JoinSet::new();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let controllers = {
            let server = self.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                server
                    .run_controllers(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            })
        };
        tokio::pin!(shutdown);
        let result = loop {
            let (tcp, _) = tokio::select! {
                () = &mut shutdown => break Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => break Err(KubeError::Listener(e)),
                },
            };
            while connections.try_join_next().is_some() {}
            let (acceptor, router) = (acceptor.clone(), router.clone());
            connections.spawn(async move {
                let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                    return;
                };
                let identity = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|der| subject_identity(der).ok());
                let service =
                    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let mut req = req.map(axum::body::Body::new);
                        if let Some(id) = identity.clone() {
                            req.extensions_mut().insert(id);
                        }
                        router.clone().oneshot(req)
                    });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                    tracing::debug!(error = %e, "kube API connection ended");
                }
            });
        };
        let _ = stop_tx.send(true);
        connections.shutdown().await;
        let _ = controllers.await;
        result
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
    )
}
