//! Typed errors of the emulator library, with the context needed to act on them.

use std::path::PathBuf;

/// Everything that can go wrong while building, loading or driving a region.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A machine configuration is not UTF-8 YAML.
    #[error("failed to parse config: {0}")]
    ConfigSyntax(String),
    /// A machine configuration parsed but failed validation.
    #[error("invalid machine configuration: {0}")]
    InvalidConfig(String),
    /// A certificate or key could not be parsed or issued.
    #[error("certificate error ({what}): {reason}")]
    Pki {
        /// Which certificate or key was being handled.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A TLS configuration could not be built from the machine's certificates.
    #[error("TLS configuration for machine {machine}: {source}")]
    Tls {
        /// The machine whose listener was being configured.
        machine: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// Reading or writing the state directory failed.
    #[error("state file {path}: {source}")]
    State {
        /// The file being read or written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but does not hold a region snapshot.
    #[error("state file {path} is corrupt: {source}")]
    CorruptState {
        /// The file that failed to parse.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Binding a listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A machine id or address is not part of the region.
    #[error("no machine {0} in this region")]
    UnknownMachine(String),
    /// A fault specification is not valid.
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    /// A region option (flag, config file value) is not valid.
    #[error("invalid region option: {0}")]
    InvalidOption(String),
    /// The admin endpoint answered with an error or could not be reached.
    #[error("admin endpoint {addr}: {reason}")]
    Admin {
        /// The admin endpoint address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds a [`Error::Pki`] from anything displayable.
    pub(crate) fn pki(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Pki { what: what.into(), reason: reason.to_string() }
    }
}
