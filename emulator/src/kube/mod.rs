//! The Kubernetes API half of the local region: a kube-apiserver emulation good enough that
//! kubectl, kube-rs and the provider cannot tell it from a real one for what they use.
//!
//! Layout:
//! - [`server`]: [`ApiServer`] and its configuration, and the hooks the Talos side drives
//!   (nodes, version, availability, faults);
//! - [`serve`](ApiServer::serve): HTTPS with client-certificate authentication;
//! - [`http`]: routing, discovery, OpenAPI, CRUD, patch, server-side apply, watch, tables;
//! - [`store`]: objects as JSON with resourceVersions, history for watches, persistence;
//! - [`catalog`]: built-in kinds and CRD-defined ones; [`fieldset`] and [`apply`]: field
//!   ownership; [`patch`]: merge, strategic merge and JSON patches; [`selectors`]: label and field
//!   selectors; [`lifecycle`]: finalizers and cascading deletion; [`auth`]: identity and RBAC;
//! - [`controllers`]: workloads, LoadBalancer addresses from MetalLB pools, PVC binding, namespace
//!   termination; [`faults`]: latency, 500s and 429s; [`certs`]: serving and client certificates.
//!
//! Wiring for one cluster:
//! ```no_run
//! # async fn demo(ca_cert: &str, ca_key: &str, dir: &std::path::Path) -> Result<(), ct_emulator::kube::KubeError> {
//! use ct_emulator::kube::{ApiServer, ApiServerConfig, Store, certs};
//! let serving = certs::issue_server_cert(ca_cert, ca_key, &["127.0.0.1"])?;
//! let config = ApiServerConfig {
//!     kubernetes_version: "1.32.3".into(),
//!     cluster_ca_pem: ca_cert.into(),
//!     server_cert_pem: serving.cert_pem,
//!     server_key_pem: serving.key_pem,
//!     ..ApiServerConfig::default()
//! };
//! let server = ApiServer::new(config, Store::open(dir)?)?;
//! server.upsert_node("cp-1", &[("node-role.kubernetes.io/control-plane", "")], "v1.32.3", true)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:6443").await.map_err(ct_emulator::kube::KubeError::Listener)?;
//! server.clone().serve(listener, std::future::pending()).await
//! # }
//! ```

pub mod apply;
pub mod auth;
pub mod catalog;
pub mod certs;
pub mod controllers;
mod error;
pub mod faults;
pub mod fieldset;
pub mod http;
pub mod lifecycle;
pub mod meta;
pub mod patch;
pub mod selectors;
mod serve;
pub mod server;
pub mod store;

pub use auth::Identity;
pub use controllers::Timings;
pub use error::{ApiError, ApiResult, KubeError};
pub use faults::KubeFaults;
pub use server::{ApiServer, ApiServerConfig, NodeInfo};
pub use store::{ObjectKey, Store};
