//! PEM text (RFC 7468) with any label, and the base64-of-PEM encoding Talos uses for every
//! certificate and key field of secrets.yaml, machine configurations and talosconfig.
//!
//! Why not rcgen's or the `pem` crate's helpers: Talos writes non-standard labels
//! (`ED25519 PRIVATE KEY`, `EC PRIVATE KEY`) that must round-trip exactly, and encoding the
//! same DER must always give the same bytes (64-character lines, `\n` endings, as Go's
//! `encoding/pem` writes them) so that generated files are byte-stable.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::PemError;

/// Encodes `der` as a PEM block with `label`, in Go's `encoding/pem` layout.
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so chunking bytes never splits a character.
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A decoded PEM block.
pub struct Block {
    /// The label between `BEGIN ` and `-----`.
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
}

// The body may be key material: never print it.
impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("label", &self.label).field("len", &self.der.len()).finish()
    }
}

/// Decodes the first PEM block of `text`; text around it is ignored, as Go's `pem.Decode` does.
pub fn decode(text: &str) -> Result<Block, PemError> {
    let start = text.find("-----BEGIN ").ok_or(PemError::NoBlock)?;
    let after_begin = &text[start + "-----BEGIN ".len()..];
    let label_end = after_begin.find("-----").ok_or(PemError::NoBlock)?;
    let label = after_begin[..label_end].to_owned();
    let body_and_rest = &after_begin[label_end + 5..];
    let end = body_and_rest.find("-----END ").ok_or(PemError::NoBlock)?;
    let body = &body_and_rest[..end];
    let after_end = &body_and_rest[end + "-----END ".len()..];
    let end_label = after_end.find("-----").map(|i| &after_end[..i]).ok_or(PemError::NoBlock)?;
    if end_label != label {
        return Err(PemError::MismatchedLabels { begin: label, end: end_label.to_owned() });
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(compact).map_err(|_| PemError::BadBase64 { label: label.clone() })?;
    Ok(Block { label, der })
}

/// Base64 (standard alphabet, padded) of the PEM text: the representation of every `crt` and
/// `key` field in Talos YAML files.
pub fn to_field(pem_text: &str) -> String {
    STANDARD.encode(pem_text.as_bytes())
}

/// Reverses [`to_field`]: base64 text to PEM text. `None` when it is not base64 of UTF-8.
pub fn from_field(field: &str) -> Option<String> {
    let compact: String = field.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD.decode(compact).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_wraps_at_64_and_decodes_back() {
        let der: Vec<u8> = (0u8..=200).collect();
        let text = encode("ED25519 PRIVATE KEY", &der);
        assert!(text.starts_with("-----BEGIN ED25519 PRIVATE KEY-----\n"));
        assert!(text.ends_with("-----END ED25519 PRIVATE KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let block = decode(&format!("junk before\n{text}junk after")).unwrap();
        assert_eq!(block.label, "ED25519 PRIVATE KEY");
        assert_eq!(block.der, der);
    }

    #[test]
    fn decode_rejects_broken_blocks() {
        assert_eq!(decode("nothing here").unwrap_err(), PemError::NoBlock);
        let mismatched = "-----BEGIN A-----\nAAAA\n-----END B-----\n";
        assert!(matches!(decode(mismatched), Err(PemError::MismatchedLabels { .. })));
        let bad = "-----BEGIN A-----\n!!!!\n-----END A-----\n";
        assert!(matches!(decode(bad), Err(PemError::BadBase64 { .. })));
    }

    #[test]
    fn field_round_trip() {
        let pem_text = encode("CERTIFICATE", b"\x30\x03\x02\x01\x01");
        assert_eq!(from_field(&to_field(&pem_text)).unwrap(), pem_text);
        assert!(from_field("%%%").is_none());
    }
}
