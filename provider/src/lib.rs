//! terraform-provider-cloudtemple: Cloud Temple Managed Kubernetes in Terraform.
//!
//! Layout:
//! - [`provider`]: provider configuration and the registration of every type.
//! - [`data_sources`]: `cloudtemple_kubernetes_versions`, `cloudtemple_kubernetes_addons`.
//! - [`resources`]: managed resource types.
//! - [`catalog`]: supported Kubernetes and Talos versions and the platform components, as data
//!   files with their sources.
//! - [`cidr`]: CIDR containment and overlap for network checks.
//! - [`docs`]: generation of `docs/` from the schemas and `examples/`.
//! - [`kube`]: the Kubernetes API client: server-side apply of object sets, discovery, readiness,
//!   drift, prune, node cordon and drain.
//! - [`talos`]: the Talos side without network: secrets bundle and PKI, machine configurations,
//!   talosconfig and kubeconfig.

pub mod catalog;
pub mod cidr;
pub mod data_sources;
pub mod docs;
pub mod kube;
pub mod provider;
pub mod resources;
pub mod talos;
