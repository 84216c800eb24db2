//! [`TalosError`]: what failed (RPC, node), how (gRPC code and message, connection, TLS,
//! deadline, cancellation) and whether trying again can help ([`TalosError::is_transient`]).
//!
//! Errors carry the node's own message and never the request: a machine configuration holds
//! the cluster's keys. Messages of ApplyConfiguration errors are redacted on top (quoted spans
//! removed), since a YAML error from the node may quote the configuration.
//!
//! Transient (retried): `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`, `Aborted`,
//! connections refused, reset or closed (a node rebooting), `FailedPrecondition` whose message
//! says the service is "not available yet" (a node still booting), and per-attempt timeouts.
//! Everything else is permanent: `InvalidArgument`, `PermissionDenied`, `Unimplemented`,
//! `NotFound`, `AlreadyExists` (where the caller does not treat it as success),
//! `Unauthenticated`, certificate errors, malformed replies, cancellation.

use std::error::Error as _;
use std::time::Duration;

use thiserror::Error;
use tonic::{Code, Status};

/// Longest node message kept in an error (a node could send a huge one).
const MAX_MESSAGE: usize = 2_000;

/// Prefix of the message of a connection that could not be made.
pub(crate) const CONNECT_MARK: &str = "cannot connect to the Talos API";
/// Prefix of the message of a TLS handshake whose certificates were rejected.
pub(crate) const TLS_MARK: &str = "TLS certificate rejected";

/// A failed Talos API call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Talos {rpc} on {node}: {kind}")]
pub struct TalosError {
    /// The RPC (`Version`, `ApplyConfiguration`...) or the wait that failed.
    pub rpc: &'static str,
    /// The node the call targeted (its address), or the endpoint without a target.
    pub node: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong in a [`TalosError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorKind {
    /// The node answered with a gRPC error status.
    #[error("{code:?}: {message}")]
    Status {
        /// The gRPC code.
        code: Code,
        /// The node's message.
        message: String,
    },
    /// No connection could be made, or it broke during the call (refused, reset, closed).
    #[error("connection failed: {0}")]
    Connection(String),
    /// A certificate was rejected: the node's (not signed by the expected CA, or a maintenance
    /// certificate that changed since first use) or ours (the node wants another client
    /// certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// The deadline passed before the call (or the wait) finished.
    #[error("deadline exceeded after {}{}", fmt_duration(*.after), .last.as_ref().map(|l| format!("; last: {l}")).unwrap_or_default())]
    Timeout {
        /// The time budget that ran out.
        after: Duration,
        /// The last error or observation before giving up, if any.
        last: Option<String>,
    },
    /// The operation was cancelled (Terraform stopped the provider).
    #[error("cancelled")]
    Cancelled,
    /// The node answered something this client cannot use.
    #[error("unexpected reply: {0}")]
    Reply(String),
    /// The client certificate, key or CA could not be loaded.
    #[error("invalid client credentials: {0}")]
    Credentials(String),
}

fn fmt_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl TalosError {
    /// An error of `rpc` on `node`.
    pub fn new(rpc: &'static str, node: impl Into<String>, kind: ErrorKind) -> Self {
        Self { rpc, node: node.into(), kind }
    }

    /// The error from a gRPC status returned by a call of `rpc` on `node`.
    pub fn from_status(rpc: &'static str, node: impl Into<String>, status: &Status) -> Self {
        let mut kind = classify(status);
        if rpc == "ApplyConfiguration"
            && let ErrorKind::Status { message, .. } = &mut kind
        {
            *message = crate::talos::error::redact_quoted(message);
        }
        Self::new(rpc, node, kind)
    }

    /// The gRPC code this error stands for: the node's, or the one a gRPC client reports for
    /// the same condition (`Unavailable` for connections, `DeadlineExceeded`, `Cancelled`).
    pub fn code(&self) -> Option<Code> {
        match &self.kind {
            ErrorKind::Status { code, .. } => Some(*code),
            ErrorKind::Connection(_) | ErrorKind::Tls(_) => Some(Code::Unavailable),
            ErrorKind::Timeout { .. } => Some(Code::DeadlineExceeded),
            ErrorKind::Cancelled => Some(Code::Cancelled),
            ErrorKind::Reply(_) | ErrorKind::Credentials(_) => None,
        }
    }

    /// The node's message, for `Status` errors.
    pub fn message(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether trying again later can succeed (see the module docs for the list).
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ErrorKind::Status { code, message } => match code {
                Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted => true,
                // Bootstrap and etcd calls while the node is still starting its services.
                Code::FailedPrecondition => message.contains("not available yet"),
                _ => false,
            },
            ErrorKind::Connection(_) | ErrorKind::Timeout { .. } => true,
            ErrorKind::Tls(_) | ErrorKind::Cancelled | ErrorKind::Reply(_) | ErrorKind::Credentials(_) => {
                false
            }
        }
    }

    /// Whether the node answered that it runs in maintenance mode (no configuration yet): the
    /// maintenance API refuses everything but ApplyConfiguration with `Unimplemented`.
    pub fn is_maintenance_mode(&self) -> bool {
        matches!(&self.kind, ErrorKind::Status { code: Code::Unimplemented, message }
            if message.contains("maintenance mode"))
    }

    /// Whether the operation was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.kind == ErrorKind::Cancelled
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout { .. })
    }

    /// Whether the node said `PermissionDenied` (the client certificate lacks the role).
    pub fn is_permission_denied(&self) -> bool {
        self.code() == Some(Code::PermissionDenied) && matches!(self.kind, ErrorKind::Status { .. })
    }

    /// Whether the node said `Unimplemented` (old Talos, wrong node role, maintenance mode).
    pub fn is_unimplemented(&self) -> bool {
        matches!(self.kind, ErrorKind::Status { code: Code::Unimplemented, .. })
    }
}

/// Sorts a status into an [`ErrorKind`]: statuses the node sent are kept as they are; those the
/// client made up for a broken transport become `Connection`, or `Tls` for certificate errors.
pub(crate) fn classify(status: &Status) -> ErrorKind {
    let message = clip(status.message());
    // The connector's own failures reach us as `Unavailable` with its message (tonic keeps the
    // text of a connect error, not the error itself).
    if status.code() == Code::Unavailable {
        if message.starts_with(TLS_MARK) {
            return ErrorKind::Tls(message);
        }
        if message.starts_with(CONNECT_MARK) {
            return ErrorKind::Connection(message);
        }
    }
    // A status with a source was made by the client from a transport error (hyper, h2, I/O):
    // the connection broke under the call.
    if let Some(source) = status.source() {
        let chain = describe_chain(source);
        if let Some(tls) = tls_rejection(source) {
            return ErrorKind::Tls(clip(&format!("{message}: {tls}")));
        }
        if is_certificate_failure_text(&chain) {
            return ErrorKind::Tls(clip(&chain));
        }
        return ErrorKind::Connection(clip(&format!("{message}: {chain}")));
    }
    // The generated client's wording when the channel itself failed before sending.
    if status.code() == Code::Unknown && message.starts_with("Service was not ready") {
        return ErrorKind::Connection(message);
    }
    ErrorKind::Status { code: status.code(), message }
}

/// Whether a status reports a gRPC deadline that expired: tonic's own timer on the client (its
/// `TimeoutExpired` error under the status), or a server that enforced our `grpc-timeout`.
pub(crate) fn is_deadline(status: &Status) -> bool {
    if status.code() == Code::Cancelled && status.message() == "Timeout expired" {
        return true;
    }
    let mut next = status.source();
    while let Some(e) = next {
        if e.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return true;
        }
        next = e.source();
    }
    false
}

/// A certificate rejection somewhere in an error chain (rustls errors sit inside I/O errors,
/// whose `source` skips them, hence the explicit `get_ref`).
pub(crate) fn tls_rejection(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return is_certificate_error(tls).then(|| tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return is_certificate_error(tls).then(|| tls.to_string());
        }
        next = e.source();
    }
    None
}

/// Certificate alerts as rustls words them (`received fatal alert: UnknownCA`).
const CERTIFICATE_ALERTS: [&str; 8] = [
    "BadCertificate",
    "UnsupportedCertificate",
    "CertificateRevoked",
    "CertificateExpired",
    "CertificateUnknown",
    "UnknownCA",
    "CertificateRequired",
    "AccessDenied",
];

/// Whether an error text reports a certificate failure. Needed because an alert that arrives
/// after the handshake (TLS 1.3 servers reject a missing or foreign client certificate that
/// way) reaches us through h2, which keeps only the text of the I/O error.
fn is_certificate_failure_text(text: &str) -> bool {
    text.contains("invalid peer certificate")
        || CERTIFICATE_ALERTS.iter().any(|a| text.contains(&format!("received fatal alert: {a}")))
}

/// Whether a rustls error is about certificates (permanent) rather than a broken handshake.
pub(crate) fn is_certificate_error(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::General(_) => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::CertificateRequired
                | A::AccessDenied
        ),
        _ => false,
    }
}

fn describe_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last().is_none_or(|p| !p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Keeps a node message printable and bounded.
fn clip(message: &str) -> String {
    let mut out: String = message
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    if message.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code, message: &str) -> TalosError {
        TalosError::from_status("Bootstrap", "10.0.0.1", &Status::new(code, message))
    }

    #[test]
    fn transient_and_permanent_codes() {
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::ResourceExhausted, Code::Aborted] {
            assert!(status(code, "x").is_transient(), "{code:?}");
        }
        assert!(status(Code::FailedPrecondition, "bootstrap is not available yet").is_transient());
        assert!(!status(Code::FailedPrecondition, "time is not in sync").is_transient());
        for code in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::Unimplemented,
            Code::NotFound,
            Code::AlreadyExists,
            Code::Unauthenticated,
            Code::Unknown,
        ] {
            assert!(!status(code, "x").is_transient(), "{code:?}");
        }
    }

    #[test]
    fn connector_failures_are_recognised() {
        let refused =
            status(Code::Unavailable, &format!("{CONNECT_MARK} at 10.0.0.1:50000: connection refused"));
        assert!(matches!(refused.kind, ErrorKind::Connection(_)) && refused.is_transient());
        let tls =
            status(Code::Unavailable, &format!("{TLS_MARK} by 10.0.0.1:50000: invalid peer certificate"));
        assert!(matches!(tls.kind, ErrorKind::Tls(_)) && !tls.is_transient());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let broken = Status::from_error(Box::new(io));
        let e = TalosError::from_status("Version", "n", &broken);
        assert!(matches!(e.kind, ErrorKind::Connection(_)), "{e}");
        let cert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
        );
        let e = TalosError::from_status("Version", "n", &Status::from_error(Box::new(cert)));
        assert!(matches!(e.kind, ErrorKind::Tls(_)) && !e.is_transient(), "{e}");
        let text_only = std::io::Error::other("connection error: received fatal alert: CertificateRequired");
        let e = TalosError::from_status("Version", "n", &Status::from_error(Box::new(text_only)));
        assert!(matches!(e.kind, ErrorKind::Tls(_)), "{e}");
        let other_alert = std::io::Error::other("connection error: received fatal alert: DecodeError");
        let e = TalosError::from_status("Version", "n", &Status::from_error(Box::new(other_alert)));
        assert!(matches!(e.kind, ErrorKind::Connection(_)), "{e}");
    }

    #[test]
    fn messages_name_rpc_and_node_and_hide_quoted_config() {
        let e = TalosError::from_status(
            "ApplyConfiguration",
            "10.0.0.7",
            &Status::invalid_argument("yaml: line 3: found \"LS0tLS1CRUdJTiBFRDI1NTE5\" here"),
        );
        let text = e.to_string();
        assert!(text.starts_with("Talos ApplyConfiguration on 10.0.0.7: InvalidArgument"), "{text}");
        assert!(!text.contains("LS0t"), "{text}");
        assert!(
            status(Code::Unimplemented, "API is not implemented in maintenance mode").is_maintenance_mode()
        );
        let t =
            TalosError::new("wait", "n", ErrorKind::Timeout { after: Duration::from_secs(3), last: None });
        assert_eq!(t.to_string(), "Talos wait on n: deadline exceeded after 3.0s");
        assert!(status(Code::Unknown, &"x".repeat(5000)).to_string().len() < 2_100);
    }
}
