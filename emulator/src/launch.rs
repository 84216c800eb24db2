//! Starting a whole region from a library call: open (or reload) its state, bind every machine's
//! API listener, start the lifecycle ticker, the Kubernetes API of every bootstrapped cluster
//! (and of clusters bootstrapped later) and optionally the admin endpoint.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster_api::Supervisor;
use crate::error::{Error, Result};
use crate::kube::Timings;
use crate::region::{Region, RegionConfig};

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct RegionOptions {
    /// State, latencies, Talos version, start faults.
    pub region: RegionConfig,
    /// Machines: id and API address (port 0 picks a free port once, at start).
    pub machines: Vec<(String, SocketAddr)>,
    /// Where to serve the admin endpoint, if anywhere.
    pub admin: Option<SocketAddr>,
}

/// A started region; stop it with [`RunningRegion::shutdown`].
#[derive(Debug)]
pub struct RunningRegion {
    region: Region,
    machines: Vec<(String, SocketAddr)>,
    admin: Option<SocketAddr>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a region. A cluster's Kubernetes API listens on its endpoint (the host and port of
/// `cluster.controlPlane.endpoint`) from its bootstrap on; a restarted region serves every
/// bootstrapped cluster again before this returns.
///
/// # Errors
/// [`Error::Bind`] when an address cannot be bound; state and certificate errors from
/// [`Region::open`] and [`Region::add_machine`].
pub async fn start(options: RegionOptions) -> Result<RunningRegion> {
    let state_dir = options.region.state_dir.clone();
    let timings = Timings { time_scale: options.region.latencies.time_scale, ..Timings::default() };
    let region = Region::open(options.region)?;
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut machines = Vec::new();
    for (id, addr) in &options.machines {
        let listener = crate::apid::listener::bind(*addr)
            .map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        let actual =
            listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        region.add_machine(id, actual)?;
        machines.push((id.clone(), actual));
        let (region, id, stop) = (region.clone(), id.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::apid::serve(region, &id, listener, stop.cancelled_owned()).await {
                tracing::warn!(machine = %id, error = %e, "machine API stopped");
            }
        }));
    }
    tasks.push(tokio::spawn(region.clone().run_ticker(stop.clone().cancelled_owned())));
    let mut supervisor = Supervisor::new(region.clone(), state_dir, timings);
    supervisor.reconcile().await;
    tasks.push(tokio::spawn(supervisor.run(stop.clone())));
    let admin = match options.admin {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
            let actual =
                listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
            tasks.push(tokio::spawn(crate::admin::serve(
                region.clone(),
                listener,
                stop.clone().cancelled_owned(),
            )));
            Some(actual)
        }
        None => None,
    };
    Ok(RunningRegion { region, machines, admin, stop, tasks })
}

impl RunningRegion {
    /// The region (to inspect state, add faults, subscribe to events).
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Machines and the addresses they actually listen on.
    pub fn machines(&self) -> &[(String, SocketAddr)] {
        &self.machines
    }

    /// The API address of a machine.
    pub fn addr(&self, id: &str) -> Option<SocketAddr> {
        self.machines.iter().find(|(i, _)| i == id).map(|(_, a)| *a)
    }

    /// The admin endpoint address, when started.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// Stops every listener (Kubernetes APIs included) and task; the state is already persisted.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
