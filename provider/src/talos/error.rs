//! Typed errors of the Talos layer.
//!
//! Every message is written for the Terraform user and carries the context needed to act on it
//! (which secrets field, which patch and key path, which kubeconfig entry). None of them ever
//! contains key material: parser messages that could quote input are passed through
//! [`redact_quoted`] first.

use thiserror::Error;

/// A PEM block could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PemError {
    /// No `-----BEGIN ...-----` / `-----END ...-----` pair was found.
    #[error("no PEM block found")]
    NoBlock,
    /// The END line names another label than the BEGIN line.
    #[error("PEM block `{begin}` ends with `{end}`")]
    MismatchedLabels {
        /// Label of the BEGIN line.
        begin: String,
        /// Label of the END line.
        end: String,
    },
    /// The body between the markers is not valid base64.
    #[error("PEM block `{label}` does not contain valid base64")]
    BadBase64 {
        /// Label of the block.
        label: String,
    },
}

/// A private key could not be decoded, or is of a kind this provider cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The text is not PEM.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The PEM label is not one Talos writes for private keys.
    #[error(
        "unsupported private key PEM type `{0}` (expected `EC PRIVATE KEY`, `ED25519 PRIVATE KEY`, \
         `RSA PRIVATE KEY` or `PRIVATE KEY`)"
    )]
    UnsupportedLabel(String),
    /// The DER structure inside the PEM block is not what its label announces.
    #[error("malformed {format} private key: {reason}")]
    Malformed {
        /// The encoding that was expected (`SEC1`, `PKCS#8`, `PKCS#1`).
        format: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// The key uses an algorithm or curve Talos does not generate (for example ECDSA P-384).
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(&'static str),
    /// The cryptographic library rejected the key (inconsistent public/private parts, ...).
    #[error("key rejected: {0}")]
    Rejected(String),
}

/// Certificate generation, signing or parsing failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PkiError {
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate PEM could not be read.
    #[error("certificate: {0}")]
    Pem(PemError),
    /// A certificate could not be parsed as X.509.
    #[error("certificate is not valid X.509: {0}")]
    Parse(String),
    /// A certificate does not meet a requirement (not a CA, key mismatch, ...).
    #[error("certificate {0}")]
    Invalid(String),
    /// The certificate library failed to build or sign a certificate.
    #[error("cannot sign certificate: {0}")]
    Sign(String),
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// The requested validity window is empty or out of the representable range.
    #[error("invalid certificate validity: {0}")]
    Validity(String),
}

/// A secrets bundle could not be generated, read or validated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecretsError {
    /// The YAML text could not be parsed into the secrets.yaml structure.
    #[error("secrets.yaml is not valid: {0}")]
    Yaml(String),
    /// A scalar field is missing or malformed.
    #[error("secrets.yaml field `{path}`: {reason}")]
    Field {
        /// Dotted path in secrets.yaml (`secrets.bootstraptoken`).
        path: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate or key field is unusable.
    #[error("secrets.yaml field `{path}`: {source}")]
    Pki {
        /// Dotted path in secrets.yaml (`certs.os`).
        path: &'static str,
        /// The underlying problem.
        source: PkiError,
    },
}

/// A machine configuration could not be rendered, patched or hashed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A typed input is invalid (checked before rendering so plan-time validation can reuse it).
    #[error("{field}: {reason}")]
    Input {
        /// Which input (`node.hostname`, `network.pod_cidrs[0]`, ...).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A user patch is invalid or conflicts with the configuration.
    #[error("config_patches[{index}]{}: {reason}", display_path(path))]
    Patch {
        /// Zero-based index in `config_patches`.
        index: usize,
        /// Key path inside the configuration (`machine.install.disk`), empty for the whole patch.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration document (for example one read back from a node) is not valid YAML.
    #[error("machine configuration is not valid YAML: {0}")]
    Yaml(String),
}

fn display_path(path: &str) -> String {
    if path.is_empty() { String::new() } else { format!(" at `{path}`") }
}

/// A talosconfig or kubeconfig could not be generated or parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientConfigError {
    /// The YAML could not be parsed.
    #[error("{kind} is not valid YAML: {message}")]
    Yaml {
        /// `kubeconfig` or `talosconfig`.
        kind: &'static str,
        /// Parser message, with quoted input removed.
        message: String,
    },
    /// A required entry is missing or inconsistent.
    #[error("{kind}: {reason}")]
    Invalid {
        /// `kubeconfig` or `talosconfig`.
        kind: &'static str,
        /// What is missing or wrong, with the YAML path.
        reason: String,
    },
    /// Certificates could not be issued.
    #[error(transparent)]
    Pki(#[from] PkiError),
}

/// Replaces every double-quoted, single-quoted or backticked span of a parser message with
/// `"…"`, so that a YAML error about a key or token field never echoes its value.
pub(crate) fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut closing: Option<char> = None;
    for c in message.chars() {
        match closing {
            Some(end) if c == end => {
                out.push('…');
                out.push(c);
                closing = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if matches!(c, '"' | '`') {
                    closing = Some(c);
                }
            }
        }
    }
    if closing.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_quoted_hides_values() {
        let msg = r#"invalid type: string "LS0tLS1CRUdJTi", expected a map at line 3"#;
        assert_eq!(redact_quoted(msg), r#"invalid type: string "…", expected a map at line 3"#);
        assert_eq!(redact_quoted("unclosed `abc"), "unclosed `…");
    }

    #[test]
    fn patch_error_names_index_and_path() {
        let err = ConfigError::Patch { index: 2, path: "machine.install".into(), reason: "x".into() };
        assert_eq!(err.to_string(), "config_patches[2] at `machine.install`: x");
        let err = ConfigError::Patch { index: 0, path: String::new(), reason: "y".into() };
        assert_eq!(err.to_string(), "config_patches[0]: y");
    }
}
