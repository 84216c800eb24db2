//! Errors of the Kubernetes client, classified transient (worth retrying) or permanent, and
//! turned into one [`Diagnostic`] each at the resource boundary.

use super::object::ObjectRef;
use std::fmt;
use tfplugin::Diagnostic;

/// One field another manager owns, from a server-side apply conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field, as the API server names it (`.spec.replicas`, `.data.key`).
    pub field: String,
    /// The manager that owns it, as the API server describes it (`"kubectl"`, `"kube-controller-manager" using apps/v1`).
    pub manager: String,
}

impl fmt::Display for FieldConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (owned by {})", self.field, self.manager)
    }
}

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The `cluster` access object lacks a field or holds an unusable one.
    #[error("cluster access: {field}: {reason}")]
    Access {
        /// The field of the access object.
        field: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// An object is not a valid Kubernetes object (a required field is missing or mistyped).
    #[error("{path}: {reason}")]
    InvalidObject {
        /// Dotted path in the object (`metadata.name`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The API server does not serve this kind, even after refreshing discovery.
    #[error("the cluster does not serve kind {kind} of {api_version} (is its CRD installed?)")]
    UnknownKind {
        /// apiVersion asked for.
        api_version: String,
        /// Kind asked for.
        kind: String,
    },
    /// Server-side apply refused: fields we would change are owned by other managers.
    #[error("applying {object}: {} field conflict(s): {}", conflicts.len(), list(conflicts))]
    Conflict {
        /// The object applied (boxed: errors stay small).
        object: Box<ObjectRef>,
        /// Every conflicting field and its manager.
        conflicts: Vec<FieldConflict>,
    },
    /// The API server answered with an error status.
    #[error("{}{code} {reason}: {message}", object.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
    Api {
        /// The object concerned, when there is one (boxed: errors stay small).
        object: Option<Box<ObjectRef>>,
        /// HTTP status code.
        code: u16,
        /// Status reason (`NotFound`, `Invalid`, `TooManyRequests`).
        reason: String,
        /// Status message.
        message: String,
        /// Seconds the server asked to wait before retrying (429/503).
        retry_after: Option<u64>,
    },
    /// The API server could not be reached (connection refused or reset, TLS failure).
    #[error("cannot reach the Kubernetes API: {message}")]
    Connection {
        /// The underlying error, without credentials.
        message: String,
    },
    /// The API server's certificate does not verify against the cluster CA of `access`: a
    /// different cluster answers at the address (or the access is stale). Retrying cannot help.
    #[error(
        "the Kubernetes API server's certificate is not trusted ({message}): another cluster may be answering \
         at this address, or the `cluster` access is from an older cluster"
    )]
    Certificate {
        /// The verification error.
        message: String,
    },
    /// The operation's time ran out.
    #[error("timed out {what}: {waiting_for}")]
    Timeout {
        /// The operation.
        what: String,
        /// The last thing still awaited (progress), to say what was not ready.
        waiting_for: String,
    },
    /// Terraform asked the provider to stop.
    #[error("cancelled: Terraform asked the provider to stop")]
    Cancelled,
    /// The client could not be built or a response not decoded.
    #[error("Kubernetes client: {message}")]
    Client {
        /// What failed.
        message: String,
    },
}

fn list(conflicts: &[FieldConflict]) -> String {
    conflicts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl KubeError {
    /// Whether retrying the same request may succeed: connection errors, 429 and 5xx. Other
    /// 4xx are permanent (retrying a 422 or a 409 only repeats it).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connection { .. } => true,
            Self::Api { code, .. } => *code == 429 || *code >= 500,
            _ => false,
        }
    }

    /// Whether the server said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { code: 404, .. })
    }

    /// The same error, about `object`.
    pub fn about(self, object: &ObjectRef) -> Self {
        match self {
            Self::Api { object: None, code, reason, message, retry_after } => {
                Self::Api { object: Some(Box::new(object.clone())), code, reason, message, retry_after }
            }
            other => other,
        }
    }

    /// One diagnostic: `summary`, then a detail naming the object, the conflicting fields and
    /// managers, and the way out.
    pub fn to_diagnostic(&self, summary: &str) -> Diagnostic {
        let detail = match self {
            Self::Conflict { object, conflicts } => {
                let fields: Vec<String> =
                    conflicts.iter().map(|c| format!("  - {} is owned by {}", c.field, c.manager)).collect();
                format!(
                    "Server-side apply of {object} conflicts with other field managers:\n{}\n\nSomething else \
                     changed these fields since they were applied. Set conflict_resolution = \"overwrite\" to take \
                     them over, or remove them from the configuration to leave them to the other manager.",
                    fields.join("\n")
                )
            }
            Self::UnknownKind { .. } => format!(
                "{self}. Install the CRD first (for example with the add-on that provides it, in the same apply: \
                 the kind is looked up again at apply time)."
            ),
            other => other.to_string(),
        };
        Diagnostic::error(summary, detail)
    }
}

/// Converts a kube-rs error. Connection-level failures become [`KubeError::Connection`], API
/// statuses [`KubeError::Api`] (with their `retryAfterSeconds`).
impl From<kube::Error> for KubeError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => Self::Api {
                object: None,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
                retry_after: status
                    .details
                    .as_ref()
                    .map(|d| u64::from(d.retry_after_seconds))
                    .filter(|s| *s > 0),
            },
            kube::Error::HyperError(e) => connection_failure(&e),
            kube::Error::Service(e) => connection_failure(&*e),
            kube::Error::SerdeError(e) => Self::Client { message: format!("decoding a response: {e}") },
            other => Self::Client { message: other.to_string() },
        }
    }
}

/// A connection-level failure: permanent when the server's certificate does not verify,
/// transient otherwise (refused, reset, timed out).
fn connection_failure(e: &(dyn std::error::Error + 'static)) -> KubeError {
    match certificate_failure(e) {
        Some(message) => KubeError::Certificate { message },
        None => KubeError::Connection { message: e.to_string() },
    }
}

/// The rustls certificate error somewhere in `e`'s chain, looking inside `io::Error`s (whose
/// `source` skips the error they wrap, and which hyper nests two deep).
fn certificate_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// The conflicts of a 409 from server-side apply, from the Status causes (one per field), or
/// `None` when the status is another kind of conflict (a stale resourceVersion).
pub fn apply_conflicts(status: &kube::core::Status) -> Option<Vec<FieldConflict>> {
    let causes = status.details.as_ref()?.causes.iter().filter(|c| c.reason == "FieldManagerConflict");
    let conflicts: Vec<FieldConflict> = causes
        .map(|c| FieldConflict {
            field: c.field.clone(),
            manager: c.message.strip_prefix("conflict with ").unwrap_or(&c.message).to_string(),
        })
        .collect();
    (!conflicts.is_empty()).then_some(conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn conflict_status() -> Status {
        serde_json::from_value(serde_json::json!({
            "code": 409, "reason": "Conflict", "message": "Apply failed with 2 conflicts",
            "details": {"causes": [
                {"reason": "FieldManagerConflict", "message": "conflict with \"other\"", "field": ".data.color"},
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\" using v1", "field": ".data.size"},
            ]}
        }))
        .expect("status")
    }

    #[test]
    fn conflicts_name_every_field_and_manager() {
        let conflicts = apply_conflicts(&conflict_status()).expect("conflicts");
        assert_eq!(conflicts[0], FieldConflict { field: ".data.color".into(), manager: "\"other\"".into() });
        assert_eq!(conflicts[1].manager, "\"kubectl\" using v1");
        let object = ObjectRef::parse_id("v1//ConfigMap//team//settings").expect("id");
        let d = KubeError::Conflict { object: Box::new(object), conflicts }.to_diagnostic("Conflict");
        let detail = format!("{d:?}");
        for needle in [".data.color", "\\\"other\\\"", ".data.size", "overwrite", "ConfigMap"] {
            assert!(detail.contains(needle), "{needle} in {detail}");
        }
        let stale = Status { code: 409, reason: "Conflict".into(), ..Status::default() };
        assert!(apply_conflicts(&stale).is_none());
    }

    #[test]
    fn only_throttling_server_errors_and_connections_are_transient() {
        let api = |code| KubeError::Api {
            object: None,
            code,
            reason: String::new(),
            message: String::new(),
            retry_after: None,
        };
        assert!(api(429).is_transient() && api(500).is_transient() && api(503).is_transient());
        assert!(!api(400).is_transient() && !api(404).is_transient() && !api(409).is_transient());
        assert!(!api(422).is_transient() && !api(403).is_transient());
        assert!(KubeError::Connection { message: "reset".into() }.is_transient());
        assert!(!KubeError::Cancelled.is_transient());
        let mut status = conflict_status();
        status.code = 429;
        status.details.as_mut().expect("details").retry_after_seconds = 3;
        let e = KubeError::from(kube::Error::Api(Box::new(status)));
        assert!(matches!(e, KubeError::Api { retry_after: Some(3), .. }), "{e:?}");
    }
}
