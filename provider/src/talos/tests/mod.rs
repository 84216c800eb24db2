//! Cross-module tests of the Talos layer: secrets round trips and imports, certificate chains,
//! machine configurations per role with patches, determinism, and client configurations.

mod client_configs;
mod machine_configs;
mod secrets_bundle;

use std::sync::OnceLock;

use time::OffsetDateTime;
use time::macros::datetime;

use super::SecretsBundle;

/// A fixed instant for generated certificates.
const NOW: OffsetDateTime = datetime!(2026-09-01 12:00:00 UTC);

/// One generated bundle shared by the tests (generation is the slow part).
fn bundle() -> &'static SecretsBundle {
    static BUNDLE: OnceLock<SecretsBundle> = OnceLock::new();
    BUNDLE.get_or_init(|| SecretsBundle::generate(NOW).expect("generate bundle"))
}

/// The OpenSSL-made secrets.yaml fixture.
const OPENSSL_SECRETS: &str = include_str!("testdata/openssl-secrets.yaml");

/// Parses a PEM certificate for assertions.
fn with_cert<T>(pem_text: &str, f: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> T) -> T {
    let block = super::pem::decode(pem_text).expect("pem");
    let cert = super::pki::parse(&block.der).expect("x509");
    f(&cert)
}
