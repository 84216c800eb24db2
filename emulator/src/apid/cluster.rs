//! `cluster.ClusterService/HealthCheck`: runs the cluster checks (Talos, then Kubernetes) until
//! they pass or the wait timeout expires, streaming one message per step like `talosctl health`
//! shows them (`waiting for X: ...`, then errors as they change, then `: OK` or `: SKIP`).

use std::pin::Pin;
use std::time::Duration;

use ct_proto::talos::cluster::cluster_service_server::ClusterService;
use ct_proto::talos::cluster::{HealthCheckProgress, HealthCheckRequest};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::guard::{self, admit};
use crate::region::{Outcome, Region};

/// Default wait when the request gives none (upstream talosctl uses 20 minutes).
const DEFAULT_WAIT: Duration = Duration::from_secs(20 * 60);

/// The ClusterService of one machine.
#[derive(Debug, Clone)]
pub(crate) struct ClusterApi {
    pub(crate) region: Region,
}

type Progress = Pin<Box<dyn Stream<Item = Result<HealthCheckProgress, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl ClusterService for ClusterApi {
    type HealthCheckStream = Progress;

    async fn health_check(&self, request: Request<HealthCheckRequest>) -> Result<Response<Progress>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::HEALTH_CHECK).await?;
        let id = call.single()?;
        let req = request.into_inner();
        let wait = req.wait_timeout.and_then(|d| Duration::try_from(d).ok()).unwrap_or(DEFAULT_WAIT);
        let info = req.cluster_info.unwrap_or_default();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(run_checks(
            self.region.clone(),
            id,
            info.control_plane_nodes,
            info.worker_nodes,
            wait,
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

fn line(message: String) -> Result<HealthCheckProgress, Status> {
    Ok(HealthCheckProgress { metadata: None, message })
}

async fn run_checks(
    region: Region,
    id: String,
    control_planes: Vec<String>,
    workers: Vec<String>,
    wait: Duration,
    tx: mpsc::Sender<Result<HealthCheckProgress, Status>>,
) {
    let deadline = tokio::time::Instant::now() + wait;
    let poll = region.latencies().scaled(1_000).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let names: Vec<&'static str> =
        region.health_steps(&id, &control_planes, &workers).iter().map(|s| s.name).collect();
    for (i, name) in names.into_iter().enumerate() {
        if tx.send(line(format!("waiting for {name}: ..."))).await.is_err() {
            return;
        }
        let mut last_error: Option<String> = None;
        loop {
            let result = region
                .health_steps(&id, &control_planes, &workers)
                .get(i)
                .map_or(Ok(Outcome::Passed), |s| s.result.clone());
            match result {
                Ok(outcome) => {
                    let end = if outcome == Outcome::Passed { "OK" } else { "SKIP" };
                    if tx.send(line(format!("waiting for {name}: {end}"))).await.is_err() {
                        return;
                    }
                    break;
                }
                Err(e) => {
                    if last_error.as_deref() != Some(e.as_str()) {
                        if tx.send(line(format!("waiting for {name}: {e}"))).await.is_err() {
                            return;
                        }
                        last_error = Some(e.clone());
                    }
                    if tokio::time::Instant::now() >= deadline {
                        let _ = tx
                            .send(Err(Status::unknown(format!(
                                "waiting for {name}: {e}: context deadline exceeded"
                            ))))
                            .await;
                        return;
                    }
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }
}
