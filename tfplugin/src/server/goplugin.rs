//! The services every go-plugin gRPC server registers beside the provider: health ("plugin" is
//! SERVING), the controller whose `Shutdown` ends the process, and stubs of the broker and
//! stdio streams Terraform opens in the background. The streams end when the server shuts
//! down, so a graceful shutdown never waits on them.

use ct_proto::grpc_health_v1 as health;
use ct_proto::plugin;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream that yields nothing and ends at shutdown.
fn until_shutdown<T: Send + 'static>(shutdown: &CancellationToken) -> BoxStream<T> {
    let token = shutdown.clone();
    Box::pin(
        futures::stream::once(async move { token.cancelled_owned().await }).filter_map(|()| async { None }),
    )
}

/// Health, controller, broker and stdio in one value sharing the shutdown token.
#[derive(Clone, Debug)]
pub(crate) struct GoPlugin {
    pub(crate) shutdown: CancellationToken,
}

#[tonic::async_trait]
impl health::health_server::Health for GoPlugin {
    async fn check(
        &self,
        req: Request<health::HealthCheckRequest>,
    ) -> Result<Response<health::HealthCheckResponse>, Status> {
        match req.into_inner().service.as_str() {
            "" | "plugin" => Ok(Response::new(health::HealthCheckResponse {
                status: health::health_check_response::ServingStatus::Serving as i32,
            })),
            other => Err(Status::not_found(format!("unknown service {other:?}"))),
        }
    }

    type WatchStream = BoxStream<health::HealthCheckResponse>;

    async fn watch(
        &self,
        req: Request<health::HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let first = self.check(req).await?.into_inner();
        let stream = futures::stream::once(async move { Ok(first) }).chain(until_shutdown(&self.shutdown));
        Ok(Response::new(Box::pin(stream)))
    }
}

#[tonic::async_trait]
impl plugin::grpc_controller_server::GrpcController for GoPlugin {
    async fn shutdown(&self, _req: Request<plugin::Empty>) -> Result<Response<plugin::Empty>, Status> {
        tracing::debug!("Terraform asked the plugin to shut down");
        self.shutdown.cancel();
        Ok(Response::new(plugin::Empty {}))
    }
}

#[tonic::async_trait]
impl plugin::grpc_broker_server::GrpcBroker for GoPlugin {
    type StartStreamStream = BoxStream<plugin::ConnInfo>;

    async fn start_stream(
        &self,
        req: Request<Streaming<plugin::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        // We never broker extra connections: drain what the client sends, answer nothing, and
        // end when either side is done.
        let inbound = req.into_inner();
        let token = self.shutdown.clone();
        let drained = inbound.take_until(token.cancelled_owned()).filter_map(|_| async { None });
        Ok(Response::new(Box::pin(drained)))
    }
}

#[tonic::async_trait]
impl plugin::grpc_stdio_server::GrpcStdio for GoPlugin {
    type StreamStdioStream = BoxStream<plugin::StdioData>;

    async fn stream_stdio(&self, _req: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        // Our stdout/stderr are not redirected through gRPC; logs go to stderr directly.
        Ok(Response::new(until_shutdown(&self.shutdown)))
    }
}
