//! `tfplugin`: a provider-agnostic server for Terraform's plugin protocol 6.
//!
//! It knows nothing of any cloud: a provider implements [`Provider`], [`Resource`] and
//! [`DataSource`] and calls [`serve`]. Layout:
//! - [`value`]: cty-compatible values (known / null / unknown, exact numbers, dynamic values) and
//!   their msgpack and JSON codecs; a serde bridge for typed state structs.
//! - [`path`]: attribute paths, as Terraform prints them in diagnostics.
//! - [`diag`]: diagnostics, the only way errors reach users.
//! - [`schema`]: the schema model, its implied types, Terraform's schema rules, and
//!   configuration validation.
//! - [`validate`]: named attribute validators.
//! - [`plan`]: the plan engine, named plan modifiers, plan validity checks, JSON/YAML semantics.
//! - [`provider`] and [`resource`]: the traits a provider implements.
//! - [`context`]: cancellation (`StopProvider`) handed to every call.
//! - [`server`]: the gRPC edge (the only module that touches protobuf types), the go-plugin
//!   handshake with AutoMTLS, debug/reattach mode and signal handling.
//! - [`log`]: logs on stderr in the hclog JSON format Terraform understands.
//! - [`docs`]: registry-style markdown rendered from schemas.

pub mod context;
pub mod diag;
pub mod docs;
pub mod log;
pub mod path;
pub mod plan;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod server;
pub mod validate;
pub mod value;

/// Re-exported so providers implement the async traits without naming the crate.
pub use async_trait::async_trait;
pub use context::Context;
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use path::AttributePath;
pub use provider::Provider;
pub use resource::{DataSource, Resource};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use server::serve;
pub use value::{Type, Value};
