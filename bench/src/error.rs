//! The one error type of the bench: every failure says what was being done and to what.

use std::path::PathBuf;

/// Why a benchmark could not produce its figures.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (with the path or command).
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A command ran but failed.
    #[error("{command} failed ({status}); output in {}", output.display())]
    Command {
        /// The command line, shortened.
        command: String,
        /// Its exit status.
        status: String,
        /// Where its stdout and stderr were saved.
        output: PathBuf,
    },
    /// A provider did not follow the plugin protocol as expected.
    #[error("{binary}: {message}")]
    Protocol {
        /// The provider binary's file name.
        binary: String,
        /// What went wrong.
        message: String,
    },
    /// A gRPC call failed.
    #[error("{binary}: {call} failed: {status}")]
    Grpc {
        /// The provider binary's file name.
        binary: String,
        /// The RPC.
        call: &'static str,
        /// The status returned.
        status: Box<tonic::Status>,
    },
    /// Connecting (TCP or unix socket, then TLS and HTTP/2) failed.
    #[error("{binary}: connecting to {address}: {source}")]
    Connect {
        /// The provider binary's file name.
        binary: String,
        /// The address from the handshake line.
        address: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// Something the bench needs is missing or malformed.
    #[error("{0}")]
    Setup(String),
    /// A plan that should be empty after apply was not.
    #[error("terraform {version} planned changes right after apply ({what}); output in {}", output.display())]
    NotEmpty {
        /// The terraform version.
        version: String,
        /// Which plan.
        what: String,
        /// Where the plan output was saved.
        output: PathBuf,
    },
}

impl BenchError {
    /// An I/O error with its context.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

impl From<nix::Error> for BenchError {
    fn from(err: nix::Error) -> Self {
        Self::Io { context: "getrusage".to_string(), source: err.into() }
    }
}
