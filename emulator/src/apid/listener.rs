//! The per-machine accept loop: refuses connections while the machine is down (the listening
//! socket is closed, as on a powered-off host), hangs them while it is partitioned, and otherwise
//! runs the TLS handshake that the machine's current mode calls for before handing the stream to
//! the gRPC server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::conn::{Conn, ConnInfo, configured_tls, maintenance_tls};
use crate::faults::{FaultKind, machine_faulted};
use crate::region::Region;
use crate::region::state::Phase;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the listener must do right now, read from the region.
#[derive(Clone)]
pub(crate) struct ListenView {
    pub up: bool,
    pub partitioned: bool,
    pub maintenance: bool,
    pub generation: u64,
    pub boot: CancellationToken,
    pub tls: Option<Arc<ServerConfig>>,
}

pub(crate) fn view(region: &Region, id: &str) -> Option<ListenView> {
    let st = region.lock();
    let m = st.machines.get(id)?;
    let down = machine_faulted(&st.faults, m, |k| *k == FaultKind::Down);
    let partitioned = machine_faulted(&st.faults, m, |k| *k == FaultKind::Partitioned);
    let maintenance = m.phase == Phase::Maintenance;
    let tls = if !m.phase.serving() {
        None
    } else if maintenance {
        maintenance_tls(id, &m.maintenance_cert).map_err(|e| tracing::warn!(machine = id, error = %e)).ok()
    } else {
        match (&m.server_cert, m.parsed()) {
            (Some(cert), Some(cfg)) => configured_tls(id, cert, &cfg.os_ca.crt)
                .map_err(|e| tracing::warn!(machine = id, error = %e))
                .ok(),
            _ => None,
        }
    };
    Some(ListenView {
        up: m.phase.serving() && !down,
        partitioned,
        maintenance,
        generation: m.rt.generation,
        boot: m.rt.boot.clone(),
        tls,
    })
}

/// Binds a listening socket that can be re-bound right after it was closed.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Runs the accept loop of one machine until `shutdown` is cancelled.
pub(crate) async fn accept_loop(
    region: Region,
    id: String,
    first: TcpListener,
    conns: mpsc::Sender<std::io::Result<Conn>>,
    shutdown: CancellationToken,
) {
    let Ok(addr) = first.local_addr() else { return };
    let mut listener = Some(first);
    let mut changes = region.watch();
    loop {
        let Some(v) = view(&region, &id) else { return };
        if !v.up {
            listener = None;
        } else if listener.is_none() {
            match bind(addr) {
                Ok(l) => listener = Some(l),
                Err(e) => {
                    tracing::warn!(machine = %id, %addr, error = %e, "cannot re-bind the API listener, retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
            }
        }
        let accept = async {
            match &listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            r = changes.changed() => if r.is_err() { return },
            accepted = accept => match accepted {
                Ok((tcp, _)) => {
                    tokio::spawn(handshake(id.clone(), tcp, v, conns.clone()));
                }
                Err(e) => tracing::debug!(machine = %id, error = %e, "accept failed"),
            },
        }
    }
}

async fn handshake(id: String, tcp: TcpStream, v: ListenView, conns: mpsc::Sender<std::io::Result<Conn>>) {
    if v.partitioned {
        // Packets are dropped: the client waits until it gives up or the partition heals.
        let _held = tcp;
        v.boot.cancelled().await;
        return;
    }
    let Some(tls) = v.tls else {
        // Serving but without a certificate yet (e.g. a worker waiting for trustd): hang up.
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(machine = %id, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let organizations = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|der| crate::pki::organizations(der).unwrap_or_default())
        .unwrap_or_default();
    let info =
        ConnInfo { machine_id: id, maintenance: v.maintenance, generation: v.generation, organizations };
    let conn = Conn::new(stream, info, v.boot.cancelled_owned());
    let _ = conns.send(Ok(conn)).await;
}
