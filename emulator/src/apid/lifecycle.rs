//! `machine.LifecycleService` (Talos 1.13+): Upgrade installs a new version to disk while
//! streaming progress; the node keeps running the old version until it is rebooted.

use std::pin::Pin;

use ct_proto::talos::machine::lifecycle_service_install_progress::Response as Progress;
use ct_proto::talos::machine::lifecycle_service_server::LifecycleService;
use ct_proto::talos::machine::{
    LifecycleServiceInstallProgress, LifecycleServiceInstallRequest, LifecycleServiceInstallResponse,
    LifecycleServiceUpgradeRequest, LifecycleServiceUpgradeResponse,
};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::guard::{self, admit};
use crate::region::Region;
use crate::version::TalosVersion;

/// The LifecycleService of one machine.
#[derive(Debug, Clone)]
pub(crate) struct LifecycleApi {
    pub(crate) region: Region,
}

type Upgrades = Pin<Box<dyn Stream<Item = Result<LifecycleServiceUpgradeResponse, Status>> + Send + 'static>>;
type Installs = Pin<Box<dyn Stream<Item = Result<LifecycleServiceInstallResponse, Status>> + Send + 'static>>;

fn progress(p: Progress) -> LifecycleServiceUpgradeResponse {
    LifecycleServiceUpgradeResponse { progress: Some(LifecycleServiceInstallProgress { response: Some(p) }) }
}

impl LifecycleApi {
    fn require_service(&self, id: &str) -> Result<(), Status> {
        let st = self.region.lock();
        let v = st.machines.get(id).and_then(|m| TalosVersion::parse(&m.talos_version));
        if v.is_some_and(|v| v.has_lifecycle_service()) {
            Ok(())
        } else {
            Err(Status::unimplemented("unknown service machine.LifecycleService"))
        }
    }
}

#[tonic::async_trait]
impl LifecycleService for LifecycleApi {
    type InstallStream = Installs;

    async fn install(
        &self,
        request: Request<LifecycleServiceInstallRequest>,
    ) -> Result<Response<Installs>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::LIFECYCLE_INSTALL).await?;
        let id = call.single()?;
        self.require_service(&id)?;
        Err(Status::failed_precondition("Talos is already installed"))
    }

    type UpgradeStream = Upgrades;

    async fn upgrade(
        &self,
        request: Request<LifecycleServiceUpgradeRequest>,
    ) -> Result<Response<Upgrades>, Status> {
        let call =
            admit(&self.region, request.metadata(), request.extensions(), &guard::LIFECYCLE_UPGRADE).await?;
        let id = call.single()?;
        self.require_service(&id)?;
        let image = request.into_inner().source.map(|s| s.image_name).unwrap_or_default();
        if image.is_empty() {
            return Err(Status::invalid_argument("source image name is required"));
        }
        let version = TalosVersion::from_image(&image).ok_or_else(|| {
            Status::unknown(format!(
                "error validating installer image {image:?}: no Talos version tag in the image reference"
            ))
        })?;
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let region = self.region.clone();
        tokio::spawn(async move {
            let total = region.latencies().scaled(region.latencies().upgrade_ms);
            let steps = [
                format!("pulling installer image {image}"),
                format!("validating installer image {image}"),
                format!("installing Talos {version} to the inactive boot partition"),
            ];
            for step in steps {
                if tx.send(Ok(progress(Progress::Message(step)))).await.is_err() {
                    return;
                }
                tokio::time::sleep(total / 3).await;
            }
            let last = match region.install_version(&id, &version) {
                Ok(()) => Ok(progress(Progress::ExitCode(0))),
                Err(e) => Err(e),
            };
            let _ = tx.send(last).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
