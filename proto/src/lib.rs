//! Generated protobuf messages and gRPC services, kept in one crate so that the rest of the
//! workspace never runs a code generator and never needs `protoc`.
//!
//! Layout (each `.proto` file names the upstream version its field numbers follow):
//! - [`tfplugin6`]: Terraform's plugin protocol 6 (`proto/tfplugin6/`). Only the `tfplugin`
//!   crate's gRPC edge may use it.
//! - [`plugin`]: hashicorp/go-plugin's broker, controller and stdio services (`proto/plugin/`).
//! - [`grpc_health_v1`]: the standard gRPC health service (`proto/grpc/health/v1/`).
//! - [`talos`]: the subset of the Talos machine API the provider and the emulator speak
//!   (`proto/talos/`).

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, rust_2018_idioms)]

/// Terraform plugin protocol 6.
#[rustfmt::skip]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// hashicorp/go-plugin's internal services.
#[rustfmt::skip]
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// `grpc.health.v1`.
#[rustfmt::skip]
pub mod grpc_health_v1 {
    tonic::include_proto!("grpc.health.v1");
}

/// The subset of the Talos machine API (`proto/talos/`). Modules keep upstream package names so
/// that cross-package references (`super::common::Data`) resolve and wire paths match upstream.
pub mod talos {
    /// `common`: metadata and data chunks shared by every Talos service.
    #[rustfmt::skip]
    pub mod common {
        tonic::include_proto!("common");
    }

    /// `machine`: MachineService and LifecycleService.
    #[rustfmt::skip]
    pub mod machine {
        tonic::include_proto!("machine");
    }

    /// `cluster`: ClusterService (server-side health checks).
    #[rustfmt::skip]
    pub mod cluster {
        tonic::include_proto!("cluster");
    }

    /// `google.rpc`: the `Status` message carried in `common.Metadata`.
    pub mod google {
        /// `google.rpc`.
        #[rustfmt::skip]
        pub mod rpc {
            tonic::include_proto!("google.rpc");
        }
    }
}
