//! Acceptance harness: drives the real `terraform` CLI against the providers under test.
//!
//! A [`TestCase`] is a sequence of [`Step`]s, mirroring HashiCorp's acceptance framework. It runs
//! once per terraform binary: the pinned 1.0.3 (from `TF_ACC_TERRAFORM_1_0_3` or the repo-local
//! install of `scripts/install-terraform.sh`) and every newer `terraform` on `PATH`
//! (`TF_ACC_TERRAFORM_ONLY=1.0.3` restricts). Providers are loaded from their freshly built
//! binaries through `dev_overrides`; `terraform init` is never run.
//!
//! A configuration step plans to a file, checks the plan (`show -json`), applies that plan, checks
//! the state, then requires `plan -refresh=false` and `plan` to be empty. Every command's output is
//! scanned for [`FORBIDDEN_TEXTS`] ("Provider produced", "inconsistent", "panic", ...), which fail
//! the test whatever the step expected. The case always ends with a destroy that reports leftovers.
//!
//! ```no_run
//! use acceptance::checks::{attr_eq, attr_sensitive, attr_set, plan_unknown};
//! use acceptance::{Step, TestCase};
//! use serde_json::json;
//!
//! const SOURCE: &str = "registry.terraform.io/cloudtemple/cloudtemple";
//!
//! let v1 = r#"resource "cloudtemple_kubernetes_addon" "a" { name = "keda", version = "2.16.0" }"#;
//! let v2 = r#"resource "cloudtemple_kubernetes_addon" "a" { name = "keda", version = "2.17.0" }"#;
//! TestCase::new("addon_upgrade")
//!     .provider(SOURCE)
//!     .step(
//!         Step::config(v1)
//!             .expect_actions("cloudtemple_kubernetes_addon.a", &["create"])
//!             .plan_check(plan_unknown("cloudtemple_kubernetes_addon.a", "id"))
//!             .check(attr_eq("cloudtemple_kubernetes_addon.a", "version", json!("2.16.0")))
//!             .check(attr_set("cloudtemple_kubernetes_addon.a", "namespace")),
//!     )
//!     .step(Step::config(v2).expect_actions("cloudtemple_kubernetes_addon.a", &["update"]))
//!     .step(Step::import("cloudtemple_kubernetes_addon.a").ignore(&["wait"]))
//!     .step(
//!         Step::config(r#"resource "cloudtemple_kubernetes_addon" "a" { name = "nope" }"#)
//!             .expect_error("unknown add-on")
//!             .expect_error_path("name"),
//!     )
//!     .step(Step::destroy().check(|before| {
//!         // Prove with the backend's own client that what `before` lists is gone.
//!         let _ = before;
//!         Ok(())
//!     }))
//!     .run();
//! # let _ = attr_sensitive;
//! ```
//!
//! Environment: `TF_ACC_TERRAFORM_1_0_3`, `TF_ACC_TERRAFORM_ONLY`, `TF_ACC_PROVIDER_DIR`,
//! `TF_ACC_LOG` (terraform's `TF_LOG` level, written to a file in the temp directory),
//! `TF_ACC_KEEP_DIR=1` (keep the working directories), `TF_ACC_COMMAND_TIMEOUT` (seconds).

pub mod case;
pub mod checks;
pub mod command;
pub mod error;
pub mod forbidden;
pub mod path;
pub mod plan;
pub mod provider;
mod runner;
pub mod state;
pub mod step;
pub mod terraform;
pub mod workdir;

pub use case::{CaseError, RunFailure, RunReport, TestCase};
pub use checks::{CheckError, CheckResult};
pub use error::Error;
pub use forbidden::FORBIDDEN_TEXTS;
pub use plan::Plan;
pub use provider::ProviderUnderTest;
pub use state::State;
pub use step::{Config, RunContext, Step};
pub use terraform::{Terraform, Version};
pub use workdir::WorkDir;
