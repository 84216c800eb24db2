//! The Talos side of the provider: cluster secrets and PKI, machine configurations, the client
//! configurations (talosconfig, kubeconfig) derived from them, and the machine API client.
//!
//! Map:
//! - [`client`]: the Talos machine API client (maintenance mode and mTLS, retries of transient
//!   errors only, cancellation);
//! - [`secrets`]: [`SecretsBundle`], Talos's `secrets.yaml` generated in Rust or imported;
//! - [`pki`]: the four CAs (etcd, Kubernetes, aggregator: ECDSA P-256; OS: Ed25519) and the
//!   client certificates they sign;
//! - [`keys`]: private keys in Talos's PEM encodings, converted for *ring*/rcgen;
//! - [`pem`]: PEM and the base64-of-PEM field encoding of Talos YAML files;
//! - [`machine_config`]: v1alpha1 configurations per node role, patches applied, hashed;
//! - [`config_hash`]: the normalised SHA-256 of configuration documents, for drift;
//! - [`patch`]: strategic-merge and RFC 6902 patches on configuration documents;
//! - [`config_checks`]: input and patched-configuration validation (labels, CIDRs, managed
//!   fields, unknown keys);
//! - [`version`]: what differs between Talos minor lines (apply modes, deprecations);
//! - [`talosconfig`]: the `os:admin` talosconfig (byte-stable) and its parser;
//! - [`kubeconfig`]: the offline admin kubeconfig (stable through reuse) and its parser;
//! - [`sensitive`]: [`Sensitive`], secret text that never prints;
//! - [`error`]: typed errors, none of which carries key material.

pub mod client;
pub mod config_checks;
pub mod config_hash;
pub mod error;
pub mod keys;
pub mod kubeconfig;
pub mod machine_config;
pub mod patch;
pub mod pem;
pub mod pki;
pub mod secrets;
pub mod sensitive;
pub mod talosconfig;
pub mod version;

#[cfg(test)]
mod tests;

pub use secrets::SecretsBundle;
pub use sensitive::Sensitive;
