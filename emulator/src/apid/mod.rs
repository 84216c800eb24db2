//! The Talos machine API of one emulated machine, as apid serves it on port 50000: TLS chosen by
//! the machine's mode, the MachineService / LifecycleService / ClusterService subset, and `node`
//! proxying to other machines of the region.
//!
//! [`serve`] is the library entry point (`run(listener, shutdown)` style): tests bind port 0.
//!
//! Fidelity notes (upstream = siderolabs/talos v1.13/v1.14 machined, apid and maintenance
//! servers):
//! - Maintenance mode answers ApplyConfiguration only; Version, Upgrade and Reset say
//!   `Unimplemented: API is not implemented in maintenance mode`, other MachineService methods
//!   `method X not implemented`, other services `unknown service`. A YAML syntax error there is
//!   `Unknown` (upstream wraps it in a plain error), a validation failure `InvalidArgument`.
//! - Bootstrap on a worker is `FailedPrecondition` ("bootstrap can only be performed on a control
//!   plane node"), as upstream returns it, not `InvalidArgument`.
//! - Authorization failures are `PermissionDenied: not authorized`; a client certificate from
//!   another CA (or none) fails the TLS handshake of a configured node.
//! - `node` proxies one-to-one without adding metadata; `nodes` aggregates unary replies with
//!   per-node metadata and errors. Streaming methods are not aggregated (Unimplemented).
//! - Reboots, resets and REBOOT-mode applies start a moment (100 ms) after the reply, since
//!   upstream runs them in the background and the reply must get out before the node goes away.

mod cluster;
mod conn;
mod guard;
pub mod kubeconfig;
mod lifecycle;
pub(crate) mod listener;
mod machine;

use std::future::Future;

use ct_proto::talos::cluster::cluster_service_server::ClusterServiceServer;
use ct_proto::talos::machine::lifecycle_service_server::LifecycleServiceServer;
use ct_proto::talos::machine::machine_service_server::MachineServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

pub use conn::ConnInfo;

use crate::error::{Error, Result};
use crate::region::Region;

/// Serves machine `id`'s API on `listener` until `shutdown` resolves.
///
/// The listener is closed while the machine is down (connections are refused) and re-bound on the
/// same address when it comes back, so bind a concrete port (port 0 is resolved once, here).
///
/// # Errors
/// [`Error::UnknownMachine`] when the region has no such machine.
pub async fn serve(
    region: Region,
    id: &str,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    if !region.lock().machines.contains_key(id) {
        return Err(Error::UnknownMachine(id.to_owned()));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let stop = CancellationToken::new();
    let router = tonic::transport::Server::builder()
        .add_service(MachineServiceServer::new(machine::MachineApi { region: region.clone() }))
        .add_service(LifecycleServiceServer::new(lifecycle::LifecycleApi { region: region.clone() }))
        .add_service(ClusterServiceServer::new(cluster::ClusterApi { region: region.clone() }));
    let server = tokio::spawn(
        router.serve_with_incoming_shutdown(ReceiverStream::new(rx), stop.clone().cancelled_owned()),
    );
    let accept = tokio::spawn(listener::accept_loop(region, id.to_owned(), listener, tx, stop.clone()));
    shutdown.await;
    stop.cancel();
    let _ = accept.await;
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(machine = id, error = %e, "gRPC server stopped with an error");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(machine = id, error = %e, "gRPC server task failed");
            Ok(())
        }
    }
}
