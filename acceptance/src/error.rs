//! Errors of the harness machinery itself: finding binaries, running terraform, reading its JSON.
//!
//! Expectation failures of a test (a wrong plan action, a failed state check) are not `Error`s: they
//! are reported as a [`crate::case::RunFailure`] that names the step. An `Error` can still end a
//! step (terraform could not be run, or printed forbidden text), and then its text is the reason.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while driving terraform, before any expectation is checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The pinned terraform binary is not installed where it is looked for.
    #[error(
        "terraform {version} is not installed at {}: run `bash scripts/install-terraform.sh` \
         (or `make tools`), or set TF_ACC_TERRAFORM_1_0_3 to the binary",
        path.display()
    )]
    PinnedTerraformMissing {
        /// The pinned version.
        version: String,
        /// Where it was expected.
        path: PathBuf,
    },

    /// A binary given as the pinned terraform reports another version.
    #[error("{} was expected to be terraform {expected} but reports {found}", path.display())]
    PinnedTerraformWrongVersion {
        /// The binary.
        path: PathBuf,
        /// The pinned version.
        expected: String,
        /// What `terraform version -json` said.
        found: String,
    },

    /// `terraform version -json` failed or printed something unreadable.
    #[error("`{} version -json` failed: {detail}", path.display())]
    VersionProbe {
        /// The binary probed.
        path: PathBuf,
        /// Why the probe failed.
        detail: String,
    },

    /// A version string is not `MAJOR.MINOR.PATCH[-PRE]`.
    #[error("invalid terraform version {text:?}")]
    InvalidVersion {
        /// The text that failed to parse.
        text: String,
    },

    /// `TF_ACC_TERRAFORM_ONLY` excludes every terraform binary that was found.
    #[error("TF_ACC_TERRAFORM_ONLY={only} selects none of the terraform binaries found ({found})")]
    NoTerraformSelected {
        /// The value of `TF_ACC_TERRAFORM_ONLY`.
        only: String,
        /// The versions that were found.
        found: String,
    },

    /// A provider source address is malformed.
    #[error("invalid provider source address {address:?}: {reason}")]
    InvalidProviderSource {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The provider binary under test was not built (or not where it is looked for).
    #[error(
        "provider binary {name} not found in {searched}; build it first with \
         `cargo build --bins --examples`, or set TF_ACC_PROVIDER_DIR to its directory"
    )]
    ProviderBinaryMissing {
        /// The executable name, `terraform-provider-<type>`.
        name: String,
        /// The directories searched, comma separated.
        searched: String,
    },

    /// Something cannot be written into a terraform CLI configuration file.
    #[error("cannot write the terraform CLI configuration: {reason}")]
    CliConfig {
        /// Why.
        reason: String,
    },

    /// An attribute path such as `network.pod_cidr` or `nodes[0].address` does not parse.
    #[error("invalid attribute path {path:?}: {reason}")]
    InvalidPath {
        /// The path text.
        path: String,
        /// Why it does not parse.
        reason: String,
    },

    /// A terraform command ran longer than the command timeout and was killed.
    #[error("`{command}` on terraform {version} timed out after {timeout:?}; output so far:\n{output}")]
    Timeout {
        /// The command line.
        command: String,
        /// The terraform version.
        version: String,
        /// The timeout that expired.
        timeout: Duration,
        /// Combined stdout and stderr captured before the kill.
        output: String,
    },

    /// A terraform command printed text that always means a provider or core bug.
    #[error(
        "`{command}` on terraform {version} printed forbidden text {pattern:?} \
         (line: {line:?}); full output:\n{output}"
    )]
    ForbiddenOutput {
        /// The forbidden pattern that matched.
        pattern: &'static str,
        /// The line where it matched.
        line: String,
        /// The command line.
        command: String,
        /// The terraform version.
        version: String,
        /// Combined stdout and stderr.
        output: String,
    },

    /// A terraform command exited with an unexpected status.
    #[error("`{command}` on terraform {version} exited with {status}; output:\n{output}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// The terraform version.
        version: String,
        /// The exit status, as text (`code 1`, `a signal`).
        status: String,
        /// Combined stdout and stderr.
        output: String,
    },

    /// `terraform show -json` (or another JSON command) printed something that does not parse.
    #[error("cannot parse the JSON printed by `{command}`: {source}")]
    Json {
        /// The command line.
        command: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what the harness was doing.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}
